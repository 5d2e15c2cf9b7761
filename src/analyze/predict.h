/*
 * predict.h - Per-site predictions from a knob experiment's interleaved
 * pairs of passes: every instrumented site's self time at both settings
 * becomes a share and a speedup with intervals; the gain in end-to-end
 * time is the sum over the sites whose change is significant of share x
 * (1 - 1/speedup), a stage whose work overlaps taken whole (its critical
 * path); and several settings at once are composed per site, not summed.
 * Internal to the library. Pure: no I/O, no clocks.
 */
#ifndef PP_ANALYZE_PREDICT_H
#define PP_ANALYZE_PREDICT_H

#include <stddef.h>

#include <postprof/report.h>

#include "analyze/stats.h"

/* One site's figures over an experiment's pairs (arrays of n_pairs, ns per pass). */
/* The unit of an experiment's sites that are not significant alone, judged
 * together (pp_site_change.name). */
#define PP__PREDICT_REST_NAME "(the other sites together)"
/* The unit of an experiment whose overlapping work no scope encloses: the
 * pass itself, its critical path (pp_site_change.name). */
#define PP__PREDICT_PASS_NAME "(the whole pass: work overlaps)"

/* Whether site i of experiment e counts in its prediction: a site
 * significant alone, or, when the pooled unit is significant, a site that
 * is not (a member of it, at its own speedup); never the pooled unit
 * itself, whose members stand for it. */
int pp__predict_counted(const pp_experiment *e, size_t i);

typedef struct pp__trial_site {
    const char *name;
    int stage;                     /* the stage whose scope encloses the site (or is it), -1 none */
    int is_stage;                  /* this site is the scope the workload names for `stage` */
    const double *self_a, *self_b; /* self time per pass at the current / candidate setting */
    const double *total_a, *total_b; /* inclusive time per pass (read for stage scopes) */
    /* the time judged for a site that is not taken whole (NULL: self_a/self_b):
     * on a loaded machine, a site that computes is judged on its on-CPU time,
     * which time spent waiting for a CPU does not stretch */
    const double *cost_a, *cost_b;
    /* 1 + the index in the trial's sites of the scope that encloses this
     * one (a site's parent); 0: a root, or its parent is not in the trial */
    size_t up;
    /* the same site in the other settings' passes of the same rounds: per
     * pair, the median of its self (inclusive) time over the other arms
     * that ran in that pair's round, NAN where fewer than
     * PP__PREDICT_MIN_PEERS did; NULL: no such figures */
    const double *peer_self, *peer_total;
} pp__trial_site;

/* The fewest other arms in a round whose median is a site's peer time. */
#define PP__PREDICT_MIN_PEERS 3

typedef struct pp__trial {
    size_t n_pairs;
    const double *pass_a, *pass_b; /* wall time of each pass */
    /* each pass less the time its thread waited for a CPU while runnable
     * (NULL: pass_a/pass_b): the end-to-end ratio and the shares use these */
    const double *quiet_a, *quiet_b;
    size_t n_sites;
    const pp__trial_site *sites;
} pp__trial;

/*
 * pp__predict_experiment() - From a trial, fill e's speedup (end to end, 95 %),
 * significant, base_ns/cand_ns, repeats, sites[] (the largest changes first)
 * and predicted/predicted_low/predicted_high (90 %); e's identity fields
 * (name, knob, values) are left as they are. Returns PP_OK; PP_EINVAL when
 * there are fewer than 2 pairs or a pass time is not positive; PP_ENOMEM.
 */
PP_NODISCARD int pp__predict_experiment(const pp__trial *t, pp_experiment *e);

/* Fill e's speedup with its interval, significant and base_ns/cand_ns from
 * est, a paired estimate of the candidate's time over the current one's. */
void pp__predict_speedup(const pp__ratio_est *est, pp_experiment *e);

/*
 * pp__predict_min_pairs() - The fewest pairs with which a site can be
 * significant when n_sites sites are judged together (each at
 * 1 - 0.05 / n_sites: Bonferroni over the sites of one experiment).
 */
size_t pp__predict_min_pairs(size_t n_sites);

/*
 * pp__predict_combined() - The gain of several experiments' settings applied
 * together, composed site by site (a site sped up 1.5x by one setting and
 * 1.2x by another: share x (1 - 1/1.8)), a stage or other scope any
 * experiment took whole one unit for all (another experiment's sites under
 * it, by their pp_site_change.within, compose within its time); interval at level conf (Monte
 * Carlo, fixed seed) carrying every unit each experiment's own interval carried: the significant
 * ones at their speedups, the others drawn around no change. Returns PP_OK; PP_EINVAL for n == 0;
 * PP_ENOMEM.
 */
PP_NODISCARD int pp__predict_combined(const pp_experiment *const *e, size_t n, double conf,
                                      double *out_est, double *out_low, double *out_high);

/*
 * pp__predict_rebased() - The gain of experiments e[0..n) applied together
 * predicted again at another speed of the machine: each site's speedup as
 * its experiment measured it, its share from t's passes (pass_a with each
 * site's self_a, total_a for a stage taken whole, the pooled unit its
 * members'; the _b side is not read), interval at level conf, composed as
 * pp__predict_combined() does (for one experiment: the units its own
 * interval carried, the ones not significant drawn around no change). A site's share of a pass
 * moves with the machine's speed, as not every site slows alike; its speedup is the setting's.
 * Returns PP_OK; PP_EINVAL for bad input or fewer than 2 passes; PP_ENOTFOUND when a significant
 * site did not run in t's passes; PP_ENOMEM.
 */
PP_NODISCARD int pp__predict_rebased(const pp_experiment *const *e, size_t n, const pp__trial *t,
                                     double conf, double *out_est, double *out_low,
                                     double *out_high);

#endif
