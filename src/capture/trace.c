/*
 * trace.c - Scope event trace: a ring of the last ended scopes per thread,
 * the events of exited threads kept in one bounded buffer, and the writer.
 * pp__trace_add runs on the scope hot path when tracing is on: owner-only
 * relaxed stores, no lock; the ring is mapped on the thread's first event.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <postprof/error.h>
#include <postprof/file.h>
#include <postprof/raw_format.h>
#include <postprof/trace.h>

#include "capture.h"
#include "common/clock_impl.h"

#define RETIRED_MAX (1u << 20)
#define MAX_PER_THREAD (1u << 22)

_Atomic int pp__trace_on;
static _Atomic size_t ring_events;

typedef struct {
    uint64_t start, end;
    uint32_t site;
    int tid;
} flat_ev;

static flat_ev *retired; /* under the registry lock */
static size_t nretired;
static char env_path[4096];

int pp_trace_enable(size_t events_per_thread)
{
    if (events_per_thread == 0)
        return PP_EINVAL;
    size_t n = 1;
    while (n < events_per_thread && n < MAX_PER_THREAD)
        n <<= 1;
    size_t expected = 0;
    atomic_compare_exchange_strong(&ring_events, &expected, n);
    atomic_store(&pp__trace_on, 1);
    atomic_fetch_or(&pp__begin_extra, PP__BEGIN_TRACE); /* scopes begun from now on */
    return PP_OK;
}

int pp_trace_enabled(void)
{
    return atomic_load(&pp__trace_on);
}

void pp__trace_add(pp__thread *t, uint32_t site, uint64_t start, uint64_t end)
{
    pp__trace_ring *r = t->trace;
    if (!r) {
        size_t n = atomic_load_explicit(&ring_events, memory_order_relaxed);
        size_t bytes = sizeof(pp__trace_ring) + n * sizeof(pp__trace_ev);
        r = pp__map_zero(bytes);
        if (!r)
            return;
        r->mask = n - 1;
        r->bytes = bytes;
        /* published for the writer, which reads t->trace under the registry lock */
        atomic_store_explicit((_Atomic(pp__trace_ring *) *)&t->trace, r, memory_order_release);
    }
    uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    pp__trace_ev *e = &r->ev[h & r->mask];
    atomic_store_explicit(&e->start, start, memory_order_relaxed);
    atomic_store_explicit(&e->end, end, memory_order_relaxed);
    atomic_store_explicit(&e->site, site, memory_order_relaxed);
    atomic_store_explicit(&r->head, h + 1, memory_order_release);
}

/* Copy a ring's events (those not overwritten while copying) into out. */
static size_t copy_ring(pp__trace_ring *r, int tid, flat_ev *out, size_t cap)
{
    uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    uint64_t first = head > r->mask + 1 ? head - (r->mask + 1) : 0;
    size_t n = 0;
    for (uint64_t i = first; i < head && n < cap; i++) {
        pp__trace_ev *e = &r->ev[i & r->mask];
        flat_ev f = {atomic_load_explicit(&e->start, memory_order_relaxed),
                     atomic_load_explicit(&e->end, memory_order_relaxed),
                     atomic_load_explicit(&e->site, memory_order_relaxed), tid};
        out[n++] = f;
    }
    /* drop what the owner may have overwritten meanwhile */
    uint64_t head2 = atomic_load_explicit(&r->head, memory_order_acquire);
    uint64_t safe_from = head2 > r->mask + 1 ? head2 - (r->mask + 1) : 0;
    if (safe_from > first) {
        size_t skip = (size_t)(safe_from - first);
        if (skip >= n)
            return 0;
        memmove(out, out + skip, (n - skip) * sizeof *out);
        n -= skip;
    }
    return n;
}

