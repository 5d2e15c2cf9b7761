/*
 * test_otlp.c - The OTLP exporter's parts on their own: the OTEL_*
 * environment (defaults, every variable, malformed values warned about), the
 * encoders (protobuf read back with the generated code, JSON with jansson),
 * partial_success, the W3C traceparent/tracestate rules, and the head
 * sampler with parent/child ids recorded from nested scopes.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "pp_test.h"
#include "capture/capture.h"
#include "telemetry/otlp_impl.h"
#include "telemetry/proto/metrics_service.pb-c.h"
#include "telemetry/proto/trace_service.pb-c.h"
#include "telemetry/traceparent.h"
#include <postprof/error.h>
#include <postprof/log.h>
#include <postprof/metrics.h>
#include <postprof/otlp.h>
#include <postprof/scope.h>

/* ---- environment ---- */

typedef struct {
    const char *const *kv; /* name, value, ..., NULL */
} env_table;

static const char *table_get(const char *name, void *ctx)
{
    const env_table *t = ctx;
    for (size_t i = 0; t->kv[i]; i += 2)
        if (strcmp(t->kv[i], name) == 0)
            return t->kv[i + 1];
    return NULL;
}

static char logbuf[8192];

static void log_to_buffer(void)
{
    static FILE *f;
    if (f)
        fclose(f);
    memset(logbuf, 0, sizeof logbuf);
    f = fmemopen(logbuf, sizeof logbuf - 1, "w");
    setvbuf(f, NULL, _IONBF, 0);
    pp_log_set_stream(f);
}

static const char *attr(const pp__otlp_config *c, const char *k)
{
    for (size_t i = 0; i < c->nattrs; i++)
        if (strcmp(c->attr_keys[i], k) == 0)
            return c->attr_values[i];
    return NULL;
}

