/*
 * run.c - The whole profiling run over a workload (the four profilers, the
 * knob experiments, then analyze: bottlenecks, suggestions, targets) and
 * --apply, which applies the suggested settings and measures what they gave.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <postprof/clock.h>
#include <postprof/error.h>
#include <postprof/metrics.h>
#include <postprof/profilers.h>

#include "profilers/prof_impl.h"

/* An experiment on a 0/1 or count knob, from its current value to cand. */
static int knob_experiment(const pp_workload *w, const pp_config *cfg, pp_report *r,
                           const char *name, pp_stage stage, pp_knob knob, int64_t cand)
{
    int64_t cur = 0;
    int rc = w->get_knob(w->ctx, knob, &cur);
    if (rc == PP_EUNAVAIL)
        return PP_OK;
    if (rc != PP_OK)
        return rc;
    if (cur == cand)
        return PP_OK;
    pp_experiment e;
    rc = pp_experiment_run(w, name, stage, 0, knob, cur, cand, cfg->profile.repeats, &e);
    if (rc == PP_EUNAVAIL)
        return PP_OK;
    return rc == PP_OK ? pp__prof_append_experiment(r, &e) : rc;
}

/* The findings and the hit ratio on the standard metrics (bottleneck_detected_total
 * {operation,kind}, cache_hit_ratio); a metrics failure never fails the run. */
static void export_metrics(const pp_report *r)
{
    pp_registry *reg = pp_metrics_default();
    if (!reg)
        return;
    pp_metric *m = pp_registry_find(reg, "bottleneck_detected_total");
    for (size_t i = 0; m && i < r->n_findings; i++) {
        const char *labels[2] = {r->findings[i].operation,
                                 pp_finding_kind_name(r->findings[i].kind)};
        pp_series *s = NULL;
        if (pp_metric_series(m, labels, &s) == PP_OK)
            pp_series_inc(s);
    }
    pp_metric *hit = pp_registry_find(reg, "cache_hit_ratio");
    pp_series *s = NULL;
    if (hit && r->cache.present && pp_metric_series(hit, NULL, &s) == PP_OK)
        pp_series_set(s, r->cache.hit_ratio);
}

static void phase(const pp_workload *w, const char *name)
{
    if (w->on_phase)
        w->on_phase(w->ctx, name);
}

int pp_profile_run(const pp_workload *w, const pp_config *cfg, pp_report *r)
{
    int rc = pp_workload_check(w);
    if (rc != PP_OK)
        return rc;
    uint64_t cpu0 = pp__prof_cpu_ns(), t0 = pp_clock_now_ns();
    snprintf(r->workload, sizeof r->workload, "%s", w->name ? w->name : "workload");
    r->n_experiments = 0;
    phase(w, "performance");
    if ((rc = pp_profile_performance(w, &cfg->profile, &r->perf)) != PP_OK)
        return rc;
    phase(w, "data_loading");
    if ((rc = pp_profile_data_loading(w, &cfg->profile, r)) != PP_OK)
        return rc;
    phase(w, "model_inference");
    if ((rc = pp_profile_model_inference(w, &cfg->profile, r)) != PP_OK)
        return rc;
    phase(w, "cache");
    if ((rc = pp_profile_cache(w, &cfg->profile, r)) != PP_OK)
        return rc;
    phase(w, "experiments");
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (ncpu < 1)
        ncpu = 1;
    if (ncpu > 1 && (rc = knob_experiment(w, cfg, r, "preprocess_threads", PP_STAGE_PREPROCESS,
                                          PP_KNOB_THREADS, ncpu)) != PP_OK)
        return rc;
    if ((rc = knob_experiment(w, cfg, r, "arena", PP_STAGE_PREPROCESS, PP_KNOB_ARENA, 1)) != PP_OK)
        return rc;
    phase(w, "analyze");
    pp_system_stats_read(&r->system);
    double wall = (double)(pp_clock_now_ns() - t0);
    if (wall > 0)
        r->system.cpu_percent =
            (double)(pp__prof_cpu_ns() - cpu0) / (wall * (double)r->system.n_cpus) * 100.0;
    pp_bottleneck_detect(r, &cfg->thresholds);
    pp_suggest(r);
    r->n_targets = pp_targets_evaluate(r, &cfg->targets, r->targets, PP_REPORT_MAX_TARGETS);
    export_metrics(r);
    return PP_OK;
}

