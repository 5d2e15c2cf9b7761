/*
 * prometheus.c - Renders a metrics registry as Prometheus text 0.0.4 or
 * OpenMetrics 1.0, and picks the format from an HTTP Accept header.
 * Reads the registry's cells without stopping writers; never prints.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <postprof/error.h>
#include <postprof/metrics.h>

#include "aggregate/registry_impl.h"
#include "common/strbuf.h"
#include "export/serve/http_parse.h"

#define RENDER_MAX_BYTES ((size_t)256 << 20)

const char *pp_expo_content_type(int format)
{
    return format == PP_EXPO_OPENMETRICS
               ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
               : "text/plain; version=0.0.4; charset=utf-8";
}

/* ---- Accept header ------------------------------------------------------ */

int pp_expo_negotiate(const char *accept)
{
    if (!accept)
        return PP_EXPO_TEXT;
    int best_om = -1, best_other = -1;
    const char *p = accept, *end = accept + strnlen(accept, 8192);
    pp__http_elem e;
    while (pp__http_next_elem(&p, end, &e)) {
        const char *v;
        size_t vn;
        if (pp__http_token_eq(e.token, e.token_len, "application/openmetrics-text")) {
            int version_ok =
                !pp__http_param(&e, "version", &v, &vn) || pp__http_token_eq(v, vn, "1.0.0");
            if (version_ok && e.q > best_om)
                best_om = e.q;
        } else if (pp__http_token_eq(e.token, e.token_len, "text/plain") ||
                   pp__http_token_eq(e.token, e.token_len, "text/*") ||
                   pp__http_token_eq(e.token, e.token_len, "*/*")) {
            if (e.q > best_other)
                best_other = e.q;
        }
    }
    return best_om > 0 && best_om >= best_other ? PP_EXPO_OPENMETRICS : PP_EXPO_TEXT;
}

/* ---- rendering ------------------------------------------------------------ */

static void add_help(pp__strbuf *b, const char *help, int om)
{
    for (const char *p = help; *p; p++) {
        if (*p == '\\')
            pp__strbuf_add(b, "\\\\", 2);
        else if (*p == '\n')
            pp__strbuf_add(b, "\\n", 2);
        else if (*p == '"' && om)
            pp__strbuf_add(b, "\\\"", 2);
        else
            pp__strbuf_addc(b, *p);
    }
}

/* name[suffix]{labels[,extra]} */
static void add_sample_name(pp__strbuf *b, const struct pp_metric *m, const char *suffix,
                            const struct pp_series *s, const char *extra, size_t extra_len)
{
    pp__strbuf_adds(b, m->name);
    if (suffix)
        pp__strbuf_adds(b, suffix);
    if (s->labels_len || extra_len) {
        pp__strbuf_addc(b, '{');
        pp__strbuf_add(b, s->labels_text, s->labels_len);
        if (s->labels_len && extra_len)
            pp__strbuf_addc(b, ',');
        pp__strbuf_add(b, extra, extra_len);
        pp__strbuf_addc(b, '}');
    }
    pp__strbuf_addc(b, ' ');
}

