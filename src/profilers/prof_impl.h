/*
 * prof_impl.h - Helpers shared by the profilers: clocks (wall, process CPU),
 * timed stage calls, medians and spreads. Library-internal.
 */
#ifndef PP_PROF_IMPL_H
#define PP_PROF_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include <postprof/config.h>
#include <postprof/histogram.h>
#include <postprof/report.h>
#include <postprof/workload.h>

#include "analyze/stats.h"

/* Process CPU time (all threads), ns. */
uint64_t pp__prof_cpu_ns(void);

/* One stage call timed: *out_wall_ns, *out_cpu_ns (process CPU; may be NULL). */
int pp__prof_timed(const pp_workload *w, pp_stage stage, unsigned index, pp_stage_result *res,
                   double *out_wall_ns, double *out_cpu_ns);

/* One stage call's clocks: wall, process CPU (every thread), the calling
 * thread's own CPU, and the time it was runnable but waited for a CPU
 * (-1: /proc/thread-self/schedstat not readable). */
typedef struct pp__timing {
    double wall_ns, cpu_ns, thread_cpu_ns, run_delay_ns;
} pp__timing;

/* One stage call timed on every clock of pp__timing; sched_fd from
 * pp__prof_sched_open() on this thread (-1: no run delay). */
int pp__prof_timed_thread(const pp_workload *w, pp_stage stage, unsigned index,
                          pp_stage_result *res, int sched_fd, pp__timing *out);

/* This thread's wait for a CPU so far (ns) from its schedstat fd; -1 when
 * not readable. */
double pp__prof_run_delay_ns(int fd);

/* Median of v[0..n) (sorts v in place); 0 for n == 0. */
double pp__prof_median(double *v, size_t n);

/* (max - min) / median of v[0..n) (sorts v); 0 for n < 2 or a zero median. */
double pp__prof_spread(double *v, size_t n);

/* The q-quantile (ns) of the values recorded into `after` since it looked like
 * `before` (NULL: all of them); 0 when none. Bucket midpoints, like
 * pp_histogram_value_at(). */
double pp__prof_hist_delta_quantile(const pp_histogram *after, const pp_histogram *before,
                                    double q);

/* Set knob, remembering the old value in *old (PP_EUNAVAIL when absent). */
int pp__prof_knob_swap(const pp_workload *w, pp_knob knob, int64_t value, int64_t *old);

/* Start an experiment on knob: clear *out and fill what it is (name, stage,
 * knob, cand_value) with the knob's current value as both current_value and
 * base_value. Returns get_knob's error (PP_EUNAVAIL when absent). */
/* pp__prof_cpu_split() - n passes' times and CPUs (-1: moved) into *out. */
void pp__prof_cpu_split(const double *ns, const int *cpu, size_t n, pp_cpu_split *out);

/* pp__prof_pass_cpu() - The calling thread's CPU now and its migrations so
 * far (-1 each when not known): read before and after a pass. */
void pp__prof_pass_cpu(int *cpu, long *migrations);

/* pp__prof_ab() - An experiment's speedup, interval and pairs, as the report keeps them. */
void pp__prof_ab(const pp_experiment *e, pp_ab *out);

PP_NODISCARD int pp__prof_experiment_begin(const pp_workload *w, const char *name, pp_stage stage,
                                           pp_knob knob, int64_t cand, pp_experiment *out);

/* One arm of an experiment: the settings its passes run at (every other
 * knob any arm sets stays at its value before the experiment). */
#define PP__ARM_MAX_KNOBS 16
#define PP__MAX_ARMS 17
typedef struct pp__arm {
    const char *name; /* the experiment's name (with per-site figures) */
    pp_stage stage;   /* labels the experiment: the stage the candidate came from */
    size_t n;
    pp_knob knob[PP__ARM_MAX_KNOBS];
    int64_t value[PP__ARM_MAX_KNOBS];
} pp__arm;