static void env_defaults(void **state)
{
    (void)state;
    static const char *const kv[] = {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/", NULL};
    env_table t = {kv};
    pp__otlp_config c;
    log_to_buffer();
    assert_int_equal(pp__otlp_config_from_env(table_get, &t, &c), PP_OK);
    assert_string_equal(c.traces_url, "http://collector:4318/v1/traces");
    assert_string_equal(c.metrics_url, "http://collector:4318/v1/metrics");
    assert_int_equal(c.json, 0);
    assert_int_equal(c.gzip, 0);
    assert_int_equal(c.disabled, 0);
    assert_int_equal(c.queue_size, 2048);
    assert_int_equal(c.batch_size, 512);
    assert_true(c.schedule_delay_ms == 5000);
    assert_true(c.export_timeout_ms == 30000);
    assert_true(c.traces_timeout_ms == 10000);
    assert_true(c.metric_interval_ms == 60000);
    assert_int_equal(c.sampler, PP__SAMPLER_PARENT_ON);
    assert_non_null(attr(&c, "service.name"));
    assert_true(strncmp(attr(&c, "service.name"), "unknown_service:", 16) == 0);
    assert_int_equal(strlen(attr(&c, "service.instance.id")), 36);
    assert_non_null(attr(&c, "host.name"));
    assert_null(c.traces_headers[0]);
    assert_string_equal(logbuf, ""); /* nothing to warn about */
    pp__otlp_config_release(&c);
    pp__otlp_config_release(NULL);
}

static void env_every_variable(void **state)
{
    (void)state;
    static const char *const kv[] = {
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "http://base:4318",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "https://traces.example/custom/path",
        "OTEL_EXPORTER_OTLP_HEADERS",
        "api-key=s%20cret,x-team=perf",
        "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
        "x-only-metrics=1",
        "OTEL_EXPORTER_OTLP_TIMEOUT",
        "2500",
        "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
        "700",
        "OTEL_EXPORTER_OTLP_COMPRESSION",
        "gzip",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "http/json",
        "OTEL_SERVICE_NAME",
        "checkout",
        "OTEL_RESOURCE_ATTRIBUTES",
        "service.name=ignored,deployment.environment=prod,host.name=h1",
        "OTEL_TRACES_SAMPLER",
        "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG",
        "0.25",
        "OTEL_BSP_MAX_QUEUE_SIZE",
        "1000",
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
        "100",
        "OTEL_BSP_SCHEDULE_DELAY",
        "250",
        "OTEL_METRIC_EXPORT_INTERVAL",
        "1000",
        NULL};
    env_table t = {kv};
    pp__otlp_config c;
    log_to_buffer();
    assert_int_equal(pp__otlp_config_from_env(table_get, &t, &c), PP_OK);
    assert_string_equal(c.traces_url, "https://traces.example/custom/path"); /* as given */
    assert_string_equal(c.metrics_url, "http://base:4318/v1/metrics");
    assert_string_equal(c.traces_headers[0], "api-key: s cret");
    assert_string_equal(c.traces_headers[1], "x-team: perf");
    assert_null(c.traces_headers[2]);
    assert_string_equal(c.metrics_headers[2], "x-only-metrics: 1");
    assert_true(c.traces_timeout_ms == 2500);
    assert_true(c.metrics_timeout_ms == 700);
    assert_int_equal(c.gzip, 1);
    assert_int_equal(c.json, 1);
    assert_string_equal(attr(&c, "service.name"), "checkout"); /* OTEL_SERVICE_NAME wins */
    assert_string_equal(attr(&c, "deployment.environment"), "prod");
    assert_string_equal(attr(&c, "host.name"), "h1");
    assert_int_equal(c.sampler, PP__SAMPLER_PARENT_RATIO);
    assert_true(c.sampler_ratio == 0.25);
    assert_int_equal(c.queue_size, 1024); /* a power of two for the ring */
    assert_int_equal(c.batch_size, 100);
    assert_true(c.schedule_delay_ms == 250);
    assert_true(c.metric_interval_ms == 1000);
    assert_string_equal(logbuf, "");
    pp__otlp_config_release(&c);

    static const char *const off[] = {"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://m:1/x",
                                      "OTEL_SDK_DISABLED", "true", NULL};
    env_table t2 = {off};
    assert_int_equal(pp__otlp_config_from_env(table_get, &t2, &c), PP_OK);
    assert_int_equal(c.disabled, 1);
    assert_string_equal(c.traces_url, "");
    assert_string_equal(c.metrics_url, "http://m:1/x");
    pp__otlp_config_release(&c);
}

static void env_malformed_values_warn(void **state)
{
    (void)state;
    static const char *const kv[] = {"OTEL_EXPORTER_OTLP_ENDPOINT",
                                     "collector:4318", /* no scheme */
                                     "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
                                     "http://ok:4318/v1/metrics",
                                     "OTEL_EXPORTER_OTLP_HEADERS",
                                     "novalue,k=%zz,good=1",
                                     "OTEL_EXPORTER_OTLP_TIMEOUT",
                                     "ten",
                                     "OTEL_EXPORTER_OTLP_COMPRESSION",
                                     "brotli",
                                     "OTEL_EXPORTER_OTLP_PROTOCOL",
                                     "grpc",
                                     "OTEL_TRACES_SAMPLER",
                                     "sometimes",
                                     "OTEL_TRACES_SAMPLER_ARG",
                                     "2",
                                     "OTEL_BSP_MAX_QUEUE_SIZE",
                                     "-5",
                                     "OTEL_SDK_DISABLED",
                                     "yes",
                                     "OTEL_RESOURCE_ATTRIBUTES",
                                     "=x,a=b",
                                     NULL};
    env_table t = {kv};
    pp__otlp_config c;
    log_to_buffer();
    assert_int_equal(pp__otlp_config_from_env(table_get, &t, &c), PP_OK);
    assert_string_equal(c.traces_url, "");
    assert_string_equal(c.metrics_url, "http://ok:4318/v1/metrics");
    assert_string_equal(c.metrics_headers[0], "good: 1");
    assert_null(c.metrics_headers[1]);
    assert_true(c.metrics_timeout_ms == 10000);
    assert_int_equal(c.gzip, 0);
    assert_int_equal(c.json, 0);
    assert_int_equal(c.sampler, PP__SAMPLER_PARENT_ON);
    assert_int_equal(c.queue_size, 2048);
    assert_int_equal(c.disabled, 0);
    assert_string_equal(attr(&c, "a"), "b");
    /* one warning line per bad value, each naming its variable */
    static const char *const named[] = {"OTEL_EXPORTER_OTLP_ENDPOINT",
                                        "OTEL_EXPORTER_OTLP_TIMEOUT",
                                        "OTEL_EXPORTER_OTLP_COMPRESSION",
                                        "OTEL_EXPORTER_OTLP_PROTOCOL",
                                        "OTEL_TRACES_SAMPLER",
                                        "OTEL_BSP_MAX_QUEUE_SIZE",
                                        "OTEL_SDK_DISABLED",
                                        "OTEL_RESOURCE_ATTRIBUTES",
                                        NULL};
    for (size_t i = 0; named[i]; i++) {
        if (!strstr(logbuf, named[i]))
            fail_msg("no warning naming %s in:\n%s", named[i], logbuf);
    }
    size_t lines = 0;
    for (const char *p = logbuf; *p; p++)
        lines += *p == '\n';
    assert_true(lines >= 10);
    pp__otlp_config_release(&c);
}

/* ---- W3C trace context ---- */

static void traceparent_rules(void **state)
{
    (void)state;
    pp__trace_ctx c;
    const char *v = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    assert_int_equal(pp__traceparent_parse(v, strlen(v), &c), PP_OK);
    assert_int_equal(c.trace_id[0], 0x0a);
    assert_int_equal(c.trace_id[15], 0x9c);
    assert_int_equal(c.span_id[7], 0x31);
    assert_int_equal(c.flags, 1);
    char out[PP_TRACEPARENT_SIZE];
    assert_int_equal(pp__traceparent_format(&c, out, sizeof out), 55);
    assert_string_equal(out, v);
    assert_int_equal(pp__traceparent_format(&c, out, 55), 0); /* no room for the NUL */
    /* blanks around are fine; flags kept in version 00 */
    const char *b = "  00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00\t";
    assert_int_equal(pp__traceparent_parse(b, strlen(b), &c), PP_OK);
    assert_int_equal(c.flags, 0);
    /* a future version: more fields after a dash are ignored, unknown flags dropped */
    const char *f = "cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03-what-ever";
    assert_int_equal(pp__traceparent_parse(f, strlen(f), &c), PP_OK);
    assert_int_equal(c.flags, 1);
    const char *f2 = "cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    assert_int_equal(pp__traceparent_parse(f2, strlen(f2), &c), PP_OK);
    static const char *const bad[] = {
        "",
        "00",
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",   /* version ff */
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-x", /* 00 has no more */
        "cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01x",  /* no dash after */
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",   /* zero trace id */
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",   /* zero parent id */
        "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",   /* uppercase */
        "00-0af7651916cd43dd8448eb211c80319c-B7AD6B7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0G",
        "0g-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319-cb7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333-101",
        NULL};
    for (size_t i = 0; bad[i]; i++) {
        memset(&c, 0x55, sizeof c);
        if (pp__traceparent_parse(bad[i], strlen(bad[i]), &c) != PP_EFORMAT)
            fail_msg("accepted: %s", bad[i]);
        assert_int_equal(c.flags, 0);
    }
    assert_int_equal(pp__traceparent_parse(NULL, 0, &c), PP_EFORMAT);
}

static void tracestate_rules(void **state)
{
    (void)state;
    static const char *const good[] = {"rojo=00f067aa0ba902b7",
                                       "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
                                       " a=1 , b=2 ",
                                       "a=1,,b=2",
                                       "tenant1@vendor=x,t@v=y",
                                       "a*b/c_d-e=v a l",
                                       "",
                                       NULL};
    for (size_t i = 0; good[i]; i++)
        if (!pp__tracestate_valid(good[i], strlen(good[i])))
            fail_msg("refused: '%s'", good[i]);
    static const char *const bad[] = {
        "Rojo=1", "1a=1", "a=1,a=2", "a",     "a=",    "a=b\x7f", "a=b=c",
        "a=\x01", "@v=1", "t@=1",    "t@V=1", "a=1,b", NULL};
    for (size_t i = 0; bad[i]; i++)
        if (pp__tracestate_valid(bad[i], strlen(bad[i])))
            fail_msg("accepted: '%s'", bad[i]);
    /* 33 members, and over 512 bytes */
    char many[512];
    size_t n = 0;
    for (int i = 0; i < 33; i++)
        n += (size_t)snprintf(many + n, sizeof many - n, "%sk%d=v", i ? "," : "", i);
    assert_false(pp__tracestate_valid(many, n));
    char longs[600];
    memset(longs, 'x', sizeof longs);
    memcpy(longs, "k=", 2);
    assert_false(pp__tracestate_valid(longs, sizeof longs));
}

/* ---- encoders ---- */

static const char *const rkeys[] = {"service.name", "host.name"};
static const char *const rvals[] = {"svc", "h\"1"};
static const pp__otlp_resource res = {rkeys, rvals, 2, 4242};

static void some_spans(pp__otlp_span *s)
{
    memset(s, 0, 2 * sizeof *s);
    for (int i = 0; i < 16; i++)
        s[0].trace_id[i] = s[1].trace_id[i] = (uint8_t)(i + 1);
    memset(s[0].span_id, 0xab, 8);
    memset(s[1].span_id, 0xcd, 8);
    memset(s[1].parent_id, 0xab, 8);
    s[0].name = "outer";
    s[0].file = "a.c";
    s[0].function = "main";
    s[0].line = 12;
    s[0].start_ns = 1700000000000000000ull;
    s[0].end_ns = 1700000000000000900ull;
    s[1].name = "in\"ner";
    s[1].start_ns = 1700000000000000100ull;
    s[1].end_ns = 1700000000000000200ull;
    s[1].failed = 1;
    s[1].remote_parent = 1;
}

static void encode_spans_protobuf(void **state)
{
    (void)state;
    pp__otlp_span s[2];
    some_spans(s);
    pp__strbuf b;
    pp__strbuf_init(&b, 1 << 20);
    assert_int_equal(pp__otlp_encode_spans(&res, s, 2, 0, &b), PP_OK);
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *r =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
            NULL, b.len, (const uint8_t *)b.data);
    assert_non_null(r);
    assert_int_equal(r->n_resource_spans, 1);
    Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = r->resource_spans[0];
    assert_int_equal(rs->resource->n_attributes, 3);
    assert_string_equal(rs->resource->attributes[0]->key, "service.name");
    assert_string_equal(rs->resource->attributes[0]->value->string_value, "svc");
    assert_string_equal(rs->resource->attributes[2]->key, "process.pid");
    assert_true(rs->resource->attributes[2]->value->int_value == 4242);
    assert_string_equal(rs->scope_spans[0]->scope->name, "postprof");
    assert_int_equal(rs->scope_spans[0]->n_spans, 2);
    Opentelemetry__Proto__Trace__V1__Span *a = rs->scope_spans[0]->spans[0];
    Opentelemetry__Proto__Trace__V1__Span *c = rs->scope_spans[0]->spans[1];
    assert_int_equal(a->trace_id.len, 16);
    assert_int_equal(a->span_id.len, 8);
    assert_int_equal(a->parent_span_id.len, 0);
    assert_memory_equal(c->parent_span_id.data, a->span_id.data, 8);
    assert_string_equal(a->name, "outer");
    assert_int_equal(a->kind, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_INTERNAL);
    assert_true(a->start_time_unix_nano == 1700000000000000000ull);
    assert_true(a->end_time_unix_nano == 1700000000000000900ull);
    assert_int_equal(a->n_attributes, 3);
    assert_string_equal(a->attributes[2]->key, "code.lineno");
    assert_true(a->attributes[2]->value->int_value == 12);
    assert_null(a->status);
    assert_int_equal(c->status->code,
                     OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR);
    assert_int_equal(a->flags, 0x101);
    assert_int_equal(c->flags, 0x301); /* remote parent */
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(r,
                                                                                            NULL);
    /* zero spans still make a valid request */
    assert_int_equal(pp__otlp_encode_spans(&res, s, 0, 0, &b), PP_OK);
    pp__strbuf_release(&b);
}

