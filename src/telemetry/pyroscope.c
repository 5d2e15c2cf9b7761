/*
 * pyroscope.c - One profile pushed to Pyroscope's `POST /ingest`
 * (postprof/push.h): the query (format=pprof, name=APP.KIND{labels}, from,
 * until, sampleRate, spyName) checked and URL-encoded here, the body the
 * gzipped pprof export/formats renders, sent under the shared retry policy
 * (http_retry.h). Never prints; never retries a 4xx other than 429.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <postprof/clock.h>
#include <postprof/error.h>
#include <postprof/push.h>

#include "export/formats/formats.h"
#include "telemetry/http_retry.h"
#include "telemetry/pyroscope_impl.h"

#define DEFAULT_TIMEOUT_NS (15ull * 1000000000ull)
#define QUERY_MAX 4096
#define ATTEMPT_MAX_NS (10ull * 1000000000ull) /* one request, connect included */

static int errf(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int errf(char *err, size_t cap, const char *fmt, ...)
{
    if (err && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, cap, fmt, ap);
        va_end(ap);
    }
    return PP_EINVAL;
}

/* Pyroscope's service-name runes, and its label-name runes */
static int app_char(int c)
{
    return isalnum(c) || c == '_' || c == '.' || c == '/' || c == '-';
}

static int key_char(int c)
{
    return isalnum(c) || c == '_' || c == '.';
}

int pp__push_check_labels(const char *labels, char *err, size_t cap)
{
    const char *s = labels ? labels : "";
    while (*s) {
        const char *eq = strchr(s, '='), *comma = strchr(s, ',');
        const char *end = comma ? comma : s + strlen(s);
        if (!eq || eq > end || eq == s)
            return errf(err, cap, "label '%s' is not key=value", s);
        for (const char *k = s; k < eq; k++)
            if (!key_char((unsigned char)*k))
                return errf(err, cap,
                            "label key in '%s' may hold only letters, digits, '_' and '.'", s);
        if (eq - s == 8 && memcmp(s, "__name__", 8) == 0)
            return errf(err, cap, "label '%s': __name__ is reserved", s);
        if (eq + 1 == end)
            return errf(err, cap, "label '%s' has an empty value", s);
        for (const char *v = eq + 1; v < end; v++)
            if ((unsigned char)*v < 0x20 || *v == 0x7f || *v == '{' || *v == '}')
                return errf(err, cap, "label value in '%s' may not hold '{', '}' or controls", s);
        s = comma ? comma + 1 : end;
        if (comma && !*s)
            return errf(err, cap, "labels '%s' end with ','", labels);
    }
    return PP_OK;
}

int pp_push_check(const pp_push_opts *o, char *err, size_t cap)
{
    if (err && cap)
        err[0] = 0;
    if (!o || !o->url || !o->url[0])
        return errf(err, cap, "%s", "no URL to push to");
    if (strncmp(o->url, "http://", 7) != 0 && strncmp(o->url, "https://", 8) != 0)
        return errf(err, cap, "push URL '%s' is not http:// or https://", o->url);
    if (strlen(o->url) > 1024)
        return errf(err, cap, "%s", "push URL longer than 1024 bytes");
    const char *app = o->app ? o->app : "postprof";
    if (!app[0])
        return errf(err, cap, "%s", "empty application name");
    if (strlen(app) > 256)
        return errf(err, cap, "%s", "application name longer than 256 bytes");
    for (const char *c = app; *c; c++)
        if (!app_char((unsigned char)*c))
            return errf(err, cap,
                        "application name '%s' may hold only letters, digits, '_', '.', '/', '-'",
                        app);
    if (o->labels && strlen(o->labels) > 1024)
        return errf(err, cap, "%s", "labels longer than 1024 bytes");
    if (o->tenant &&
        (strchr(o->tenant, '\r') || strchr(o->tenant, '\n') || strlen(o->tenant) > 256))
        return errf(err, cap, "%s", "bad tenant id");
    return pp__push_check_labels(o->labels, err, cap);
}

static void add_encoded(pp__strbuf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            pp__strbuf_add(b, (const char *)&c, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            pp__strbuf_add(b, e, 3);
        }
    }
}

static void covered(const pp_profile *p, int64_t *from, int64_t *until)
{
    if (*from || *until)
        return;
    if (p->time_ns > 0) {
        *from = p->time_ns / 1000000000;
        *until = (p->time_ns + p->duration_ns + 999999999) / 1000000000;
    } else {
        *until = (int64_t)time(NULL);
        *from = *until - (p->duration_ns + 999999999) / 1000000000;
    }
    if (*until <= *from)
        *until = *from + 1;
}

