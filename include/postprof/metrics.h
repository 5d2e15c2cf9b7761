/*
 * postprof/metrics.h - Metrics registry (counters, gauges, histograms with
 * labels) and its Prometheus / OpenMetrics text exposition.
 *
 *     pp_metric *m;
 *     const char *labels[] = {"route"};
 *     pp_registry_counter(reg, "requests_total", "Requests served.", 1, labels, &m);
 *     pp_series *s;
 *     const char *values[] = {"/metrics"};
 *     pp_metric_series(m, values, &s);   // once; keep the handle
 *     pp_series_inc(s);                  // hot path: lock-free, no allocation
 *
 * A metric is created once; each label set is a series, reached through a
 * cached handle. Updates go to the calling thread's own cache-line-padded
 * cell (16 thread slots, then one shared atomic cell) and are summed when the
 * registry is rendered. Series per metric are bounded (default 10 000);
 * label sets over the bound are refused and counted in
 * postprof_series_dropped_total, so memory never grows without limit.
 * Handles stay valid until the registry is freed.
 */
#ifndef POSTPROF_METRICS_H
#define POSTPROF_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <postprof/export.h>

typedef struct pp_registry pp_registry;
typedef struct pp_metric pp_metric;
typedef struct pp_series pp_series;

enum pp_metric_kind { PP_METRIC_COUNTER = 1, PP_METRIC_GAUGE, PP_METRIC_HISTOGRAM };

/* Exposition formats. */
enum pp_expo_format {
    PP_EXPO_TEXT = 0,   /* text/plain; version=0.0.4 */
    PP_EXPO_OPENMETRICS /* application/openmetrics-text; version=1.0.0 */
};

#define PP_METRICS_DEFAULT_MAX_SERIES 10000u
#define PP_METRICS_MAX_LABELS 8
#define PP_METRICS_MAX_BUCKETS 64
#define PP_METRICS_MAX_LABEL_VALUE 1024 /* bytes */
#define PP_METRICS_MAX_METRICS 512

typedef struct pp_registry_config {
    size_t max_series; /* per metric; 0 = PP_METRICS_DEFAULT_MAX_SERIES */
} pp_registry_config;

/*
 * pp_registry_new() - Create an empty registry (cfg NULL = defaults).
 *
 * The registry always holds postprof_series_dropped_total. Returns PP_OK
 * and *out, or PP_ENOMEM with *out = NULL. Free with pp_registry_free().
 */
PP_EXPORT PP_NODISCARD int pp_registry_new(const pp_registry_config *cfg, pp_registry **out);

/* pp_registry_free() - Release a registry, its metrics and series. NULL is a no-op.
 * No other thread may use the registry or its handles any more. */
PP_EXPORT void pp_registry_free(pp_registry *r);

/*
 * pp_registry_counter() / _gauge() / _histogram() - Create a metric, or
 * return the existing one of the same name, kind, labels (and bounds).
 *
 * name: [a-zA-Z_:][a-zA-Z0-9_:]*; counters must end in "_total". help is
 * copied (any UTF-8; escaped on output). label_names: nlabels names
 * ([a-zA-Z_][a-zA-Z0-9_]*, not "le", not starting with "__"), copied.
 * bounds: nbounds finite upper bucket bounds, strictly ascending; +Inf is
 * implied. Returns PP_OK and *out; PP_EINVAL for a bad name, label or bound,
 * PP_EEXIST when the name exists with another kind or labels, PP_EFULL past
 * PP_METRICS_MAX_METRICS, PP_ENOMEM. *out is NULL on error. Thread-safe.
 */
PP_EXPORT PP_NODISCARD int pp_registry_counter(pp_registry *r, const char *name, const char *help,
                                               size_t nlabels, const char *const *label_names,
                                               pp_metric **out);
PP_EXPORT PP_NODISCARD int pp_registry_gauge(pp_registry *r, const char *name, const char *help,
                                             size_t nlabels, const char *const *label_names,
                                             pp_metric **out);
PP_EXPORT PP_NODISCARD int pp_registry_histogram(pp_registry *r, const char *name, const char *help,
                                                 size_t nlabels, const char *const *label_names,
                                                 const double *bounds, size_t nbounds,
                                                 pp_metric **out);

/* pp_registry_find() - The metric named name, or NULL. Thread-safe. */
PP_EXPORT pp_metric *pp_registry_find(pp_registry *r, const char *name);

/*
 * pp_metric_series() - The series of one label set (nlabels values, in the
 * metric's label order; NULL when the metric has no labels), created on
 * first use. Values are copied; they must be valid UTF-8 of at most
 * PP_METRICS_MAX_LABEL_VALUE bytes.
 *
 * Returns PP_OK and *out; PP_EINVAL for a bad value; PP_EFULL when the
 * metric already holds its maximum of series (the refusal is counted in
 * postprof_series_dropped_total and logged once per metric); PP_ENOMEM.
 * *out is NULL on error. Thread-safe (takes the metric's lock: call once
 * and keep the handle).
 */
PP_EXPORT PP_NODISCARD int pp_metric_series(pp_metric *m, const char *const *label_values,
                                            pp_series **out);

/* pp_metric_kind() / pp_metric_series_count() - Kind, and series created so far. */
PP_EXPORT int pp_metric_kind(const pp_metric *m);
PP_EXPORT size_t pp_metric_series_count(pp_metric *m);

