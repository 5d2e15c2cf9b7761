/*
 * causal_report.c - The causal section of a report (`postprof run`,
 * docs/causal.md): the gains a causal run measured for the workload's stage
 * scopes, set beside what the stages' shares of time predict and beside the
 * knob experiments' per-stage predictions (both rest on the share model:
 * every nanosecond of a scope on the critical path), with which one to
 * believe where they disagree, and why. Pure: no I/O.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <postprof/causal.h>
#include <postprof/error.h>
#include <postprof/report.h>

static const pp_perf_op *find_op(const pp_report *r, const char *name)
{
    for (size_t i = 0; i < r->perf.n_ops; i++)
        if (strcmp(r->perf.ops[i].name, name) == 0)
            return &r->perf.ops[i];
    return NULL;
}

/* The causal curve at a fraction removed: linear between (0, 0) and the points,
 * proportional to the last point beyond it. which: 0 gain, 1 low, 2 high. */
static double curve_at(const pp_report_causal_site *s, double x, int which)
{
    double px = 0, py = 0;
    for (size_t k = 0; k < s->n_points; k++) {
        const pp_report_causal_point *p = &s->points[k];
        double y = which == 0 ? p->gain : which == 1 ? p->gain_low : p->gain_high;
        if (x <= p->speedup)
            return p->speedup > px ? py + (y - py) * (x - px) / (p->speedup - px) : y;
        px = p->speedup;
        py = y;
    }
    return px > 0 ? py * x / px : NAN;
}

static int all_decided(const pp_report_causal_site *s)
{
    for (size_t k = 0; k < s->n_points; k++)
        if (!s->points[k].decided)
            return 0;
    return s->n_points > 0;
}

/* A knob experiment's per-site change of this scope: by name, or a stage scope taken whole. */
static int change_matches(const pp_site_change *c, const pp_report_causal_site *s)
{
    if (strcmp(c->name, s->name) == 0)
        return 1;
    return s->stage >= 0 && c->stage == s->stage && c->whole_stage;
}

static void add_checks(const pp_report *r, pp_report_causal *rc, pp_report_causal_site *s)
{
    if (!all_decided(s) || !(rc->phase_share > 0))
        return;
    for (size_t i = 0; i < r->n_experiments && s->n_checks < PP_REPORT_MAX_CAUSAL_CHECKS; i++) {
        const pp_experiment *e = &r->experiments[i];
        for (size_t k = 0; k < e->n_sites; k++) {
            const pp_site_change *c = &e->sites[k];
            if (!change_matches(c, s) || !c->significant || !(c->speedup > 1) ||
                !(c->speedup_low > 0) || !(c->speedup_high > 0))
                continue;
            pp_report_causal_check *ck = &s->checks[s->n_checks++];
            memset(ck, 0, sizeof *ck);
            snprintf(ck->experiment, sizeof ck->experiment, "%s", e->name);
            ck->removed = 1 - 1 / c->speedup;
            ck->knob = c->gain;
            ck->knob_low = c->share_low * (1 - 1 / c->speedup_low);
            ck->knob_high = c->share_high * (1 - 1 / c->speedup_high);
            ck->causal = curve_at(s, ck->removed, 0) * rc->phase_share;
            ck->causal_low = curve_at(s, ck->removed, 1) * rc->phase_share;
            ck->causal_high = curve_at(s, ck->removed, 2) * rc->phase_share;
            ck->agree = !(ck->knob_low > ck->causal_high || ck->knob_high < ck->causal_low);
            break;
        }
    }
}

