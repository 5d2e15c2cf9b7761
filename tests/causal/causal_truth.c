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
 *                                       (many short scopes: the cost of a
 *                                       causal run's safe points)
 * Prints "ns_per_iteration: X", measured after the first 10 iterations.
 * Stages sleep to a deadline on the clock, so a stage takes its time on a
 * loaded machine too.
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

/* A stage's work: its time passes on the clock (slept to a deadline, so
 * that a loaded machine's other work does not stretch it as it would a busy
 * loop's). */
static void busy(double ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long long end = (long long)ts.tv_sec * 1000000000ll + ts.tv_nsec + (long long)ns;
    ts.tv_sec = (time_t)(end / 1000000000ll);
    ts.tv_nsec = (long)(end % 1000000000ll);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0) {
    }
}

static void inner(double ns)
{
    PP_SCOPE("inner");
    busy(ns);
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
    serial_ns = SERIAL_NS * faster("SERIAL");
    critical_ns = CRITICAL_NS * faster("CRITICAL");
    offpath_ns = OFFPATH_NS * faster("OFFPATH");
    worker w[2] = {{critical, 0, 0}, {offpath, 0, 0}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        if (pthread_create(&th[i], NULL, worker_main, &w[i]) != 0)
            return 1;
    double t_start = 0;
    for (long i = 1; i <= iters; i++) {
        if (i == 11)
            t_start = now_ns();
        serial();
        pthread_mutex_lock(&mu);
        w[0].go = w[1].go = i;
        pthread_cond_broadcast(&go_cv);
        while (w[0].done != i || w[1].done != i)
            pthread_cond_wait(&done_cv, &mu);
        pthread_mutex_unlock(&mu);
        PP_PROGRESS("iteration");
    }
    double per = (now_ns() - t_start) / (double)(iters - 10);
    pthread_mutex_lock(&mu);
    w[0].go = w[1].go = -1;
    pthread_cond_broadcast(&go_cv);
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    printf("ns_per_iteration: %.0f\n", per);
    return 0;
}