/* Pairs of passes --apply runs per setting: more than the profile's passes,
 * since a difference of two noisy medians needs more samples than one median. */
static unsigned apply_pairs(const pp_config *cfg)
{
    unsigned n = cfg->profile.passes < 1 ? 1 : cfg->profile.passes;
    n = 3 * n + 1;
    return n > PP_REPORT_MAX_PASSES ? PP_REPORT_MAX_PASSES : n;
}

/* Median of v[0..n) and the 95 % confidence half-width of that median from
 * the median absolute deviation (1.96 * 1.2533 * 1.4826 * MAD / sqrt(n)). */
static void median_ci(const double *v, unsigned n, double *med, double *ci)
{
    double a[PP_REPORT_MAX_PASSES], d[PP_REPORT_MAX_PASSES];
    memcpy(a, v, n * sizeof a[0]);
    *med = pp__prof_median(a, n);
    for (unsigned i = 0; i < n; i++)
        d[i] = fabs(v[i] - *med);
    double mad = pp__prof_median(d, n);
    *ci = n > 1 ? 3.642 * mad / sqrt((double)n) : 1.0;
}

/* A 95 % half-width above this: add pairs (from the extra time) to resolve
 * the 10-point band better. */
#define APPLY_CI_WANTED 0.04

/* Set the suggestions' knobs on (their values) or off (old[]). */
static int set_all(const pp_workload *w, const pp_suggestion *s, size_t ns, const int64_t *old,
                   int on)
{
    int rc = PP_OK;
    for (size_t k = 0; rc == PP_OK && k < ns; k++)
        if (s[k].knob >= 0)
            rc = w->set_knob(w->ctx, (pp_knob)s[k].knob, on ? s[k].value : old[k]);
    return rc;
}

/*
 * Measure the suggestions' settings against the current ones with
 * interleaved passes: a warm-up at each setting, then pairs alternating
 * which goes first, so drift and the machine's load hit both alike. The
 * improvement is the median of the per-pair improvements (1 - with /
 * without); *ci its 95 % half-width. apply_pairs() pairs at least; while
 * *ci > APPLY_CI_WANTED, more pairs (up to twice as many) as long as
 * *extra_ns (shared by all the calls) lasts. The knobs are back at their
 * old values on return, on every path.
 */
static int paired(const pp_workload *w, const pp_config *cfg, const pp_suggestion *s, size_t ns,
                  double *extra_ns, double *before_ns, double *after_ns, double *imp, double *ci)
{
    double b[PP_REPORT_MAX_PASSES], a[PP_REPORT_MAX_PASSES], g[PP_REPORT_MAX_PASSES];
    int64_t old[PP_REPORT_MAX_SUGGESTIONS];
    unsigned min = apply_pairs(cfg), max = 2 * min, n = 0;
    if (max > PP_REPORT_MAX_PASSES)
        max = PP_REPORT_MAX_PASSES;
    int rc = PP_OK;
    for (size_t k = 0; k < ns && rc == PP_OK; k++)
        if (s[k].knob >= 0)
            rc = w->get_knob(w->ctx, (pp_knob)s[k].knob, &old[k]);
    if (rc != PP_OK)
        return rc;
    *ci = 1.0;
    for (unsigned i = 0; rc == PP_OK && i <= max; i++) {
        if (i > min && (*ci <= APPLY_CI_WANTED || *extra_ns <= 0))
            break;
        double pair_ns = 0;
        for (int h = 0; rc == PP_OK && h < 2; h++) {
            int on = (int)((i + (unsigned)h) % 2u);
            double t = 0;
            if ((rc = set_all(w, s, ns, old, on)) == PP_OK)
                rc = pp__prof_timed(w, PP_STAGE_PASS, 0, NULL, &t, NULL);
            if (rc == PP_OK && i > 0) /* pair 0 is the warm-up at each setting */
                (on ? a : b)[i - 1] = t;
            pair_ns += t;
        }
        if (rc != PP_OK || i == 0)
            continue;
        n = i;
        if (i > min)
            *extra_ns -= pair_ns;
        g[i - 1] = b[i - 1] > 0 ? 1.0 - a[i - 1] / b[i - 1] : 0.0;
        median_ci(g, n, imp, ci);
    }
    int rc2 = set_all(w, s, ns, old, 0);
    if (rc == PP_OK)
        rc = rc2;
    if (rc != PP_OK)
        return rc;
    double unused;
    median_ci(b, n, before_ns, &unused);
    median_ci(a, n, after_ns, &unused);
    median_ci(g, n, imp, ci);
    return PP_OK;
}

