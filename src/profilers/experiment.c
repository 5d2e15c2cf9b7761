/*
 * experiment.c - Stage experiments for the report's sections: one stage
 * timed at two settings of one knob, repeats interleaved so drift hits both
 * alike; the speedup with its interval from analyze/stats.c. (Suggestions
 * come from whole-pass experiments: trial.c.) Restores the knob on every path.
 */
#include <stdio.h>
#include <string.h>

#include <postprof/error.h>
#include <postprof/profilers.h>

#include "analyze/predict.h"
#include "analyze/stats.h"
#include "profilers/prof_impl.h"

#define MAX_REPEATS 64
#define SAMPLE_NS 20e6 /* a sample lasts at least this (20 ms) */
#define MAX_CALLS 256u

void pp__prof_ab(const pp_experiment *e, pp_ab *out)
{
    memset(out, 0, sizeof *out);
    out->known = 1;
    out->speedup = e->speedup;
    out->speedup_low = e->speedup_low;
    out->speedup_high = e->speedup_high;
    out->significant = e->significant;
    out->pairs = e->repeats;
}

int pp_experiment_run(const pp_workload *w, const char *name, pp_stage stage, unsigned index,
                      pp_knob knob, int64_t base, int64_t cand, unsigned repeats,
                      pp_experiment *out)
{
    int rc = pp__prof_experiment_begin(w, name, stage, knob, cand, out);
    if (rc != PP_OK)
        return rc;
    int64_t old = out->current_value;
    if (repeats < 1)
        repeats = 1;
    if (repeats > MAX_REPEATS)
        repeats = MAX_REPEATS;
    double tb[MAX_REPEATS], tc[MAX_REPEATS];
    out->index = index;
    out->base_value = base;
    out->repeats = repeats;
    /* warm-up at each setting; it also sizes a sample: calls of a short
     * stage are timed together, at least SAMPLE_NS, so one preemption or
     * timer tick does not decide the sample */
    unsigned calls = 1;
    for (int s = 0; s < 2; s++) {
        if ((rc = w->set_knob(w->ctx, knob, s ? cand : base)) != PP_OK)
            goto out;
        double ns = 0;
        if ((rc = pp__prof_timed(w, stage, index, NULL, &ns, NULL)) != PP_OK)
            goto out;
        unsigned k = ns > 0 ? (unsigned)(SAMPLE_NS / ns) + 1u : MAX_CALLS;
        if (k > calls)
            calls = k > MAX_CALLS ? MAX_CALLS : k;
    }
    for (unsigned i = 0; i < repeats; i++) {
        for (int s = 0; s < 2; s++) {
            /* alternate which setting goes first */
            int cand_now = (int)((i + (unsigned)s) % 2u);
            if ((rc = w->set_knob(w->ctx, knob, cand_now ? cand : base)) != PP_OK)
                goto out;
            double sum = 0;
            for (unsigned c = 0; c < calls; c++) {
                double ns;
                if ((rc = pp__prof_timed(w, stage, index, NULL, &ns, NULL)) != PP_OK)
                    goto out;
                sum += ns;
            }
            (cand_now ? tc : tb)[i] = sum / calls;
        }
    }
    /* Hodges-Lehmann over the pairs: a burst of load on the machine slows
     * both samples of a pair alike; the candidate's time is the current
     * one's over the speedup, so the two never disagree */
    pp__ratio_est est;
    if ((rc = pp__stats_paired(tb, tc, repeats, 0.95, 0.0, &est)) != PP_OK)
        goto out;
    pp__predict_speedup(&est, out);
    out->base_spread = pp__prof_spread(tb, repeats);
    out->cand_spread = pp__prof_spread(tc, repeats);
out : {
    int rc2 = w->set_knob(w->ctx, knob, old);
    if (rc == PP_OK)
        rc = rc2;
}
    return rc;
}
