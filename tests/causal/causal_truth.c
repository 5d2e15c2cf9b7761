/*
 * causal_truth.c - A program whose causal profile is known: each iteration
 * runs a serial stage, then two stages at once on two worker threads, one
 * on the critical path (longer) and one off it, then counts a progress
 * point. Making the serial or the critical stage s faster saves its time x s;
 * making the off-path stage faster saves nothing (it stays the shorter one
 * up to 50 %). Environment:
 *   CAUSAL_TRUTH_ITERS=N                iterations (default 200)
 *   CAUSAL_TRUTH_FASTER_<STAGE>=PCT     really run STAGE (SERIAL, CRITICAL,
 *                                       OFFPATH) PCT % faster
 *   CAUSAL_TRUTH_INNER=N                split each stage into N inner scopes
 *                                       of busy work (many short scopes: the
 *                                       cost of a causal run's safe points)
 *   CAUSAL_TRUTH_SYNC=mutex             the main thread waits for the workers
 *                                       on mutexes they hold while they work
 *                                       (default cond: a condition variable)
 *   CAUSAL_TRUTH_LATENCY=1              each iteration is also the latency
 *                                       point "iteration_latency" (PP_LATENCY)
 *   CAUSAL_TRUTH_SCALE=X                stage lengths times X (default 1)
 *   CAUSAL_TRUTH_MEASURE=S              instead, measure the real gain of each
 *                                       stage 25 % and 50 % faster, with its
 *                                       95 % interval, for at most S seconds
 *   CAUSAL_TRUTH_PRECISION=P            ... stopping once every interval is
 *                                       within +-P points (default 1)
 *   CAUSAL_TRUTH_BLOCK=N                ... N iterations per half of a pair
 *                                       (default 1)
 * Prints "ns_per_iteration: X", measured after the first 10 iterations, or
 * the measured gains ("measured STAGE PCT: GAIN LOW HIGH PAIRS").
 * Stages sleep, then wait busily, to a deadline on the clock, so a stage
 * takes its time on a loaded machine too.
 *
 * Built a second way for `postprof causal --preload` (causal_truth_preload):
 * with -finstrument-functions and -DPP_DISABLE_INSTRUMENTATION, linked
 * without libpostprof; its functions serial(), critical() and offpath() are
 * then the scopes and each return from one_iteration() the progress point.
 * The helpers a stage spins in are left uninstrumented (NOINST), so that, as
 * in the scoped build, a stage has no safe point inside it.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <postprof/postprof.h>

#include "analyze/stats.h"

#define NOINST __attribute__((no_instrument_function))
#define STAGE __attribute__((noinline)) /* a function of its own: a scope in preload mode */

#define SERIAL_NS 2000000.0
#define CRITICAL_NS 3000000.0
#define OFFPATH_NS 1200000.0

static double faster(const char *stage)
{
    char name[64];
    snprintf(name, sizeof name, "CAUSAL_TRUTH_FASTER_%s", stage);
    const char *v = getenv(name);
    double pct = v ? atof(v) : 0;
    return pct > 0 && pct < 100 ? 1 - pct / 100 : 1;
}

static long inner_n = 1;

static NOINST double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* A stage's work: its time passes on the clock. It sleeps to 300 us before
 * its deadline, then waits busily for the rest, so a late wake-up on a
 * loaded machine (up to 300 us) does not stretch the stage, and the machine's
 * other work does not stretch it as it would a busy loop's. */
static NOINST void busy(double ns)
{
    double end = now_ns() + ns;
    if (ns > 600000) {
        long long wake = (long long)(end - 300000);
        struct timespec ts = {(time_t)(wake / 1000000000ll), (long)(wake % 1000000000ll)};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0) {
        }
    }
    while (now_ns() < end) {
    }
}

/* Short pieces of work: a busy wait to a deadline (a sleep this short would
 * take its own minimum, not ns). */
static NOINST void inner(double ns)
{
    PP_SCOPE("inner");
    double end = now_ns() + ns;
    while (now_ns() < end) {
    }
}

static NOINST void work(double ns)
{
    if (inner_n <= 1) {
        busy(ns);
        return;
    }
    for (long i = 0; i < inner_n; i++)
        inner(ns / (double)inner_n);
}

static double serial_ns, critical_ns, offpath_ns;

static STAGE void serial(void)
{
    PP_SCOPE("serial");
    work(serial_ns);
}
static STAGE void critical(void)
{
    PP_SCOPE("critical");
    work(critical_ns);
}
static STAGE void offpath(void)
{
    PP_SCOPE("offpath");
    work(offpath_ns);
}