typedef struct pp__rounds_opts {
    /* after the warm-up; an arm stops past it once it has 4 pairs more than
     * its fewest, or past 1.5 times it once it has its fewest */
    double budget_ns;
    /* > 0: pp_clock_now_ns() past which no round starts for an arm with 6
     * pairs (the fewest whose interval can exclude 1), whatever the rules
     * above (the run's time limit: pp_profiler_cfg.experiments_end_ns or
     * apply_end_ns); a round starts only when one as long as the last one
     * ends before it */
    uint64_t end_ns;
    /* non-NULL (n_arms): cut[i] = 1 when the end stopped arm i (it was still going) */
    unsigned char *cut;
    /* > 0: an arm stops once even the high end of its gain's interval (98 %)
     * is below this: it cannot be suggested */
    double min_effect;
    /* non-NULL (n_arms rows): gauge the machine's speed in each pass of arm
     * i by the sites gauge[i] names (none: arm i is not adjusted), and give
     * out_est adjusted for it; see pp__gauge_out */
    const struct pp__gauge_row *gauge;
    /* non-NULL (n_arms): wall[i] != 0 times arm i's passes (and the current
     * ones paired with them) on their wall time, not less the CPU waits of
     * the pass's thread: its setting runs work on threads of its own,
     * whose CPU time makes the pass's thread wait (see predict.c) */
    const unsigned char *wall;
    /* non-NULL (n_arms, with gauge): resolve[i] > 0 keeps arm i going past
     * the budget (up to 1.5 times it) while the half-width of its 95 %
     * interval as it will be given out (pairs matched, gauged) is wider
     * than resolve[i]: a measurement that checks a prediction needs to be
     * at least as sure as the prediction */
    const double *resolve;
    /* non-NULL: each round's pass at the current settings (its time less
     * the CPU waits of its thread) appended, up to base_cap; *base_n counts */
    double *base_out;
    int *base_cpu_out; /* non-NULL: beside each, the CPU its thread ran on (-1: moved) */
    size_t base_cap;
    size_t *base_n;
    /* non-NULL (n_arms, with gauge): arm i's prediction made again with its
     * own passes at the current settings (pp__predict_rebased): the
     * experiments rebase[i][0..n_rebase[i]) into rebased[i] (none when
     * n_rebase[i] is 0) */
    const pp_experiment *const *const *rebase;
    const size_t *n_rebase;
    struct pp__rebased *rebased;
} pp__rounds_opts;

/* An arm's prediction made at its own passes' speed (90 %); known 0: not made. */
typedef struct pp__rebased {
    int known;
    double est, low, high;
} pp__rebased;

#define PP__GAUGE_MAX_SKIP 16

/* The sites that gauge the machine's speed for one arm of --apply. */
typedef struct pp__gauge_row {
    /* stage[st] != 0: the sites whose enclosing stage scope is st's;
     * stage[PP_STAGE_PASS] != 0: the sites outside every stage scope */
    unsigned char stage[PP_STAGE_COUNT];
    /* but not these sites (by name), nor, where subtree[i], the scopes under them */
    const char *skip[PP__GAUGE_MAX_SKIP];
    unsigned char subtree[PP__GAUGE_MAX_SKIP];
    size_t n_skip;
} pp__gauge_row;

/* Every how many calls an experiment measures a call's on-CPU time on a
 * loaded machine: so that the clock reads (two per measured call, about
 * sampling_ns each, paid by the caller) cost at most 1 % of a pass of
 * pass_ns that makes `calls` calls; 1 when they cost less or the cost is
 * not known, at most 4096 (trial.c). */
uint32_t pp__prof_cpu_every(double calls, double sampling_ns, double pass_ns);
/* N for one site of calls calls, self_ns and total_ns in a pass: its reads
 * within 1 % of its own time; UINT32_MAX (never) for a site that encloses
 * others or whose calls are too short to measure; 0 when unknown (trial.c). */
uint32_t pp__prof_site_cpu_every(double calls, double self_ns, double total_ns, double sampling_ns);

/* Whether a site whose calls took self_ns in all (calls of them) is judged
 * on its on-CPU time at all: its mean call at least CPU_MIN_READS clock
 * reads of sampling_ns (trial.c). */
int pp__prof_calls_measurable(double self_ns, double calls, double sampling_ns);

/* The gauge of --apply's arm that applies the suggestions sg[0..n) of r
 * (run.c; each suggestion's experiment says what it changed). */
void pp__apply_gauge_row(const pp_workload *w, const pp_report *r, const pp_suggestion *const *sg,
                         size_t n, pp__gauge_row *row);

