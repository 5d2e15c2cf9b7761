/*
 * otlp.c - The OTLP/HTTP exporter: started from the environment when the
 * library loads, one background sender thread that drains the per-thread
 * span queues (capture/span_record.c) in batches and sends the registry's
 * metrics on an interval, under the shared retry policy (http_retry.h), and
 * a flush at exit within a deadline. The spans of scopes that ran while
 * recording was paused on a full queue are counted as dropped from the
 * sites' own figures (capture's pp__spans_unseen_ends()), by this thread at
 * the end of a round that saw a pause, and at shutdown, never on the hot
 * path. Never runs on an instrumented thread's
 * hot path, never prints (warnings go through pp_log), never blocks a caller
 * past the deadline it was given.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#include <postprof/clock.h>
#include <postprof/error.h>
#include <postprof/log.h>
#include <postprof/metrics.h>
#include <postprof/otlp.h>

#include "aggregate/registry_impl.h"
#include "common/clock_impl.h"
#include "telemetry/http_retry.h"
#include "telemetry/otlp_impl.h"
#include "telemetry/traceparent.h"

#define NS_PER_MS 1000000ull
#define BODY_MAX (64u << 20) /* one request's body */

typedef struct exporter {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    int running;
    pid_t pid; /* the process that started it (a forked child does not export) */
    int stop;
    uint64_t stop_deadline;       /* mono ns, when stop */
    uint64_t flush_gen, done_gen; /* pp_otlp_flush(): rounds asked for / finished */
    pp__otlp_config cfg;
    pp__otlp_resource res;
    int64_t real_minus_mono; /* ns: Unix time = monotonic + this */
    uint64_t start_unix_ns;
    pp__span_rec *buf; /* batch_size records */
    pp__otlp_span *spans;
    pp__strbuf body, gz;
    uint64_t rng;
} exporter;

static exporter E = {.lock = PTHREAD_MUTEX_INITIALIZER};
static pthread_once_t cond_once = PTHREAD_ONCE_INIT;
static _Atomic int active;
static _Atomic pid_t owner_pid; /* the process whose sender thread runs (0: none) */
static _Atomic uint64_t st_spans_sent, st_spans_dropped, st_points_sent, st_points_dropped,
    st_requests, st_retries, st_partial;
static _Atomic uint32_t st_capacity;

/* Spans not recorded while recording was paused: the growth of the unseen
 * ends (pp__spans_unseen_ends()) since the exporter started, kept monotone
 * (a recorded span still open lowers it for a while). */
static pthread_mutex_t skip_lock = PTHREAD_MUTEX_INITIALIZER;
static int skip_open;               /* a run of the exporter is being counted */
static int64_t skip_base;           /* unseen ends when it started */
static uint64_t skip_run;           /* skipped in this run */
static uint64_t skip_prev;          /* skipped in the runs before */
static uint64_t skip_pauses;        /* pauses when last counted */
static _Atomic uint64_t st_skipped; /* skip_prev + skip_run */

static void skipped_start(void)
{
    pthread_mutex_lock(&skip_lock);
    skip_base = pp__spans_unseen_ends();
    skip_run = 0;
    skip_pauses = pp__load(&pp__g_spans_suspended);
    skip_open = 1;
    pthread_mutex_unlock(&skip_lock);
}

/* After a pause (or at the end of the run, final), count what it skipped. */
static void skipped_count(int final)
{
    pthread_mutex_lock(&skip_lock);
    if (skip_open) {
        uint64_t pauses = pp__load(&pp__g_spans_suspended);
        if (final || pauses != skip_pauses) {
            skip_pauses = pauses;
            int64_t d = pp__spans_unseen_ends() - skip_base;
            if (d > 0 && (uint64_t)d > skip_run)
                skip_run = (uint64_t)d;
            atomic_store(&st_skipped, skip_prev + skip_run);
        }
        if (final) {
            skip_prev += skip_run;
            skip_run = 0;
            skip_open = 0;
        }
    }
    pthread_mutex_unlock(&skip_lock);
}

static uint64_t spans_dropped_total(void)
{
    return atomic_load(&st_spans_dropped) + pp__load(&pp__g_spans_dropped) +
           atomic_load(&st_skipped);
}

static void cond_init(void)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&E.cond, &a);
    pthread_condattr_destroy(&a);
}

static uint64_t mono_now(void)
{
    return pp_clock_now_ns();
}

