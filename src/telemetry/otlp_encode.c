/*
 * otlp_encode.c - OTLP request bodies: ExportTraceServiceRequest and
 * ExportMetricsServiceRequest as protobuf (protobuf-c code generated at build
 * time from src/telemetry/proto/) or as OTLP JSON (lowerCamelCase names, hex
 * ids, 64-bit integers as decimal strings, enums as integers), the
 * partial_success of an answer, and gzip. Pure: runs on the sender thread.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/error.h>
#include <postprof/metrics.h>
#include <postprof/version.h>

#include "common/gzip.h"
#include "telemetry/otlp_impl.h"
#include "telemetry/proto/metrics_service.pb-c.h"
#include "telemetry/proto/trace_service.pb-c.h"

#define SCOPE_NAME "postprof"

typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;

/* ---- protobuf: every message lives in one arena freed at the end ---- */

typedef struct arena {
    void **blocks;
    size_t n, cap;
    int oom;
} arena;

static void *a_alloc(arena *a, size_t size)
{
    if (a->oom)
        return NULL;
    if (a->n == a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 64;
        void **nb = realloc(a->blocks, nc * sizeof *nb);
        if (!nb) {
            a->oom = 1;
            return NULL;
        }
        a->blocks = nb;
        a->cap = nc;
    }
    void *p = calloc(1, size ? size : 1);
    if (!p) {
        a->oom = 1;
        return NULL;
    }
    a->blocks[a->n++] = p;
    return p;
}

static void a_free(arena *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->blocks[i]);
    free(a->blocks);
}

static KeyValue *kv_str(arena *a, const char *k, const char *v)
{
    KeyValue *kv = a_alloc(a, sizeof *kv);
    AnyValue *av = a_alloc(a, sizeof *av);
    if (!kv || !av)
        return NULL;
    opentelemetry__proto__common__v1__key_value__init(kv);
    opentelemetry__proto__common__v1__any_value__init(av);
    kv->key = (char *)k;
    av->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    av->string_value = (char *)v;
    kv->value = av;
    return kv;
}

static KeyValue *kv_int(arena *a, const char *k, int64_t v)
{
    KeyValue *kv = kv_str(a, k, "");
    if (!kv)
        return NULL;
    kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    kv->value->int_value = v;
    return kv;
}

/* What every request carries once, spans or metrics: the resource (its
 * attributes and process.pid) and the instrumentation scope. */
typedef struct envelope {
    Opentelemetry__Proto__Resource__V1__Resource *resource;
    Opentelemetry__Proto__Common__V1__InstrumentationScope *scope;
} envelope;

static int pb_envelope(arena *a, const pp__otlp_resource *res, envelope *e)
{
    Opentelemetry__Proto__Resource__V1__Resource *r = a_alloc(a, sizeof *r);
    KeyValue **attrs = a_alloc(a, (res->n + 1) * sizeof *attrs);
    Opentelemetry__Proto__Common__V1__InstrumentationScope *s = a_alloc(a, sizeof *s);
    if (!r || !attrs || !s)
        return PP_ENOMEM;
    opentelemetry__proto__resource__v1__resource__init(r);
    for (size_t i = 0; i < res->n; i++)
        attrs[i] = kv_str(a, res->keys[i], res->values[i]);
    attrs[res->n] = kv_int(a, "process.pid", res->pid);
    r->attributes = attrs;
    r->n_attributes = res->n + 1;
    opentelemetry__proto__common__v1__instrumentation_scope__init(s);
    s->name = SCOPE_NAME;
    s->version = PP_VERSION_STRING;
    e->resource = r;
    e->scope = s;
    return a->oom ? PP_ENOMEM : PP_OK;
}

static int pb_pack(const ProtobufCMessage *m, pp__strbuf *out)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    out->len = 0;
    int rc = pp__strbuf_reserve(out, len);
    if (rc != PP_OK)
        return rc;
    protobuf_c_message_pack(m, (uint8_t *)out->data);
    out->len = len;
    out->data[len] = '\0';
    return PP_OK;
}

static uint32_t span_flags(const pp__otlp_span *s)
{
    /* W3C sampled, and whether the parent is remote (SPAN_FLAGS_CONTEXT_*) */
    return 0x01u | 0x100u | (s->remote_parent ? 0x200u : 0u);
}