/* Decimal digits of v, written at p; returns the end. */
static char *put_u64(char *p, uint64_t v)
{
    char tmp[24];
    char *t = tmp + sizeof tmp;
    do {
        *--t = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    size_t n = (size_t)(tmp + sizeof tmp - t);
    memcpy(p, t, n);
    return p + n;
}

/* The hot loop of a scrape: one series' buckets written straight into
 * reserved space (sizes are known up front), then _sum and _count. */
/* A sample value; the text of an unchanged value is reused (the render lock is held). */
static void add_value(pp__strbuf *b, struct pp_series *s, double v)
{
    uint64_t bits = pp__double_to_bits(v);
    if (!s->text[0] || s->text_bits != bits) {
        pp__format_double(s->text, sizeof s->text, v);
        s->text_bits = bits;
    }
    pp__strbuf_adds(b, s->text);
}

static void render_histogram(pp__strbuf *b, const struct pp_metric *m, struct pp_series *s)
{
    uint64_t buckets[PP_METRICS_MAX_BUCKETS + 1], cum = 0;
    double sum;
    pp__series_read_hist(s, buckets, &sum);
    size_t nlen = strlen(m->name);
    size_t line_max = nlen + 8 + 1 + s->labels_len + 1 + 4 + 32 + 3 + 21 + 1;
    if (pp__strbuf_reserve(b, line_max * (m->nbounds + 1)) != 0)
        return;
    char *p = b->data + b->len;
    for (size_t i = 0; i <= m->nbounds; i++) {
        cum += buckets[i];
        const char *bt = i < m->nbounds ? m->bound_text[i] : "+Inf";
        memcpy(p, m->name, nlen);
        p += nlen;
        memcpy(p, "_bucket{", 8);
        p += 8;
        if (s->labels_len) {
            memcpy(p, s->labels_text, s->labels_len);
            p += s->labels_len;
            *p++ = ',';
        }
        memcpy(p, "le=\"", 4);
        p += 4;
        size_t bn = strlen(bt);
        memcpy(p, bt, bn);
        p += bn;
        memcpy(p, "\"} ", 3);
        p += 3;
        p = put_u64(p, cum);
        *p++ = '\n';
    }
    b->len = (size_t)(p - b->data);
    b->data[b->len] = '\0';
    add_sample_name(b, m, "_sum", s, NULL, 0);
    add_value(b, s, sum);
    pp__strbuf_addc(b, '\n');
    add_sample_name(b, m, "_count", s, NULL, 0);
    pp__strbuf_addu(b, cum);
    pp__strbuf_addc(b, '\n');
}

static void render_metric(pp__strbuf *b, struct pp_metric *m, int om)
{
    static const char *const types[] = {"", "counter", "gauge", "histogram"};
    size_t famlen = strlen(m->name);
    if (om && m->kind == PP_METRIC_COUNTER)
        famlen -= 6; /* OpenMetrics names the family without _total */
    pp__strbuf_adds(b, "# HELP ");
    pp__strbuf_add(b, m->name, famlen);
    pp__strbuf_addc(b, ' ');
    add_help(b, m->help, om);
    pp__strbuf_adds(b, "\n# TYPE ");
    pp__strbuf_add(b, m->name, famlen);
    pp__strbuf_addc(b, ' ');
    pp__strbuf_adds(b, types[m->kind]);
    pp__strbuf_addc(b, '\n');
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->nseries && !b->err; i++) {
        struct pp_series *s = m->series[i];
        if (m->kind == PP_METRIC_HISTOGRAM) {
            render_histogram(b, m, s);
            continue;
        }
        add_sample_name(b, m, NULL, s, NULL, 0);
        add_value(b, s, pp_series_value(s));
        pp__strbuf_addc(b, '\n');
    }
    pthread_mutex_unlock(&m->lock);
}

int pp_registry_render(pp_registry *r, int format, char **out_text, size_t *out_len)
{
    if (out_text)
        *out_text = NULL;
    if (out_len)
        *out_len = 0;
    if (!r || !out_text || !out_len || (format != PP_EXPO_TEXT && format != PP_EXPO_OPENMETRICS))
        return PP_EINVAL;
    int om = format == PP_EXPO_OPENMETRICS;
    pp__strbuf b;
    pp__strbuf_init(&b, RENDER_MAX_BYTES);
    pthread_mutex_lock(&r->render_lock);
    pp__registry_run_hooks(r);
    size_t n = atomic_load_explicit(&r->nmetrics, memory_order_acquire);
    for (size_t i = 0; i < n && !b.err; i++)
        render_metric(&b, r->metrics[i], om);
    pthread_mutex_unlock(&r->render_lock);
    if (om)
        pp__strbuf_adds(&b, "# EOF\n");
    int rc = b.err;
    *out_text = pp__strbuf_detach(&b, out_len);
    if (!*out_text && rc == 0)
        rc = PP_ENOMEM;
    return rc;
}
