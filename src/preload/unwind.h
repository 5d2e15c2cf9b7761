/*
 * unwind.h - Frame-pointer unwinding bounded by the thread's stack: every
 * read lies inside [lo, hi), so a corrupt or missing frame chain ends the
 * walk instead of faulting. Async-signal-safe, no calls.
 */
#ifndef PP_PRELOAD_UNWIND_H
#define PP_PRELOAD_UNWIND_H

#include <stdint.h>

/* Writes pc (when nonzero) then the return addresses found by following fp.
 * Returns the number of addresses written (<= max). */
static inline unsigned pp_pl_unwind_fp(uintptr_t pc, uintptr_t fp, uintptr_t lo, uintptr_t hi,
                                       uint64_t *out, unsigned max)
{
    unsigned n = 0;
    if (pc && n < max)
        out[n++] = pc;
    while (n < max && fp >= lo && fp + 2 * sizeof(uintptr_t) <= hi && (fp & 7) == 0) {
        const uintptr_t *frame = (const uintptr_t *)fp;
        uintptr_t next = frame[0];
        uintptr_t ret = frame[1];
        if (ret < 4096)
            break;
        out[n++] = ret;
        if (next <= fp)
            break;
        fp = next;
    }
    return n;
}

#endif
