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

/* Median wall time of cfg->passes passes, and their relative spread. */
static int passes(const pp_workload *w, const pp_config *cfg, double *med, double *spread)
{
    double v[PP_REPORT_MAX_PASSES];
    unsigned n = cfg->profile.passes < 1 ? 1 : cfg->profile.passes;
    if (n > PP_REPORT_MAX_PASSES)
        n = PP_REPORT_MAX_PASSES;
    int rc = pp__prof_timed(w, PP_STAGE_PASS, 0, NULL, NULL, NULL); /* warm-up */
    for (unsigned i = 0; rc == PP_OK && i < n; i++)
        rc = pp__prof_timed(w, PP_STAGE_PASS, 0, NULL, &v[i], NULL);
    if (rc != PP_OK)
        return rc;
    *med = pp__prof_median(v, n);
    *spread = pp__prof_spread(v, n);
    return PP_OK;
}

static void explain(pp_apply_result *a, double spread_before, double spread_after)
{
    double diff = a->measured_improvement - a->predicted_improvement;
    a->noise = spread_before > spread_after ? spread_before : spread_after;
    if (fabs(diff) <= 0.10) {
        a->note[0] = '\0';
    } else if (a->noise >= fabs(diff)) {
        snprintf(a->note, sizeof a->note,
                 "within noise: the passes' spread (%.0f%%) exceeds the %.0f-point miss",
                 a->noise * 100.0, fabs(diff) * 100.0);
    } else if (diff < 0) {
        snprintf(a->note, sizeof a->note,
                 "measured %.0f points below the prediction: the stage's share or speedup in "
                 "the full pass is smaller than in isolation (another stage dominates)",
                 -diff * 100.0);
    } else {
        snprintf(a->note, sizeof a->note,
                 "measured %.0f points above the prediction: the change also sped up other "
                 "stages (e.g. fewer misses downstream)",
                 diff * 100.0);
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
    double before_ns, before_spread;
    phase(w, "apply");
    if ((rc = passes(w, cfg, &before_ns, &before_spread)) != PP_OK)
        return rc;
    ap->before_ns = before_ns;
    ap->n_before_targets = r->n_targets;
    memcpy(ap->before_targets, r->targets, sizeof r->targets);
    for (size_t i = 0; i < r->n_suggestions && ap->n < PP_REPORT_MAX_SUGGESTIONS; i++) {
        const pp_suggestion *s = &r->suggestions[i];
        if (s->knob < 0)
            continue;
        int64_t old;
        if ((rc = pp__prof_knob_swap(w, (pp_knob)s->knob, s->value, &old)) != PP_OK)
            return rc;
        double ns, spread;
        rc = passes(w, cfg, &ns, &spread);
        int rc2 = w->set_knob(w->ctx, (pp_knob)s->knob, old);
        if (rc == PP_OK)
            rc = rc2;
        if (rc != PP_OK)
            return rc;
        pp_apply_result *a = &ap->results[ap->n++];
        memset(a, 0, sizeof *a);
        a->category = s->category;
        snprintf(a->description, sizeof a->description, "%s", s->description);
        a->knob = s->knob;
        a->value = s->value;
        a->predicted_improvement = s->expected_improvement;
        a->before_ns = before_ns;
        a->after_ns = ns;
        a->measured_improvement = before_ns > 0 ? 1.0 - ns / before_ns : 0;
        explain(a, before_spread, spread);
    }
    for (size_t i = 0; i < r->n_suggestions; i++)
        if (r->suggestions[i].knob >= 0 &&
            (rc = w->set_knob(w->ctx, (pp_knob)r->suggestions[i].knob, r->suggestions[i].value)) !=
                PP_OK)
            return rc;
    double after_spread;
    if ((rc = passes(w, cfg, &ap->after_ns, &after_spread)) != PP_OK)
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