typedef struct worker {
    void (*stage)(void);
    long go, done;
    pthread_mutex_t
        held[3]; /* CAUSAL_TRUTH_SYNC=mutex: held[i % 3] until iteration i's stage is done */
} worker;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go_cv = PTHREAD_COND_INITIALIZER, done_cv = PTHREAD_COND_INITIALIZER;
/* 1: the main thread waits for the workers by locking a mutex each holds while
 * it works (a wait only a wrapped pthread_mutex_lock tells from work), not on
 * a condition variable */
static int sync_mutex;

static void *worker_main(void *arg)
{
    worker *w = arg;
    long seen = 0;
    if (sync_mutex) {
        /* hand over hand: the mutex of the next iteration is taken before the
         * one of this iteration is let go, so the main thread never finds a
         * worker's mutex free before that worker's stage is done */
        pthread_mutex_lock(&w->held[1]);
        pthread_mutex_lock(&mu);
        w->done = -1; /* ready */
        pthread_cond_signal(&done_cv);
        pthread_mutex_unlock(&mu);
    }
    for (;;) {
        long prev = seen;
        pthread_mutex_lock(&mu);
        while (w->go == seen)
            pthread_cond_wait(&go_cv, &mu);
        seen = w->go;
        pthread_mutex_unlock(&mu);
        if (seen < 0) {
            if (sync_mutex)
                pthread_mutex_unlock(&w->held[(prev + 1) % 3]);
            return NULL;
        }
        w->stage();
        if (sync_mutex) {
            pthread_mutex_lock(&w->held[(seen + 1) % 3]);
            pthread_mutex_unlock(&w->held[seen % 3]);
            continue;
        }
        pthread_mutex_lock(&mu);
        w->done = seen;
        pthread_cond_signal(&done_cv);
        pthread_mutex_unlock(&mu);
    }
}

static worker w[2] = {
    {critical,
     0,
     0,
     {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER}},
    {offpath,
     0,
     0,
     {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER}}};
static long iteration;

/* CAUSAL_TRUTH_LATENCY=1: each iteration is also a latency point */
static int latency_mode;

/* One iteration; returns when both workers are done. */
static void iteration_body(void)
{
    long i = ++iteration;
    serial();
    pthread_mutex_lock(&mu);
    w[0].go = w[1].go = i;
    pthread_cond_broadcast(&go_cv);
    if (sync_mutex) {
        pthread_mutex_unlock(&mu);
        for (int k = 0; k < 2; k++) {
            pthread_mutex_lock(&w[k].held[i % 3]);
            pthread_mutex_unlock(&w[k].held[i % 3]);
        }
    } else {
        while (w[0].done != i || w[1].done != i)
            pthread_cond_wait(&done_cv, &mu);
        pthread_mutex_unlock(&mu);
    }
    PP_PROGRESS("iteration");
}

static STAGE void one_iteration(void)
{
    if (latency_mode) {
        PP_LATENCY("iteration_latency"); /* one at a time: its latency is the iteration's time */
        iteration_body();
    } else {
        iteration_body();
    }
}

static double block(long n)
{
    double t0 = now_ns();
    for (long i = 0; i < n; i++)
        one_iteration();
    return (now_ns() - t0) / (double)n;
}

static double seconds_now(void)
{
    return now_ns() / 1e9;
}

/* The real gains, measured in this process with their 95 % intervals: for
 * each (stage, speedup), pairs of blocks of iterations, one block with the
 * stage really faster and one at full length, side by side in time (the
 * order alternating, the six points taking turns), so that a change of the
 * machine's load moves both halves of a pair alike. Per point, the ratio of
 * the faster block's time per iteration to the other's: Hodges-Lehmann over
 * the pairs, Wilcoxon signed-rank interval (src/analyze/stats.c); gain = 1 -
 * ratio. Stops once every interval is within +-target, or at the budget. */
