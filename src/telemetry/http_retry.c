/*
 * http_retry.c - The retry policy of OTLP/HTTP (see http_retry.h): pure
 * decisions, a bounded libcurl POST, and the loop joining them. Runs on
 * exporters' background threads only, never on an instrumented hot path;
 * never prints.
 */
#include "telemetry/http_retry.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <postprof/clock.h>
#include <postprof/error.h>
#include <postprof/version.h>

#define BODY_MAX (64u * 1024u)
#define NS_PER_S 1000000000ull

void pp__retry_policy_default(pp__retry_policy *out_policy)
{
    out_policy->initial_ns = NS_PER_S;
    out_policy->multiplier = 1.5;
    out_policy->max_backoff_ns = 5 * NS_PER_S;
    out_policy->jitter = 0.2;
    out_policy->max_attempts = 5;
    out_policy->max_retry_after_ns = 60 * NS_PER_S;
}

pp__http_outcome pp__http_status_outcome(long status)
{
    if (status >= 200 && status < 300)
        return PP__HTTP_OK;
    if (status == 429 || status == 502 || status == 503 || status == 504)
        return PP__HTTP_RETRYABLE;
    return PP__HTTP_PERMANENT;
}

/* ---- Retry-After ---- */

static int month_index(const char *s)
{
    static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    for (int i = 0; i < 12; i++)
        if (strncmp(s, names + 3 * i, 3) == 0)
            return i;
    return -1;
}

