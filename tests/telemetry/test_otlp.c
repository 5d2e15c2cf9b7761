/*
 * test_otlp.c - The OTLP exporter's parts on their own: the OTEL_*
 * environment (defaults, every variable, malformed values warned about), the
 * encoders (protobuf read back with the generated code, JSON with jansson),
 * partial_success, the W3C traceparent/tracestate rules, the head
 * sampler with parent/child ids recorded from nested scopes, sampled-out
 * roots that still carry a traceparent (flags 00), async spans taking the
 * span open when they began as parent, and the spans a paused recording
 * skipped, counted (also with several threads and their exits).
 */
#include <jansson.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
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
    assert_true(c.shutdown_ms == 5000); /* the 10 s request timeout, capped at exit */
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
        "POSTPROF_OTLP_EXIT_TIMEOUT",
        "60000",
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
    assert_true(c.shutdown_ms == 60000); /* POSTPROF_OTLP_EXIT_TIMEOUT, over the 5 s cap */
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
    s[1].kind = PP__OTLP_KIND_SERVER; /* s[0] left 0: INTERNAL */
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
    assert_int_equal(c->kind, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER);
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
    assert_int_equal(json_integer_value(json_object_get(c, "kind")), 2);
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
    int64_t unseen0 = pp__spans_unseen_ends();
    for (int i = 0; i < 40; i++)
        nested(); /* 80 spans into 64 places */
    /* the 33rd call's two spans found the queue full (dropped, recording
     * paused), the 7 calls after it ran unrecorded: 14 spans skipped, seen
     * in the sites' own counts */
    assert_int_equal(pp__load(&pp__g_spans_dropped) - dropped0, 2);
    assert_int_equal(pp__spans_unseen_ends() - unseen0, 14);
    assert_false(atomic_load(&pp__begin_extra) & PP__BEGIN_SPANS);
    assert_int_equal(drain(rec, 64), 64);
    pp__spans_resume();
    assert_true(atomic_load(&pp__begin_extra) & PP__BEGIN_SPANS);
    pp__spans_configure(0, 0, 0);
    nested();
    assert_int_equal(drain(rec, 64), 0);
}

/* A scope begun while recording was paused is skipped, and so are the
 * scopes begun inside it after recording resumed (their parent's span is
 * missing): counted among the unseen ends, never lost. */
static void paused_parent_skips_children(void **state)
{
    (void)state;
    static pp__span_rec rec[64];
    pp__spans_configure(64, PP__SAMPLER_ALWAYS_ON, 1.0);
    while (drain(rec, 64) > 0)
        ;
    int64_t unseen0 = pp__spans_unseen_ends();
    {
        PP_SCOPE("t.resume.outer");                           /* recorded */
        atomic_fetch_and(&pp__begin_extra, ~PP__BEGIN_SPANS); /* paused, as by a full queue */
        {
            PP_SCOPE("t.resume.mid"); /* skipped */
            pp__spans_resume();
            {
                PP_SCOPE("t.resume.inner"); /* its parent unrecorded: skipped too */
            }
        }
    }
    assert_int_equal(drain(rec, 64), 1);
    assert_int_equal(pp__spans_unseen_ends() - unseen0, 2);
    pp__spans_configure(0, 0, 0);
}

/* Threads recording spans into queues of 64 while this thread drains them
 * as the sender does and resumes recording after each pause: every span is
 * then taken, dropped at a full queue, or counted among the unseen ends
 * (skipped while paused), exactly, the threads' exits included. */
#define WORKERS 4
#define WORKER_CALLS 5000
static atomic_int workers_done;

static void *worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < WORKER_CALLS; i++)
        nested();
    atomic_fetch_add(&workers_done, 1);
    return NULL;
}