int pp__push_url(const pp_push_opts *o, pp_profile_kind kind, unsigned rate, int64_t from,
                 int64_t until, pp__strbuf *b)
{
    size_t ulen = strlen(o->url);
    while (ulen > 0 && o->url[ulen - 1] == '/')
        ulen--;
    pp__strbuf_add(b, o->url, ulen);
    if (!(ulen >= 7 && memcmp(o->url + ulen - 7, "/ingest", 7) == 0) && !strchr(o->url, '?'))
        pp__strbuf_adds(b, "/ingest");
    pp__strbuf_adds(b, strchr(o->url, '?') ? "&format=pprof&name=" : "?format=pprof&name=");
    char name[1400];
    const char *suffix = kind == PP_PROFILE_WALL  ? "wall"
                         : kind == PP_PROFILE_MEM ? "alloc_space"
                                                  : "cpu";
    snprintf(name, sizeof name, "%s.%s{%s}", o->app ? o->app : "postprof", suffix,
             o->labels ? o->labels : "");
    add_encoded(b, name);
    pp__strbuf_printf(b, "&from=%lld&until=%lld&sampleRate=%u&spyName=postprof", (long long)from,
                      (long long)until, rate ? rate : 100);
    return b->err;
}

int pp_push_profile(const pp_push_opts *o, const pp_profile *p, int64_t from, int64_t until,
                    pp_push_result *out, char *err, size_t errcap)
{
    pp_push_result local;
    if (!out)
        out = &local;
    memset(out, 0, sizeof *out);
    int rc = pp_push_check(o, err, errcap);
    if (rc != PP_OK)
        return rc;
    if (!p)
        return errf(err, errcap, "%s", "no profile to push");
    covered(p, &from, &until);
    unsigned rate = o->sample_rate;
    if (!rate && p->period > 0 && pp_profile_kind_of(p) != PP_PROFILE_MEM)
        rate = (unsigned)((1000000000 + p->period / 2) / p->period);
    pp__strbuf url, body;
    pp__strbuf_init(&url, QUERY_MAX);
    pp__strbuf_init(&body, PP__FORMAT_MAX_BYTES);
    pp__http_result res;
    memset(&res, 0, sizeof res);
    rc = pp__push_url(o, pp_profile_kind_of(p), rate, from, until, &url);
    if (rc == PP_OK)
        rc = pp__pprof_render(p, &body);
    if (rc == PP_OK)
        rc = body.err;
    if (rc != PP_OK) {
        if (err && errcap)
            snprintf(err, errcap, "cannot build the push to %s: %s", o->url, pp_strerror(rc));
        goto out;
    }
    snprintf(out->url, sizeof out->url, "%s", url.data);
    uint64_t timeout = o->timeout_s > 0 ? (uint64_t)(o->timeout_s * 1e9) : DEFAULT_TIMEOUT_NS;
    rc = pp__push_send(url.data, o->tenant, body.data, body.len, timeout, NULL, NULL, &res);
    out->status = res.status;
    out->attempts = res.attempts;
    if (rc == PP_OK && res.outcome != PP__HTTP_OK) {
        pp__push_describe(o->url, &res, err, errcap);
        rc = res.outcome == PP__HTTP_PERMANENT ? PP_EIO : PP_ENET;
    } else if (rc != PP_OK && err && errcap) {
        snprintf(err, errcap, "cannot push to %s: %s", o->url, pp_strerror(rc));
    }
out:
    pp__http_result_release(&res);
    pp__strbuf_release(&url);
    pp__strbuf_release(&body);
    return rc;
}

int pp__push_send(const char *url, const char *tenant, const void *body, size_t len,
                  uint64_t timeout_ns, pp__retry_wait_fn wait, void *wait_ctx, pp__http_result *res)
{
    char tenant_hdr[300];
    const char *headers[3] = {"Content-Type: application/octet-stream", NULL, NULL};
    if (tenant && tenant[0]) {
        snprintf(tenant_hdr, sizeof tenant_hdr, "X-Scope-OrgID: %s", tenant);
        headers[1] = tenant_hdr;
    }
    pp__http_request req = {url, headers, body, len,
                            timeout_ns < ATTEMPT_MAX_NS ? timeout_ns : ATTEMPT_MAX_NS};
    pp__retry_policy policy;
    pp__retry_policy_default(&policy);
    pp__http_global_init();
    return pp__http_post_retry(&req, &policy, pp_clock_now_ns() + timeout_ns, wait, wait_ctx, res);
}

void pp__push_describe(const char *url, const pp__http_result *res, char *err, size_t cap)
{
    if (!err || !cap)
        return;
    char first[200] = "";
    if (res->body && res->body_len) { /* the first line of the server's answer */
        size_t n = 0;
        while (n < res->body_len && n < sizeof first - 1 && res->body[n] != '\n' &&
               res->body[n] != '\r')
            n++;
        memcpy(first, res->body, n);
        first[n] = 0;
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)first[i] < 0x20 || first[i] == 0x7f)
                first[i] = '?';
    }
    if (res->status)
        snprintf(err, cap, "%s answered HTTP %ld%s%s%s (%d attempt%s%s)", url, res->status,
                 first[0] ? ": \"" : "", first, first[0] ? "\"" : "", res->attempts,
                 res->attempts == 1 ? "" : "s",
                 res->outcome == PP__HTTP_PERMANENT ? ", not retried: the server refused it"
                                                    : ", the retry time ran out");
    else
        snprintf(err, cap, "%s could not be reached: %s (%d attempt%s)", url,
                 res->error[0] ? res->error : "no answer", res->attempts,
                 res->attempts == 1 ? "" : "s");
}
