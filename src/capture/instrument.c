/*
 * instrument.c - libpostprof_instrument: the -finstrument-functions hooks.
 * Link it into code built with -finstrument-functions and every function
 * becomes a scope, named from its address when a snapshot is taken.
 * Runs on every function call: a per-thread direct-mapped cache maps the
 * address to its site; the shared table is consulted only on a miss.
 */
#include <stdint.h>

#include "capture.h"

#define NOINST __attribute__((no_instrument_function))
#define CACHE 1024u

typedef struct {
    const void *fn;
    uint32_t id;
} cache_entry;

static __thread cache_entry cache[CACHE] __attribute__((tls_model("initial-exec")));

NOINST void __cyg_profile_func_enter(void *fn, void *caller);
NOINST void __cyg_profile_func_exit(void *fn, void *caller);

static NOINST inline uint32_t site_of(void *fn)
{
    cache_entry *c = &cache[((uintptr_t)fn >> 4) & (CACHE - 1)];
    if (c->fn == fn)
        return c->id;
    uint32_t id = pp__func_site(fn);
    c->fn = fn;
    c->id = id;
    return id;
}

void __cyg_profile_func_enter(void *fn, void *caller)
{
    (void)caller;
    if (!atomic_load_explicit(&pp__enabled, memory_order_relaxed))
        return;
    pp__func_enter(site_of(fn));
}

void __cyg_profile_func_exit(void *fn, void *caller)
{
    (void)caller;
    if (!atomic_load_explicit(&pp__enabled, memory_order_relaxed))
        return;
    pp__func_exit(site_of(fn));
}
