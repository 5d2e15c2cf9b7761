/*
 * otlp_impl.h - Internal to the OTLP exporter (src/telemetry/): its
 * configuration from the OTEL_* environment, the encoders of requests, and
 * the span batch the sender builds. Nothing here runs on an instrumented
 * thread's hot path (that is capture/span_record.c).
 */
#ifndef PP_TELEMETRY_OTLP_IMPL_H
#define PP_TELEMETRY_OTLP_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "capture/capture.h"
#include "common/strbuf.h"

#define PP__OTLP_MAX_HEADERS 16
#define PP__OTLP_MAX_ATTRS 32
#define PP__OTLP_URL_MAX 2048

/* Everything the environment says; pp__otlp_config_from_env() fills it. */
typedef struct pp__otlp_config {
    int disabled;                       /* OTEL_SDK_DISABLED=true */
    int json;                           /* OTEL_EXPORTER_OTLP_PROTOCOL=http/json */
    int gzip;                           /* OTEL_EXPORTER_OTLP_COMPRESSION=gzip */
    char traces_url[PP__OTLP_URL_MAX];  /* "" = no span export */
    char metrics_url[PP__OTLP_URL_MAX]; /* "" = no metric export */
    /* "Name: value" lines for libcurl, per signal */
    char *traces_headers[PP__OTLP_MAX_HEADERS + 1];
    char *metrics_headers[PP__OTLP_MAX_HEADERS + 1];
    uint64_t traces_timeout_ms, metrics_timeout_ms; /* per request, OTEL_EXPORTER_OTLP_TIMEOUT */
    /* resource: service.name first, then OTEL_RESOURCE_ATTRIBUTES */
    char *attr_keys[PP__OTLP_MAX_ATTRS];
    char *attr_values[PP__OTLP_MAX_ATTRS];
    size_t nattrs;
    int sampler;          /* PP__SAMPLER_* */
    double sampler_ratio; /* OTEL_TRACES_SAMPLER_ARG, 0..1 */
    uint32_t queue_size;  /* per thread, a power of two (OTEL_BSP_MAX_QUEUE_SIZE rounded up) */
    uint32_t batch_size;  /* OTEL_BSP_MAX_EXPORT_BATCH_SIZE */
    uint64_t schedule_delay_ms;  /* OTEL_BSP_SCHEDULE_DELAY */
    uint64_t export_timeout_ms;  /* OTEL_BSP_EXPORT_TIMEOUT: one batch, retries included */
    uint64_t metric_interval_ms; /* OTEL_METRIC_EXPORT_INTERVAL */
    uint64_t shutdown_ms;        /* the flush at exit: at most this long */
} pp__otlp_config;

/* The environment's getter (getenv, or a table in tests). */
typedef const char *(*pp__otlp_getenv)(const char *name, void *ctx);

/*
 * pp__otlp_config_from_env() - Read every OTEL_* variable through get.
 * Malformed values are reported with one warning each through pp_log
 * ("otlp" component) and replaced by their defaults; never fails on them.
 * Returns PP_OK or PP_ENOMEM (then the config is released).
 */
int pp__otlp_config_from_env(pp__otlp_getenv get, void *ctx, pp__otlp_config *out);

/* pp__otlp_config_release() - Free what the config owns. NULL is a no-op. */
void pp__otlp_config_release(pp__otlp_config *c);

/* One span as the encoders take it (ids in big-endian order, times in Unix ns). */
typedef struct pp__otlp_span {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t parent_id[8]; /* all zero: a root span */
    const char *name;
    const char *file;     /* code.filepath, may be NULL */
    const char *function; /* code.function, may be NULL */
    int line;
    uint64_t start_ns, end_ns;
    int kind; /* PP__OTLP_KIND_* (Span.SpanKind) */
    int failed, remote_parent, async;
} pp__otlp_span;

/* Span.SpanKind values of opentelemetry-proto */
#define PP__OTLP_KIND_INTERNAL 1
#define PP__OTLP_KIND_SERVER 2
#define PP__OTLP_KIND_CLIENT 3

/* The request's resource and scope. */
typedef struct pp__otlp_resource {
    const char *const *keys;
    const char *const *values;
    size_t n;
    int64_t pid; /* process.pid (an int attribute) */
} pp__otlp_resource;

/*
 * pp__otlp_encode_spans() - An ExportTraceServiceRequest for spans[0..n) into
 * out: protobuf, or OTLP JSON when json. Returns PP_OK, PP_ENOMEM, PP_ERANGE.
 */
int pp__otlp_encode_spans(const pp__otlp_resource *res, const pp__otlp_span *spans, size_t n,
                          int json, pp__strbuf *out);

/* One metric data point set, read from a registry. */
typedef struct pp__otlp_point {
    const char *const *label_names;
    const char *const *label_values;
    size_t nlabels;
    double value;            /* counters, gauges */
    uint64_t count;          /* histograms */
    double sum;              /* histograms */
    const uint64_t *buckets; /* histograms: nbounds + 1 counts, not cumulative */
} pp__otlp_point;

typedef struct pp__otlp_metric {
    const char *name;
    const char *help;
    int kind; /* PP_METRIC_COUNTER / _GAUGE / _HISTOGRAM */
    const double *bounds;
    size_t nbounds;
    const pp__otlp_point *points;
    size_t npoints;
} pp__otlp_metric;

/*
 * pp__otlp_encode_metrics() - An ExportMetricsServiceRequest: counters as
 * monotonic cumulative sums, gauges, histograms with explicit bounds
 * (cumulative), all from start_ns to now_ns. Returns as the spans' encoder.
 */
int pp__otlp_encode_metrics(const pp__otlp_resource *res, const pp__otlp_metric *metrics, size_t n,
                            uint64_t start_ns, uint64_t now_ns, int json, pp__strbuf *out);

/*
 * pp__otlp_parse_partial() - From an Export*ServiceResponse body (protobuf or
 * JSON), the rejected count and message of partial_success; 0 when the body
 * has none (or is not one). traces: 1 for a trace response, 0 for metrics.
 */
int pp__otlp_parse_partial(const void *body, size_t len, int json, int traces,
                           int64_t *out_rejected, char *out_msg, size_t msg_cap);

/* pp__otlp_gzip() - gzip in[0..n) into out (replaced). PP_OK, PP_ENOMEM, PP_EIO. */
int pp__otlp_gzip(const void *in, size_t n, pp__strbuf *out);

#endif