static int day_name_ok(const char *s, size_t n)
{
    static const char *const shortn[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    static const char *const longn[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                        "Friday", "Saturday", "Sunday"};
    for (int i = 0; i < 7; i++)
        if ((n == 3 && strncmp(s, shortn[i], 3) == 0) ||
            (n == strlen(longn[i]) && strncmp(s, longn[i], n) == 0))
            return 1;
    return 0;
}

/* Reads exactly `digits` decimal digits at *p. */
static int read_num(const char **p, int digits, int *out)
{
    int v = 0;
    for (int i = 0; i < digits; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += digits;
    *out = v;
    return 0;
}

static int read_lit(const char **p, const char *lit)
{
    size_t n = strlen(lit);
    if (strncmp(*p, lit, n) != 0)
        return -1;
    *p += n;
    return 0;
}

static int read_time(const char **p, struct tm *tm)
{
    if (read_num(p, 2, &tm->tm_hour) || read_lit(p, ":") || read_num(p, 2, &tm->tm_min) ||
        read_lit(p, ":") || read_num(p, 2, &tm->tm_sec))
        return -1;
    return 0;
}

static int read_month(const char **p, struct tm *tm)
{
    tm->tm_mon = month_index(*p);
    if (tm->tm_mon < 0)
        return -1;
    *p += 3;
    return 0;
}

/* RFC 9110 section 5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms. */
static int parse_http_date(const char *s, size_t n, time_t *out)
{
    char buf[64];
    if (n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    const char *p = buf;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    size_t name_len = strcspn(p, ", ");
    if (!day_name_ok(p, name_len))
        return -1;
    p += name_len;
    if (*p == ',') {
        p++;
        if (read_lit(&p, " "))
            return -1;
        int dd;
        if (read_num(&p, 2, &dd))
            return -1;
        tm.tm_mday = dd;
        if (*p == ' ') { /* IMF-fixdate: 06 Nov 1994 08:49:37 GMT */
            int yyyy;
            p++;
            if (read_month(&p, &tm) || read_lit(&p, " ") || read_num(&p, 4, &yyyy))
                return -1;
            tm.tm_year = yyyy - 1900;
        } else { /* RFC 850: 06-Nov-94 08:49:37 GMT */
            int yy;
            if (read_lit(&p, "-") || read_month(&p, &tm) || read_lit(&p, "-") ||
                read_num(&p, 2, &yy))
                return -1;
            /* RFC 9110: a two-digit year more than 50 years ahead is in the past century */
            tm.tm_year = yy < 70 ? yy + 100 : yy;
        }
        if (read_lit(&p, " ") || read_time(&p, &tm) || read_lit(&p, " GMT") || *p)
            return -1;
    } else { /* asctime: Sun Nov  6 08:49:37 1994 */
        int yyyy;
        if (read_lit(&p, " ") || read_month(&p, &tm) || read_lit(&p, " "))
            return -1;
        if (*p == ' ') {
            p++;
            if (read_num(&p, 1, &tm.tm_mday))
                return -1;
        } else if (read_num(&p, 2, &tm.tm_mday)) {
            return -1;
        }
        if (read_lit(&p, " ") || read_time(&p, &tm) || read_lit(&p, " ") ||
            read_num(&p, 4, &yyyy) || *p)
            return -1;
        tm.tm_year = yyyy - 1900;
    }
    if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return -1;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    *out = t;
    return 0;
}

int pp__http_retry_after_parse(const char *value, time_t now_unix, uint64_t *out_delay_ns)
{
    *out_delay_ns = 0;
    if (!value)
        return PP_EFORMAT;
    while (*value == ' ' || *value == '\t')
        value++;
    size_t n = strlen(value);
    while (n && (value[n - 1] == ' ' || value[n - 1] == '\t' || value[n - 1] == '\r' ||
                 value[n - 1] == '\n'))
        n--;
    if (n == 0)
        return PP_EFORMAT;
    if (isdigit((unsigned char)value[0])) {
        uint64_t secs = 0;
        for (size_t i = 0; i < n; i++) {
            if (!isdigit((unsigned char)value[i]))
                return PP_EFORMAT;
            if (secs > UINT64_MAX / NS_PER_S / 10)
                secs = UINT64_MAX / NS_PER_S; /* saturate: the policy caps it anyway */
            else
                secs = secs * 10 + (uint64_t)(value[i] - '0');
        }
        *out_delay_ns = secs > UINT64_MAX / NS_PER_S ? UINT64_MAX : secs * NS_PER_S;
        return PP_OK;
    }
    time_t when;
    if (parse_http_date(value, n, &when))
        return PP_EFORMAT;
    if (when > now_unix)
        *out_delay_ns = (uint64_t)(when - now_unix) * NS_PER_S;
    return PP_OK;
}

/* ---- backoff ---- */

static uint64_t next_rand(uint64_t *s)
{
    /* xorshift64*; a zero state would stay zero */
    uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1dull;
}

uint64_t pp__retry_backoff_ns(const pp__retry_policy *p, int attempt, uint64_t *rng)
{
    double base = (double)p->initial_ns;
    for (int i = 1; i < attempt && base < (double)p->max_backoff_ns; i++)
        base *= p->multiplier;
    if (base > (double)p->max_backoff_ns)
        base = (double)p->max_backoff_ns;
    double u = (double)(next_rand(rng) >> 11) / 9007199254740992.0; /* [0, 1) */
    double factor = 1.0 - p->jitter + 2.0 * p->jitter * u;
    double w = base * factor;
    return w <= 0 ? 0 : (uint64_t)w;
}

int pp__retry_decide(const pp__retry_policy *p, pp__http_outcome o, int attempt,
                     uint64_t retry_after_ns, uint64_t now_ns, uint64_t deadline_ns, uint64_t *rng,
                     uint64_t *out_wait_ns)
{
    *out_wait_ns = 0;
    if (o != PP__HTTP_RETRYABLE || attempt >= p->max_attempts)
        return 0;
    uint64_t wait;
    if (retry_after_ns != UINT64_MAX)
        wait = retry_after_ns < p->max_retry_after_ns ? retry_after_ns : p->max_retry_after_ns;
    else
        wait = pp__retry_backoff_ns(p, attempt, rng);
    if (now_ns >= deadline_ns || wait >= deadline_ns - now_ns)
        return 0;
    *out_wait_ns = wait;
    return 1;
}

/* ---- one POST with libcurl ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void pp__http_global_init(void)
{
    pthread_once(&curl_once, curl_init_once);
}

void pp__http_result_release(pp__http_result *r)
{
    if (!r)
        return;
    free(r->body);
    r->body = NULL;
    r->body_len = 0;
}

typedef struct {
    pp__http_result *r;
    int oom;
} sink;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    sink *s = ud;
    size_t n = size * nmemb;
    pp__http_result *r = s->r;
    size_t take = r->body_len + n > BODY_MAX ? BODY_MAX - r->body_len : n;
    if (take) {
        char *nb = realloc(r->body, r->body_len + take + 1);
        if (!nb) {
            s->oom = 1;
            return 0;
        }
        memcpy(nb + r->body_len, ptr, take);
        r->body = nb;
        r->body_len += take;
        nb[r->body_len] = '\0';
    }
    return n; /* the rest past the cap is read and dropped */
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    sink *s = ud;
    size_t n = size * nmemb;
    static const char name[] = "retry-after:";
    if (n > sizeof name - 1 && n < 256 && strncasecmp(ptr, name, sizeof name - 1) == 0) {
        char v[256];
        memcpy(v, ptr + sizeof name - 1, n - (sizeof name - 1));
        v[n - (sizeof name - 1)] = '\0';
        uint64_t d;
        if (pp__http_retry_after_parse(v, time(NULL), &d) == PP_OK)
            s->r->retry_after_ns = d;
    } else if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
        s->r->retry_after_ns = UINT64_MAX; /* a new response (after a 100) starts over */
    }
    return n;
}

static pp__http_outcome curl_outcome(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
        return PP__HTTP_RETRYABLE;
    default:
        return PP__HTTP_PERMANENT;
    }
}

