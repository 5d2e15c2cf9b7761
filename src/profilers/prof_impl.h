/*
 * prof_impl.h - Helpers shared by the profilers: clocks (wall, process CPU),
 * timed stage calls, medians and spreads. Library-internal.
 */
#ifndef PP_PROF_IMPL_H
#define PP_PROF_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include <postprof/report.h>
#include <postprof/workload.h>

/* Process CPU time (all threads), ns. */
uint64_t pp__prof_cpu_ns(void);

/* One stage call timed: *out_wall_ns, *out_cpu_ns (process CPU; may be NULL). */
int pp__prof_timed(const pp_workload *w, pp_stage stage, unsigned index, pp_stage_result *res,
                   double *out_wall_ns, double *out_cpu_ns);

/* Median of v[0..n) (sorts v in place); 0 for n == 0. */
double pp__prof_median(double *v, size_t n);

/* (max - min) / median of v[0..n) (sorts v); 0 for n < 2 or a zero median. */
double pp__prof_spread(double *v, size_t n);

/* Set knob, remembering the old value in *old (PP_EUNAVAIL when absent). */
int pp__prof_knob_swap(const pp_workload *w, pp_knob knob, int64_t value, int64_t *old);

/* Append an experiment to r. Returns PP_OK or PP_EFULL (r unchanged). */
int pp__prof_append_experiment(pp_report *r, const pp_experiment *e);

#endif