static void paused_spans_counted_across_threads(void **state)
{
    (void)state;
    static pp__span_rec rec[4096];
    nested(); /* sites registered */
    pp__spans_configure(64, PP__SAMPLER_ALWAYS_ON, 1.0);
    uint64_t dropped0 = pp__load(&pp__g_spans_dropped);
    uint64_t pauses0 = pp__load(&pp__g_spans_suspended);
    int64_t unseen0 = pp__spans_unseen_ends();
    pthread_t th[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, worker, NULL), 0);
    size_t taken = 0;
    uint64_t seen = pauses0;
    while (atomic_load(&workers_done) < WORKERS) {
        /* after each pause, a round of the sender: drain, count, resume */
        uint64_t p = pp__load(&pp__g_spans_suspended);
        if (p != seen) {
            seen = p;
            taken += drain(rec, 4096);
            (void)pp__spans_unseen_ends(); /* read while they run */
            pp__spans_resume();
        }
        sched_yield();
    }
    for (int i = 0; i < WORKERS; i++)
        pthread_join(th[i], NULL);
    pp__spans_configure(0, 0, 0);
    for (size_t k; (k = drain(rec, 4096)) > 0;)
        taken += k;
    uint64_t dropped = pp__load(&pp__g_spans_dropped) - dropped0;
    int64_t skipped = pp__spans_unseen_ends() - unseen0;
    assert_true(skipped >= 0);
    if (taken + dropped + (uint64_t)skipped != 2u * WORKERS * WORKER_CALLS)
        fail_msg("taken %zu + dropped %llu + skipped %lld != %d spans", taken,
                 (unsigned long long)dropped, (long long)skipped, 2 * WORKERS * WORKER_CALLS);
    /* nothing is drained before a queue fills: recording paused on the way */
    assert_true(pp__load(&pp__g_spans_suspended) > pauses0);
    assert_true(taken >= 64); /* the full queue that paused it, at least */
}

/* The trace id and the flags of a traceparent, "00-<32>-<16>-<2>". */
static int same_trace(const char *a, const char *b)
{
    return strncmp(a, b, 36) == 0;
}

static void unsampled_roots_carry_context(void **state)
{
    (void)state;
    static pp__span_rec rec[64];
    char tp[PP_TRACEPARENT_SIZE], in[PP_TRACEPARENT_SIZE], other[PP_TRACEPARENT_SIZE];
    pp__spans_configure(64, PP__SAMPLER_ALWAYS_OFF, 1.0);
    {
        PP_SCOPE("t.unsampled");
        assert_int_equal(pp_otlp_traceparent(tp, sizeof tp), 55);
        assert_string_equal(tp + 52, "-00"); /* not sampled, but sent */
        {
            PP_SCOPE("t.unsampled.child"); /* needs no ids of its own: the root's */
            assert_int_equal(pp_otlp_traceparent(in, sizeof in), 55);
            assert_string_equal(in, tp);
        }
    }
    {
        PP_SCOPE("t.unsampled");
        assert_int_equal(pp_otlp_traceparent(other, sizeof other), 55);
    }
    assert_false(same_trace(tp, other)); /* each root its own trace */
    assert_int_equal(drain(rec, 64), 0);
    assert_int_equal(pp_otlp_traceparent(tp, sizeof tp), 0); /* no scope open */
    /* parent-based: a remote parent's 00 carries on, with its trace id */
    pp__spans_configure(64, PP__SAMPLER_PARENT_ON, 1.0);
    assert_int_equal(
        pp_otlp_continue("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00", NULL), PP_OK);
    {
        PP_SCOPE("t.unsampled");
        assert_int_equal(pp_otlp_traceparent(tp, sizeof tp), 55);
        assert_memory_equal(tp, "00-0af7651916cd43dd8448eb211c80319c-", 36);
        assert_string_not_equal(tp + 36, "b7ad6b7169203331-00"); /* a span of this process */
        assert_string_equal(tp + 52, "-00");
    }
    assert_int_equal(drain(rec, 64), 0);
    /* and 01 is followed (parentbased_always_off would drop a local root) */
    pp__spans_configure(64, PP__SAMPLER_PARENT_OFF, 1.0);
    assert_int_equal(
        pp_otlp_continue("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", NULL), PP_OK);
    {
        PP_SCOPE("t.unsampled");
        assert_int_equal(pp_otlp_traceparent(tp, sizeof tp), 55);
        assert_string_equal(tp + 52, "-01");
    }
    assert_int_equal(drain(rec, 64), 1);
    assert_true(rec[0].parent_id == 0xb7ad6b7169203331ull);
    pp_otlp_continue_clear();
    pp__spans_configure(0, 0, 0);
    {
        PP_SCOPE("t.unsampled"); /* recording off: no context at all */
        assert_int_equal(pp_otlp_traceparent(tp, sizeof tp), 0);
    }
}

