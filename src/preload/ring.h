/*
 * ring.h - The per-thread sample ring: single producer (the thread itself, in
 * its signal handler or malloc hook), single consumer (the collector). Lock-
 * free and wait-free for the producer; a full ring drops and counts.
 */
#ifndef PP_PRELOAD_RING_H
#define PP_PRELOAD_RING_H

#include "preload.h"

#define PP_PL_HDR(type, len, aux) (((uint64_t)(type) << 56) | ((uint64_t)(len) << 40) | (aux))
#define PP_PL_HDR_TYPE(h) ((unsigned)((h) >> 56))
#define PP_PL_HDR_LEN(h) ((unsigned)(((h) >> 40) & 0xffff))
#define PP_PL_HDR_AUX(h) ((h)&0xffffffffffULL)

/* Room for len words? */
static inline int pp_pl_ring_room(pp_pl_ring *r, unsigned len)
{
    if (!r->buf)
        return 0;
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    if (head - r->tail_cache + len <= r->mask + 1)
        return 1;
    r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
    return head - r->tail_cache + len <= r->mask + 1;
}

/* Push one record: header word then n payload words. Returns 0, -1 when full. */
static inline int pp_pl_ring_push(pp_pl_ring *r, uint64_t hdr, const uint64_t *a, unsigned na,
                                  const uint64_t *b, unsigned nb)
{
    unsigned len = 1 + na + nb;
    if (!pp_pl_ring_room(r, len)) {
        atomic_fetch_add_explicit(&r->dropped, 1, memory_order_relaxed);
        return -1;
    }
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    r->buf[head & r->mask] = hdr;
    for (unsigned i = 0; i < na; i++)
        r->buf[(head + 1 + i) & r->mask] = a[i];
    for (unsigned i = 0; i < nb; i++)
        r->buf[(head + 1 + na + i) & r->mask] = b[i];
    atomic_store_explicit(&r->head, head + len, memory_order_release);
    return 0;
}

#endif
