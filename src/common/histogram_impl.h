/*
 * histogram_impl.h - Bucket layout of pp_histogram, shared inside the library
 * so the capture hot path can fill per-thread buckets in place.
 * Pure arithmetic: no allocation, no locks, no system calls.
 */
#ifndef PP_HISTOGRAM_IMPL_H
#define PP_HISTOGRAM_IMPL_H

#include <stdatomic.h>
#include <stdint.h>
#include <postprof/histogram.h>

#define PP__HIST_SUB_BITS 6
#define PP__HIST_SUB (1u << PP__HIST_SUB_BITS)
#define PP__HIST_MAX_BITS 42
/* regular buckets: indices 0 .. (MAX_BITS - SUB_BITS) * SUB + SUB - 1 */
#define PP__HIST_REGULAR ((PP__HIST_MAX_BITS - PP__HIST_SUB_BITS) * PP__HIST_SUB + PP__HIST_SUB)
#define PP__HIST_OVERFLOW PP__HIST_REGULAR
#define PP__HIST_BUCKETS (PP__HIST_REGULAR + 1)

struct pp_histogram {
    double scale; /* ns per raw unit */
    _Atomic uint64_t min, max, sum;
    _Atomic uint64_t buckets[PP__HIST_BUCKETS];
};

static inline unsigned pp__hist_index(uint64_t v)
{
    if (v < PP__HIST_SUB)
        return (unsigned)v;
    if (v > PP_HISTOGRAM_MAX_TRACKED)
        return PP__HIST_OVERFLOW;
    unsigned mag = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = mag - PP__HIST_SUB_BITS;
    return shift * PP__HIST_SUB + (unsigned)(v >> shift);
}

/* Lower bound (raw) of bucket i, and its width. */
static inline uint64_t pp__hist_low(unsigned i, uint64_t *out_width)
{
    if (i < PP__HIST_SUB) {
        *out_width = 1;
        return i;
    }
    unsigned shift = i / PP__HIST_SUB - 1;
    uint64_t top = (uint64_t)(i % PP__HIST_SUB) + PP__HIST_SUB;
    *out_width = UINT64_C(1) << shift;
    return top << shift;
}

/* Owner-only update of a single-writer histogram: plain relaxed load+store,
 * no locked instruction; concurrent readers see whole values. */
static inline void pp__hist_add_single(_Atomic uint64_t *buckets, uint64_t v)
{
    _Atomic uint64_t *b = &buckets[pp__hist_index(v)];
    atomic_store_explicit(b, atomic_load_explicit(b, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

void pp__histogram_init(pp_histogram *h, double scale);
/* Add raw bucket counts (from a per-thread slot) into h. */
void pp__histogram_add_buckets(pp_histogram *h, const _Atomic uint64_t *buckets, uint64_t min,
                               uint64_t max, uint64_t sum);

#endif
