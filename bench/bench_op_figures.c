/*
 * bench_op_figures.c - What the per-operation figures `postprof run` switches
 * on for its profiled passes cost a pass of the LinkedIn-posts pipeline:
 * on-CPU time at every 64th call of each scope per thread (as
 * pp_profiler_performance sets it) and allocation counting in every scope,
 * against the same pass with both off (the floor), in interleaved pairs
 * (median of the paired ratios, and their range: on a shared machine the
 * spread is larger than the effect), and estimated from its parts measured
 * in the same run (scope cost with each extra, times the pass's calls).
 * Linked with the malloc accounting, as the postprof command is.
 * Prints `name: value`. Usage: bench_op_figures [--posts N] [--data DIR] [--pairs N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <postprof/postprof.h>

#ifndef PP_HAVE_POSTS
int main(void)
{
    puts("op_figures: not built");
    return 0;
}
#else
#include <posts/posts.h>

#include "posts_data.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double pass_ms(const posts_config *cfg)
{
    posts_pipeline_result r;
    posts_err err = {{0}};
    uint64_t t0 = pp_clock_now_ns();
    if (posts_pipeline_run(cfg, &r, &err) != PP_OK) {
        fprintf(stderr, "bench_op_figures: pipeline: %s\n", err.msg);
        exit(1);
    }
    return (double)(pp_clock_now_ns() - t0) / 1e6;
}

/* Scope calls in a snapshot, summed over sites (async spans excluded). */
static uint64_t scope_calls(void)
{
    pp_snapshot *s;
    uint64_t n = 0;
    if (pp_snapshot_take(&s) != PP_OK)
        return 0;
    for (size_t i = 0; i < pp_snapshot_count(s); i++) {
        const pp_site_stats *st = pp_snapshot_site(s, i);
        if (!(st->flags & PP_SITE_ASYNC))
            n += st->count;
    }
    pp_snapshot_free(s);
    return n;
}

#define MAX_PAIRS 64
#define ROUNDS 5
#define N_SCOPES 20000

static void one_scope(void)
{
    PP_SCOPE("bench.op_figures.scope");
}

/* ns per scope (begin + end, back to back), best of ROUNDS. */
static double scope_ns(void)
{
    double best = 1e300;
    for (int r = 0; r < ROUNDS; r++) {
        uint64_t t0 = pp_clock_now_ns();
        for (int i = 0; i < N_SCOPES; i++)
            one_scope();
        double per = (double)(pp_clock_now_ns() - t0) / N_SCOPES;
        if (per < best)
            best = per;
    }
    return best;
}

int main(int argc, char **argv)
{
    size_t nposts = 5000, pairs = 9;
    const char *data = NULL;
    if (bench_posts_args(argc, argv, "bench_op_figures", "--pairs", &nposts, &data, &pairs))
        return 2;
    if (pairs < 1 || pairs > MAX_PAIRS)
        pairs = 9;
    pp_log_set_level(PP_LOG_ERROR);
    char tmp[64];
    if (!(data = bench_posts_data("bench_op_figures", data, nposts, tmp, sizeof tmp, NULL)))
        return 1;
    posts_config cfg;
    posts_config_init(&cfg);
    snprintf(cfg.data_dir, sizeof cfg.data_dir, "%s", data);
    cfg.sources = POSTS_SRC_DATABASE | POSTS_SRC_FILE | POSTS_SRC_API;
    cfg.requests = 1500;

    (void)pass_ms(&cfg); /* warm-up: files cached, every site registered */
    uint64_t calls0 = scope_calls();
    (void)pass_ms(&cfg);
    uint64_t calls = scope_calls() - calls0;
    double off[MAX_PAIRS], on[MAX_PAIRS], ratio[MAX_PAIRS];
    for (size_t i = 0; i < pairs; i++) {
        /* alternate which runs first, so drift falls on both */
        for (int k = 0; k < 2; k++) {
            int with = (int)((i + (size_t)k) % 2);
            pp_set_cpu_sampling(with ? 64 : 0);
            pp_set_alloc_counting(with);
            double ms = pass_ms(&cfg);
            if (with)
                on[i] = ms;
            else
                off[i] = ms;
        }
        ratio[i] = on[i] / off[i];
    }
    pp_set_cpu_sampling(0);
    pp_set_alloc_counting(0);
    /* the same cost from its parts, measured here: what a scope pays with
     * on-CPU time at every call, and with allocation counting, over the floor */
    double plain = scope_ns();
    pp_set_cpu_sampling(1);
    double cpu_every_call = scope_ns();
    pp_set_cpu_sampling(0);
    pp_set_alloc_counting(1);
    double counted = scope_ns();
    pp_set_alloc_counting(0);
    double floor_ms = median(off, pairs);
    double est_ms =
        ((double)calls / 64.0 * (cpu_every_call - plain) + (double)calls * (counted - plain)) / 1e6;
    printf("scope_calls_per_pass: %llu\n", (unsigned long long)calls);
    printf("scope_ns: %.1f\n", plain);
    printf("scope_cpu_every_call_ns: %.1f\n", cpu_every_call);
    printf("scope_alloc_counting_ns: %.1f\n", counted);
    printf("figures_estimated_ms_per_pass: %.2f\n", est_ms);
    printf("figures_estimated_fraction: %.4f\n", est_ms / floor_ms);
    printf("pass_ms_floor: %.2f\n", median(off, pairs));
    printf("pass_ms_with_figures: %.2f\n", median(on, pairs));
    double lo = ratio[0], hi = ratio[0];
    for (size_t i = 1; i < pairs; i++) {
        lo = ratio[i] < lo ? ratio[i] : lo;
        hi = ratio[i] > hi ? ratio[i] : hi;
    }
    printf("figures_overhead_ratio: %.4f\n", median(ratio, pairs));
    printf("figures_overhead_ratio_min: %.4f\n", lo);
    printf("figures_overhead_ratio_max: %.4f\n", hi);
    printf("accounting_active: %d\n", pp_mem_accounting_active());
    bench_posts_data_remove("bench_op_figures", tmp);
    return 0;
}
#endif