static void verdict(const pp_report_causal *rc, pp_report_causal_site *s)
{
    char *v = s->verdict;
    size_t cap = sizeof s->verdict, n = 0;
#define PUT(...)                                                                                   \
    do {                                                                                           \
        if (n < cap) {                                                                             \
            int w_ = snprintf(v + n, cap - n, __VA_ARGS__);                                        \
            n += w_ > 0 ? (size_t)w_ : 0;                                                          \
        }                                                                                          \
    } while (0)
    int above = 0, below = 0, decided = 0;
    const pp_report_causal_point *last = NULL;
    for (size_t k = 0; k < s->n_points; k++) {
        const pp_report_causal_point *p = &s->points[k];
        if (!p->decided)
            continue;
        decided++;
        last = p;
        above += p->agree == 0 && p->share_gain > p->gain_high;
        below += p->agree == 0 && p->share_gain < p->gain_low;
    }
    if (!decided) {
        PUT("not decided: no point's 95 %% interval came within +-%.0f points in the time "
            "allowed (run `postprof causal` on the pipeline for longer)",
            100 * rc->precision);
        return;
    }
    if (above) {
        PUT("believe the causal prediction (%+.1f %% at %.0f %% faster, 95 %%: %+.1f to %+.1f): "
            "%s overlaps other work (its time is %.0f %% of the phase's, summed over threads), "
            "so making it faster saves less than its share says; shares, and the knob "
            "experiments' per-stage predictions built on them, count overlapped time as if it "
            "were on the critical path, the causal run measured what speeding it up does",
            100 * last->gain, 100 * last->speedup, 100 * last->gain_low, 100 * last->gain_high,
            s->name, 100 * s->share);
    } else if (below) {
        PUT("believe the causal prediction (%+.1f %% at %.0f %% faster, 95 %%: %+.1f to %+.1f): "
            "other threads wait for %s, so making it faster saves more than its share (%.0f %% "
            "of the phase) says; the causal run measured the waiting it removes",
            100 * last->gain, 100 * last->speedup, 100 * last->gain_low, 100 * last->gain_high,
            s->name, 100 * s->share);
    } else if (s->share >= 0) {
        PUT("the causal prediction and the share (%.0f %% of the phase) agree: %s is on the "
            "critical path as much as its share says, either may be believed",
            100 * s->share, s->name);
    } else {
        PUT("no share to compare with: the causal prediction is the only one");
    }
    for (size_t i = 0; i < s->n_checks; i++) {
        const pp_report_causal_check *c = &s->checks[i];
        if (c->agree)
            continue;
        PUT("; the knob experiment %s removed %.0f %% of this scope's time and its share model "
            "predicted %+.1f %% of a pass (%+.1f to %+.1f), the causal curve says %+.1f %% "
            "(%+.1f to %+.1f): believe the causal one for what that change of the scope saves "
            "(the experiment's own end-to-end speedup is what its knob does, measured)",
            c->experiment, 100 * c->removed, 100 * c->knob, 100 * c->knob_low, 100 * c->knob_high,
            100 * c->causal, 100 * c->causal_low, 100 * c->causal_high);
    }
    if ((above || below) && s->stage == PP_STAGE_LOAD)
        PUT("; unless its loads wait on sockets that other threads of the process serve, which "
            "a causal run cannot tell from work (docs/causal.md, Limits)");
#undef PUT
}

int pp_report_causal_set(pp_report *r, const pp_causal_result *res, const char *phase,
                         const char *const *stage_scopes, double precision)
{
    if (!r || !res || !phase)
        return PP_EINVAL;
    pp_report_causal *rc = &r->causal;
    rc->done = 1;
    rc->precision = precision;
    snprintf(rc->progress, sizeof rc->progress, "%s", res->progress ? res->progress : "");
    snprintf(rc->phase, sizeof rc->phase, "%s", phase);
    rc->baselines = res->baselines;
    rc->baseline_ns = res->baseline_ns;
    const pp_perf_op *ph = find_op(r, phase);
    rc->phase_share = ph ? ph->share : -1;
    rc->n_sites = 0;
    rc->undecided = 0;
    for (size_t i = 0; i < res->nsites && rc->n_sites < PP_REPORT_MAX_CAUSAL_SITES; i++) {
        const pp_causal_site *cs = &res->sites[i];
        pp_report_causal_site *s = &rc->sites[rc->n_sites++];
        memset(s, 0, sizeof *s);
        snprintf(s->name, sizeof s->name, "%s", cs->name);
        s->stage = -1;
        for (int k = 0; stage_scopes && k < PP_STAGE_COUNT; k++)
            if (stage_scopes[k] && strcmp(stage_scopes[k], cs->name) == 0)
                s->stage = k;
        s->slope = cs->slope;
        const pp_perf_op *op = find_op(r, cs->name);
        s->share = op && ph && ph->total_ns > 0 ? op->total_ns / ph->total_ns : -1;
        for (size_t k = 0; k < cs->npoints && s->n_points < PP_REPORT_MAX_CAUSAL_POINTS; k++) {
            const pp_causal_point *cp = &cs->points[k];
            pp_report_causal_point *p = &s->points[s->n_points++];
            p->speedup = cp->speedup;
            p->gain = cp->gain;
            p->experiments = (unsigned)cp->experiments;
            int open = !isfinite(cp->gain_low) || !isfinite(cp->gain_high);
            p->gain_low = open ? NAN : cp->gain_low;
            p->gain_high = open ? NAN : cp->gain_high;
            p->decided = !open && (cp->gain_high - cp->gain_low) / 2 <= precision;
            rc->undecided += !p->decided;
            p->share_gain = s->share >= 0 ? (s->share < 1 ? s->share : 1) * p->speedup : NAN;
            p->agree = !p->decided || !(s->share >= 0)
                           ? -1
                           : p->share_gain >= p->gain_low && p->share_gain <= p->gain_high;
        }
        add_checks(r, rc, s);
        verdict(rc, s);
    }
    return PP_OK;
}
