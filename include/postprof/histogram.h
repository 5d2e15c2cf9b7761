/*
 * postprof/histogram.h - Log-linear (HDR-style) latency histogram.
 *
 * Fixed size (about 19 KiB), never allocates after creation, mergeable.
 * Buckets: values below 64 are exact; above, each power of two is split
 * into 64 linear sub-buckets, so any percentile read back is within 0.8 %
 * of the true value. Values are recorded in "raw" units; a histogram
 * carries a scale (ns per raw unit, 1.0 for plain nanoseconds) so that
 * histograms recorded in CPU ticks read back in nanoseconds.
 */
#ifndef POSTPROF_HISTOGRAM_H
#define POSTPROF_HISTOGRAM_H

#include <stdint.h>
#include <postprof/export.h>

typedef struct pp_histogram pp_histogram;

/* Largest raw value kept in a regular bucket (2^42 - 1); larger values go to
 * the overflow bucket, still counted, and still update max. */
#define PP_HISTOGRAM_MAX_TRACKED ((UINT64_C(1) << 42) - 1)

/*
 * pp_histogram_new() - Create an empty histogram with scale 1.0 (values in ns).
 *
 * Returns NULL when out of memory. Free with pp_histogram_free().
 */
PP_EXPORT pp_histogram *pp_histogram_new(void);

/* pp_histogram_free() - Release a histogram. NULL is a harmless no-op. */
PP_EXPORT void pp_histogram_free(pp_histogram *h);

/*
 * pp_histogram_record() - Add one value (raw units) to a histogram.
 *
 * Lock-free; safe from any thread (relaxed atomic adds), never allocates,
 * never fails. Values above PP_HISTOGRAM_MAX_TRACKED land in the overflow
 * bucket.
 */
PP_EXPORT void pp_histogram_record(pp_histogram *h, uint64_t value);

/*
 * pp_histogram_merge() - Add every count of src into dst.
 *
 * Returns PP_OK, or PP_EINVAL when the two scales differ (dst unchanged).
 * Not atomic with respect to concurrent writers of src: counts recorded
 * during the merge may or may not be included, none is torn or lost.
 */
PP_EXPORT int pp_histogram_merge(pp_histogram *dst, const pp_histogram *src);

/* pp_histogram_reset() - Zero every count. Not safe against concurrent writers. */
PP_EXPORT void pp_histogram_reset(pp_histogram *h);

/* pp_histogram_count() - Number of values recorded (overflow included). */
PP_EXPORT uint64_t pp_histogram_count(const pp_histogram *h);

/*
 * pp_histogram_value_at() - Value at quantile q (0.0 .. 1.0; 0.99 is p99), in ns.
 *
 * Returns the midpoint of the bucket holding the value of rank ceil(q*count),
 * clamped to the recorded min and max. Returns 0 for an empty histogram.
 */
PP_EXPORT double pp_histogram_value_at(const pp_histogram *h, double q);

/* pp_histogram_min() / _max() / _mean() / _sum() - In ns; 0 when empty. */
PP_EXPORT double pp_histogram_min(const pp_histogram *h);
PP_EXPORT double pp_histogram_max(const pp_histogram *h);
PP_EXPORT double pp_histogram_mean(const pp_histogram *h);
PP_EXPORT double pp_histogram_sum(const pp_histogram *h);

/*
 * pp_histogram_count_le() - How many recorded values are <= value_ns.
 *
 * Exact at bucket boundaries, otherwise the bucket holding value_ns counts
 * as below when its midpoint is <= value_ns. Used for Prometheus buckets.
 */
PP_EXPORT uint64_t pp_histogram_count_le(const pp_histogram *h, double value_ns);

/* pp_histogram_scale() - Nanoseconds per raw unit. */
PP_EXPORT double pp_histogram_scale(const pp_histogram *h);

#endif
