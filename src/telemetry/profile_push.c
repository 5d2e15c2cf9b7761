/*
 * profile_push.c - This process's CPU profile pushed to Pyroscope every N
 * seconds (POSTPROF_PUSH_URL, postprof/push.h). A sampler thread records
 * each interval with pp_record_attach() on this very process (perf events,
 * the kernel walking the stacks: no signal lands in the program's threads)
 * and renders it as pprof; a sender thread pushes under the shared retry
 * policy. The program is never blocked: a bounded queue between the two
 * drops the oldest profile when the server falls behind, counted in
 * postprof_profile_pushes_total{outcome}. At exit the last, partial interval
 * is flushed within a deadline and the threads are left behind if it passes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <postprof/clock.h>
#include <postprof/error.h>
#include <postprof/log.h>
#include <postprof/metrics.h>
#include <postprof/push.h>
#include <postprof/record.h>

#include "export/formats/formats.h"
#include "telemetry/http_retry.h"
#include "telemetry/pyroscope_impl.h"

#define QUEUE_MAX 4 /* profiles waiting for the sender; more drop the oldest */
#define ATTEMPT_MAX_NS (10ull * 1000000000ull)

typedef struct {
    char *data;
    size_t len;
    int64_t from, until;
    pp_profile_kind kind;
} item;

enum { OUT_SENT, OUT_REFUSED, OUT_UNREACHABLE, OUT_DROPPED, OUT_SAMPLING, OUT_N };
static const char *const outcome_names[OUT_N] = {"sent", "refused", "unreachable", "dropped",
                                                 "sampling_failed"};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int running;      /* threads started and not yet stopped */
    int stopping;     /* pp_push_stop() asked; flush_deadline set */
    int sampler_done; /* the sampler left: the sender drains what is queued and ends */
    atomic_int stop;  /* read by the sampler's should_stop every 50 ms */
    uint64_t flush_deadline;
    pthread_t sampler, sender;
    item queue[QUEUE_MAX];
    size_t head, n;
    /* copies of the options */
    char url[1100], app[300], labels[1100], tenant[300];
    pp_push_opts target;
    double interval_s, flush_s, push_timeout_s;
    int alive; /* threads not yet ended (a stop past its deadline leaves them running) */
    unsigned long long hz;
    char dir[256]; /* where pp_record_attach() leaves each interval's raw profile */
    /* what happened, for pp_push_stats() */
    int64_t counts[OUT_N];
    long last_status;
    char last_error[512];
    pp_series *series[OUT_N];
} g = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void count(int outcome, long status, const char *error)
{
    pthread_mutex_lock(&g.lock);
    g.counts[outcome]++;
    if (outcome != OUT_DROPPED)
        g.last_status = status;
    if (error)
        snprintf(g.last_error, sizeof g.last_error, "%s", error);
    pthread_mutex_unlock(&g.lock);
    pp_series_inc(g.series[outcome]); /* NULL (no registry) does nothing */
}

static void register_metrics(void)
{
    pp_registry *r = pp_metrics_default();
    pp_metric *m = NULL;
    static const char *const labels[] = {"outcome"};
    if (!r || pp_registry_counter(r, "postprof_profile_pushes_total",
                                  "Profiles pushed to Pyroscope by outcome: sent, refused (a 4xx, "
                                  "never retried), unreachable (retries ran out), dropped (the "
                                  "queue was full), sampling_failed",
                                  1, labels, &m) != PP_OK)
        return;
    for (int i = 0; i < OUT_N; i++) {
        const char *v[] = {outcome_names[i]};
        if (pp_metric_series(m, v, &g.series[i]) != PP_OK)
            g.series[i] = NULL;
    }
}

static void item_free(item *it)
{
    free(it->data);
    memset(it, 0, sizeof *it);
}

