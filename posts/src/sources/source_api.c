/*
 * source_api.c - Posts from the HTTP API with libcurl multi: several pages in
 * flight (cursors predicted, checked against next_cursor), connection reuse as
 * a knob, retries on network errors and 5xx, bounded response bodies; each
 * post of a page validated on its own (intake.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include <postprof/log.h>
#include <postprof/otlp.h>
#include <postprof/scope.h>

#include "internal.h"
#include "source_impl.h"

#define MAX_BODY (64u << 20)
#define MAX_SLOTS 64

typedef struct slot {
    CURL *easy;
    int busy;     /* in the multi handle */
    int complete; /* response in body, waiting to be consumed */
    int64_t cursor;
    char *body;
    size_t len, cap;
    int too_big;
    int retries;
    CURLcode cres;
    long http;
    pp_span span;
    struct curl_slist *trace_headers; /* traceparent (and tracestate) of the request */
    char url[700];
} slot;

typedef struct api_source {
    posts_source base;
    CURLM *multi;
    char base_url[512];
    posts_api_opts o;
    slot slots[MAX_SLOTS];
    int nslots;
    int limit;           /* page size, fixed at the first call */
    int64_t expect;      /* cursor of the next page to consume */
    int64_t issue;       /* next cursor to request */
    int end;             /* last page consumed */
    posts_batch pending; /* decoded posts not yet handed out */
    size_t pending_pos;
    uint64_t rows; /* posts decoded from pages, valid or not */
} api_source;

static size_t on_body(char *p, size_t size, size_t n, void *user)
{
    slot *s = user;
    size_t len = size * n;
    if (s->len + len > MAX_BODY) {
        s->too_big = 1;
        return 0;
    }
    if (s->len + len + 1 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 65536;
        while (cap < s->len + len + 1)
            cap *= 2;
        char *b = realloc(s->body, cap);
        if (!b)
            return 0;
        s->body = b;
        s->cap = cap;
    }
    memcpy(s->body + s->len, p, len);
    s->len += len;
    return len;
}

/* W3C trace context: the request carries its own span (the CLIENT async span
 * around it, a child of the loader's scope that issued it) so the server's
 * span of it joins the same trace; flags 00 when the trace was sampled out,
 * so the server drops it too. */
static void set_trace_headers(slot *s)
{
    curl_slist_free_all(s->trace_headers);
    s->trace_headers = NULL;
    char tp[PP_TRACEPARENT_SIZE], line[PP_TRACEPARENT_SIZE + 16];
    if (pp_otlp_async_traceparent(s->span, tp, sizeof tp) || pp_otlp_traceparent(tp, sizeof tp)) {
        snprintf(line, sizeof line, "traceparent: %s", tp);
        s->trace_headers = curl_slist_append(NULL, line);
        const char *ts = pp_otlp_tracestate();
        char state[600];
        if (s->trace_headers && ts &&
            (size_t)snprintf(state, sizeof state, "tracestate: %s", ts) < sizeof state) {
            struct curl_slist *more = curl_slist_append(s->trace_headers, state);
            if (more)
                s->trace_headers = more;
        }
    }
    curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->trace_headers);
}

static int start_slot(api_source *a, slot *s, int64_t cursor)
{
    s->cursor = cursor;
    s->len = 0;
    s->too_big = 0;
    s->complete = 0;
    s->http = 0;
    s->cres = CURLE_OK;
    snprintf(s->url, sizeof s->url, "%s/posts?cursor=%" PRId64 "&limit=%d", a->base_url, cursor,
             a->limit);
    curl_easy_setopt(s->easy, CURLOPT_URL, s->url);
    PP_ASYNC_BEGIN_CLIENT(s->span, "posts.source.api.page");
    set_trace_headers(s);
    if (curl_multi_add_handle(a->multi, s->easy) != CURLM_OK) {
        PP_ASYNC_END_FAILED(s->span);
        return PP_ENET;
    }
    s->busy = 1;
    return PP_OK;
}

static void cancel_all(api_source *a)
{
    for (int i = 0; i < a->nslots; i++) {
        slot *s = &a->slots[i];
        if (s->busy) {
            curl_multi_remove_handle(a->multi, s->easy);
            PP_ASYNC_END_FAILED(s->span);
        }
        s->busy = 0;
        s->complete = 0;
    }
}

static void fill(api_source *a)
{
    if (a->end)
        return;
    for (int i = 0; i < a->nslots; i++) {
        slot *s = &a->slots[i];
        if (s->busy || s->complete)
            continue;
        if (start_slot(a, s, a->issue) == PP_OK)
            a->issue += a->limit;
    }
}

static slot *find(api_source *a, int64_t cursor)
{
    for (int i = 0; i < a->nslots; i++)
        if ((a->slots[i].busy || a->slots[i].complete) && a->slots[i].cursor == cursor)
            return &a->slots[i];
    return NULL;
}