static void abs_time(uint64_t mono_ns, struct timespec *ts)
{
    ts->tv_sec = (time_t)(mono_ns / 1000000000ull);
    ts->tv_nsec = (long)(mono_ns % 1000000000ull);
}

/* ---- the dropped counter in the process-wide registry ---- */

static void dropped_hook(pp_registry *r, void *ctx)
{
    (void)ctx;
    pp_metric *m = pp_registry_find(r, "postprof_otlp_dropped_total");
    if (!m)
        return;
    const char *traces[] = {"traces"}, *metrics[] = {"metrics"};
    pp_series *s = NULL;
    if (pp_metric_series(m, traces, &s) == PP_OK)
        pp_series_mirror_counter(s, (double)spans_dropped_total());
    if (pp_metric_series(m, metrics, &s) == PP_OK)
        pp_series_mirror_counter(s, (double)atomic_load(&st_points_dropped));
}

static void register_dropped(pp_registry *r, void *ctx)
{
    (void)ctx;
    static const char *const labels[] = {"signal"};
    pp_metric *m = NULL;
    if (pp_registry_counter(r, "postprof_otlp_dropped_total",
                            "Spans and metric data points the OTLP exporter lost (full queue, "
                            "refused, or retries used up)",
                            1, labels, &m) == PP_OK)
        (void)(pp_registry_add_hook(r, dropped_hook, NULL, NULL) == PP_OK);
}

/* ---- sending ---- */

/* Waits between retries; gives up when shutdown's deadline would pass. */
static int retry_wait(void *ctx, uint64_t wait_ns)
{
    (void)ctx;
    uint64_t until = mono_now() + wait_ns;
    pthread_mutex_lock(&E.lock);
    int give_up = 0;
    for (;;) {
        if (E.stop && until > E.stop_deadline) {
            give_up = 1;
            break;
        }
        uint64_t now = mono_now();
        if (now >= until)
            break;
        struct timespec ts;
        abs_time(until, &ts);
        pthread_cond_timedwait(&E.cond, &E.lock, &ts);
    }
    pthread_mutex_unlock(&E.lock);
    return give_up;
}

/* POST one body; returns the number of items accepted (n, or n less the
 * partial rejections) and counts everything else as dropped. */
static int post(int traces, const char *const *headers, uint64_t timeout_ms, size_t n)
{
    int accepted = 0;
    const pp__strbuf *b = &E.body;
    const char *ctype =
        E.cfg.json ? "Content-Type: application/json" : "Content-Type: application/x-protobuf";
    const char *hdrs[PP__OTLP_MAX_HEADERS + 4];
    size_t k = 0;
    hdrs[k++] = ctype;
    if (E.cfg.gzip && pp__otlp_gzip(E.body.data, E.body.len, &E.gz) == PP_OK) {
        hdrs[k++] = "Content-Encoding: gzip";
        b = &E.gz;
    }
    for (size_t i = 0; headers[i]; i++)
        hdrs[k++] = headers[i];
    hdrs[k] = NULL;
    pp__http_request req = {.url = traces ? E.cfg.traces_url : E.cfg.metrics_url,
                            .headers = hdrs,
                            .body = b->data,
                            .body_len = b->len,
                            .timeout_ns = timeout_ms * NS_PER_MS};
    pp__retry_policy p;
    pp__retry_policy_default(&p);
    /* the retries of one batch, as opentelemetry-cpp, within the export timeout */
    uint64_t deadline = mono_now() + E.cfg.export_timeout_ms * NS_PER_MS;
    pthread_mutex_lock(&E.lock);
    if (E.stop && E.stop_deadline < deadline)
        deadline = E.stop_deadline;
    pthread_mutex_unlock(&E.lock);
    pp__http_result r;
    int rc = pp__http_post_retry(&req, &p, deadline, retry_wait, NULL, &r);
    atomic_fetch_add(&st_requests, (uint64_t)(r.attempts > 0 ? r.attempts : 1));
    if (r.attempts > 1)
        atomic_fetch_add(&st_retries, (uint64_t)(r.attempts - 1));
    _Atomic uint64_t *sent = traces ? &st_spans_sent : &st_points_sent;
    _Atomic uint64_t *dropped = traces ? &st_spans_dropped : &st_points_dropped;
    const char *signal = traces ? "traces" : "metrics";
    if (rc != PP_OK || r.outcome != PP__HTTP_OK) {
        atomic_fetch_add(dropped, (uint64_t)n);
        char count[32], attempts[16];
        snprintf(count, sizeof count, "%zu", n);
        snprintf(attempts, sizeof attempts, "%d", r.attempts);
        pp_log(PP_LOG_WARN, "otlp", "export_dropped", "signal", signal, "items", count, "attempts",
               attempts, "error", rc != PP_OK ? pp_strerror(rc) : r.error, "url", req.url, NULL);
        goto out;
    }
    int64_t rejected = 0;
    char msg[256];
    if (pp__otlp_parse_partial(r.body, r.body_len, E.cfg.json, traces, &rejected, msg,
                               sizeof msg)) {
        char count[32];
        snprintf(count, sizeof count, "%lld", (long long)rejected);
        pp_log(PP_LOG_WARN, "otlp", "partial_success", "signal", signal, "rejected", count,
               "message", msg, NULL);
        if (rejected > 0) {
            uint64_t rj = (uint64_t)rejected > n ? n : (uint64_t)rejected;
            atomic_fetch_add(&st_partial, rj);
            atomic_fetch_add(dropped, rj);
            n -= rj;
        }
    }
    atomic_fetch_add(sent, (uint64_t)n);
    accepted = 1;
out:
    pp__http_result_release(&r);
    return accepted;
}