static void encode_spans_json(void **state)
{
    (void)state;
    pp__otlp_span s[2];
    some_spans(s);
    pp__strbuf b;
    pp__strbuf_init(&b, 1 << 20);
    assert_int_equal(pp__otlp_encode_spans(&res, s, 2, 1, &b), PP_OK);
    json_error_t err;
    json_t *j = json_loadb(b.data, b.len, 0, &err);
    if (!j)
        fail_msg("not JSON: %s in %s", err.text, b.data);
    json_t *rs = json_array_get(json_object_get(j, "resourceSpans"), 0);
    json_t *attrs = json_object_get(json_object_get(rs, "resource"), "attributes");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(attrs, 1), "value"), "stringValue")),
                        "h\"1");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(attrs, 2), "value"), "intValue")),
                        "4242"); /* int64 as a string */
    json_t *spans = json_object_get(json_array_get(json_object_get(rs, "scopeSpans"), 0), "spans");
    json_t *a = json_array_get(spans, 0), *c = json_array_get(spans, 1);
    assert_string_equal(json_string_value(json_object_get(a, "traceId")),
                        "0102030405060708090a0b0c0d0e0f10");
    assert_string_equal(json_string_value(json_object_get(a, "spanId")), "abababababababab");
    assert_null(json_object_get(a, "parentSpanId"));
    assert_string_equal(json_string_value(json_object_get(c, "parentSpanId")), "abababababababab");
    assert_string_equal(json_string_value(json_object_get(c, "name")), "in\"ner");
    assert_int_equal(json_integer_value(json_object_get(a, "kind")), 1); /* enum as integer */
    assert_string_equal(json_string_value(json_object_get(a, "startTimeUnixNano")),
                        "1700000000000000000");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(c, "status"), "code")), 2);
    json_decref(j);
    pp__strbuf_release(&b);
}