/*
 * The machine's speed gauged within each pass (--apply). A pass at the
 * same settings takes more or less time as the machine runs slower or
 * faster (on a shared 2-core machine a compute stage varies by 14 % from
 * one pass to the next, with every site alike, and the whole machine
 * sometimes runs 40 % slower for several passes); work no arm changes
 * shows that speed in the same pass. First the pairs whose machine changed
 * speed between their two passes are set aside: those whose gauge ratio
 * lies more than PP__MATCH_TOL (analyze/stats.h, in log) from the arm's median gauge ratio
 * (pp__stats_matched; none when fewer than 6 pairs would be left). Then,
 * with gauge time g, the arm's log ratio log(b/a) over the pairs kept is
 * taken less theta * log(g_b/g_a), theta the least-squares slope of the one
 * on the other over every arm's kept pairs (its own mean taken out per
 * arm), clamped to [0, 1]. An arm is left unadjusted (but its pairs still
 * matched) when its gauge's own 95 % interval over the kept pairs excludes
 * 1 (the setting changed the work taken as the gauge); it is neither
 * matched nor adjusted when it has no gauge stages or the gauge is under
 * 5 % of its passes.
 */

typedef struct pp__gauge_out {
    int used;            /* 1: out_est is adjusted */
    double theta;        /* the slope applied (0 when not used) */
    double share;        /* the gauge's median share of the arm's current-settings passes */
    size_t set_aside;    /* pairs left out: the machine changed speed within them */
    pp__ratio_est raw;   /* the arm's ratio over every pair, without the adjustment */
    pp__ratio_est gauge; /* the gauge's own ratio over the pairs kept, arm over current */
} pp__gauge_out;

/*
 * pp__prof_rounds() - The experiments behind suggestions and --apply: rounds
 * of whole passes, one at the current settings and one at each arm's that
 * is still going, the order alternating; each pass timed less the CPU
 * waits of its thread. An arm stops when its end-to-end 95 % interval has a
 * half-width of at most cfg->target_half_width (after its fewest pairs),
 * when its gain cannot reach o->min_effect, at cfg->max_pairs, or past the
 * budget once it has 4 pairs more than its fewest (with out_exp: the pairs
 * with which one of its sites can be significant; else 6), past 1.5 times
 * the budget once it has its fewest. out_est[i]: arm i's ratio
 * (its pass time over the current one's, 95 %). out_exp (NULL: no per-site
 * figures): arm i's experiment on its first knob, per-site speedups and the
 * predicted gain from analyze/predict.c. Returns PP_OK; PP_EINVAL for bad
 * arms; the workload's errors. The knobs are back at their values on return.
 * With o->gauge, out_gauge (n_arms, may be NULL) says how each estimate was
 * adjusted for the machine's speed.
 */
PP_NODISCARD int pp__prof_rounds(const pp_workload *w, const pp_profiler_cfg *cfg,
                                 const pp__arm *arms, size_t n_arms, const pp__rounds_opts *o,
                                 pp_experiment *out_exp, pp__ratio_est *out_est,
                                 pp__gauge_out *out_gauge);

/* A round's passes in order for the arms seq[0..k), k >= 1, into plan[k +
 * 1]: each arm's index, and -1 for the pass at the current settings, which
 * runs in the middle (s0 s1 s2 B s3 s4 s5: each arm's pass at most k / 2 +
 * 1 passes from it). Returns k + 1. */
size_t pp__prof_round_plan(const size_t *seq, size_t k, int *plan);

/* Whether a per-site prediction (gain, its 90 % interval) is settled: the
 * interval within max(3 points, 30 % of the prediction) either side and
 * wholly above min_effect or wholly below it; pp__prof_rounds stops such an
 * arm once it has 4 pairs more than its fewest. */
int pp__prof_prediction_settled(double predicted, double low, double high, double min_effect);

/* /proc/thread-self/schedstat of the calling thread, for pp__prof_quiet_pass and
 * pp__prof_timed_thread (-1: not readable). */
int pp__prof_sched_open(void);

/* One pass timed: its wall time, the wall time less the time its thread
 * waited for a CPU while runnable (from sched_fd; never below 1 % of the
 * wall time), and that wait per ns on the CPU (any may be NULL). */
int pp__prof_quiet_pass(const pp_workload *w, int sched_fd, double *out_wall, double *out_quiet,
                        double *out_rho);

/* Append an experiment to r. Returns PP_OK or PP_EFULL (r unchanged). */
int pp__prof_append_experiment(pp_report *r, const pp_experiment *e);

#endif