static void rec_to_span(const pp__span_rec *r, pp__otlp_span *s)
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < 8; i++) {
        s->trace_id[i] = (uint8_t)(r->trace_hi >> (56 - 8 * i));
        s->trace_id[8 + i] = (uint8_t)(r->trace_lo >> (56 - 8 * i));
        s->span_id[i] = (uint8_t)(r->span_id >> (56 - 8 * i));
        s->parent_id[i] = (uint8_t)(r->parent_id >> (56 - 8 * i));
    }
    const pp_site *site = r->site < PP__MAX_SITES ? pp__sites[r->site] : NULL;
    s->name = site && site->name ? site->name : "(unnamed)";
    s->file = site ? site->file : NULL;
    s->function = site ? site->function : NULL;
    s->line = site ? site->line : 0;
    int64_t st = (int64_t)pp__clock_ticks_to_mono_ns(r->start) + E.real_minus_mono;
    int64_t en = (int64_t)pp__clock_ticks_to_mono_ns(r->end) + E.real_minus_mono;
    s->start_ns = st > 0 ? (uint64_t)st : 0;
    s->end_ns = en > st ? (uint64_t)en : s->start_ns;
    unsigned sf = site ? site->flags : 0u;
    s->kind = (sf & PP_SITE_SERVER)   ? PP__OTLP_KIND_SERVER
              : (sf & PP_SITE_CLIENT) ? PP__OTLP_KIND_CLIENT
                                      : PP__OTLP_KIND_INTERNAL;
    s->failed = (r->flags & PP__SPANREC_FAILED) != 0;
    s->remote_parent = (r->flags & PP__SPANREC_REMOTE) != 0;
    s->async = (r->flags & PP__SPANREC_ASYNC) != 0;
}

/* Take up to max records from every queue; frees drained queues of exited threads. */
static size_t take(pp__span_rec *out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&pp__spanq_lock);
    pp__span_queue **pp = &pp__spanqs;
    while (*pp) {
        pp__span_queue *q = *pp;
        int orphaned = atomic_load_explicit(&q->orphaned, memory_order_acquire);
        if (n < max)
            n += pp__span_queue_take(q, out + n, max - n);
        if (orphaned && atomic_load_explicit(&q->head, memory_order_acquire) ==
                            atomic_load_explicit(&q->tail, memory_order_relaxed)) {
            *pp = q->next;
            munmap(q, sizeof *q + (size_t)(q->mask + 1) * sizeof(pp__span_rec));
            continue;
        }
        pp = &q->next;
    }
    pthread_mutex_unlock(&pp__spanq_lock);
    return n;
}

static int past_stop_deadline(void)
{
    pthread_mutex_lock(&E.lock);
    int past = E.stop && mono_now() >= E.stop_deadline;
    pthread_mutex_unlock(&E.lock);
    return past;
}