static const double hb[] = {0.5, 1, 2};

static void some_metrics(pp__otlp_metric *m, pp__otlp_point *pts)
{
    static const uint64_t buckets[] = {1, 2, 0, 4};
    static const char *const ln[] = {"route"};
    static const char *const lv[] = {"/x"};
    memset(pts, 0, 3 * sizeof *pts);
    pts[0].label_names = ln;
    pts[0].label_values = lv;
    pts[0].nlabels = 1;
    pts[0].value = 3;
    pts[1].value = -2.5;
    pts[2].count = 7;
    pts[2].sum = 12.25;
    pts[2].buckets = buckets;
    memset(m, 0, 3 * sizeof *m);
    m[0] = (pp__otlp_metric){"reqs_total", "Requests", PP_METRIC_COUNTER, NULL, 0, &pts[0], 1};
    m[1] = (pp__otlp_metric){"temp", "", PP_METRIC_GAUGE, NULL, 0, &pts[1], 1};
    m[2] = (pp__otlp_metric){"lat_seconds", "Latency", PP_METRIC_HISTOGRAM, hb, 3, &pts[2], 1};
}

static void encode_metrics_protobuf(void **state)
{
    (void)state;
    pp__otlp_metric m[3];
    pp__otlp_point pts[3];
    some_metrics(m, pts);
    pp__strbuf b;
    pp__strbuf_init(&b, 1 << 20);
    assert_int_equal(pp__otlp_encode_metrics(&res, m, 3, 100, 200, 0, &b), PP_OK);
    Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest *r =
        opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__unpack(
            NULL, b.len, (const uint8_t *)b.data);
    assert_non_null(r);
    Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm = r->resource_metrics[0]->scope_metrics[0];
    assert_int_equal(sm->n_metrics, 3);
    Opentelemetry__Proto__Metrics__V1__Metric *c = sm->metrics[0], *g = sm->metrics[1],
                                              *h = sm->metrics[2];
    assert_int_equal(c->data_case, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM);
    assert_true(c->sum->is_monotonic);
    assert_int_equal(c->sum->aggregation_temporality, 2);
    assert_true(c->sum->data_points[0]->as_double == 3);
    assert_string_equal(c->sum->data_points[0]->attributes[0]->value->string_value, "/x");
    assert_true(c->sum->data_points[0]->start_time_unix_nano == 100);
    assert_true(c->sum->data_points[0]->time_unix_nano == 200);
    assert_int_equal(g->data_case, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE);
    assert_true(g->gauge->data_points[0]->as_double == -2.5);
    assert_int_equal(h->data_case, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM);
    assert_int_equal(h->histogram->aggregation_temporality, 2);
    Opentelemetry__Proto__Metrics__V1__HistogramDataPoint *d = h->histogram->data_points[0];
    assert_true(d->count == 7);
    assert_true(d->has_sum && d->sum == 12.25);
    assert_int_equal(d->n_bucket_counts, 4);
    assert_int_equal(d->n_explicit_bounds, 3);
    assert_true(d->bucket_counts[3] == 4);
    assert_true(d->explicit_bounds[2] == 2);
    opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__free_unpacked(
        r, NULL);
    pp__strbuf_release(&b);
}