/* hands a rendered profile to the sender; a full queue loses its oldest */
static void enqueue(item *it)
{
    int dropped = 0;
    pthread_mutex_lock(&g.lock);
    if (g.n == QUEUE_MAX) {
        item_free(&g.queue[g.head]);
        g.head = (g.head + 1) % QUEUE_MAX;
        g.n--;
        dropped = 1;
    }
    g.queue[(g.head + g.n) % QUEUE_MAX] = *it;
    g.n++;
    pthread_cond_broadcast(&g.cond);
    pthread_mutex_unlock(&g.lock);
    if (dropped)
        count(OUT_DROPPED, 0, "the server fell behind: the oldest waiting profile was dropped");
}

static int stop_asked(void *ctx)
{
    (void)ctx;
    return atomic_load(&g.stop);
}

/* the cond waits on CLOCK_MONOTONIC (intervals never follow the wall clock) */
static void init_cond(void)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&g.cond, &a);
    pthread_condattr_destroy(&a);
}

static struct timespec mono_at(uint64_t t_ns)
{
    struct timespec ts = {(time_t)(t_ns / 1000000000u), (long)(t_ns % 1000000000u)};
    return ts;
}

/* waits until monotonic time `until` or a stop, the lock held; 1 when stopping */
static int pause_until_locked(uint64_t until)
{
    struct timespec ts = mono_at(until);
    while (!g.stopping && pp_clock_now_ns() < until)
        pthread_cond_timedwait(&g.cond, &g.lock, &ts);
    return g.stopping;
}

/* one interval: sampled, symbolized, rendered; 0 when something was queued */
static int sample_once(void)
{
    pp_record_attach_opts ao = {
        .pid = (long)getpid(), .hz = g.hz, .duration_s = g.interval_s, .should_stop = stop_asked};
    pp_record_attach_result res;
    char err[1024] = "";
    int64_t from = (int64_t)time(NULL);
    int rc = pp_record_attach(&ao, g.dir, &res, err, sizeof err);
    int64_t until = (int64_t)time(NULL);
    pp_profile *p = NULL;
    if (rc == PP_OK) {
        rc = pp_profile_load_raw(res.path, &p, err, sizeof err);
        unlink(res.path);
    }
    pp__strbuf b;
    pp__strbuf_init(&b, PP__FORMAT_MAX_BYTES);
    if (rc == PP_OK)
        rc = pp__pprof_render(p, &b);
    if (rc == PP_OK)
        rc = b.err;
    if (rc != PP_OK) {
        pp__strbuf_release(&b);
        pp_profile_free(p);
        pp_log(PP_LOG_WARN, "push", "sampling_failed", "error", err[0] ? err : pp_strerror(rc),
               NULL);
        count(OUT_SAMPLING, 0, err[0] ? err : pp_strerror(rc));
        return -1;
    }
    item it = {b.data, b.len, from, until > from ? until : from + 1, pp_profile_kind_of(p)};
    pp_profile_free(p);
    enqueue(&it); /* the buffer now belongs to the queue */
    return 0;
}

static void *sampler_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&g.stop)) {
        uint64_t t0 = pp_clock_now_ns();
        if (sample_once() != 0) {
            /* sampling refused (perf events unavailable ...): try again an interval later */
            pthread_mutex_lock(&g.lock);
            int stopping = pause_until_locked(t0 + (uint64_t)(g.interval_s * 1e9));
            pthread_mutex_unlock(&g.lock);
            if (stopping)
                break;
        }
    }
    pthread_mutex_lock(&g.lock);
    g.sampler_done = 1;
    g.alive--;
    pthread_cond_broadcast(&g.cond);
    pthread_mutex_unlock(&g.lock);
    return NULL;
}

