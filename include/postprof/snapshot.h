/*
 * postprof/snapshot.h - Consistent merged views of every thread's scope data.
 *
 * A snapshot is taken while instrumented threads keep running: each figure is
 * read whole (no torn values) and nothing is lost (figures only grow between
 * snapshots); data of threads that have exited is kept. Durations are in ns.
 */
#ifndef POSTPROF_SNAPSHOT_H
#define POSTPROF_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>
#include <postprof/export.h>
#include <postprof/histogram.h>

typedef struct pp_snapshot pp_snapshot;

typedef struct pp_site_stats {
    uint32_t id;
    uint32_t parent_id; /* the enclosing site of its first call inside a scope; 0: a root scope */
    const char *name;   /* functions in whole-program mode: resolved from the address */
    const char *file;
    const char *function;
    int line;
    unsigned flags; /* PP_SITE_* */
    const void *addr;

    uint64_t count;  /* ended scopes or spans */
    uint64_t errors; /* marked failed */
    double total_ns, self_ns, min_ns, max_ns, mean_ns;
    double p50_ns, p90_ns, p95_ns, p99_ns, p999_ns;

    uint64_t cpu_samples; /* calls whose on-CPU time was measured */
    double cpu_ns;        /* on-CPU time of those calls */
    double cpu_wall_ns;   /* wall time of those calls (cpu_ns / cpu_wall_ns = CPU share) */

    /* memory scopes (PP_SITE_MEM, or any scope under pp_set_alloc_counting),
     * summed over the calls counted */
    uint64_t mem_calls;       /* calls whose allocations were counted (0: not measured) */
    uint64_t mem_alloc_bytes; /* requested */
    uint64_t mem_alloc_count;
    uint64_t mem_freed_bytes; /* usable size of blocks freed */
    int64_t mem_net_bytes;    /* usable allocated - freed */
    int64_t mem_peak_bytes;   /* largest peak above the scope's start, over calls */
    int64_t rss_delta_bytes;  /* summed RSS change */

    uint64_t open_spans;   /* async spans begun and not ended */
    double oldest_open_ns; /* age of the oldest open span */

    const pp_histogram *hist; /* owned by the snapshot */
} pp_site_stats;

typedef struct pp_snapshot_info {
    uint64_t threads_live;
    uint64_t threads_exited;
    uint64_t misnested_ends; /* ends of a scope that was not innermost */
    uint64_t ends_without_begin;
    uint64_t unclosed_scopes; /* scopes force-closed or open at thread exit */
    uint64_t stack_overflows; /* scopes not recorded: stack deeper than 256 */
    uint64_t dropped_sites;   /* site table full */
    uint64_t dropped_spans;   /* async span pool full */
    uint64_t open_spans;
    uint64_t taken_at_ns; /* CLOCK_MONOTONIC */
    double ns_per_tick;
    const char *clock_source;
} pp_snapshot_info;

/*
 * pp_snapshot_take() - Merge every thread's data into a new snapshot.
 *
 * Returns PP_OK and *out_snap (free with pp_snapshot_free), or PP_ENOMEM with
 * *out_snap = NULL. Thread-safe; takes the thread-registry lock, which the
 * hot path never takes, so writers are not stopped.
 */
PP_EXPORT PP_NODISCARD int pp_snapshot_take(pp_snapshot **out_snap);

/* pp_snapshot_free() - Release a snapshot. NULL is a no-op. */
PP_EXPORT void pp_snapshot_free(pp_snapshot *snap);

/* pp_snapshot_count() - Number of sites with data (count > 0 or open spans). */
PP_EXPORT size_t pp_snapshot_count(const pp_snapshot *snap);

/* pp_snapshot_site() - The i-th site (0 <= i < count), NULL past the end. */
PP_EXPORT const pp_site_stats *pp_snapshot_site(const pp_snapshot *snap, size_t i);

/* pp_snapshot_find() - The first site named name, or NULL. */
PP_EXPORT const pp_site_stats *pp_snapshot_find(const pp_snapshot *snap, const char *name);

/* pp_snapshot_by_id() - The site with this id, or NULL. */
PP_EXPORT const pp_site_stats *pp_snapshot_by_id(const pp_snapshot *snap, uint32_t id);

/* pp_snapshot_get_info() - Process-wide counters of the snapshot. */
PP_EXPORT void pp_snapshot_get_info(const pp_snapshot *snap, pp_snapshot_info *out);

/*
 * pp_shutdown_report() - Take a final snapshot and report what was left open:
 * scopes still open on the calling thread are counted as unclosed, and
 * *out_open_spans tells how many async spans were never ended. Returns
 * like pp_snapshot_take(). Instrumentation stays usable afterwards.
 */
PP_EXPORT PP_NODISCARD int pp_shutdown_report(pp_snapshot **out_snap, uint64_t *out_open_spans);

#endif