static int ended_rc = -1;

static void *end_on_other_thread(void *arg)
{
    ended_rc = pp_async_end(*(pp_span *)arg, 0); /* checked by the test's thread */
    return NULL;
}

static uint64_t hex64(const char *p)
{
    return strtoull(p, NULL, 16);
}

static void async_spans_take_their_parent(void **state)
{
    (void)state;
    static pp__span_rec rec[64];
    char tp[PP_TRACEPARENT_SIZE], cur[PP_TRACEPARENT_SIZE], atp[PP_TRACEPARENT_SIZE];
    pp_span a = 0, b = 0, c = 0;
    pp__spans_configure(64, PP__SAMPLER_ALWAYS_ON, 1.0);
    {
        PP_SCOPE("t.async.parent");
        PP_ASYNC_BEGIN_CLIENT(a, "t.async.child");
        assert_int_equal(pp_otlp_async_traceparent(a, atp, sizeof atp), 55);
        assert_int_equal(pp_otlp_traceparent(cur, sizeof cur), 55);
        assert_true(same_trace(atp, cur));           /* the scope's trace */
        assert_string_not_equal(atp + 36, cur + 36); /* its own span id */
        assert_string_equal(atp + 52, "-01");
    }
    PP_ASYNC_BEGIN(b, "t.async.root"); /* no scope open: a root of its own */
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, end_on_other_thread, &a), 0);
    pthread_join(th, NULL);
    assert_int_equal(ended_rc, PP_OK);
    assert_int_equal(pp_otlp_async_traceparent(a, tp, sizeof tp), 0); /* ended */
    assert_string_equal(tp, "");
    PP_ASYNC_END(b);
    size_t n = drain(rec, 64);
    assert_int_equal(n, 3);
    const pp__span_rec *scope = NULL, *child = NULL, *root = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!(rec[i].flags & PP__SPANREC_ASYNC))
            scope = &rec[i];
        else if (rec[i].parent_id)
            child = &rec[i];
        else
            root = &rec[i];
    }
    assert_non_null(scope);
    assert_non_null(child);
    assert_non_null(root);
    assert_true(child->parent_id == scope->span_id);
    assert_true(child->trace_hi == scope->trace_hi && child->trace_lo == scope->trace_lo);
    assert_true(child->span_id == hex64(atp + 36)); /* the id its traceparent named */
    assert_true(scope->span_id == hex64(cur + 36));
    assert_true(child->start >= scope->start && child->end >= child->start);
    assert_false(root->trace_hi == scope->trace_hi && root->trace_lo == scope->trace_lo);
    /* under a sampled-out root: ids for the request (00), nothing recorded */
    pp__spans_configure(64, PP__SAMPLER_ALWAYS_OFF, 1.0);
    {
        PP_SCOPE("t.async.parent");
        PP_ASYNC_BEGIN_CLIENT(c, "t.async.child");
        assert_int_equal(pp_otlp_async_traceparent(c, tp, sizeof tp), 55);
        assert_int_equal(pp_otlp_traceparent(cur, sizeof cur), 55);
        assert_true(same_trace(tp, cur));
        assert_string_equal(tp + 52, "-00");
    }
    PP_ASYNC_END(c);
    assert_int_equal(drain(rec, 64), 0);
    /* begun while recording was off: not recorded, even if it is on at the end */
    pp__spans_configure(0, 0, 0);
    PP_ASYNC_BEGIN(c, "t.async.root");
    assert_int_equal(pp_otlp_async_traceparent(c, tp, sizeof tp), 0);
    pp__spans_configure(64, PP__SAMPLER_ALWAYS_ON, 1.0);
    PP_ASYNC_END(c);
    assert_int_equal(drain(rec, 64), 0);
    pp__spans_configure(0, 0, 0);
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
        cmocka_unit_test(unsampled_roots_carry_context),
        cmocka_unit_test(async_spans_take_their_parent),
        cmocka_unit_test(paused_parent_skips_children),
        cmocka_unit_test(paused_spans_counted_across_threads),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