static int span_kind(const pp__otlp_span *s)
{
    return s->kind == PP__OTLP_KIND_SERVER || s->kind == PP__OTLP_KIND_CLIENT
               ? s->kind
               : PP__OTLP_KIND_INTERNAL;
}

static int all_zero(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

static int pb_spans(const pp__otlp_resource *res, const pp__otlp_span *spans, size_t n,
                    pp__strbuf *out)
{
    arena a = {0};
    int rc = PP_ENOMEM;
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest req;
    Opentelemetry__Proto__Trace__V1__ResourceSpans rs;
    Opentelemetry__Proto__Trace__V1__ScopeSpans ss;
    Opentelemetry__Proto__Trace__V1__ResourceSpans *rsp = &rs;
    Opentelemetry__Proto__Trace__V1__ScopeSpans *ssp = &ss;
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(&req);
    opentelemetry__proto__trace__v1__resource_spans__init(&rs);
    opentelemetry__proto__trace__v1__scope_spans__init(&ss);
    envelope e = {0};
    int erc = pb_envelope(&a, res, &e);
    req.n_resource_spans = 1;
    req.resource_spans = &rsp;
    rs.resource = e.resource;
    rs.n_scope_spans = 1;
    rs.scope_spans = &ssp;
    ss.scope = e.scope;
    Opentelemetry__Proto__Trace__V1__Span **sp = a_alloc(&a, (n ? n : 1) * sizeof *sp);
    Opentelemetry__Proto__Trace__V1__Span *arr = a_alloc(&a, (n ? n : 1) * sizeof *arr);
    Opentelemetry__Proto__Trace__V1__Status *st = a_alloc(&a, (n ? n : 1) * sizeof *st);
    KeyValue **attrs = a_alloc(&a, (n ? n : 1) * 3 * sizeof *attrs);
    if (erc != PP_OK || !sp || !arr || !st || !attrs)
        goto out;
    for (size_t i = 0; i < n; i++) {
        const pp__otlp_span *s = &spans[i];
        Opentelemetry__Proto__Trace__V1__Span *p = &arr[i];
        opentelemetry__proto__trace__v1__span__init(p);
        opentelemetry__proto__trace__v1__status__init(&st[i]);
        p->trace_id.data = (uint8_t *)s->trace_id;
        p->trace_id.len = 16;
        p->span_id.data = (uint8_t *)s->span_id;
        p->span_id.len = 8;
        if (!all_zero(s->parent_id, 8)) {
            p->parent_span_id.data = (uint8_t *)s->parent_id;
            p->parent_span_id.len = 8;
        }
        p->flags = span_flags(s);
        p->name = (char *)s->name;
        p->kind = (Opentelemetry__Proto__Trace__V1__Span__SpanKind)span_kind(s);
        p->start_time_unix_nano = s->start_ns;
        p->end_time_unix_nano = s->end_ns;
        size_t k = 0;
        KeyValue **pa = &attrs[3 * i];
        if (s->file && (pa[k] = kv_str(&a, "code.filepath", s->file)))
            k++;
        if (s->function && (pa[k] = kv_str(&a, "code.function", s->function)))
            k++;
        if (s->line > 0 && (pa[k] = kv_int(&a, "code.lineno", s->line)))
            k++;
        p->attributes = pa;
        p->n_attributes = k;
        if (s->failed) {
            st[i].code = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
            p->status = &st[i];
        }
        sp[i] = p;
    }
    if (a.oom)
        goto out;
    ss.spans = sp;
    ss.n_spans = n;
    rc = pb_pack(&req.base, out);
out:
    a_free(&a);
    return rc;
}

static int pb_metrics(const pp__otlp_resource *res, const pp__otlp_metric *ms, size_t n,
                      uint64_t start_ns, uint64_t now_ns, pp__strbuf *out)
{
    arena a = {0};
    int rc = PP_ENOMEM;
    Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest req;
    Opentelemetry__Proto__Metrics__V1__ResourceMetrics rm;
    Opentelemetry__Proto__Metrics__V1__ScopeMetrics sm;
    Opentelemetry__Proto__Metrics__V1__ResourceMetrics *rmp = &rm;
    Opentelemetry__Proto__Metrics__V1__ScopeMetrics *smp = &sm;
    opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__init(&req);
    opentelemetry__proto__metrics__v1__resource_metrics__init(&rm);
    opentelemetry__proto__metrics__v1__scope_metrics__init(&sm);
    envelope e = {0};
    int erc = pb_envelope(&a, res, &e);
    req.n_resource_metrics = 1;
    req.resource_metrics = &rmp;
    rm.resource = e.resource;
    rm.n_scope_metrics = 1;
    rm.scope_metrics = &smp;
    sm.scope = e.scope;
    Opentelemetry__Proto__Metrics__V1__Metric **mp = a_alloc(&a, (n ? n : 1) * sizeof *mp);
    if (erc != PP_OK || !mp)
        goto out;
    for (size_t i = 0; i < n && !a.oom; i++) {
        const pp__otlp_metric *m = &ms[i];
        Opentelemetry__Proto__Metrics__V1__Metric *pm = a_alloc(&a, sizeof *pm);
        if (!pm)
            break;
        opentelemetry__proto__metrics__v1__metric__init(pm);
        pm->name = (char *)m->name;
        pm->description = (char *)(m->help ? m->help : "");
        size_t np = m->npoints ? m->npoints : 1;
        if (m->kind == PP_METRIC_HISTOGRAM) {
            Opentelemetry__Proto__Metrics__V1__Histogram *h = a_alloc(&a, sizeof *h);
            Opentelemetry__Proto__Metrics__V1__HistogramDataPoint **dps =
                a_alloc(&a, np * sizeof *dps);
            if (!h || !dps)
                break;
            opentelemetry__proto__metrics__v1__histogram__init(h);
            h->has_aggregation_temporality = 1;
            h->aggregation_temporality =
                OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
            for (size_t j = 0; j < m->npoints; j++) {
                const pp__otlp_point *pt = &m->points[j];
                Opentelemetry__Proto__Metrics__V1__HistogramDataPoint *d = a_alloc(&a, sizeof *d);
                KeyValue **la = a_alloc(&a, (pt->nlabels + 1) * sizeof *la);
                if (!d || !la)
                    break;
                opentelemetry__proto__metrics__v1__histogram_data_point__init(d);
                for (size_t l = 0; l < pt->nlabels; l++)
                    la[l] = kv_str(&a, pt->label_names[l], pt->label_values[l]);
                d->attributes = la;
                d->n_attributes = pt->nlabels;
                d->has_start_time_unix_nano = d->has_time_unix_nano = 1;
                d->start_time_unix_nano = start_ns;
                d->time_unix_nano = now_ns;
                d->has_count = 1;
                d->count = pt->count;
                d->has_sum = 1;
                d->sum = pt->sum;
                d->n_bucket_counts = m->nbounds + 1;
                d->bucket_counts = (uint64_t *)pt->buckets;
                d->n_explicit_bounds = m->nbounds;
                d->explicit_bounds = (double *)m->bounds;
                dps[j] = d;
            }
            h->data_points = dps;
            h->n_data_points = m->npoints;
            pm->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM;
            pm->histogram = h;
        } else {
            Opentelemetry__Proto__Metrics__V1__NumberDataPoint **dps =
                a_alloc(&a, np * sizeof *dps);
            if (!dps)
                break;
            for (size_t j = 0; j < m->npoints; j++) {
                const pp__otlp_point *pt = &m->points[j];
                Opentelemetry__Proto__Metrics__V1__NumberDataPoint *d = a_alloc(&a, sizeof *d);
                KeyValue **la = a_alloc(&a, (pt->nlabels + 1) * sizeof *la);
                if (!d || !la)
                    break;
                opentelemetry__proto__metrics__v1__number_data_point__init(d);
                for (size_t l = 0; l < pt->nlabels; l++)
                    la[l] = kv_str(&a, pt->label_names[l], pt->label_values[l]);
                d->attributes = la;
                d->n_attributes = pt->nlabels;
                d->has_start_time_unix_nano = d->has_time_unix_nano = 1;
                d->start_time_unix_nano = start_ns;
                d->time_unix_nano = now_ns;
                d->value_case =
                    OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE;
                d->as_double = pt->value;
                dps[j] = d;
            }
            if (m->kind == PP_METRIC_COUNTER) {
                Opentelemetry__Proto__Metrics__V1__Sum *s = a_alloc(&a, sizeof *s);
                if (!s)
                    break;
                opentelemetry__proto__metrics__v1__sum__init(s);
                s->data_points = dps;
                s->n_data_points = m->npoints;
                s->has_aggregation_temporality = s->has_is_monotonic = 1;
                s->aggregation_temporality =
                    OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
                s->is_monotonic = 1;
                pm->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM;
                pm->sum = s;
            } else {
                Opentelemetry__Proto__Metrics__V1__Gauge *g = a_alloc(&a, sizeof *g);
                if (!g)
                    break;
                opentelemetry__proto__metrics__v1__gauge__init(g);
                g->data_points = dps;
                g->n_data_points = m->npoints;
                pm->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
                pm->gauge = g;
            }
        }
        mp[i] = pm;
    }
    if (a.oom)
        goto out;
    sm.metrics = mp;
    sm.n_metrics = n;
    rc = pb_pack(&req.base, out);
out:
    a_free(&a);
    return rc;
}

/* ---- JSON ---- */

static void j_hex(pp__strbuf *b, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    pp__strbuf_addc(b, '"');
    for (size_t i = 0; i < n; i++) {
        pp__strbuf_addc(b, digits[p[i] >> 4]);
        pp__strbuf_addc(b, digits[p[i] & 15]);
    }
    pp__strbuf_addc(b, '"');
}

static void j_u64(pp__strbuf *b, uint64_t v)
{
    pp__strbuf_addc(b, '"');
    pp__strbuf_addu(b, v);
    pp__strbuf_addc(b, '"');
}

static void j_double(pp__strbuf *b, double v)
{
    if (isnan(v))
        pp__strbuf_adds(b, "\"NaN\"");
    else if (isinf(v))
        pp__strbuf_adds(b, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    else
        pp__strbuf_printf(b, "%.17g", v);
}

static void j_kv_str(pp__strbuf *b, const char *k, const char *v)
{
    pp__strbuf_adds(b, "{\"key\":");
    pp__strbuf_json_strz(b, k, 0);
    pp__strbuf_adds(b, ",\"value\":{\"stringValue\":");
    pp__strbuf_json_strz(b, v, 0);
    pp__strbuf_adds(b, "}}");
}

static void j_kv_int(pp__strbuf *b, const char *k, int64_t v)
{
    pp__strbuf_adds(b, "{\"key\":");
    pp__strbuf_json_strz(b, k, 0);
    pp__strbuf_printf(b, ",\"value\":{\"intValue\":\"%lld\"}}", (long long)v);
}

/* The JSON envelope of a request: {"resource<Signal>":[{"resource":{...},
 * "scope<Signal>":[{"scope":{...},"<items>":[ ... ]}]}]} (j_close ends it). */
static void j_open(pp__strbuf *b, const pp__otlp_resource *res, const char *signal,
                   const char *items)
{
    b->len = 0;
    pp__strbuf_printf(b, "{\"resource%s\":[{\"resource\":{\"attributes\":[", signal);
    for (size_t i = 0; i < res->n; i++) {
        j_kv_str(b, res->keys[i], res->values[i]);
        pp__strbuf_addc(b, ',');
    }
    j_kv_int(b, "process.pid", res->pid);
    pp__strbuf_printf(b,
                      "]},\"scope%s\":[{\"scope\":{\"name\":\"" SCOPE_NAME
                      "\",\"version\":\"" PP_VERSION_STRING "\"},\"%s\":[",
                      signal, items);
}

static int j_close(pp__strbuf *b)
{
    pp__strbuf_adds(b, "]}]}]}");
    return b->err;
}

static int json_spans(const pp__otlp_resource *res, const pp__otlp_span *spans, size_t n,
                      pp__strbuf *b)
{
    j_open(b, res, "Spans", "spans");
    for (size_t i = 0; i < n; i++) {
        const pp__otlp_span *s = &spans[i];
        if (i)
            pp__strbuf_addc(b, ',');
        pp__strbuf_adds(b, "{\"traceId\":");
        j_hex(b, s->trace_id, 16);
        pp__strbuf_adds(b, ",\"spanId\":");
        j_hex(b, s->span_id, 8);
        if (!all_zero(s->parent_id, 8)) {
            pp__strbuf_adds(b, ",\"parentSpanId\":");
            j_hex(b, s->parent_id, 8);
        }
        pp__strbuf_printf(b, ",\"flags\":%u,\"name\":", span_flags(s));
        pp__strbuf_json_strz(b, s->name, 0);
        pp__strbuf_printf(b, ",\"kind\":%d,\"startTimeUnixNano\":", span_kind(s));
        j_u64(b, s->start_ns);
        pp__strbuf_adds(b, ",\"endTimeUnixNano\":");
        j_u64(b, s->end_ns);
        pp__strbuf_adds(b, ",\"attributes\":[");
        int first = 1;
        if (s->file) {
            j_kv_str(b, "code.filepath", s->file);
            first = 0;
        }
        if (s->function) {
            if (!first)
                pp__strbuf_addc(b, ',');
            j_kv_str(b, "code.function", s->function);
            first = 0;
        }
        if (s->line > 0) {
            if (!first)
                pp__strbuf_addc(b, ',');
            j_kv_int(b, "code.lineno", s->line);
        }
        pp__strbuf_addc(b, ']');
        if (s->failed)
            pp__strbuf_adds(b, ",\"status\":{\"code\":2}");
        pp__strbuf_addc(b, '}');
    }
    return j_close(b);
}

static void j_attrs(pp__strbuf *b, const pp__otlp_point *pt)
{
    pp__strbuf_adds(b, "\"attributes\":[");
    for (size_t l = 0; l < pt->nlabels; l++) {
        if (l)
            pp__strbuf_addc(b, ',');
        j_kv_str(b, pt->label_names[l], pt->label_values[l]);
    }
    pp__strbuf_adds(b, "],");
}

static int json_metrics(const pp__otlp_resource *res, const pp__otlp_metric *ms, size_t n,
                        uint64_t start_ns, uint64_t now_ns, pp__strbuf *b)
{
    j_open(b, res, "Metrics", "metrics");
    for (size_t i = 0; i < n; i++) {
        const pp__otlp_metric *m = &ms[i];
        if (i)
            pp__strbuf_addc(b, ',');
        pp__strbuf_adds(b, "{\"name\":");
        pp__strbuf_json_strz(b, m->name, 0);
        pp__strbuf_adds(b, ",\"description\":");
        pp__strbuf_json_strz(b, m->help ? m->help : "", 0);
        const char *kind = m->kind == PP_METRIC_HISTOGRAM ? "histogram"
                           : m->kind == PP_METRIC_COUNTER ? "sum"
                                                          : "gauge";
        pp__strbuf_printf(b, ",\"%s\":{\"dataPoints\":[", kind);
        for (size_t j = 0; j < m->npoints; j++) {
            const pp__otlp_point *pt = &m->points[j];
            if (j)
                pp__strbuf_addc(b, ',');
            pp__strbuf_addc(b, '{');
            j_attrs(b, pt);
            pp__strbuf_adds(b, "\"startTimeUnixNano\":");
            j_u64(b, start_ns);
            pp__strbuf_adds(b, ",\"timeUnixNano\":");
            j_u64(b, now_ns);
            if (m->kind == PP_METRIC_HISTOGRAM) {
                pp__strbuf_adds(b, ",\"count\":");
                j_u64(b, pt->count);
                pp__strbuf_adds(b, ",\"sum\":");
                j_double(b, pt->sum);
                pp__strbuf_adds(b, ",\"bucketCounts\":[");
                for (size_t k = 0; k <= m->nbounds; k++) {
                    if (k)
                        pp__strbuf_addc(b, ',');
                    j_u64(b, pt->buckets[k]);
                }
                pp__strbuf_adds(b, "],\"explicitBounds\":[");
                for (size_t k = 0; k < m->nbounds; k++) {
                    if (k)
                        pp__strbuf_addc(b, ',');
                    j_double(b, m->bounds[k]);
                }
                pp__strbuf_addc(b, ']');
            } else {
                pp__strbuf_adds(b, ",\"asDouble\":");
                j_double(b, pt->value);
            }
            pp__strbuf_addc(b, '}');
        }
        pp__strbuf_addc(b, ']');
        if (m->kind != PP_METRIC_GAUGE)
            pp__strbuf_adds(b, ",\"aggregationTemporality\":2");
        if (m->kind == PP_METRIC_COUNTER)
            pp__strbuf_adds(b, ",\"isMonotonic\":true");
        pp__strbuf_adds(b, "}}");
    }
    return j_close(b);
}

int pp__otlp_encode_spans(const pp__otlp_resource *res, const pp__otlp_span *spans, size_t n,
                          int json, pp__strbuf *out)
{
    return json ? json_spans(res, spans, n, out) : pb_spans(res, spans, n, out);
}

int pp__otlp_encode_metrics(const pp__otlp_resource *res, const pp__otlp_metric *metrics, size_t n,
                            uint64_t start_ns, uint64_t now_ns, int json, pp__strbuf *out)
{
    return json ? json_metrics(res, metrics, n, start_ns, now_ns, out)
                : pb_metrics(res, metrics, n, start_ns, now_ns, out);
}

/* ---- answers ---- */

/* JSON: "partialSuccess":{"rejectedSpans":"3","errorMessage":"..."} (a light scan: the
 * body is only logged) */
static int json_partial(const char *body, size_t len, const char *count_key, int64_t *out_rejected,
                        char *out_msg, size_t cap)
{
    char text[4096];
    size_t n = len < sizeof text - 1 ? len : sizeof text - 1;
    memcpy(text, body, n);
    text[n] = '\0';
    const char *ps = strstr(text, "\"partialSuccess\"");
    if (!ps)
        return 0;
    const char *rk = strstr(ps, count_key);
    if (rk) {
        rk += strlen(count_key);
        while (*rk == '"' || *rk == ':' || *rk == ' ')
            rk++;
        *out_rejected = strtoll(rk, NULL, 10);
    }
    const char *em = strstr(ps, "\"errorMessage\"");
    if (em) {
        em = strchr(em + 14, '"');
        if (em) {
            em++;
            size_t k = 0;
            while (em[k] && em[k] != '"' && k + 1 < cap) {
                out_msg[k] = em[k];
                k++;
            }
            out_msg[k] = '\0';
        }
    }
    return *out_rejected > 0 || out_msg[0];
}

int pp__otlp_parse_partial(const void *body, size_t len, int json, int traces,
                           int64_t *out_rejected, char *out_msg, size_t msg_cap)
{
    *out_rejected = 0;
    if (msg_cap)
        out_msg[0] = '\0';
    if (!body || !len)
        return 0;
    if (json)
        return json_partial(body, len, traces ? "\"rejectedSpans\"" : "\"rejectedDataPoints\"",
                            out_rejected, out_msg, msg_cap);
    const char *m = NULL;
    if (traces) {
        Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse *r =
            opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack(
                NULL, len, body);
        if (!r)
            return 0;
        if (r->partial_success) {
            *out_rejected = r->partial_success->rejected_spans;
            m = r->partial_success->error_message;
            snprintf(out_msg, msg_cap, "%s", m ? m : "");
        }
        opentelemetry__proto__collector__trace__v1__export_trace_service_response__free_unpacked(
            r, NULL);
    } else {
        Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceResponse *r =
            opentelemetry__proto__collector__metrics__v1__export_metrics_service_response__unpack(
                NULL, len, body);
        if (!r)
            return 0;
        if (r->partial_success) {
            *out_rejected = r->partial_success->rejected_data_points;
            m = r->partial_success->error_message;
            snprintf(out_msg, msg_cap, "%s", m ? m : "");
        }
        opentelemetry__proto__collector__metrics__v1__export_metrics_service_response__free_unpacked(
            r, NULL);
    }
    return *out_rejected > 0 || (msg_cap && out_msg[0]);
}

int pp__otlp_gzip(const void *in, size_t n, pp__strbuf *out)
{
    char *z = NULL;
    size_t zn = 0;
    int rc = pp__gzip(in, n, &z, &zn); /* the library's one compressor */
    if (rc != PP_OK)
        return rc;
    out->len = 0;
    rc = pp__strbuf_reserve(out, zn);
    if (rc == PP_OK) {
        memcpy(out->data, z, zn);
        out->len = zn;
    }
    free(z);
    return rc;
}
