/*
 * snapshot.c - Merge every live thread's slots, the retired slots of exited
 * threads and the open async spans into one pp_snapshot. Holds the registry
 * lock (never taken by the hot path) while reading; reads are relaxed atomic
 * loads, so writers keep running and no value is torn.
 */
#include <stdlib.h>
#include <string.h>

#include <postprof/clock.h>
#include <postprof/error.h>
#include <postprof/snapshot.h>

#include "aggregate/symbols.h"
#include "capture/capture.h"
#include "common/clock_impl.h"

struct pp_snapshot {
    size_t n;
    pp_site_stats *sites;
    pp_histogram *hists;
    char *names; /* resolved function names, 128 bytes each */
    pp_snapshot_info info;
    uint32_t *by_id; /* id -> index + 1 */
    uint32_t nids;
};

static void add_slot(pp__slot *acc, const pp__slot *s, uint32_t *parent)
{
    pp__slot_merge(acc, s);
    if (!*parent)
        *parent = atomic_load_explicit(&s->parent, memory_order_relaxed);
}

int pp_snapshot_take(pp_snapshot **out_snap)
{
    int rc = PP_ENOMEM;
    pp_snapshot *snap = NULL;
    pp__slot *acc = NULL;
    pp__symbolizer *sym = NULL;
    *out_snap = NULL;
    pp__capture_init();

    double scale = pp_clock_ns_per_tick();
    uint64_t now_ticks = pp__ticks();
    snap = calloc(1, sizeof(*snap));
    acc = malloc(sizeof(*acc));
    if (!snap || !acc)
        goto out;

    pthread_mutex_lock(&pp__registry_lock);
    uint32_t nids = atomic_load_explicit(&pp__nsites, memory_order_acquire);
    /* open spans, per site */
    uint64_t *open = calloc(nids, sizeof(uint64_t));
    uint64_t *oldest = calloc(nids, sizeof(uint64_t));
    if (!open || !oldest) {
        free(open);
        free(oldest);
        pthread_mutex_unlock(&pp__registry_lock);
        goto out;
    }
    for (uint32_t i = 0; i < PP__SPAN_POOL; i++) {
        uint64_t st = atomic_load_explicit(&pp__spans[i].state, memory_order_acquire);
        if (!(st & 1u))
            continue;
        uint32_t id = atomic_load_explicit(&pp__spans[i].site, memory_order_relaxed);
        uint64_t start = atomic_load_explicit(&pp__spans[i].start, memory_order_relaxed);
        if (id == 0 || id >= nids)
            continue;
        open[id]++;
        snap->info.open_spans++;
        uint64_t age = now_ticks > start ? now_ticks - start : 0;
        if (age > oldest[id])
            oldest[id] = age;
    }

    snap->sites = calloc(nids, sizeof(pp_site_stats));
    snap->hists = malloc(sizeof(pp_histogram) * nids);
    snap->names = calloc(nids, 128);
    snap->by_id = calloc(nids, sizeof(uint32_t));
    snap->nids = nids;
    if (!snap->sites || !snap->hists || !snap->names || !snap->by_id) {
        pthread_mutex_unlock(&pp__registry_lock);
        free(open);
        free(oldest);
        goto out;
    }
    for (pp__thread *t = pp__threads; t; t = t->next) {
        snap->info.threads_live++;
        snap->info.misnested_ends += pp__load(&t->misnested);
        snap->info.ends_without_begin += pp__load(&t->no_begin);
        snap->info.unclosed_scopes += pp__load(&t->unclosed);
        snap->info.stack_overflows += pp__load(&t->overflow);
    }
    for (uint32_t id = 1; id < nids; id++) {
        pp_site *site = pp__sites[id];
        memset(acc, 0, sizeof(*acc));
        pp__store(&acc->min, UINT64_MAX);
        uint32_t parent = 0;
        for (pp__thread *t = pp__threads; t; t = t->next) {
            pp__slot *s =
                atomic_load_explicit((_Atomic(pp__slot *) *)&t->slots[id], memory_order_acquire);
            if (s)
                add_slot(acc, s, &parent);
        }
        if (pp__retired && pp__retired[id])
            add_slot(acc, pp__retired[id], &parent);
        pp_histogram *h = &snap->hists[snap->n];
        pp__histogram_init(h, scale);
        pp__histogram_add_buckets(h, acc->hist, pp__load(&acc->min), pp__load(&acc->max),
                                  pp__load(&acc->total));
        uint64_t count = pp_histogram_count(h);
        if (count == 0 && open[id] == 0)
            continue;
        pp_site_stats *st = &snap->sites[snap->n];
        st->id = id;
        st->parent_id = parent;
        st->flags = site->flags;
        st->name = site->name;
        st->file = site->file;
        st->function = site->function;
        st->line = site->line;
        st->addr = site->addr;
        st->count = count;
        st->errors = pp__load(&acc->errors);
        st->total_ns = (double)pp__load(&acc->total) * scale;
        st->self_ns = (double)pp__load(&acc->self) * scale;
        st->min_ns = pp_histogram_min(h);
        st->max_ns = pp_histogram_max(h);
        st->mean_ns = pp_histogram_mean(h);
        st->p50_ns = pp_histogram_value_at(h, 0.50);
        st->p90_ns = pp_histogram_value_at(h, 0.90);
        st->p95_ns = pp_histogram_value_at(h, 0.95);
        st->p99_ns = pp_histogram_value_at(h, 0.99);
        st->p999_ns = pp_histogram_value_at(h, 0.999);
        st->cpu_samples = pp__load(&acc->cpu_samples);
        st->cpu_ns = (double)pp__load(&acc->cpu_ns);
        st->cpu_wall_ns = (double)pp__load(&acc->cpu_wall) * scale;
        st->mem_calls = pp__load(&acc->mem_calls);
        st->mem_alloc_bytes = pp__load(&acc->mem_alloc);
        st->mem_alloc_count = pp__load(&acc->mem_alloc_count);
        st->mem_freed_bytes = pp__load(&acc->mem_freed);
        st->mem_net_bytes = atomic_load_explicit(&acc->mem_net, memory_order_relaxed);
        st->mem_peak_bytes = atomic_load_explicit(&acc->mem_peak, memory_order_relaxed);
        st->rss_delta_bytes = atomic_load_explicit(&acc->rss_delta, memory_order_relaxed);
        st->open_spans = open[id];
        st->oldest_open_ns = (double)oldest[id] * scale;
        st->hist = h;
        snap->by_id[id] = (uint32_t)snap->n + 1;
        snap->n++;
    }
    pthread_mutex_unlock(&pp__registry_lock);
    free(open);
    free(oldest);

    /* whole-program sites: names from addresses, outside the lock */
    for (size_t i = 0; i < snap->n; i++) {
        pp_site_stats *st = &snap->sites[i];
        if (st->name || !st->addr)
            continue;
        if (!sym)
            sym = pp__symbolizer_new();
        char *buf = snap->names + 128 * i;
        pp__symbolize(sym, st->addr, buf, 128);
        st->name = buf;
        st->function = buf;
    }
    snap->info.misnested_ends += pp__load(&pp__g_misnested);
    snap->info.ends_without_begin += pp__load(&pp__g_no_begin);
    snap->info.unclosed_scopes += pp__load(&pp__g_unclosed);
    snap->info.stack_overflows += pp__load(&pp__g_overflow);
    snap->info.threads_exited = pp__load(&pp__g_exited);
    snap->info.dropped_sites = pp__load(&pp__g_dropped_sites);
    snap->info.dropped_spans = pp__load(&pp__g_dropped_spans);
    snap->info.taken_at_ns = pp_clock_now_ns();
    snap->info.ns_per_tick = scale;
    snap->info.clock_source = pp_clock_source();
    *out_snap = snap;
    snap = NULL;
    rc = PP_OK;
out:
    pp__symbolizer_free(sym);
    free(acc);
    pp_snapshot_free(snap);
    return rc;
}