static void encode_metrics_json(void **state)
{
    (void)state;
    pp__otlp_metric m[3];
    pp__otlp_point pts[3];
    some_metrics(m, pts);
    pts[1].value = 0.0 / 0.0; /* NaN is a string in JSON */
    pp__strbuf b;
    pp__strbuf_init(&b, 1 << 20);
    assert_int_equal(pp__otlp_encode_metrics(&res, m, 3, 100, 200, 1, &b), PP_OK);
    json_error_t err;
    json_t *j = json_loadb(b.data, b.len, 0, &err);
    if (!j)
        fail_msg("not JSON: %s in %s", err.text, b.data);
    json_t *ms = json_object_get(
        json_array_get(json_object_get(json_array_get(json_object_get(j, "resourceMetrics"), 0),
                                       "scopeMetrics"),
                       0),
        "metrics");
    json_t *sum = json_object_get(json_array_get(ms, 0), "sum");
    assert_true(json_is_true(json_object_get(sum, "isMonotonic")));
    assert_int_equal(json_integer_value(json_object_get(sum, "aggregationTemporality")), 2);
    json_t *gp = json_array_get(
        json_object_get(json_object_get(json_array_get(ms, 1), "gauge"), "dataPoints"), 0);
    assert_string_equal(json_string_value(json_object_get(gp, "asDouble")), "NaN");
    json_t *hp = json_array_get(
        json_object_get(json_object_get(json_array_get(ms, 2), "histogram"), "dataPoints"), 0);
    assert_string_equal(json_string_value(json_object_get(hp, "count")), "7");
    assert_string_equal(json_string_value(json_array_get(json_object_get(hp, "bucketCounts"), 3)),
                        "4");
    assert_true(json_real_value(json_array_get(json_object_get(hp, "explicitBounds"), 0)) == 0.5);
    assert_string_equal(json_string_value(json_object_get(hp, "timeUnixNano")), "200");
    json_decref(j);
    pp__strbuf_release(&b);
}