/* the retry policy's wait; given up when a stop's flush deadline comes first */
static int retry_wait(void *ctx, uint64_t wait_ns)
{
    (void)ctx;
    uint64_t until = pp_clock_now_ns() + wait_ns;
    struct timespec ts = mono_at(until);
    int give_up = 0;
    pthread_mutex_lock(&g.lock);
    for (;;) {
        if (g.stopping && until > g.flush_deadline) {
            give_up = 1;
            break;
        }
        if (pp_clock_now_ns() >= until)
            break;
        pthread_cond_timedwait(&g.cond, &g.lock, &ts);
    }
    pthread_mutex_unlock(&g.lock);
    return give_up;
}

static void send_one(item *it)
{
    pp__strbuf url;
    pp__strbuf_init(&url, 4096);
    pp__http_result res;
    memset(&res, 0, sizeof res);
    int rc = pp__push_url(&g.target, it->kind, (unsigned)g.hz, it->from, it->until, &url);
    pthread_mutex_lock(&g.lock);
    uint64_t now = pp_clock_now_ns();
    uint64_t budget = g.stopping ? (g.flush_deadline > now ? g.flush_deadline - now : 1000000u)
                                 : (uint64_t)(g.push_timeout_s * 1e9);
    pthread_mutex_unlock(&g.lock);
    if (rc == PP_OK)
        rc = pp__push_send(url.data, g.target.tenant, it->data, it->len, budget, retry_wait, NULL,
                           &res);
    char err[1400] = "";
    if (rc != PP_OK) {
        snprintf(err, sizeof err, "cannot push to %.1100s: %s", g.url, pp_strerror(rc));
        count(OUT_UNREACHABLE, 0, err);
    } else if (res.outcome == PP__HTTP_OK) {
        count(OUT_SENT, res.status, NULL);
    } else {
        pp__push_describe(g.url, &res, err, sizeof err);
        count(res.outcome == PP__HTTP_PERMANENT ? OUT_REFUSED : OUT_UNREACHABLE, res.status, err);
    }
    if (err[0])
        pp_log(PP_LOG_WARN, "push", "push_failed", "error", err, NULL);
    pp__http_result_release(&res);
    pp__strbuf_release(&url);
}

static void *sender_main(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&g.lock);
        while (g.n == 0 && !g.sampler_done)
            pthread_cond_wait(&g.cond, &g.lock);
        if (g.n == 0) {
            pthread_mutex_unlock(&g.lock);
            break;
        }
        item it = g.queue[g.head];
        g.head = (g.head + 1) % QUEUE_MAX;
        g.n--;
        pthread_mutex_unlock(&g.lock);
        send_one(&it);
        item_free(&it);
    }
    pthread_mutex_lock(&g.lock);
    g.alive--;
    pthread_mutex_unlock(&g.lock);
    return NULL;
}

static void after_fork_child(void)
{
    /* the threads stay with the parent: the child pushes nothing */
    pthread_mutex_init(&g.lock, NULL);
    init_cond();
    g.running = 0;
    g.alive = 0;
    g.n = 0;
    g.head = 0;
}

static void init_once(void)
{
    init_cond();
    register_metrics();
    pthread_atfork(NULL, NULL, after_fork_child);
    pp__http_global_init(); /* before any sender: curl_global_init is not thread-safe */
}

static void copy_opt(char *dst, size_t cap, const char *src, const char **field)
{
    snprintf(dst, cap, "%s", src ? src : "");
    *field = src ? dst : NULL;
}

