/*
 * report_causal_console.c - The console report's causal section: per stage
 * scope of the workload, the gain a causal run measured at each virtual
 * speedup with its 95 % interval, what the scope's share predicts, the knob
 * experiments that changed it, and which prediction to believe (the verdict
 * analyze/causal_report.c wrote). Writes only to the given FILE.
 */
#include <math.h>
#include <stdio.h>

#include <postprof/report.h>

#include "analyze/stats.h"
#include "export/report/report.h"

static const char *range(char *buf, size_t cap, double low, double high)
{
    return pp__stats_range_text(buf, cap, low, high, 100.0, 1, "%");
}

void pp__console_causal(FILE *f, int color, const pp_report *r)
{
    const pp_report_causal *c = &r->causal;
    if (!c->done && !c->note[0])
        return;
    fprintf(f, "\n%sCausal Predictions (what making one stage scope faster saves):%s\n",
            color ? "\033[1m" : "", color ? "\033[0m" : "");
    if (!c->done) {
        fprintf(f, "  not run: %s\n", c->note);
        return;
    }
    fprintf(f,
            "  progress point %s (one per unit of work in %s), %zu experiments (%zu baselines) "
            "in %.1f s of %.0f s allowed, %u run%s; baseline %.3f ms per point\n",
            c->progress, c->phase, c->experiments, c->baselines, c->seconds, c->budget_s, c->runs,
            c->runs == 1 ? "" : "s", c->baseline_ns / 1e6);
    if (c->undecided)
        fprintf(f,
                "  %zu point%s not decided within the time allowed (95 %% interval wider than "
                "+-%.0f points)\n",
                c->undecided, c->undecided == 1 ? "" : "s", 100 * c->precision);
    if (c->note[0])
        fprintf(f, "  note: %s\n", c->note);
    for (size_t i = 0; i < c->n_sites; i++) {
        const pp_report_causal_site *s = &c->sites[i];
        char a[96], b[96];
        if (s->share >= 0)
            fprintf(f, "  %-28s %3.0f %% of the phase (summed over threads), slope %+.2f\n",
                    s->name, 100 * s->share, s->slope);
        else
            fprintf(f, "  %-28s slope %+.2f\n", s->name, s->slope);
        for (size_t k = 0; k < s->n_points; k++) {
            const pp_report_causal_point *p = &s->points[k];
            fprintf(f,
                    "    %3.0f%% faster: %+5.1f %% less time per point [95 %%: %s], %u "
                    "experiments",
                    100 * p->speedup, 100 * p->gain, range(a, sizeof a, p->gain_low, p->gain_high),
                    p->experiments);
            if (!p->decided)
                fprintf(f, ", not decided");
            else if (p->gain_low <= 0 && p->gain_high >= 0)
                fprintf(f, ", no significant change");
            if (isfinite(p->share_gain))
                fprintf(f, "; its share predicts %+.1f %%%s", 100 * p->share_gain,
                        p->agree == 1   ? " (inside)"
                        : p->agree == 0 ? " (outside)"
                                        : "");
            fputc('\n', f);
        }
        for (size_t k = 0; k < s->n_checks; k++) {
            const pp_report_causal_check *ck = &s->checks[k];
            fprintf(f,
                    "    knob experiment %s (%.0f %% of its time removed): predicted %+.1f %% of "
                    "a pass [%s], causal %+.1f %% [%s]%s\n",
                    ck->experiment, 100 * ck->removed, 100 * ck->knob,
                    range(a, sizeof a, ck->knob_low, ck->knob_high), 100 * ck->causal,
                    range(b, sizeof b, ck->causal_low, ck->causal_high),
                    ck->agree ? ", agree" : ", disagree");
        }
        fprintf(f, "    -> %s\n", s->verdict);
    }
}