/*
 * Updates. Lock-free, wait-free on the calling thread's slot, never allocate,
 * never fail; safe from any thread. A call of the wrong kind for the series
 * (or a NULL series) does nothing.
 *
 * pp_series_inc() / _add()  - counter += 1 / += v (v < 0 or NaN ignored); gauge += v
 * pp_series_set()           - gauge = v
 * pp_series_observe()       - histogram: count v in the first bucket with v <= bound
 */
PP_EXPORT void pp_series_inc(pp_series *s);
PP_EXPORT void pp_series_add(pp_series *s, double v);
PP_EXPORT void pp_series_set(pp_series *s, double v);
PP_EXPORT void pp_series_observe(pp_series *s, double v);

/*
 * pp_series_mirror_counter() - Make a counter series show total, for collectors
 * that copy a counter kept elsewhere (e.g. /proc). Only for series never
 * updated with _inc/_add. Thread-safe.
 */
PP_EXPORT void pp_series_mirror_counter(pp_series *s, double total);

/*
 * pp_series_mirror_histogram() - Make a histogram series show the given
 * figures: cumulative[i] values <= bound i (nbounds entries, one per finite
 * bound), count (the +Inf bucket) and sum. For collectors copying another
 * histogram; only for series never updated with _observe. Thread-safe.
 */
PP_EXPORT void pp_series_mirror_histogram(pp_series *s, const uint64_t *cumulative, size_t nbounds,
                                          uint64_t count, double sum);

/* pp_series_value() - Counter or gauge value (summed over cells); histogram: its sum. */
PP_EXPORT double pp_series_value(const pp_series *s);

/* pp_series_count() - Histogram: observations; counter/gauge: 0. */
PP_EXPORT uint64_t pp_series_count(const pp_series *s);

/*
 * pp_registry_add_hook() - Call fn(r, ctx) at the start of every render (to
 * refresh gauges or mirror outside data). Hooks run one render at a time,
 * in the order added; they must not render. release (may be NULL) is called
 * with ctx when the registry is freed, and also when adding fails.
 * Returns PP_OK, PP_EFULL past 16 hooks, PP_EINVAL.
 */
typedef void (*pp_registry_hook)(pp_registry *r, void *ctx);
PP_EXPORT PP_NODISCARD int pp_registry_add_hook(pp_registry *r, pp_registry_hook fn, void *ctx,
                                                void (*release)(void *ctx));

/*
 * pp_registry_render() - Run the hooks, then write every metric in the given
 * format into a new buffer (*out_text, NUL-terminated, *out_len bytes
 * without the NUL; free() it). Counters and gauges print their summed cells;
 * histograms print cumulative _bucket{le=...} lines ascending, le="+Inf"
 * equal to _count, then _sum and _count. OpenMetrics output ends with
 * "# EOF\n". Returns PP_OK, PP_EINVAL, PP_ENOMEM or PP_ERANGE (output over
 * 256 MiB); on error *out_text is NULL and *out_len 0. Thread-safe; renders
 * are serialized, updates go on meanwhile.
 */
PP_EXPORT PP_NODISCARD int pp_registry_render(pp_registry *r, int format, char **out_text,
                                              size_t *out_len);

/*
 * pp_expo_negotiate() - Format asked for by an HTTP Accept header (NULL or
 * empty: text). OpenMetrics when application/openmetrics-text (version
 * absent or 1.0.0) has a q greater than 0 and not lower than the best q of
 * text/plain or any wildcard. Never fails; any input is accepted.
 */
PP_EXPORT int pp_expo_negotiate(const char *accept);

/* pp_expo_content_type() - The Content-Type of a format (static string). */
PP_EXPORT const char *pp_expo_content_type(int format);

/*
 * pp_metrics_default() - The process-wide registry holding the standard
 * metrics: profiling_duration_seconds (histogram, label operation,
 * fed from every PP_SCOPE site at render time), memory_usage_bytes,
 * cpu_usage_percent, gpu_usage_percent (label gpu), cache_hit_ratio,
 * bottleneck_detected_total (labels operation, kind); the process_* metrics;
 * postprof_series_dropped_total; and, once pp_metrics_attach_sysstats() was
 * called, the system and GPU metrics (docs/metrics.md lists them all).
 * Created on first call; NULL when out of memory. Thread-safe. Freed by
 * pp_metrics_default_free() (for leak checkers; no handle may be used after).
 */
PP_EXPORT pp_registry *pp_metrics_default(void);
PP_EXPORT void pp_metrics_default_free(void);

/*
 * pp_metrics_register_standard() - Add the standard metrics above to r
 * (pp_metrics_default() does this for its own registry). Returns PP_OK or
 * the first error of the pp_registry_* calls.
 */
PP_EXPORT PP_NODISCARD int pp_metrics_register_standard(pp_registry *r);

typedef struct pp_sysstats pp_sysstats;

/*
 * pp_metrics_attach_sysstats() - Export the latest sample of collector c
 * (postprof/sysstats.h) from r: cpu_usage_percent and gpu_usage_percent, the
 * postprof_system_* and postprof_gpu_* metrics. c NULL detaches; c must stay
 * alive until detached or r freed. r must hold the standard metrics.
 * Returns PP_OK, PP_EINVAL, or a pp_registry_* error. Thread-safe.
 */
PP_EXPORT PP_NODISCARD int pp_metrics_attach_sysstats(pp_registry *r, pp_sysstats *c);

#endif
