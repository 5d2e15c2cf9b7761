/*
 * histogram.c - Log-linear histogram: recording, merging, percentiles.
 * Recording never allocates and never fails; only _new allocates.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "histogram_impl.h"
#include <postprof/error.h>

#define RELAXED memory_order_relaxed

void pp__histogram_init(pp_histogram *h, double scale)
{
    memset(h, 0, sizeof(*h));
    h->scale = scale > 0 ? scale : 1.0;
    atomic_store_explicit(&h->min, UINT64_MAX, RELAXED);
}

pp_histogram *pp_histogram_new(void)
{
    pp_histogram *h = malloc(sizeof(*h));
    if (h)
        pp__histogram_init(h, 1.0);
    return h;
}

void pp_histogram_free(pp_histogram *h)
{
    free(h);
}

static void update_min_max(pp_histogram *h, uint64_t lo, uint64_t hi)
{
    uint64_t cur = atomic_load_explicit(&h->min, RELAXED);
    while (lo < cur && !atomic_compare_exchange_weak_explicit(&h->min, &cur, lo, RELAXED, RELAXED))
        ;
    cur = atomic_load_explicit(&h->max, RELAXED);
    while (hi > cur && !atomic_compare_exchange_weak_explicit(&h->max, &cur, hi, RELAXED, RELAXED))
        ;
}

void pp_histogram_record(pp_histogram *h, uint64_t value)
{
    atomic_fetch_add_explicit(&h->buckets[pp__hist_index(value)], 1, RELAXED);
    atomic_fetch_add_explicit(&h->sum, value, RELAXED);
    update_min_max(h, value, value);
}

void pp__histogram_add_buckets(pp_histogram *h, const _Atomic uint64_t *buckets, uint64_t min,
                               uint64_t max, uint64_t sum)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < PP__HIST_BUCKETS; i++) {
        uint64_t c = atomic_load_explicit(&buckets[i], RELAXED);
        if (c) {
            atomic_fetch_add_explicit(&h->buckets[i], c, RELAXED);
            n += c;
        }
    }
    if (n) {
        atomic_fetch_add_explicit(&h->sum, sum, RELAXED);
        update_min_max(h, min, max);
    }
}

int pp_histogram_merge(pp_histogram *dst, const pp_histogram *src)
{
    if (!dst || !src)
        return PP_EINVAL;
    if (fabs(dst->scale - src->scale) > 1e-12 * dst->scale)
        return PP_EINVAL;
    pp__histogram_add_buckets(dst, src->buckets, atomic_load_explicit(&src->min, RELAXED),
                              atomic_load_explicit(&src->max, RELAXED),
                              atomic_load_explicit(&src->sum, RELAXED));
    return PP_OK;
}

void pp_histogram_reset(pp_histogram *h)
{
    pp__histogram_init(h, h->scale);
}

uint64_t pp_histogram_count(const pp_histogram *h)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < PP__HIST_BUCKETS; i++)
        n += atomic_load_explicit(&h->buckets[i], RELAXED);
    return n;
}

static double bucket_mid(unsigned i)
{
    uint64_t w;
    uint64_t lo = pp__hist_low(i, &w);
    return w == 1 ? (double)lo : (double)lo + (double)(w - 1) / 2.0;
}

double pp_histogram_value_at(const pp_histogram *h, double q)
{
    uint64_t n = pp_histogram_count(h);
    if (n == 0)
        return 0.0;
    if (q < 0)
        q = 0;
    if (q > 1)
        q = 1;
    uint64_t rank = (uint64_t)ceil(q * (double)n);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    double raw = (double)atomic_load_explicit(&h->max, RELAXED);
    for (unsigned i = 0; i < PP__HIST_BUCKETS; i++) {
        seen += atomic_load_explicit(&h->buckets[i], RELAXED);
        if (seen >= rank) {
            if (i != PP__HIST_OVERFLOW)
                raw = bucket_mid(i);
            break;
        }
    }
    double lo = (double)atomic_load_explicit(&h->min, RELAXED);
    double hi = (double)atomic_load_explicit(&h->max, RELAXED);
    if (raw < lo)
        raw = lo;
    if (raw > hi)
        raw = hi;
    return raw * h->scale;
}

double pp_histogram_min(const pp_histogram *h)
{
    uint64_t m = atomic_load_explicit(&h->min, RELAXED);
    return m == UINT64_MAX ? 0.0 : (double)m * h->scale;
}

double pp_histogram_max(const pp_histogram *h)
{
    return (double)atomic_load_explicit(&h->max, RELAXED) * h->scale;
}

double pp_histogram_sum(const pp_histogram *h)
{
    return (double)atomic_load_explicit(&h->sum, RELAXED) * h->scale;
}

double pp_histogram_mean(const pp_histogram *h)
{
    uint64_t n = pp_histogram_count(h);
    return n ? pp_histogram_sum(h) / (double)n : 0.0;
}

uint64_t pp_histogram_count_le(const pp_histogram *h, double value_ns)
{
    if (value_ns < 0)
        return 0;
    double raw = value_ns / h->scale;
    uint64_t n = 0;
    for (unsigned i = 0; i < PP__HIST_REGULAR; i++) {
        if (bucket_mid(i) > raw)
            break;
        n += atomic_load_explicit(&h->buckets[i], RELAXED);
    }
    return n;
}

double pp_histogram_scale(const pp_histogram *h)
{
    return h->scale;
}
