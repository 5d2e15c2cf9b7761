/*
 * postprof/clock.h - The clock every postprof timestamp comes from.
 *
 * Intervals are measured in CPU timestamp-counter ticks where the TSC is
 * invariant (checked with CPUID), else in CLOCK_MONOTONIC nanoseconds.
 * Ticks are converted to ns with a ratio calibrated against CLOCK_MONOTONIC
 * over the whole life of the process, so it grows more exact with time.
 */
#ifndef POSTPROF_CLOCK_H
#define POSTPROF_CLOCK_H

#include <stdint.h>
#include <postprof/export.h>

/* pp_clock_now_ns() - CLOCK_MONOTONIC in ns. Never fails; thread-safe. */
PP_EXPORT uint64_t pp_clock_now_ns(void);

/* pp_clock_ticks() - Raw timestamp (TSC ticks, or ns without an invariant TSC). */
PP_EXPORT uint64_t pp_clock_ticks(void);

/* pp_clock_ns_per_tick() - Current calibrated ratio (1.0 without TSC). Thread-safe. */
PP_EXPORT double pp_clock_ns_per_tick(void);

/* pp_clock_source() - "tsc" or "monotonic". */
PP_EXPORT const char *pp_clock_source(void);

/* pp_clock_thread_cpu_ns() - This thread's CPU time (CLOCK_THREAD_CPUTIME_ID), ns. */
PP_EXPORT uint64_t pp_clock_thread_cpu_ns(void);

#endif
