/*
 * unwind_lib.c - Opt-in libunwind fallback for the SIGPROF handler
 * (POSTPROF_UNWIND=libunwind, `postprof record --unwind libunwind`), for
 * code built without frame pointers. libunwind is dlopen'ed RTLD_LOCAL at
 * start-up, so its weak `backtrace` never interposes glibc's for the
 * target. Opt-in because its table lookups may take the loader's lock.
 */
#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <libunwind.h>

#include "preload.h"

typedef int (*init2_fn)(unw_cursor_t *, unw_context_t *, int);
typedef int (*step_fn)(unw_cursor_t *);
typedef int (*getreg_fn)(unw_cursor_t *, unw_regnum_t, unw_word_t *);

static init2_fn u_init;
static step_fn u_step;
static getreg_fn u_get_reg;

static pp_pl_fn sym(void *h, const char *name)
{
    void *p = dlsym(h, name);
    pp_pl_fn f;
    memcpy(&f, &p, sizeof f);
    return f;
}

int pp__pl_libunwind_init(void)
{
#if defined(__x86_64__)
    void *h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return -1;
    u_init = (init2_fn)sym(h, "_ULx86_64_init_local2");
    u_step = (step_fn)sym(h, "_ULx86_64_step");
    u_get_reg = (getreg_fn)sym(h, "_ULx86_64_get_reg");
    return (u_init && u_step && u_get_reg) ? 0 : -1;
#else
    return -1;
#endif
}

unsigned pp__pl_libunwind(void *ucontext, uint64_t *out, unsigned max)
{
    if (!u_init)
        return 0;
    unw_cursor_t c;
    if (u_init(&c, (unw_context_t *)ucontext, UNW_INIT_SIGNAL_FRAME) < 0)
        return 0;
    unsigned n = 0;
    do {
        unw_word_t ip = 0;
        if (u_get_reg(&c, UNW_REG_IP, &ip) < 0 || ip == 0)
            break;
        out[n++] = ip;
    } while (n < max && u_step(&c) > 0);
    return n;
}