static int measure(double budget_s, double target, long block_n, double scale)
{
    static const char *const names[] = {"serial", "critical", "offpath"};
    static const double full[] = {SERIAL_NS, CRITICAL_NS, OFFPATH_NS};
    double *const ns[] = {&serial_ns, &critical_ns, &offpath_ns};
    static const int pct[] = {25, 50};
    enum { POINTS = 6, MIN_PAIRS = 12 };
    size_t cap = 20000, n = 0;
    double *base = calloc(cap * POINTS, sizeof *base), *fast = calloc(cap * POINTS, sizeof *fast);
    pp__ratio_est est[POINTS];
    int rc = 1;
    if (!base || !fast)
        goto out;
    block(10); /* warm up */
    double t0 = seconds_now(), next_check = t0;
    for (;;) {
        for (int j = 0; j < POINTS; j++) {
            int k = (int)((n + (size_t)j) % POINTS), st = k / 2, p = pct[k % 2];
            for (int half = 0; half < 2; half++) {
                int faster_half = (half + (int)n + j) % 2;
                *ns[st] = full[st] * scale * (faster_half ? 1 - p / 100.0 : 1);
                double t = block(block_n);
                (faster_half ? fast : base)[(size_t)k * cap + n] = t;
            }
            *ns[st] = full[st] * scale;
        }
        n++;
        double now = seconds_now();
        if (n < MIN_PAIRS || (now < next_check && n < cap && now - t0 < budget_s))
            continue;
        next_check = now + 1; /* the estimates cost a few ms: once a second */
        int narrow = 1;
        for (int k = 0; k < POINTS; k++) {
            if (pp__stats_paired(base + (size_t)k * cap, fast + (size_t)k * cap, n, 0.95, 0.0,
                                 &est[k]) != PP_OK)
                goto out;
            narrow &= (est[k].high - est[k].low) / 2 <= target;
        }
        if (narrow || n >= cap || now - t0 >= budget_s)
            break;
    }
    printf("measured_seconds: %.1f\n", seconds_now() - t0);
    for (int k = 0; k < POINTS; k++)
        printf("measured %s %d: %.5f %.5f %.5f %zu\n", names[k / 2], pct[k % 2], 1 - est[k].ratio,
               1 - est[k].high, 1 - est[k].low, est[k].n);
    rc = 0;
out:
    free(base);
    free(fast);
    return rc;
}

int main(void)
{
    const char *it = getenv("CAUSAL_TRUTH_ITERS");
    long iters = it ? atol(it) : 200;
    const char *in = getenv("CAUSAL_TRUTH_INNER");
    inner_n = in ? atol(in) : 1;
    if (iters < 20 || inner_n < 1 || inner_n > 100000) {
        fprintf(stderr, "causal_truth: CAUSAL_TRUTH_ITERS >= 20, CAUSAL_TRUTH_INNER >= 1\n");
        return 2;
    }
    const char *sc = getenv("CAUSAL_TRUTH_SCALE");
    double scale = sc ? atof(sc) : 1;
    const char *me = getenv("CAUSAL_TRUTH_MEASURE");
    double budget = me ? atof(me) : 0;
    const char *pr = getenv("CAUSAL_TRUTH_PRECISION");
    double target = pr ? atof(pr) / 100 : 0.01;
    const char *bl = getenv("CAUSAL_TRUTH_BLOCK");
    long block_n = bl ? atol(bl) : 1;
    if (!(scale >= 0.1 && scale <= 100) || !(budget >= 0 && budget <= 3600) ||
        !(target > 0 && target < 1) || block_n < 1 || block_n > 1000) {
        fprintf(stderr, "causal_truth: CAUSAL_TRUTH_SCALE in 0.1-100, CAUSAL_TRUTH_MEASURE in "
                        "0-3600 s, CAUSAL_TRUTH_PRECISION in (0, 100) points, CAUSAL_TRUTH_BLOCK "
                        "in 1-1000\n");
        return 2;
    }
    serial_ns = SERIAL_NS * scale * faster("SERIAL");
    critical_ns = CRITICAL_NS * scale * faster("CRITICAL");
    offpath_ns = OFFPATH_NS * scale * faster("OFFPATH");
    const char *la = getenv("CAUSAL_TRUTH_LATENCY");
    latency_mode = la && strcmp(la, "1") == 0;
    const char *sy = getenv("CAUSAL_TRUTH_SYNC");
    sync_mutex = sy && strcmp(sy, "mutex") == 0;
    if (sy && !sync_mutex && strcmp(sy, "cond") != 0) {
        fprintf(stderr, "causal_truth: CAUSAL_TRUTH_SYNC is cond or mutex\n");
        return 2;
    }
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        if (pthread_create(&th[i], NULL, worker_main, &w[i]) != 0)
            return 1;
    if (sync_mutex) { /* both workers hold their first iteration's mutex */
        pthread_mutex_lock(&mu);
        while (w[0].done != -1 || w[1].done != -1)
            pthread_cond_wait(&done_cv, &mu);
        pthread_mutex_unlock(&mu);
    }
    double per = 0;
    int rc = 0;
    if (budget > 0) {
        rc = measure(budget, target, block_n, scale);
    } else {
        block(10);
        per = block(iters - 10);
    }
    pthread_mutex_lock(&mu);
    w[0].go = w[1].go = -1;
    pthread_cond_broadcast(&go_cv);
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    if (budget <= 0)
        printf("ns_per_iteration: %.0f\n", per);
    return rc;
}
