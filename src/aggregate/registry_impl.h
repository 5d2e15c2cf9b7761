/*
 * registry_impl.h - Layout of the metrics registry, shared with the
 * exposition code (export/serve/prometheus.c) that renders it.
 * Cells are written by their owning thread slot only (or atomically in the
 * shared slot); readers sum them with relaxed loads and never lock writers.
 */
#ifndef PP_REGISTRY_IMPL_H
#define PP_REGISTRY_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <postprof/metrics.h>

#define PP__METRIC_SLOTS 16u                     /* per-thread cells; slot 16 is shared */
#define PP__METRIC_CELLS (PP__METRIC_SLOTS + 1u) /* cells per counter/histogram series */
#define PP__METRIC_HASH 256u
#define PP__METRIC_MAX_HOOKS 16

struct pp_series {
    struct pp_metric *metric;
    struct pp_series *hash_next;
    uint64_t hash;
    char **values;     /* raw label values, metric->nlabels of them */
    char *labels_text; /* escaped `a="x",b="y"` (no braces), "" without labels */
    size_t labels_len;
    size_t stride;           /* uint64 cells per slot, a multiple of 8 (one cache line) */
    size_t nslots;           /* PP__METRIC_CELLS, or 1 for gauges */
    _Atomic uint64_t *cells; /* nslots * stride, 64-byte aligned; doubles as bits */
    /* the last value rendered and its text (under the registry's render lock) */
    uint64_t text_bits;
    char text[40];
};

struct pp_metric {
    struct pp_registry *registry;
    int kind;
    char *name;
    char *help;
    size_t nlabels;
    char *label_names[PP_METRICS_MAX_LABELS];
    size_t nbounds;
    double bounds[PP_METRICS_MAX_BUCKETS];
    char bound_text[PP_METRICS_MAX_BUCKETS][32]; /* formatted le values */
    pthread_mutex_t lock;                        /* series creation and listing */
    struct pp_series **series;                   /* creation order */
    size_t nseries, cap_series;
    struct pp_series *hash[PP__METRIC_HASH];
    _Atomic int overflow_logged;
};

struct pp_registry {
    size_t max_series;
    pthread_mutex_t lock;        /* metric list */
    pthread_mutex_t render_lock; /* one render (hooks included) at a time */
    struct pp_metric *metrics[PP_METRICS_MAX_METRICS];
    _Atomic size_t nmetrics;
    struct {
        pp_registry_hook fn;
        void *ctx;
        void (*release)(void *ctx);
    } hooks[PP__METRIC_MAX_HOOKS];
    size_t nhooks;
    struct pp_series *dropped; /* postprof_series_dropped_total */
};

/* Histogram cells per slot: nbounds + 1 buckets (+Inf last), then the sum. */
static inline double pp__bits_to_double(uint64_t b)
{
    union {
        uint64_t u;
        double d;
    } x = {.u = b};
    return x.d;
}

static inline uint64_t pp__double_to_bits(double d)
{
    union {
        double d;
        uint64_t u;
    } x = {.d = d};
    return x.u;
}

/* pp__series_read_hist() - Sum the cells of a histogram series: non-cumulative
 * counts into out_buckets (nbounds + 1 entries) and the sum. */
void pp__series_read_hist(const struct pp_series *s, uint64_t *out_buckets, double *out_sum);

/* pp__registry_run_hooks() - Called by render with render_lock held. */
void pp__registry_run_hooks(pp_registry *r);

/* pp__metrics_default_visit() - Call fn(r, ctx) with the process-wide registry
 * held alive (pp_metrics_default_free() waits); returns 0 when there is none.
 * fn must not call pp_metrics_default() or pp_metrics_default_free(). */
int pp__metrics_default_visit(void (*fn)(pp_registry *r, void *ctx), void *ctx);

/* pp__utf8_valid() - 1 when [s, s+n) is valid UTF-8. */
int pp__utf8_valid(const char *s, size_t n);

#endif
