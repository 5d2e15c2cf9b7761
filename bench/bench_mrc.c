/*
 * bench_mrc.c - Miss-ratio curve cost: exact (Mattson, Fenwick tree) and
 * SHARDS at 1 % and 10 %, per access, against a floor that only hashes and
 * sums the trace; and SHARDS' error against exact. Prints `name: value`.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <postprof/analyze.h>
#include <postprof/clock.h>

#define N 2000000u
#define KEYS 200000u
#define ROUNDS 3

static uint64_t rng(uint64_t *s)
{
    *s = *s * 6364136223846793005u + 1442695040888963407u;
    return *s >> 11;
}

static volatile uint64_t sink;

static double floor_ns(const uint64_t *t)
{
    uint64_t t0 = pp_clock_now_ns(), acc = 0;
    for (size_t i = 0; i < N; i++) {
        uint64_t x = t[i] * UINT64_C(0x9e3779b97f4a7c15);
        acc += x ^ (x >> 31);
    }
    sink = acc;
    return (double)(pp_clock_now_ns() - t0) / N;
}

static double build_ns(const uint64_t *t, double rate, pp_mrc **keep)
{
    double best = 1e30;
    for (int r = 0; r < ROUNDS; r++) {
        pp_mrc *m = NULL;
        uint64_t t0 = pp_clock_now_ns();
        int rc = rate >= 1.0 ? pp_mrc_exact(t, N, &m) : pp_mrc_shards(t, N, rate, &m);
        double ns = (double)(pp_clock_now_ns() - t0) / N;
        if (rc != PP_OK) {
            fprintf(stderr, "bench_mrc: %s\n", pp_strerror(rc));
            exit(1);
        }
        if (ns < best)
            best = ns;
        if (r == ROUNDS - 1 && keep)
            *keep = m;
        else
            pp_mrc_free(m);
    }
    return best;
}

static double mae(const pp_mrc *a, const pp_mrc *b)
{
    double e = 0;
    uint64_t u = pp_mrc_unique(a);
    for (int i = 1; i <= 100; i++) {
        uint64_t c = (uint64_t)((double)u * i / 100.0);
        e += fabs(pp_mrc_miss_ratio(a, c) - pp_mrc_miss_ratio(b, c));
    }
    return e / 100.0;
}

int main(void)
{
    uint64_t *t = malloc(N * sizeof *t), s = 1;
    if (!t)
        return 1;
    for (size_t i = 0; i < N; i++) {
        double u = (double)rng(&s) / 9007199254740992.0;
        t[i] = (uint64_t)(KEYS * u * u * u);
    }
    double fl = 1e30;
    for (int r = 0; r < ROUNDS; r++) {
        double x = floor_ns(t);
        if (x < fl)
            fl = x;
    }
    pp_mrc *ex = NULL, *s1 = NULL, *s10 = NULL;
    double exact = build_ns(t, 1.0, &ex);
    double sh1 = build_ns(t, 0.01, &s1);
    double sh10 = build_ns(t, 0.10, &s10);
    printf("trace_accesses: %u\n", N);
    printf("floor_ns_per_access: %.2f\n", fl);
    printf("exact_ns_per_access: %.2f\n", exact);
    printf("shards_1pct_ns_per_access: %.2f\n", sh1);
    printf("shards_10pct_ns_per_access: %.2f\n", sh10);
    printf("exact_over_floor: %.1f\n", exact / fl);
    printf("shards_1pct_over_floor: %.1f\n", sh1 / fl);
    printf("shards_1pct_speedup_vs_exact: %.1f\n", exact / sh1);
    printf("shards_1pct_mae: %.4f\n", mae(ex, s1));
    printf("shards_10pct_mae: %.4f\n", mae(ex, s10));
    pp_mrc_free(ex);
    pp_mrc_free(s1);
    pp_mrc_free(s10);
    free(t);
    return 0;
}