static void partial_success_and_gzip(void **state)
{
    (void)state;
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse resp =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_RESPONSE__INIT;
    Opentelemetry__Proto__Collector__Trace__V1__ExportTracePartialSuccess ps =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_PARTIAL_SUCCESS__INIT;
    ps.rejected_spans = 3;
    ps.error_message = "too old";
    resp.partial_success = &ps;
    uint8_t buf[128];
    size_t n =
        opentelemetry__proto__collector__trace__v1__export_trace_service_response__pack(&resp, buf);
    int64_t rej = 0;
    char msg[64];
    assert_int_equal(pp__otlp_parse_partial(buf, n, 0, 1, &rej, msg, sizeof msg), 1);
    assert_true(rej == 3);
    assert_string_equal(msg, "too old");
    const char *js = "{\"partialSuccess\":{\"rejectedDataPoints\":\"5\",\"errorMessage\":\"x y\"}}";
    assert_int_equal(pp__otlp_parse_partial(js, strlen(js), 1, 0, &rej, msg, sizeof msg), 1);
    assert_true(rej == 5);
    assert_string_equal(msg, "x y");
    assert_int_equal(pp__otlp_parse_partial("{}", 2, 1, 1, &rej, msg, sizeof msg), 0);
    assert_int_equal(pp__otlp_parse_partial(NULL, 0, 0, 1, &rej, msg, sizeof msg), 0);
    assert_int_equal(pp__otlp_parse_partial("\xff\xff\xff", 3, 0, 1, &rej, msg, sizeof msg), 0);
    /* gzip round trip */
    pp__strbuf gz;
    pp__strbuf_init(&gz, 1 << 20);
    const char text[] = "hello hello hello hello hello";
    assert_int_equal(pp__otlp_gzip(text, sizeof text, &gz), PP_OK);
    assert_int_equal((unsigned char)gz.data[0], 0x1f);
    assert_int_equal((unsigned char)gz.data[1], 0x8b);
    char back[64];
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = (Bytef *)gz.data;
    z.avail_in = (uInt)gz.len;
    z.next_out = (Bytef *)back;
    z.avail_out = sizeof back;
    assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
    assert_int_equal(z.total_out, sizeof text);
    assert_memory_equal(back, text, sizeof text);
    inflateEnd(&z);
    pp__strbuf_release(&gz);
}