static void send_spans(void)
{
    /* at most one queue's worth per round: a thread producing faster than
     * the receiver takes waits for the next round (and pauses meanwhile) */
    size_t budget = E.cfg.queue_size;
    size_t skipped = 0; /* after a batch this round could not send: the endpoint is down */
    int failed = 0;
    for (;;) {
        size_t n = take(E.buf, E.cfg.batch_size < budget ? E.cfg.batch_size : budget);
        if (n == 0)
            break;
        budget -= n;
        if (failed || past_stop_deadline()) {
            atomic_fetch_add(&st_spans_dropped, n);
            skipped += n;
            continue;
        }
        for (size_t i = 0; i < n; i++)
            rec_to_span(&E.buf[i], &E.spans[i]);
        int rc = pp__otlp_encode_spans(&E.res, E.spans, n, E.cfg.json, &E.body);
        if (rc != PP_OK) {
            atomic_fetch_add(&st_spans_dropped, n);
            pp_log(PP_LOG_WARN, "otlp", "encode_failed", "signal", "traces", "error",
                   pp_strerror(rc), NULL);
            E.body.err = 0;
            continue;
        }
        failed = !post(1, (const char *const *)E.cfg.traces_headers, E.cfg.traces_timeout_ms, n);
        if (budget == 0)
            break;
    }
    if (skipped) { /* one line for the rest of the round, not one per batch */
        char count[32];
        snprintf(count, sizeof count, "%zu", skipped);
        pp_log(PP_LOG_WARN, "otlp", "export_dropped", "signal", "traces", "items", count,
               "attempts", "0", "error",
               "not sent: the round's earlier batch failed or the "
               "shutdown deadline passed",
               NULL);
    }
    /* a pause this round: count what it skipped, then record again */
    skipped_count(0);
    pp__spans_resume();
}

/* ---- metrics from the process-wide registry ---- */

typedef struct {
    pp__otlp_metric *metrics;
    size_t n;
    size_t points;
    int oom;
    void **owned; /* everything allocated, freed after sending */
    size_t nowned, capowned;
} mread;

static void *own(mread *m, size_t size)
{
    if (m->oom)
        return NULL;
    if (m->nowned == m->capowned) {
        size_t nc = m->capowned ? m->capowned * 2 : 256;
        void **no = realloc(m->owned, nc * sizeof *no);
        if (!no) {
            m->oom = 1;
            return NULL;
        }
        m->owned = no;
        m->capowned = nc;
    }
    void *p = calloc(1, size ? size : 1);
    if (!p) {
        m->oom = 1;
        return NULL;
    }
    m->owned[m->nowned++] = p;
    return p;
}