static void harvest(api_source *a)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(a->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        for (int i = 0; i < a->nslots; i++) {
            slot *s = &a->slots[i];
            if (s->easy != m->easy_handle)
                continue;
            s->cres = m->data.result;
            curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &s->http);
            curl_off_t connect_us = 0, ttfb_us = 0, total_us = 0;
            long opened = 0;
            curl_easy_getinfo(s->easy, CURLINFO_CONNECT_TIME_T, &connect_us);
            curl_easy_getinfo(s->easy, CURLINFO_STARTTRANSFER_TIME_T, &ttfb_us);
            curl_easy_getinfo(s->easy, CURLINFO_TOTAL_TIME_T, &total_us);
            curl_easy_getinfo(s->easy, CURLINFO_NUM_CONNECTS, &opened);
            a->base.st.http_connect_ns += (uint64_t)connect_us * 1000u;
            a->base.st.http_ttfb_ns += (uint64_t)ttfb_us * 1000u;
            a->base.st.http_total_ns += (uint64_t)total_us * 1000u;
            if (opened > 0)
                a->base.st.connections_opened++;
            else if (s->cres == CURLE_OK)
                a->base.st.connections_reused++;
            curl_multi_remove_handle(a->multi, s->easy);
            s->busy = 0;
            s->complete = 1;
            a->base.st.requests++;
            a->base.st.bytes += s->len;
            if (s->cres != CURLE_OK || s->http >= 500)
                PP_ASYNC_END_FAILED(s->span);
            else
                PP_ASYNC_END(s->span);
        }
    }
}

/* Decode a complete page into a->pending; returns next cursor via *next (-1 = end). */
static int decode(api_source *a, slot *s, int64_t *next, posts_err *err)
{
    PP_SCOPE("posts.source.api.decode");
    json_error_t je;
    json_t *o = json_loadb(s->body ? s->body : "", s->len, 0, &je);
    int rc = PP_EFORMAT;
    if (!o || !json_is_object(o)) {
        posts_err_set(err, "api %s: bad JSON page: %s", s->url, o ? "not an object" : je.text);
        goto out;
    }
    json_t *arr = json_object_get(o, "posts"), *nc = json_object_get(o, "next_cursor");
    if (!json_is_array(arr) || !(json_is_null(nc) || json_is_integer(nc))) {
        posts_err_set(err, "api %s: page lacks posts[] or next_cursor", s->url);
        goto out;
    }
    for (size_t i = 0; i < json_array_size(arr); i++) {
        posts_post p;
        posts_row row;
        uint64_t rown = ++a->rows;
        if (posts__json_row(json_array_get(arr, i), &row) != PP_OK) {
            posts__intake_reject(&a->base.in, rown, NULL, POSTS_REJECT_MALFORMED,
                                 "not a JSON object");
            continue;
        }
        rc = posts__intake_row(&a->base.in, &row, rown, &p);
        if (rc == 0)
            continue;
        if (rc < 0 || posts_batch_push(&a->pending, &p) != PP_OK) {
            rc = PP_ENOMEM;
            posts_err_set(err, "api: out of memory");
            goto out;
        }
    }
    *next = json_is_null(nc) ? -1 : json_integer_value(nc);
    rc = PP_OK;
out:
    json_decref(o);
    return rc;
}

/* Make the page for a->expect available in a->pending. */
static int next_page(api_source *a, posts_err *err)
{
    for (;;) {
        fill(a);
        slot *s = find(a, a->expect);
        if (!s) { /* not issued (prediction reset): issue it now */
            a->issue = a->expect;
            fill(a);
            s = find(a, a->expect);
            if (!s) {
                posts_err_set(err, "api %s: cannot start a request", a->base_url);
                return PP_ENET;
            }
        }
        while (!s->complete) {
            int running = 0;
            if (curl_multi_perform(a->multi, &running) != CURLM_OK) {
                posts_err_set(err, "api %s: curl multi failed", a->base_url);
                return PP_ENET;
            }
            harvest(a);
            if (s->complete)
                break;
            uint64_t t0 = posts__now_ns();
            curl_multi_poll(a->multi, NULL, 0, 100, NULL);
            a->base.st.wait_ns += posts__now_ns() - t0;
        }
        s->complete = 0;
        if (s->cres != CURLE_OK || s->http >= 500 || s->http == 0) {
            if (s->retries < a->o.max_retries && !s->too_big) {
                s->retries++;
                a->base.st.retries++;
                char code[32];
                snprintf(code, sizeof code, "%ld", s->http);
                pp_log(PP_LOG_WARN, "posts.source.api", "retry", "url", s->url, "error",
                       curl_easy_strerror(s->cres), "http", code, NULL);
                if (start_slot(a, s, s->cursor) != PP_OK)
                    return PP_ENET;
                continue;
            }
            posts_err_set(err, "api GET %s: %s (HTTP %ld) after %d retries", s->url,
                          s->too_big ? "response too large" : curl_easy_strerror(s->cres), s->http,
                          s->retries);
            return PP_ENET;
        }
        s->retries = 0;
        if (s->http != 200) {
            posts_err_set(err, "api GET %s: HTTP %ld: %.200s", s->url, s->http,
                          s->body ? s->body : "");
            return PP_ENET;
        }
        int64_t next;
        int rc = decode(a, s, &next, err);
        if (rc != PP_OK)
            return rc;
        if (next < 0) {
            a->end = 1;
            cancel_all(a);
        } else if (next != a->expect + a->limit) {
            cancel_all(a); /* ids not dense: follow the server's cursor */
            a->expect = a->issue = next;
        } else {
            a->expect = next;
        }
        return PP_OK;
    }
}