/* ---- the head sampler and ids, from real scopes ---- */

static size_t drain(pp__span_rec *out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&pp__spanq_lock);
    for (pp__span_queue *q = pp__spanqs; q; q = q->next)
        n += pp__span_queue_take(q, out + n, max - n);
    pthread_mutex_unlock(&pp__spanq_lock);
    return n;
}

static void nested(void)
{
    PP_SCOPE("t.outer");
    {
        PP_SCOPE("t.inner");
    }
}

static void sampler_and_nesting(void **state)
{
    (void)state;
    static pp__span_rec rec[64];
    nested(); /* sites registered before recording */
    pp__spans_configure(64, PP__SAMPLER_ALWAYS_ON, 1.0);
    nested();
    size_t n = drain(rec, 64);
    assert_int_equal(n, 2);
    /* ended inner first */
    assert_true(rec[0].parent_id == rec[1].span_id);
    assert_true(rec[1].parent_id == 0);
    assert_true(rec[0].trace_hi == rec[1].trace_hi && rec[0].trace_lo == rec[1].trace_lo);
    assert_true(rec[0].span_id != rec[1].span_id && rec[0].span_id && rec[1].span_id);
    assert_true(rec[0].start >= rec[1].start && rec[0].end <= rec[1].end);
    /* always_off: nothing */
    pp__spans_configure(64, PP__SAMPLER_ALWAYS_OFF, 1.0);
    nested();
    assert_int_equal(drain(rec, 64), 0);
    /* traceidratio 0.5: whole traces kept or not, about half of them */
    pp__spans_configure(64, PP__SAMPLER_RATIO, 0.5);
    size_t kept = 0;
    for (int i = 0; i < 400; i++) {
        nested();
        size_t k = drain(rec, 64);
        assert_true(k == 0 || k == 2); /* never a child without its root */
        kept += k / 2;
    }
    assert_true(kept > 120 && kept < 280); /* binomial(400, 0.5): 6+ sigma away */
    /* parent-based: a remote parent's flag decides */
    pp__spans_configure(64, PP__SAMPLER_PARENT_OFF, 1.0);
    nested();
    assert_int_equal(drain(rec, 64), 0); /* no parent: off */
    assert_int_equal(
        pp_otlp_continue("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "k=v"), PP_OK);
    assert_string_equal(pp_otlp_tracestate(), "k=v");
    nested();
    assert_int_equal(drain(rec, 64), 2);
    assert_true(rec[1].trace_hi == 0x0af7651916cd43ddull);
    assert_true(rec[1].trace_lo == 0x8448eb211c80319cull);
    assert_true(rec[1].parent_id == 0xb7ad6b7169203331ull);
    assert_true(rec[1].flags & PP__SPANREC_REMOTE);
    assert_false(rec[0].flags & PP__SPANREC_REMOTE);
    assert_int_equal(
        pp_otlp_continue("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00", "Bad=1"),
        PP_OK);
    assert_null(pp_otlp_tracestate()); /* an invalid tracestate is not passed on */
    nested();
    assert_int_equal(drain(rec, 64), 0); /* the remote parent was not sampled */
    assert_int_equal(pp_otlp_continue("garbage", NULL), PP_EFORMAT);
    pp_otlp_continue_clear();
    /* the current span's traceparent, inside a recorded scope only */
    pp__spans_configure(64, PP__SAMPLER_ALWAYS_ON, 1.0);
    char tp[PP_TRACEPARENT_SIZE];
    {
        PP_SCOPE("t.current");
        assert_int_equal(pp_otlp_traceparent(tp, sizeof tp), 55);
    }
    assert_int_equal(drain(rec, 64), 1);
    char want[64];
    snprintf(want, sizeof want, "00-%016llx%016llx-%016llx-01", (unsigned long long)rec[0].trace_hi,
             (unsigned long long)rec[0].trace_lo, (unsigned long long)rec[0].span_id);
    assert_string_equal(tp, want);
    assert_int_equal(pp_otlp_traceparent(tp, sizeof tp), 0);
    assert_string_equal(tp, "");
    /* a full queue drops, counts and pauses recording; resuming turns it back on */
    uint64_t dropped0 = pp__load(&pp__g_spans_dropped);
    for (int i = 0; i < 40; i++)
        nested(); /* 80 spans into 64 places */
    assert_true(pp__load(&pp__g_spans_dropped) > dropped0);
    assert_false(atomic_load(&pp__begin_extra) & PP__BEGIN_SPANS);
    assert_int_equal(drain(rec, 64), 64);
    pp__spans_resume();
    assert_true(atomic_load(&pp__begin_extra) & PP__BEGIN_SPANS);
    pp__spans_configure(0, 0, 0);
    nested();
    assert_int_equal(drain(rec, 64), 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(env_defaults),
        cmocka_unit_test(env_every_variable),
        cmocka_unit_test(env_malformed_values_warn),
        cmocka_unit_test(traceparent_rules),
        cmocka_unit_test(tracestate_rules),
        cmocka_unit_test(encode_spans_protobuf),
        cmocka_unit_test(encode_spans_json),
        cmocka_unit_test(encode_metrics_protobuf),
        cmocka_unit_test(encode_metrics_json),
        cmocka_unit_test(partial_success_and_gzip),
        cmocka_unit_test(sampler_and_nesting),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