void pp__trace_retire_locked(pp__thread *t)
{
    pp__trace_ring *r = t->trace;
    if (!r)
        return;
    if (!retired) {
        retired = pp__map_zero(sizeof(flat_ev) * RETIRED_MAX);
        if (!retired)
            return;
    }
    nretired += copy_ring(r, t->tid, retired + nretired, RETIRED_MAX - nretired);
}

void pp__trace_free(pp__thread *t)
{
    if (t->trace) {
        munmap(t->trace, t->trace->bytes);
        t->trace = NULL;
    }
}

static int cmp_ev(const void *a, const void *b)
{
    const flat_ev *x = a, *y = b;
    if (x->tid != y->tid)
        return x->tid < y->tid ? -1 : 1;
    return (x->start > y->start) - (x->start < y->start);
}

int pp_trace_write(const char *path)
{
    if (!atomic_load(&pp__trace_on))
        return PP_ESTATE;
    int rc = PP_ENOMEM;
    flat_ev *ev = NULL;
    size_t n = 0, cap = 0;
    pp_file_out *o = NULL;

    pthread_mutex_lock(&pp__registry_lock);
    cap = nretired;
    for (pp__thread *t = pp__threads; t; t = t->next)
        if (t->trace)
            cap += t->trace->mask + 1;
    ev = malloc((cap ? cap : 1) * sizeof *ev);
    if (ev) {
        memcpy(ev, retired ? retired : ev, nretired * sizeof *ev);
        n = nretired;
        for (pp__thread *t = pp__threads; t; t = t->next) {
            pp__trace_ring *r =
                atomic_load_explicit((_Atomic(pp__trace_ring *) *)&t->trace, memory_order_acquire);
            if (r)
                n += copy_ring(r, t->tid, ev + n, cap - n);
        }
    }
    uint32_t nsites = atomic_load_explicit(&pp__nsites, memory_order_acquire);
    pthread_mutex_unlock(&pp__registry_lock);
    if (!ev)
        goto out;
    qsort(ev, n, sizeof *ev, cmp_ev);
    rc = pp_file_out_open(path, 0, &o, NULL, 0);
    if (rc != PP_OK)
        goto out;
    FILE *f = pp_file_out_stream(o);
    char name[256];
    for (size_t i = 0; i < n; i++) {
        if (ev[i].site == 0 || ev[i].site >= nsites || ev[i].end < ev[i].start)
            continue;
        const pp_site *s = pp__sites[ev[i].site];
        const char *nm = s ? s->name : NULL;
        if (!nm && s && s->addr) { /* whole-program site: its address (no names here) */
            snprintf(name, sizeof name, "0x%lx", (unsigned long)(uintptr_t)s->addr);
            nm = name;
        }
        uint64_t a = pp__clock_ticks_to_mono_ns(ev[i].start);
        uint64_t b = pp__clock_ticks_to_mono_ns(ev[i].end);
        fprintf(f, "s %d %llu %llu ", ev[i].tid, (unsigned long long)a,
                (unsigned long long)(b > a ? b - a : 0));
        for (const char *c = nm ? nm : "?"; *c; c++)
            fputc(*c == '\n' || *c == '\r' ? ' ' : *c, f);
        fputc('\n', f);
    }
    rc = pp_file_out_commit(o, NULL, 0);
    o = NULL;
out:
    pp_file_out_abort(o);
    free(ev);
    return rc;
}

static void write_at_exit(void)
{
    if (pp_trace_write(env_path) != PP_OK) {
        /* at exit there is no one left to tell */
    }
}

/* Under `postprof record` (POSTPROF_DIR set), trace scopes and leave
 * DIR/PID.scopes at exit for the Chrome trace. */
void pp__trace_from_env(void)
{
    const char *dir = getenv(PP_RAW_ENV_DIR);
    if (!dir || !*dir)
        return;
    if (snprintf(env_path, sizeof env_path, "%s/%ld.scopes", dir, (long)getpid()) >=
        (int)sizeof env_path)
        return;
    if (pp_trace_enable(65536) == PP_OK)
        atexit(write_at_exit);
}