static char *own_str(mread *m, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = own(m, n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static void read_registry(pp_registry *r, void *ctx)
{
    mread *m = ctx;
    pthread_mutex_lock(&r->render_lock);
    pp__registry_run_hooks(r);
    size_t nm = atomic_load(&r->nmetrics);
    m->metrics = own(m, (nm ? nm : 1) * sizeof *m->metrics);
    for (size_t i = 0; i < nm && m->metrics && !m->oom; i++) {
        struct pp_metric *pm = r->metrics[i];
        pp__otlp_metric *om = &m->metrics[m->n];
        om->name = own_str(m, pm->name);
        om->help = own_str(m, pm->help ? pm->help : "");
        om->kind = pm->kind;
        om->nbounds = pm->kind == PP_METRIC_HISTOGRAM ? pm->nbounds : 0;
        double *bounds = own(m, (om->nbounds + 1) * sizeof *bounds);
        if (bounds)
            memcpy(bounds, pm->bounds, om->nbounds * sizeof *bounds);
        om->bounds = bounds;
        pthread_mutex_lock(&pm->lock);
        size_t ns = pm->nseries;
        pp__otlp_point *pts = own(m, (ns ? ns : 1) * sizeof *pts);
        const char **names = own(m, (pm->nlabels + 1) * sizeof *names);
        for (size_t l = 0; names && l < pm->nlabels; l++)
            names[l] = own_str(m, pm->label_names[l]);
        for (size_t j = 0; pts && names && j < ns && !m->oom; j++) {
            struct pp_series *s = pm->series[j];
            pp__otlp_point *pt = &pts[j];
            const char **vals = own(m, (pm->nlabels + 1) * sizeof *vals);
            if (!vals)
                break;
            for (size_t l = 0; l < pm->nlabels; l++)
                vals[l] = own_str(m, s->values[l]);
            pt->label_names = names;
            pt->label_values = vals;
            pt->nlabels = pm->nlabels;
            if (pm->kind == PP_METRIC_HISTOGRAM) {
                uint64_t *b = own(m, (pm->nbounds + 1) * sizeof *b);
                if (!b)
                    break;
                pp__series_read_hist(s, b, &pt->sum);
                for (size_t k = 0; k <= pm->nbounds; k++)
                    pt->count += b[k];
                pt->buckets = b;
            } else {
                pt->value = pp_series_value(s);
            }
        }
        pthread_mutex_unlock(&pm->lock);
        om->points = pts;
        om->npoints = ns;
        m->points += ns;
        m->n++;
    }
    pthread_mutex_unlock(&r->render_lock);
}

static void send_metrics(void)
{
    mread m = {0};
    if (!pp__metrics_default_visit(read_registry, &m) || m.oom) {
        if (m.oom)
            pp_log(PP_LOG_WARN, "otlp", "metrics_read_failed", "error", pp_strerror(PP_ENOMEM),
                   NULL);
        goto out;
    }
    if (past_stop_deadline()) {
        atomic_fetch_add(&st_points_dropped, m.points);
        goto out;
    }
    uint64_t now = (uint64_t)((int64_t)mono_now() + E.real_minus_mono);
    int rc =
        pp__otlp_encode_metrics(&E.res, m.metrics, m.n, E.start_unix_ns, now, E.cfg.json, &E.body);
    if (rc != PP_OK) {
        atomic_fetch_add(&st_points_dropped, m.points);
        E.body.err = 0;
        goto out;
    }
    (void)post(0, (const char *const *)E.cfg.metrics_headers, E.cfg.metrics_timeout_ms, m.points);
out:
    for (size_t i = 0; i < m.nowned; i++)
        free(m.owned[i]);
    free(m.owned);
}

static void *sender(void *arg)
{
    (void)arg;
    uint64_t next_spans = mono_now() + E.cfg.schedule_delay_ms * NS_PER_MS;
    uint64_t next_metrics = mono_now() + E.cfg.metric_interval_ms * NS_PER_MS;
    uint64_t handled = 0; /* the last flush round asked for that this thread has begun */
    pthread_mutex_lock(&E.lock);
    for (;;) {
        /* a flush asked for before this thread first got here counts too */
        while (!E.stop && E.flush_gen == handled) {
            uint64_t wake = E.cfg.traces_url[0] ? next_spans : UINT64_MAX;
            if (E.cfg.metrics_url[0] && next_metrics < wake)
                wake = next_metrics;
            if (mono_now() >= wake)
                break;
            struct timespec ts;
            abs_time(wake, &ts);
            pthread_cond_timedwait(&E.cond, &E.lock, &ts);
        }
        int stopping = E.stop;
        int flushing = E.flush_gen != handled;
        uint64_t gen = E.flush_gen;
        handled = gen;
        pthread_mutex_unlock(&E.lock);
        uint64_t now = mono_now();
        if (E.cfg.traces_url[0] && (stopping || flushing || now >= next_spans)) {
            send_spans();
            next_spans = mono_now() + E.cfg.schedule_delay_ms * NS_PER_MS;
        }
        if (E.cfg.metrics_url[0] && (stopping || flushing || now >= next_metrics)) {
            send_metrics();
            next_metrics = mono_now() + E.cfg.metric_interval_ms * NS_PER_MS;
        }
        pthread_mutex_lock(&E.lock);
        if (flushing && gen > E.done_gen)
            E.done_gen = gen;
        pthread_cond_broadcast(&E.cond);
        if (stopping)
            break;
    }
    pthread_mutex_unlock(&E.lock);
    return NULL;
}

/* ---- lifecycle ---- */

static const char *real_getenv(const char *name, void *ctx)
{
    (void)ctx;
    return getenv(name);
}

static void release_locked(void)
{
    pp__otlp_config_release(&E.cfg);
    free((void *)E.res.keys);
    free((void *)E.res.values);
    free(E.buf);
    free(E.spans);
    pp__strbuf_release(&E.body);
    pp__strbuf_release(&E.gz);
    E.res.keys = E.res.values = NULL;
    E.buf = NULL;
    E.spans = NULL;
}

static void at_exit(void)
{
    (void)pp_otlp_shutdown(0);
}

int pp_otlp_start(void)
{
    pthread_once(&cond_once, cond_init);
    pthread_mutex_lock(&E.lock);
    int rc = PP_OK;
    if (E.running)
        goto out;
    rc = pp__otlp_config_from_env(real_getenv, NULL, &E.cfg);
    if (rc != PP_OK)
        goto out;
    if (E.cfg.disabled || (!E.cfg.traces_url[0] && !E.cfg.metrics_url[0])) {
        pp__otlp_config_release(&E.cfg);
        goto out;
    }
    const char **keys = calloc(E.cfg.nattrs + 1, sizeof *keys);
    const char **values = calloc(E.cfg.nattrs + 1, sizeof *values);
    E.res.keys = keys;
    E.res.values = values;
    E.buf = calloc(E.cfg.batch_size, sizeof *E.buf);
    E.spans = calloc(E.cfg.batch_size, sizeof *E.spans);
    if (!keys || !values || !E.buf || !E.spans) {
        rc = PP_ENOMEM;
        release_locked();
        goto out;
    }
    for (size_t i = 0; i < E.cfg.nattrs; i++) {
        keys[i] = E.cfg.attr_keys[i];
        values[i] = E.cfg.attr_values[i];
    }
    E.res.n = E.cfg.nattrs;
    E.res.pid = (int64_t)getpid();
    pp__strbuf_init(&E.body, BODY_MAX);
    pp__strbuf_init(&E.gz, BODY_MAX);
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    uint64_t mono = mono_now();
    int64_t real = (int64_t)rt.tv_sec * 1000000000ll + rt.tv_nsec;
    E.real_minus_mono = real - (int64_t)mono;
    E.start_unix_ns = (uint64_t)real;
    E.stop = 0;
    E.flush_gen = E.done_gen = 0;
    pp__http_global_init();
    pp_registry *reg = pp_metrics_default();
    if (reg)
        register_dropped(reg, NULL);
    if (pthread_create(&E.thread, NULL, sender, NULL) != 0) {
        rc = PP_EUNAVAIL;
        release_locked();
        goto out;
    }
    E.running = 1;
    E.pid = getpid();
    atomic_store(&owner_pid, E.pid);
    atomic_store(&st_capacity, E.cfg.traces_url[0] ? E.cfg.queue_size : 0);
    if (E.cfg.traces_url[0]) {
        pp__spans_configure(E.cfg.queue_size, E.cfg.sampler, E.cfg.sampler_ratio);
        skipped_start();
    }
    atomic_store(&active, 1);
    static int exit_registered;
    if (!exit_registered) {
        exit_registered = 1;
        atexit(at_exit);
    }
out:
    pthread_mutex_unlock(&E.lock);
    return rc;
}

int pp_otlp_active(void)
{
    return atomic_load(&active) && atomic_load(&owner_pid) == getpid();
}

int pp_otlp_shutdown(uint64_t timeout_ms)
{
    /* a forked child: no sender thread, and E.lock may have been held at the fork */
    if (atomic_load(&owner_pid) != getpid())
        return PP_OK;
    pthread_once(&cond_once, cond_init);
    pthread_mutex_lock(&E.lock);
    if (!E.running || E.pid != getpid()) {
        pthread_mutex_unlock(&E.lock);
        return PP_OK;
    }
    if (timeout_ms == 0)
        timeout_ms = E.cfg.shutdown_ms;
    /* no more spans recorded; what is queued goes out in the last round */
    skipped_count(1);
    pp__spans_configure(0, 0, 0);
    E.stop = 1;
    E.stop_deadline = mono_now() + timeout_ms * NS_PER_MS;
    pthread_cond_broadcast(&E.cond);
    pthread_mutex_unlock(&E.lock);
    pthread_join(E.thread, NULL);
    pthread_mutex_lock(&E.lock);
    int rc = mono_now() > E.stop_deadline ? PP_ETIMEOUT : PP_OK;
    E.running = 0;
    atomic_store(&active, 0);
    atomic_store(&owner_pid, 0);
    release_locked();
    pthread_mutex_unlock(&E.lock);
    return rc;
}

int pp_otlp_flush(uint64_t timeout_ms)
{
    if (atomic_load(&owner_pid) != getpid())
        return PP_ESTATE;
    pthread_once(&cond_once, cond_init);
    pthread_mutex_lock(&E.lock);
    if (!E.running || E.pid != getpid()) {
        pthread_mutex_unlock(&E.lock);
        return PP_ESTATE;
    }
    uint64_t gen = ++E.flush_gen;
    uint64_t until = mono_now() + timeout_ms * NS_PER_MS;
    pthread_cond_broadcast(&E.cond);
    int rc = PP_OK;
    while (E.done_gen < gen && E.running) {
        if (mono_now() >= until) {
            rc = PP_ETIMEOUT;
            break;
        }
        struct timespec ts;
        abs_time(until, &ts);
        pthread_cond_timedwait(&E.cond, &E.lock, &ts);
    }
    pthread_mutex_unlock(&E.lock);
    return rc;
}

void pp_otlp_get_stats(pp_otlp_stats *out)
{
    memset(out, 0, sizeof *out);
    out->spans_sent = atomic_load(&st_spans_sent);
    out->spans_dropped = spans_dropped_total();
    out->spans_skipped = atomic_load(&st_skipped);
    out->points_sent = atomic_load(&st_points_sent);
    out->points_dropped = atomic_load(&st_points_dropped);
    out->requests = atomic_load(&st_requests);
    out->retries = atomic_load(&st_retries);
    out->rejected_partial = atomic_load(&st_partial);
    out->paused = pp__load(&pp__g_spans_suspended);
    out->queue_capacity = atomic_load(&st_capacity);
}

/* Started when the library loads, if the environment names an endpoint. */
static void __attribute__((constructor)) otlp_from_env(void)
{
    const char *a = getenv("OTEL_EXPORTER_OTLP_ENDPOINT");
    const char *b = getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    const char *c = getenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
    if ((a && *a) || (b && *b) || (c && *c)) {
        int rc = pp_otlp_start();
        if (rc != PP_OK) /* a constructor has no one to tell but the log */
            pp_log(PP_LOG_WARN, "otlp", "start_failed", "error", pp_strerror(rc), NULL);
    }
}

/* ---- W3C trace context ---- */

static __thread char tls_tracestate[PP__TRACESTATE_MAX + 1];

static size_t format_traceparent(uint64_t hi, uint64_t lo, uint64_t span, int sampled, char *out,
                                 size_t cap)
{
    pp__trace_ctx c;
    for (int i = 0; i < 8; i++) {
        c.trace_id[i] = (uint8_t)(hi >> (56 - 8 * i));
        c.trace_id[8 + i] = (uint8_t)(lo >> (56 - 8 * i));
        c.span_id[i] = (uint8_t)(span >> (56 - 8 * i));
    }
    c.flags = sampled ? 0x01 : 0x00;
    return pp__traceparent_format(&c, out, cap);
}

size_t pp_otlp_traceparent(char *out, size_t cap)
{
    uint64_t hi, lo, span;
    int sampled;
    if (cap)
        out[0] = '\0';
    if (!pp__span_current(&hi, &lo, &span, &sampled))
        return 0;
    return format_traceparent(hi, lo, span, sampled, out, cap);
}

size_t pp_otlp_async_traceparent(uint64_t span, char *out, size_t cap)
{
    uint64_t hi, lo, id;
    int sampled;
    if (cap)
        out[0] = '\0';
    if (!pp__span_async_context(span, &hi, &lo, &id, &sampled))
        return 0;
    return format_traceparent(hi, lo, id, sampled, out, cap);
}

const char *pp_otlp_tracestate(void)
{
    return tls_tracestate[0] ? tls_tracestate : NULL;
}

int pp_otlp_continue(const char *traceparent, const char *tracestate)
{
    pp__trace_ctx c;
    if (!traceparent || pp__traceparent_parse(traceparent, strlen(traceparent), &c) != PP_OK)
        return PP_EFORMAT;
    uint64_t hi = 0, lo = 0, span = 0;
    for (int i = 0; i < 8; i++) {
        hi = hi << 8 | c.trace_id[i];
        lo = lo << 8 | c.trace_id[8 + i];
        span = span << 8 | c.span_id[i];
    }
    pp__span_set_remote(hi, lo, span, c.flags);
    tls_tracestate[0] = '\0';
    if (tracestate && pp__tracestate_valid(tracestate, strlen(tracestate)))
        snprintf(tls_tracestate, sizeof tls_tracestate, "%s", tracestate);
    return PP_OK;
}

void pp_otlp_continue_clear(void)
{
    pp__span_clear_remote();
    tls_tracestate[0] = '\0';
}