int pp__http_post(const pp__http_request *req, pp__http_result *out)
{
    memset(out, 0, sizeof *out);
    out->outcome = PP__HTTP_PERMANENT;
    out->retry_after_ns = UINT64_MAX;
    out->attempts = 1;
    if (!req || !req->url || (!req->body && req->body_len)) {
        snprintf(out->error, sizeof out->error, "invalid request");
        return PP_EINVAL;
    }
    pp__http_global_init();
    int rc = PP_OK;
    struct curl_slist *hdrs = NULL;
    CURL *c = curl_easy_init();
    if (!c) {
        rc = PP_ENOMEM;
        goto out;
    }
    for (size_t i = 0; req->headers && req->headers[i]; i++) {
        struct curl_slist *h = curl_slist_append(hdrs, req->headers[i]);
        if (!h) {
            rc = PP_ENOMEM;
            goto out;
        }
        hdrs = h;
    }
    /* no "Expect: 100-continue" round trip for large bodies */
    struct curl_slist *h = curl_slist_append(hdrs, "Expect:");
    if (!h) {
        rc = PP_ENOMEM;
        goto out;
    }
    hdrs = h;
    long ms = (long)(req->timeout_ns / 1000000u);
    if (ms < 1)
        ms = 1;
    char errbuf[CURL_ERROR_SIZE] = "";
    sink s = {out, 0};
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "postprof/" PP_VERSION_STRING);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &s);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode cc = curl_easy_perform(c);
    if (s.oom) {
        rc = PP_ENOMEM;
        goto out;
    }
    if (cc != CURLE_OK) {
        out->outcome = curl_outcome(cc);
        snprintf(out->error, sizeof out->error, "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    out->outcome = pp__http_status_outcome(out->status);
    if (out->outcome != PP__HTTP_OK)
        snprintf(out->error, sizeof out->error, "HTTP %ld", out->status);
out:
    if (rc != PP_OK && !out->error[0])
        snprintf(out->error, sizeof out->error, "%s", pp_strerror(rc));
    curl_slist_free_all(hdrs);
    if (c)
        curl_easy_cleanup(c);
    return rc;
}

static int sleep_wait(void *ctx, uint64_t wait_ns)
{
    (void)ctx;
    struct timespec ts = {(time_t)(wait_ns / NS_PER_S), (long)(wait_ns % NS_PER_S)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    return 0;
}

int pp__http_post_retry(const pp__http_request *req, const pp__retry_policy *p,
                        uint64_t deadline_ns, pp__retry_wait_fn wait, void *wait_ctx,
                        pp__http_result *out)
{
    uint64_t rng = pp_clock_now_ns() ^ (uint64_t)(uintptr_t)out;
    if (!wait)
        wait = sleep_wait;
    for (int attempt = 1;; attempt++) {
        uint64_t now = pp_clock_now_ns();
        pp__http_request r = *req;
        if (now >= deadline_ns)
            r.timeout_ns = 1000000u; /* past the deadline: one short try, no retry */
        else if (deadline_ns - now < r.timeout_ns)
            r.timeout_ns = deadline_ns - now;
        int rc = pp__http_post(&r, out);
        out->attempts = attempt;
        if (rc != PP_OK)
            return rc;
        uint64_t wait_ns;
        if (!pp__retry_decide(p, out->outcome, attempt, out->retry_after_ns, pp_clock_now_ns(),
                              deadline_ns, &rng, &wait_ns))
            return PP_OK;
        if (wait(wait_ctx, wait_ns) != 0)
            return PP_OK;
        pp__http_result_release(out);
    }
}
