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
 * Prints "ns_per_iteration: X", measured after the first 10 iterations.
 * Stages sleep, then wait busily, to a deadline on the clock, so a stage
 * takes its time on a loaded machine too.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <postprof/postprof.h>

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

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* A stage's work: its time passes on the clock. It sleeps to 300 us before
 * its deadline, then waits busily for the rest, so a late wake-up on a
 * loaded machine (up to 300 us) does not stretch the stage, and the machine's
 * other work does not stretch it as it would a busy loop's. */
static void busy(double ns)
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
static void inner(double ns)
{
    PP_SCOPE("inner");
    double end = now_ns() + ns;
    while (now_ns() < end) {
    }
}

static void work(double ns)
{
    if (inner_n <= 1) {
        busy(ns);
        return;
    }
    for (long i = 0; i < inner_n; i++)
        inner(ns / (double)inner_n);
}

static double serial_ns, critical_ns, offpath_ns;

static void serial(void)
{
    PP_SCOPE("serial");
    work(serial_ns);
}
static void critical(void)
{
    PP_SCOPE("critical");
    work(critical_ns);
}
static void offpath(void)
{
    PP_SCOPE("offpath");
    work(offpath_ns);
}

typedef struct worker {
    void (*stage)(void);
    long go, done;
} worker;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go_cv = PTHREAD_COND_INITIALIZER, done_cv = PTHREAD_COND_INITIALIZER;

static void *worker_main(void *arg)
{
    worker *w = arg;
    long seen = 0;
    for (;;) {
        pthread_mutex_lock(&mu);
        while (w->go == seen)
            pthread_cond_wait(&go_cv, &mu);
        seen = w->go;
        pthread_mutex_unlock(&mu);
        if (seen < 0)
            return NULL;
        w->stage();
        pthread_mutex_lock(&mu);
        w->done = seen;
        pthread_cond_signal(&done_cv);
        pthread_mutex_unlock(&mu);
    }
}

static worker w[2] = {{critical, 0, 0}, {offpath, 0, 0}};
static long iteration;

/* One iteration; returns when both workers are done. */
static void one_iteration(void)
{
    long i = ++iteration;
    serial();
    pthread_mutex_lock(&mu);
    w[0].go = w[1].go = i;
    pthread_cond_broadcast(&go_cv);
    while (w[0].done != i || w[1].done != i)
        pthread_cond_wait(&done_cv, &mu);
    pthread_mutex_unlock(&mu);
    PP_PROGRESS("iteration");
}

static double block(long n)
{
    double t0 = now_ns();
    for (long i = 0; i < n; i++)
        one_iteration();
    return (now_ns() - t0) / (double)n;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void measure(long rounds, double scale)
{
    static const char *const names[] = {"serial", "critical", "offpath"};
    static const double full[] = {SERIAL_NS, CRITICAL_NS, OFFPATH_NS};
    double *const ns[] = {&serial_ns, &critical_ns, &offpath_ns};
    static const int pct[] = {25, 50};
    double *gain = calloc((size_t)rounds * 6, sizeof *gain);
    if (!gain)
        return;
    block(10); /* warm up */
    for (long r = 0; r < rounds; r++)
        for (int k = 0; k < 6; k++) {
            int st = (int)((k + r) % 6) / 2, p = pct[(k + r) % 2];
            double faster_t = 0, base_t = 0;
            for (int half = 0; half < 2; half++) {
                int fast = (half + (int)r) % 2;
                *ns[st] = full[st] * scale * (fast ? 1 - p / 100.0 : 1);
                double t = block(8);
                if (fast)
                    faster_t = t;
                else
                    base_t = t;
            }
            *ns[st] = full[st] * scale;
            gain[(size_t)(st * 2 + (p == 50)) * (size_t)rounds + (size_t)r] = 1 - faster_t / base_t;
        }
    for (int st = 0; st < 3; st++)
        for (int q = 0; q < 2; q++) {
            double *g = gain + (size_t)(st * 2 + q) * (size_t)rounds;
            qsort(g, (size_t)rounds, sizeof *g, cmp_d);
            double med = rounds % 2 ? g[rounds / 2] : (g[rounds / 2 - 1] + g[rounds / 2]) / 2;
            printf("measured %s %d: %.5f\n", names[st], pct[q], med);
        }
    free(gain);
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
    long rounds = me ? atol(me) : 0;
    if (!(scale >= 0.1 && scale <= 100) || rounds < 0) {
        fprintf(stderr, "causal_truth: CAUSAL_TRUTH_SCALE in 0.1-100, CAUSAL_TRUTH_MEASURE >= 0\n");
        return 2;
    }
    serial_ns = SERIAL_NS * scale * faster("SERIAL");
    critical_ns = CRITICAL_NS * scale * faster("CRITICAL");
    offpath_ns = OFFPATH_NS * scale * faster("OFFPATH");
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        if (pthread_create(&th[i], NULL, worker_main, &w[i]) != 0)
            return 1;
    double per = 0;
    if (rounds) {
        measure(rounds, scale);
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
    if (!rounds)
        printf("ns_per_iteration: %.0f\n", per);
    return 0;
}