static void explain(pp_apply_result *a)
{
    double diff = a->measured_improvement - a->predicted_improvement;
    if (fabs(diff) <= 0.10) {
        a->note[0] = '\0';
    } else if (a->noise >= fabs(diff) - 0.10) {
        snprintf(a->note, sizeof a->note,
                 "within noise: the measurement's 95%% interval (+/-%.0f points over the pairs "
                 "of passes) reaches the prediction's 10-point band",
                 a->noise * 100.0);
    } else if (diff < 0) {
        snprintf(a->note, sizeof a->note,
                 "measured %.0f points below the prediction (noise +/-%.0f): the stage's share "
                 "or speedup in the full pass is smaller than in isolation (another stage "
                 "dominates, or the change costs elsewhere in the pass)",
                 -diff * 100.0, a->noise * 100.0);
    } else {
        snprintf(a->note, sizeof a->note,
                 "measured %.0f points above the prediction (noise +/-%.0f): the change also "
                 "sped up stages the prediction did not include",
                 diff * 100.0, a->noise * 100.0);
    }
}

int pp_profile_apply(const pp_workload *w, const pp_config *cfg, pp_report *r)
{
    pp_apply *ap = &r->apply;
    memset(ap, 0, sizeof *ap);
    int rc = pp_workload_check(w);
    if (rc != PP_OK)
        return rc;
    pp_report *after = NULL;
    phase(w, "apply");
    ap->n_before_targets = r->n_targets;
    memcpy(ap->before_targets, r->targets, sizeof r->targets);
    /* time for extra pairs where a measurement stays noisy: half the
     * minimum's, over all the comparisons */
    size_t n_cmp = 1;
    for (size_t i = 0; i < r->n_suggestions; i++)
        n_cmp += r->suggestions[i].knob >= 0;
    double extra_ns = 0.5 * (double)n_cmp * apply_pairs(cfg) * 2.0 * r->perf.end_to_end_ns;
    for (size_t i = 0; i < r->n_suggestions && ap->n < PP_REPORT_MAX_SUGGESTIONS; i++) {
        const pp_suggestion *s = &r->suggestions[i];
        if (s->knob < 0)
            continue;
        double b, a_ns, imp, ci;
        if ((rc = paired(w, cfg, s, 1, &extra_ns, &b, &a_ns, &imp, &ci)) != PP_OK)
            return rc;
        pp_apply_result *a = &ap->results[ap->n++];
        memset(a, 0, sizeof *a);
        a->category = s->category;
        snprintf(a->description, sizeof a->description, "%s", s->description);
        a->knob = s->knob;
        a->value = s->value;
        a->predicted_improvement = s->expected_improvement;
        a->before_ns = b;
        a->after_ns = a_ns;
        a->measured_improvement = imp;
        a->noise = ci;
        explain(a);
    }
    /* end to end: every suggestion at once against none, interleaved alike */
    double imp, ci;
    if ((rc = paired(w, cfg, r->suggestions, r->n_suggestions, &extra_ns, &ap->before_ns,
                     &ap->after_ns, &imp, &ci)) != PP_OK)
        return rc;
    for (size_t i = 0; i < r->n_suggestions; i++)
        if (r->suggestions[i].knob >= 0 &&
            (rc = w->set_knob(w->ctx, (pp_knob)r->suggestions[i].knob, r->suggestions[i].value)) !=
                PP_OK)
            return rc;
    /* targets after: loading and cache measured again, inference at the chosen batch */
    after = pp_report_new();
    if (!after)
        return PP_ENOMEM;
    after->inference = r->inference;
    after->system = r->system;
    if ((rc = pp_profile_data_loading(w, &cfg->profile, after)) == PP_OK &&
        (rc = pp_profile_cache(w, &cfg->profile, after)) == PP_OK) {
        pp_system_stats_read(&after->system);
        after->system.cpu_percent = r->system.cpu_percent;
        ap->n_after_targets =
            pp_targets_evaluate(after, &cfg->targets, ap->after_targets, PP_REPORT_MAX_TARGETS);
        ap->done = 1;
    }
    pp_report_free(after);
    return rc;
}
