/*
 * bench_metrics.c - Cost of metric updates and of rendering, against a floor
 * measured in the same run (a plain volatile increment loop, and memcpy of
 * the rendered bytes), so the claims are ratios. Prints `name: value` lines.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <postprof/postprof.h>

#define N_OPS 20000000L

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* this thread's CPU time: on a shared machine, time the thread was not
 * running does not count against the operation */
static double thread_cpu_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* best of 5 runs of fn, in ns per operation */
static double best_of(double (*fn)(void *), void *arg)
{
    double r[5];
    for (int i = 0; i < 5; i++)
        r[i] = fn(arg);
    qsort(r, 5, sizeof r[0], cmp_d);
    return r[0];
}

static double run_floor(void *arg)
{
    (void)arg;
    volatile uint64_t x = 0;
    double t0 = now_ns();
    for (long i = 0; i < N_OPS; i++)
        x = x + 1;
    return (now_ns() - t0) / N_OPS;
}

static double run_counter(void *arg)
{
    pp_series *s = arg;
    double t0 = now_ns();
    for (long i = 0; i < N_OPS; i++)
        pp_series_inc(s);
    return (now_ns() - t0) / N_OPS;
}

static double run_observe(void *arg)
{
    pp_series *s = arg;
    double t0 = thread_cpu_ns();
    for (long i = 0; i < N_OPS; i++)
        pp_series_observe(s, (double)(i & 1023) * 0.01);
    return (thread_cpu_ns() - t0) / N_OPS;
}

struct obs2 {
    pp_series *s;
    double ns_per_op;
};

static void *observe_thread(void *arg)
{
    struct obs2 *o = arg;
    double t0 = thread_cpu_ns();
    for (long i = 0; i < N_OPS; i++)
        pp_series_observe(o->s, (double)(i & 1023) * 0.01);
    o->ns_per_op = (thread_cpu_ns() - t0) / N_OPS;
    return NULL;
}

/* two threads on the same series at once: CPU time per operation of each
 * thread (their mean); sharing a cache line would show here */
static double run_observe2(void *arg)
{
    pthread_t t[2];
    struct obs2 o[2] = {{arg, 0}, {arg, 0}};
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, observe_thread, &o[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    return (o[0].ns_per_op + o[1].ns_per_op) / 2;
}

int main(void)
{
    pp_registry *r = NULL;
    pp_metric *c, *h, *h1000;
    pp_series *cs, *hs;
    const char *l[] = {"op"};
    double b[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    if (pp_registry_new(NULL, &r) != PP_OK ||
        pp_registry_counter(r, "bench_total", "b", 1, l, &c) != PP_OK ||
        pp_registry_histogram(r, "bench_seconds", "b", 1, l, b, 11, &h) != PP_OK ||
        pp_registry_histogram(r, "bench_render_seconds", "b", 1, l, b, 11, &h1000) != PP_OK ||
        pp_metric_series(c, (const char *const[]){"x"}, &cs) != PP_OK ||
        pp_metric_series(h, (const char *const[]){"x"}, &hs) != PP_OK) {
        fprintf(stderr, "bench_metrics: setup failed\n");
        return 1;
    }
    double floor_ns = best_of(run_floor, NULL);
    double counter_ns = best_of(run_counter, cs);
    double observe_ns = best_of(run_observe, hs);
    double observe2_ns = best_of(run_observe2, hs);

    /* 1000 label sets of one 11-bucket histogram, text format; only that metric
     * is in the render: a second registry holds it */
    pp_registry *r2 = NULL;
    if (pp_registry_new(NULL, &r2) != PP_OK ||
        pp_registry_histogram(r2, "bench_render_seconds", "Render bench.", 1, l, b, 11, &h1000) !=
            PP_OK)
        return 1;
    pp_series *all[1000];
    for (int i = 0; i < 1000; i++) {
        char v[32];
        pp_series *s;
        snprintf(v, sizeof v, "operation_%d", i);
        if (pp_metric_series(h1000, (const char *const[]){v}, &s) != PP_OK)
            return 1;
        for (int k = 0; k < 20; k++)
            pp_series_observe(s, (double)(k * i % 997) / 100.0);
        all[i] = s;
    }
    double render_ms[15], copy_ms[15];
    size_t bytes = 0;
    for (int i = 0; i < 15; i++) {
        char *text = NULL;
        double t0 = now_ns();
        if (pp_registry_render(r2, PP_EXPO_TEXT, &text, &bytes) != PP_OK)
            return 1;
        render_ms[i] = (now_ns() - t0) / 1e6;
        char *copy = malloc(bytes);
        t0 = now_ns();
        memcpy(copy, text, bytes);
        copy_ms[i] = (now_ns() - t0) / 1e6;
        if (copy[bytes / 2] == '\1')
            puts("");
        free(copy);
        free(text);
    }
    /* the same, with every series changed between renders (no reused value text) */
    double changing_ms[15];
    for (int i = 0; i < 15; i++) {
        for (int k = 0; k < 1000; k++)
            pp_series_observe(all[k], 0.001 * (i + 1) + k * 1e-7);
        char *text = NULL;
        double t0 = now_ns();
        if (pp_registry_render(r2, PP_EXPO_TEXT, &text, &bytes) != PP_OK)
            return 1;
        changing_ms[i] = (now_ns() - t0) / 1e6;
        free(text);
    }
    qsort(changing_ms, 15, sizeof(double), cmp_d);
    qsort(render_ms, 15, sizeof(double), cmp_d);
    qsort(copy_ms, 15, sizeof(double), cmp_d);

    printf("floor_ns: %.2f\n", floor_ns);
    printf("counter_inc_ns: %.2f\n", counter_ns);
    printf("histogram_observe_ns: %.2f\n", observe_ns);
    printf("histogram_observe_2threads_ns: %.2f\n", observe2_ns);
    printf("histogram_observe_2threads_ratio: %.2f\n", observe2_ns / observe_ns);
    printf("render_1000_series_ms: %.3f\n", render_ms[7]);
    printf("render_1000_series_changing_ms: %.3f\n", changing_ms[7]);
    printf("render_1000_series_bytes: %zu\n", bytes);
    printf("render_floor_memcpy_ms: %.4f\n", copy_ms[7]);
    printf("counter_inc_vs_floor: %.1f\n", counter_ns / floor_ns);
    printf("histogram_observe_vs_floor: %.1f\n", observe_ns / floor_ns);
    pp_registry_free(r2);
    pp_registry_free(r);
    return 0;
}