int pp_push_start(const pp_push_every_opts *o, char *err, size_t errcap)
{
    if (err && errcap)
        err[0] = 0;
    if (!o)
        return PP_EINVAL;
    int rc = pp_push_check(&o->target, err, errcap);
    if (rc != PP_OK)
        return rc;
    if (o->interval_s < 0 || o->interval_s > 3600 || o->hz > 100000 || o->flush_timeout_s < 0 ||
        o->flush_timeout_s > 600) {
        if (err && errcap)
            snprintf(err, errcap,
                     "interval (0-3600 s), rate (0-100000 Hz) or flush deadline "
                     "(0-600 s) out of range");
        return PP_EINVAL;
    }
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_once);
    pthread_mutex_lock(&g.lock);
    if (g.running || g.alive) {
        pthread_mutex_unlock(&g.lock);
        if (err && errcap)
            snprintf(err, errcap, "already pushing to %s", g.url);
        return PP_EBUSY;
    }
    copy_opt(g.url, sizeof g.url, o->target.url, &g.target.url);
    copy_opt(g.app, sizeof g.app, o->target.app, &g.target.app);
    copy_opt(g.labels, sizeof g.labels, o->target.labels, &g.target.labels);
    copy_opt(g.tenant, sizeof g.tenant, o->target.tenant, &g.target.tenant);
    g.interval_s = o->interval_s > 0 ? o->interval_s : 15;
    g.hz = o->hz ? o->hz : 99;
    g.flush_s = o->flush_timeout_s > 0 ? o->flush_timeout_s : 5;
    g.push_timeout_s = o->target.timeout_s > 0 ? o->target.timeout_s : 15;
    g.alive = 2; /* counted before they start: each ends by taking one off */
    g.stopping = g.sampler_done = 0;
    atomic_store(&g.stop, 0);
    const char *tmp = getenv("TMPDIR");
    snprintf(g.dir, sizeof g.dir, "%s/postprof-push-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g.dir)) {
        pthread_mutex_unlock(&g.lock);
        if (err && errcap)
            snprintf(err, errcap, "cannot create a directory for the samples: %s", strerror(errno));
        return PP_EIO;
    }
    pthread_mutex_unlock(&g.lock);
    if (pthread_create(&g.sender, NULL, sender_main, NULL) != 0) {
        pthread_mutex_lock(&g.lock);
        g.alive = 0;
        pthread_mutex_unlock(&g.lock);
        rmdir(g.dir);
        return PP_ENOMEM;
    }
    if (pthread_create(&g.sampler, NULL, sampler_main, NULL) != 0) {
        pthread_mutex_lock(&g.lock);
        g.sampler_done = 1;
        g.alive--;
        pthread_cond_broadcast(&g.cond);
        pthread_mutex_unlock(&g.lock);
        pthread_join(g.sender, NULL);
        rmdir(g.dir);
        return PP_ENOMEM;
    }
    pthread_mutex_lock(&g.lock);
    g.running = 1;
    pthread_mutex_unlock(&g.lock);
    return PP_OK;
}

/* joins t by the flush deadline; 0 joined, -1 left running (detached) */
static int join_by(pthread_t t, uint64_t deadline_mono)
{
    uint64_t now = pp_clock_now_ns();
    uint64_t left = deadline_mono > now ? deadline_mono - now : 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts); /* pthread_timedjoin_np's clock */
    uint64_t t_ns = (uint64_t)ts.tv_nsec + left % 1000000000u;
    ts.tv_sec += (time_t)(left / 1000000000u + t_ns / 1000000000u);
    ts.tv_nsec = (long)(t_ns % 1000000000u);
    if (pthread_timedjoin_np(t, NULL, &ts) == 0)
        return 0;
    pthread_detach(t);
    return -1;
}

int pp_push_stop(void)
{
    pthread_mutex_lock(&g.lock);
    if (!g.running) {
        pthread_mutex_unlock(&g.lock);
        return PP_OK;
    }
    g.running = 0;
    g.stopping = 1;
    g.flush_deadline = pp_clock_now_ns() + (uint64_t)(g.flush_s * 1e9);
    uint64_t deadline = g.flush_deadline;
    atomic_store(&g.stop, 1);
    pthread_cond_broadcast(&g.cond);
    pthread_mutex_unlock(&g.lock);
    /* a little past the deadline: a request cut at it still has to return */
    int late = join_by(g.sampler, deadline + 500000000u) != 0;
    if (late) { /* the sender must not wait for a sampler that will never say it is done */
        pthread_mutex_lock(&g.lock);
        g.sampler_done = 1;
        pthread_cond_broadcast(&g.cond);
        pthread_mutex_unlock(&g.lock);
    }
    late |= join_by(g.sender, deadline + 1000000000u) != 0;
    if (late)
        return PP_ETIMEOUT; /* the threads end on their own; their state is left to them */
    pthread_mutex_lock(&g.lock);
    while (g.n) {
        item_free(&g.queue[g.head]);
        g.head = (g.head + 1) % QUEUE_MAX;
        g.n--;
    }
    pthread_mutex_unlock(&g.lock);
    rmdir(g.dir);
    return PP_OK;
}