static long api_next(posts_source *src, posts_batch *b, size_t max, posts_err *err)
{
    PP_SCOPE("posts.source.api.next");
    api_source *a = (api_source *)src;
    if (!a->limit)
        a->limit = (int)(max > 1000 ? 1000 : max);
    long got = 0;
    while ((size_t)got < max) {
        if (a->pending_pos == a->pending.n) {
            a->pending.n = 0; /* texts were moved out */
            a->pending_pos = 0;
            if (a->end)
                break;
            int rc = next_page(a, err);
            if (rc != PP_OK)
                return rc;
            continue;
        }
        size_t take = a->pending.n - a->pending_pos;
        if (take > max - (size_t)got)
            take = max - (size_t)got;
        for (size_t i = 0; i < take; i++) {
            posts_batch one = {&a->pending.posts[a->pending_pos + i], 1, 1};
            if (posts_batch_take(b, &one) != PP_OK) {
                posts_err_set(err, "api: out of memory");
                return PP_ENOMEM;
            }
        }
        a->pending_pos += take;
        got += (long)take;
    }
    return got;
}

static void api_close(posts_source *src)
{
    api_source *a = (api_source *)src;
    cancel_all(a);
    for (int i = 0; i < a->nslots; i++) {
        curl_easy_cleanup(a->slots[i].easy);
        curl_slist_free_all(a->slots[i].trace_headers);
        free(a->slots[i].body);
    }
    for (size_t i = a->pending_pos; i < a->pending.n; i++)
        free(a->pending.posts[i].text);
    a->pending.n = 0;
    posts_batch_release(&a->pending);
    if (a->multi)
        curl_multi_cleanup(a->multi);
    free(a);
}

static const posts_source_ops api_ops = {"api", api_next, api_close};

int posts_source_open_api(const char *base_url, const posts_api_opts *opts, posts_source **out,
                          posts_err *err)
{
    *out = NULL;
    static int global_done;
    if (!__atomic_exchange_n(&global_done, 1, __ATOMIC_SEQ_CST))
        curl_global_init(CURL_GLOBAL_DEFAULT);
    api_source *a = calloc(1, sizeof *a);
    if (!a)
        return PP_ENOMEM;
    a->base.ops = &api_ops;
    if (opts)
        a->o = *opts;
    else
        a->o.keep_alive = 1;
    if (a->o.concurrency < 1)
        a->o.concurrency = 4;
    if (a->o.concurrency > MAX_SLOTS)
        a->o.concurrency = MAX_SLOTS;
    if (a->o.timeout_ms <= 0)
        a->o.timeout_ms = 10000;
    if (a->o.max_retries <= 0)
        a->o.max_retries = 2;
    size_t bl = strlen(base_url);
    while (bl && base_url[bl - 1] == '/')
        bl--;
    if (bl == 0 || bl >= sizeof a->base_url) {
        posts_err_set(err, "api: bad base URL '%s'", base_url);
        free(a);
        return PP_EINVAL;
    }
    memcpy(a->base_url, base_url, bl);
    posts__intake_init(&a->base.in, &a->base.st, "api", a->base_url);
    a->multi = curl_multi_init();
    if (!a->multi) {
        api_close(&a->base);
        return PP_ENOMEM;
    }
    curl_multi_setopt(a->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)a->o.concurrency);
    curl_multi_setopt(a->multi, CURLMOPT_MAXCONNECTS, (long)a->o.concurrency);
    a->nslots = a->o.concurrency;
    for (int i = 0; i < a->nslots; i++) {
        CURL *e = curl_easy_init();
        if (!e) {
            api_close(&a->base);
            return PP_ENOMEM;
        }
        a->slots[i].easy = e;
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &a->slots[i]);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, a->o.timeout_ms);
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, a->o.timeout_ms);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
        if (!a->o.keep_alive) {
            curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
            curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
        }
    }
    *out = &a->base;
    return PP_OK;
}