void pp_snapshot_free(pp_snapshot *snap)
{
    if (!snap)
        return;
    free(snap->sites);
    free(snap->hists);
    free(snap->names);
    free(snap->by_id);
    free(snap);
}

size_t pp_snapshot_count(const pp_snapshot *snap)
{
    return snap ? snap->n : 0;
}

const pp_site_stats *pp_snapshot_site(const pp_snapshot *snap, size_t i)
{
    return snap && i < snap->n ? &snap->sites[i] : NULL;
}

const pp_site_stats *pp_snapshot_find(const pp_snapshot *snap, const char *name)
{
    for (size_t i = 0; snap && name && i < snap->n; i++)
        if (snap->sites[i].name && strcmp(snap->sites[i].name, name) == 0)
            return &snap->sites[i];
    return NULL;
}

const pp_site_stats *pp_snapshot_by_id(const pp_snapshot *snap, uint32_t id)
{
    if (!snap || id >= snap->nids || !snap->by_id[id])
        return NULL;
    return &snap->sites[snap->by_id[id] - 1];
}

void pp_snapshot_get_info(const pp_snapshot *snap, pp_snapshot_info *out)
{
    if (snap)
        *out = snap->info;
    else
        memset(out, 0, sizeof(*out));
}

int pp_shutdown_report(pp_snapshot **out_snap, uint64_t *out_open_spans)
{
    int rc = pp_snapshot_take(out_snap);
    if (out_open_spans)
        *out_open_spans = rc == PP_OK ? (*out_snap)->info.open_spans : 0;
    if (rc == PP_OK) {
        pp__thread *t = pp__thread_get();
        if (t && t->depth > 0)
            (*out_snap)->info.unclosed_scopes += (uint64_t)t->depth;
    }
    return rc;
}