void pp_push_stats(pp_push_counts *out)
{
    pthread_mutex_lock(&g.lock);
    out->sent = g.counts[OUT_SENT];
    out->refused = g.counts[OUT_REFUSED];
    out->unreachable = g.counts[OUT_UNREACHABLE];
    out->dropped = g.counts[OUT_DROPPED];
    out->sampling_failed = g.counts[OUT_SAMPLING];
    out->last_status = g.last_status;
    snprintf(out->last_error, sizeof out->last_error, "%s", g.last_error);
    out->running = g.running;
    pthread_mutex_unlock(&g.lock);
}

static double env_num(const char *name, double dflt)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return dflt;
    char *end;
    double v = strtod(s, &end);
    return end != s && !*end && v >= 0 ? v : -1;
}

int pp_push_start_from_env(char *err, size_t errcap)
{
    const char *url = getenv("POSTPROF_PUSH_URL");
    if (err && errcap)
        err[0] = 0;
    if (!url || !*url)
        return PP_ENOTFOUND;
    char app[256] = "";
    const char *a = getenv("POSTPROF_PUSH_APP");
    if (!a || !*a) { /* the program's name */
        FILE *f = fopen("/proc/self/comm", "r");
        if (f) {
            if (!fgets(app, sizeof app, f))
                app[0] = 0;
            fclose(f);
        }
        app[strcspn(app, "\n")] = 0;
        for (char *c = app; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                  (*c >= '0' && *c <= '9') || *c == '_' || *c == '.' || *c == '-'))
                *c = '_';
        a = app[0] ? app : NULL;
    }
    pp_push_every_opts o = {.target = {.url = url,
                                       .app = a,
                                       .labels = getenv("POSTPROF_PUSH_LABELS"),
                                       .tenant = getenv("POSTPROF_PUSH_TENANT")},
                            .interval_s = env_num("POSTPROF_PUSH_INTERVAL", 15),
                            .flush_timeout_s = env_num("POSTPROF_PUSH_FLUSH_TIMEOUT", 5)};
    double hz = env_num("POSTPROF_PUSH_HZ", 99);
    if (o.target.labels && !*o.target.labels)
        o.target.labels = NULL;
    if (o.interval_s <= 0 || hz < 1 || o.flush_timeout_s <= 0) {
        if (err && errcap)
            snprintf(err, errcap,
                     "POSTPROF_PUSH_INTERVAL, POSTPROF_PUSH_HZ and "
                     "POSTPROF_PUSH_FLUSH_TIMEOUT must be positive numbers");
        return PP_EINVAL;
    }
    o.hz = (unsigned long long)hz;
    return pp_push_start(&o, err, errcap);
}

static void stop_at_exit(void)
{
    int rc = pp_push_stop(); /* nobody to tell at exit: the log has said what failed */
    (void)rc;
}

/* a program linking libpostprof pushes when POSTPROF_PUSH_URL is set */
static void __attribute__((constructor)) push_from_env(void)
{
    char err[512];
    int rc = pp_push_start_from_env(err, sizeof err);
    if (rc == PP_OK)
        atexit(stop_at_exit);
    else if (rc != PP_ENOTFOUND)
        pp_log(PP_LOG_WARN, "push", "not_started", "error", err, NULL);
}
