/*
 * preload.c - libpostprof_causal_preload.so, behind `postprof causal
 * --preload` (docs/causal.md, "Preload mode"): the whole of libpostprof plus
 * the -finstrument-functions hooks, preloaded into a program built with
 * -finstrument-functions but not linked with libpostprof (its hooks then
 * resolve to the C library's empty ones, which these replace). Every
 * function becomes a scope site, named from its address by the symbolizer
 * the first time it is met; the function POSTPROF_CAUSAL_PROGRESS names is
 * the progress point, one hit per return. The experiment controller starts
 * with the library (POSTPROF_CAUSAL_DIR), as in a linked program.
 *
 * Built without sanitizers (it goes into programs built without them).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/causal.h>

#include "aggregate/symbols.h"
#include "capture/capture.h"

#define NOINST __attribute__((no_instrument_function))
#define HOOK __attribute__((no_instrument_function, visibility("default")))
#define CACHE 1024u

enum { KIND_UNKNOWN, KIND_PLAIN, KIND_PROGRESS };

typedef struct {
    const void *fn;
    uint32_t id;
} cache_entry;

static __thread cache_entry cache[CACHE] __attribute__((tls_model("initial-exec")));

static pthread_mutex_t name_lock = PTHREAD_MUTEX_INITIALIZER;
static pp__symbolizer *symbolizer;
static char progress_name[256];
static _Atomic unsigned char kinds[PP__MAX_SITES];
static _Atomic(char *) names[PP__MAX_SITES];
/* the progress point: a site of its own, named after the function */
static pp_site progress_site = {progress_name, "", NULL, 0, PP_SITE_PROGRESS, UINT32_MAX, 0, 0};

/* Name a new function site (once, under the lock) and tell whether it is the progress point. */
static NOINST void classify(uint32_t id, const void *fn)
{
    pthread_mutex_lock(&name_lock);
    if (atomic_load_explicit(&kinds[id], memory_order_relaxed) == KIND_UNKNOWN) {
        char buf[256];
        if (!symbolizer)
            symbolizer = pp__symbolizer_new();
        pp__symbolize(symbolizer, fn, buf, sizeof buf);
        char *copy = strdup(buf);
        atomic_store_explicit(&names[id], copy, memory_order_release);
        int progress = progress_name[0] && strcmp(buf, progress_name) == 0;
        atomic_store_explicit(&kinds[id], progress ? KIND_PROGRESS : KIND_PLAIN,
                              memory_order_release);
    }
    pthread_mutex_unlock(&name_lock);
}

static NOINST inline uint32_t site_of(void *fn)
{
    cache_entry *c = &cache[((uintptr_t)fn >> 4) & (CACHE - 1)];
    if (c->fn == fn)
        return c->id;
    uint32_t id = pp__func_site(fn);
    if (id && id < PP__MAX_SITES &&
        atomic_load_explicit(&kinds[id], memory_order_acquire) == KIND_UNKNOWN)
        classify(id, fn);
    c->fn = fn;
    c->id = id;
    return id;
}

/* The controller's names for function sites (capture/causal.c). */
static NOINST const char *func_name(uint32_t id)
{
    return id < PP__MAX_SITES ? atomic_load_explicit(&names[id], memory_order_acquire) : NULL;
}

HOOK void __cyg_profile_func_enter(void *fn, void *caller);
HOOK void __cyg_profile_func_exit(void *fn, void *caller);

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
    uint32_t id = site_of(fn);
    pp__func_exit(id);
    if (id && atomic_load_explicit(&kinds[id], memory_order_relaxed) == KIND_PROGRESS)
        pp_progress_hit(&progress_site);
}

static NOINST __attribute__((constructor)) void preload_init(void)
{
    const char *p = getenv("POSTPROF_CAUSAL_PROGRESS");
    if (p)
        strncpy(progress_name, p, sizeof progress_name - 1);
    atomic_store(&pp__causal_site_name, func_name);
}
