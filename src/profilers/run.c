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
#include <postprof/snapshot.h>

#include "analyze/predict.h"
#include "analyze/stats.h"
#include "profilers/prof_impl.h"
#include "profilers/settings.h"

/* A setting worth an experiment, found by the profilers. */
typedef struct candidate {
    const char *name;
    pp_stage stage; /* where the profilers found it (a label; the pass decides) */
    pp_knob knob;
    int64_t value;
} candidate;

#define MAX_CANDIDATES 12

static void add_cand(const pp_workload *w, candidate *c, size_t *n, const char *name,
                     pp_stage stage, pp_knob knob, int64_t value)
{
    int64_t cur = 0;
    if (*n >= MAX_CANDIDATES || w->get_knob(w->ctx, knob, &cur) != PP_OK || cur == value)
        return;
    c[(*n)++] = (candidate){name, stage, knob, value};
}

/* The settings the profilers found: each gets an experiment over whole passes. */
static size_t candidates(const pp_workload *w, const pp_report *r, candidate *c)
{
    size_t n = 0;
    if (r->loading.has_concurrency)
        add_cand(w, c, &n, "concurrent_loading", PP_STAGE_LOAD_ALL, PP_KNOB_CONCURRENCY,
                 (int64_t)w->n_sources);
    if (r->loading.has_keep_alive)
        add_cand(w, c, &n, "keep_alive", PP_STAGE_LOAD, PP_KNOB_KEEP_ALIVE, 1);
    int m = r->inference.current_model;
    if (m >= 0 && (size_t)m < r->inference.n_models) {
        const pp_model_profile *mp = &r->inference.models[m];
        if (mp->best_batch && mp->best_batch != mp->current_batch)
            add_cand(w, c, &n, "batch_size", PP_STAGE_INFER, PP_KNOB_BATCH_SIZE,
                     (int64_t)mp->best_batch);
        if (mp->has_int8)
            add_cand(w, c, &n, "quantized", PP_STAGE_INFER, PP_KNOB_QUANTIZED, 1);
    }
    if (r->cache.present && r->cache.has_recommended)
        add_cand(w, c, &n, "cache_capacity", PP_STAGE_CACHE, PP_KNOB_CACHE_CAPACITY,
                 (int64_t)r->cache.recommended_capacity);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (ncpu > 1)
        add_cand(w, c, &n, "preprocess_threads", PP_STAGE_PREPROCESS, PP_KNOB_THREADS, ncpu);
    add_cand(w, c, &n, "arena", PP_STAGE_PREPROCESS, PP_KNOB_ARENA, 1);
    return n;
}

static int run_experiments(const pp_workload *w, const pp_config *cfg, pp_report *r)
{
    candidate c[MAX_CANDIDATES];
    size_t n = candidates(w, r, c);
    double budget = n ? cfg->profile.experiment_budget_s * 1e9 / (double)n : 0;
    for (size_t i = 0; i < n; i++) {
        pp_experiment e;
        int rc = pp__prof_pass_trial(w, &cfg->profile, c[i].name, c[i].stage, c[i].knob, c[i].value,
                                     budget, &e);
        if (rc == PP_EUNAVAIL)
            continue;
        if (rc != PP_OK)
            return rc;
        if ((rc = pp__prof_append_experiment(r, &e)) != PP_OK)
            return rc;
    }
    return PP_OK;
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

int pp_profiler_run(const pp_workload *w, const pp_config *cfg, pp_report *r)
{
    int rc = pp_workload_check(w);
    if (rc != PP_OK)
        return rc;
    uint64_t cpu0 = pp__prof_cpu_ns(), t0 = pp_clock_now_ns();
    snprintf(r->workload, sizeof r->workload, "%s", w->name ? w->name : "workload");
    r->n_experiments = 0;
    pp__prof_settings(w, &cfg->profile, r);
    phase(w, "performance");
    if ((rc = pp_profiler_performance(w, &cfg->profile, &r->perf)) != PP_OK)
        return rc;
    phase(w, "data_loading");
    if ((rc = pp_profiler_data_loading(w, &cfg->profile, r)) != PP_OK)
        return rc;
    phase(w, "model_inference");
    if ((rc = pp_profiler_model_inference(w, &cfg->profile, r)) != PP_OK)
        return rc;
    phase(w, "cache");
    if ((rc = pp_profiler_cache(w, &cfg->profile, r)) != PP_OK)
        return rc;
    if (cfg->profile.experiments) { /* 0: measurements only, as the CI gate needs */
        phase(w, "experiments");
        if ((rc = run_experiments(w, cfg, r)) != PP_OK)
            return rc;
    }
    phase(w, "analyze");
    pp_sysstats_summary_read(&r->system);
    double wall = (double)(pp_clock_now_ns() - t0);
    if (wall > 0)
        r->system.cpu_percent =
            (double)(pp__prof_cpu_ns() - cpu0) / (wall * (double)r->system.n_cpus) * 100.0;
    pp_bottleneck_detect(r, &cfg->thresholds);
    pp_suggest(r, cfg->profile.min_effect);
    r->n_targets = pp_targets_evaluate(r, &cfg->targets, r->targets, PP_REPORT_MAX_TARGETS);
    export_metrics(r);
    return PP_OK;
}

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

typedef struct measure_ctx {
    const pp_workload *w;
    const pp_suggestion *s;
    size_t ns;
    const int64_t *old;
    size_t n;
    unsigned min_pairs;
    uint64_t deadline_ns;
} measure_ctx;

/* One interleaved pair of passes: without and with the settings, which goes first alternating. */
static int measure_pair(void *ctx, double *out_a, double *out_b)
{
    measure_ctx *m = ctx;
    if (m->n >= m->min_pairs && pp_clock_now_ns() >= m->deadline_ns)
        return PP__STATS_STOP;
    for (int h = 0; h < 2; h++) {
        int on = (int)((m->n + (size_t)h) % 2u);
        double t = 0;
        int rc = set_all(m->w, m->s, m->ns, m->old, on);
        if (rc == PP_OK)
            rc = pp__prof_timed(m->w, PP_STAGE_PASS, 0, NULL, &t, NULL);
        if (rc != PP_OK)
            return rc;
        *(on ? out_b : out_a) = t;
    }
    m->n++;
    return PP_OK;
}

/*
 * Measure the suggestions' settings against the current ones: a warm-up at
 * each, then interleaved pairs of passes until the 95 % interval of the
 * ratio is as narrow as the experiments' target or budget_ns is spent (at
 * least 6 pairs). The gain is 1 - the ratio, its interval 1 - the ratio's.
 * The knobs are back at their old values on return, on every path.
 */
static int measure(const pp_workload *w, const pp_config *cfg, const pp_suggestion *s, size_t ns,
                   double budget_ns, pp__ratio_est *out)
{
    int64_t old[PP_REPORT_MAX_SUGGESTIONS];
    double a[64], b[64];
    int rc = PP_OK;
    for (size_t k = 0; k < ns && rc == PP_OK; k++)
        if (s[k].knob >= 0)
            rc = w->get_knob(w->ctx, (pp_knob)s[k].knob, &old[k]);
    if (rc != PP_OK)
        return rc;
    measure_ctx m = {.w = w, .s = s, .ns = ns, .old = old, .min_pairs = 6};
    /* warm-up at the new settings (first-use costs: a pool, a model); the
     * current ones ran just before */
    if ((rc = set_all(w, s, ns, old, 1)) == PP_OK)
        rc = pp__prof_timed(w, PP_STAGE_PASS, 0, NULL, NULL, NULL);
    if (rc == PP_OK) {
        m.deadline_ns = pp_clock_now_ns() + (uint64_t)(budget_ns > 0 ? budget_ns : 0);
        unsigned maxp = cfg->profile.max_pairs ? cfg->profile.max_pairs : 40;
        pp__seq_opts o = {.min_pairs = 6,
                          .max_pairs = maxp > 64  ? 64
                                       : maxp < 6 ? 6
                                                  : maxp,
                          .target_half_width = cfg->profile.target_half_width > 0
                                                   ? cfg->profile.target_half_width
                                                   : 0.01,
                          .conf = 0.95,
                          .tol = 0.0};
        pp__seq_stop why;
        rc = pp__stats_sequential(measure_pair, &m, &o, a, b, out, &why);
    }
    int rc2 = set_all(w, s, ns, old, 0);
    return rc != PP_OK ? rc : rc2;
}

static void explain(pp_apply_result *a)
{
    a->note[0] = '\0';
    if (a->hit)
        return;
    char rg[64];
    if (a->measured_low <= a->predicted_high && a->measured_high >= a->predicted_low)
        snprintf(
            a->note, sizeof a->note,
            "outside the predicted interval, but the measurement's own 95%% interval "
            "(%s) overlaps it: within noise",
            pp__stats_range_text(rg, sizeof rg, a->measured_low, a->measured_high, 100.0, 1, "%"));
    else if (a->measured_improvement < a->predicted_low)
        snprintf(a->note, sizeof a->note,
                 "measured below the prediction: the sites' changes in the experiment's passes "
                 "did not all carry over (the machine's load or the other settings differ)");
    else
        snprintf(a->note, sizeof a->note,
                 "measured above the prediction: sites whose change was not significant in the "
                 "experiment added up");
}

static const pp_experiment *experiment_for(const pp_report *r, const pp_suggestion *s)
{
    for (size_t i = 0; i < r->n_experiments; i++)
        if ((int)r->experiments[i].knob == s->knob && r->experiments[i].cand_value == s->value &&
            r->experiments[i].n_sites > 0)
            return &r->experiments[i];
    return NULL;
}

/* Peak RSS from here on: VmHWM reset to the current RSS (Linux >= 4.0). */
static void reset_peak_rss(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f)
        return;
    fputs("5", f);
    fclose(f);
}

/* The inference stage's p99 over the passes between two snapshots, ns; 0 when not seen. */
static double infer_p99(const pp_workload *w, const pp_snapshot *before, const pp_snapshot *after)
{
    const char *scope = w->stage_scopes[PP_STAGE_INFER];
    if (!scope)
        return 0;
    const pp_site_stats *a = pp_snapshot_find(after, scope);
    if (!a || !a->hist)
        return 0;
    const pp_site_stats *b = before ? pp_snapshot_by_id(before, a->id) : NULL;
    return pp__prof_hist_delta_quantile(a->hist, b ? b->hist : NULL, 0.99);
}

/* The cache's hit ratio in a window: a warm-up replay of the trace and one
 * measured (the targets read hit_ratio, ops and present). */
static int window_cache(const pp_workload *w, pp_cache_profile *c)
{
    memset(c, 0, sizeof *c);
    if (!w->cache_trace)
        return PP_OK;
    pp_stage_result res;
    int rc = PP_OK;
    for (int i = 0; i < 2 && rc == PP_OK; i++) {
        memset(&res, 0, sizeof res);
        rc = pp__prof_timed(w, PP_STAGE_CACHE, 0, &res, &c->replay_ns, NULL);
    }
    if (rc == PP_EUNAVAIL)
        return PP_OK;
    if (rc != PP_OK)
        return rc;
    c->present = 1;
    c->ops = res.items ? res.items : res.hits + res.misses;
    c->hits = res.hits;
    c->misses = res.misses;
    c->hit_ratio = c->ops ? (double)c->hits / (double)c->ops : 0;
    return PP_OK;
}

/*
 * The targets at the workload's settings as they are now, all measured in
 * one window, the same way before and after the suggestions are applied:
 * peak RSS reset at its start, process CPU over it, loading profiled again,
 * the cache's hit ratio replayed, inference p99 from the window's passes.
 */
static int window(const pp_workload *w, const pp_config *cfg, const pp_report *r, pp_target *out,
                  size_t *n_out)
{
    pp_report *win = pp_report_new();
    pp_snapshot *s0 = NULL, *s1 = NULL;
    if (!win)
        return PP_ENOMEM;
    int rc;
    reset_peak_rss();
    uint64_t cpu0 = pp__prof_cpu_ns(), t0 = pp_clock_now_ns();
    win->inference = r->inference;
    if ((rc = pp_profiler_data_loading(w, &cfg->profile, win)) != PP_OK ||
        (rc = window_cache(w, &win->cache)) != PP_OK || (rc = pp_snapshot_take(&s0)) != PP_OK)
        goto out;
    unsigned passes = cfg->profile.passes < 1 ? 1 : cfg->profile.passes;
    for (unsigned i = 0; i < passes && rc == PP_OK; i++)
        rc = pp__prof_timed(w, PP_STAGE_PASS, 0, NULL, NULL, NULL);
    if (rc != PP_OK || (rc = pp_snapshot_take(&s1)) != PP_OK)
        goto out;
    pp_sysstats_summary_read(&win->system);
    double wall = (double)(pp_clock_now_ns() - t0);
    win->system.cpu_percent =
        wall > 0 ? (double)(pp__prof_cpu_ns() - cpu0) / (wall * (double)win->system.n_cpus) * 100.0
                 : 0;
    double p99 = infer_p99(w, s0, s1);
    /* the targets read inference at the chosen batch of each model: put the
     * window's p99 there for the model the pass uses; no figure for the others */
    int m = win->inference.current_model;
    for (size_t i = 0; i < win->inference.n_models; i++)
        if ((int)i != m || !(p99 > 0))
            win->inference.models[i].n_points = 0;
    if (p99 > 0 && m >= 0 && (size_t)m < win->inference.n_models) {
        pp_model_profile *mp = &win->inference.models[m];
        mp->n_points = 1;
        mp->points[0].batch = mp->best_batch ? mp->best_batch : mp->current_batch;
        mp->points[0].p99_ns = p99;
    }
    *n_out = pp_targets_evaluate(win, &cfg->targets, out, PP_REPORT_MAX_TARGETS);
out:
    pp_snapshot_free(s0);
    pp_snapshot_free(s1);
    pp_report_free(win);
    return rc;
}

int pp_profiler_apply(const pp_workload *w, const pp_config *cfg, pp_report *r)
{
    pp_apply *ap = &r->apply;
    memset(ap, 0, sizeof *ap);
    int rc = pp_workload_check(w);
    if (rc != PP_OK)
        return rc;
    phase(w, "apply: before window");
    if ((rc = window(w, cfg, r, ap->before_targets, &ap->n_before_targets)) != PP_OK)
        return rc;
    phase(w, "apply: each suggestion");
    size_t n_cmp = 1;
    for (size_t i = 0; i < r->n_suggestions; i++)
        n_cmp += r->suggestions[i].knob >= 0;
    double budget = cfg->profile.apply_budget_s * 1e9 / (double)n_cmp;
    const pp_experiment *exps[PP_REPORT_MAX_SUGGESTIONS];
    size_t n_exps = 0, hits = 0;
    for (size_t i = 0; i < r->n_suggestions && ap->n < PP_REPORT_MAX_SUGGESTIONS; i++) {
        const pp_suggestion *s = &r->suggestions[i];
        if (s->knob < 0)
            continue;
        const pp_experiment *e = experiment_for(r, s);
        if (e && n_exps < PP_REPORT_MAX_SUGGESTIONS)
            exps[n_exps++] = e;
        pp__ratio_est est;
        if ((rc = measure(w, cfg, s, 1, budget, &est)) != PP_OK)
            return rc;
        pp_apply_result *a = &ap->results[ap->n++];
        memset(a, 0, sizeof *a);
        a->category = s->category;
        snprintf(a->description, sizeof a->description, "%s", s->description);
        a->knob = s->knob;
        a->value = s->value;
        a->predicted_improvement = s->expected_improvement;
        a->predicted_low = s->expected_improvement_low;
        a->predicted_high = s->expected_improvement_high;
        a->measured_improvement = 1.0 - est.ratio;
        a->measured_low = 1.0 - est.high;
        a->measured_high = 1.0 - est.low;
        a->pairs = (unsigned)est.n;
        a->before_ns = est.base;
        a->after_ns = est.base * est.ratio;
        a->noise = (a->measured_high - a->measured_low) / 2.0;
        a->hit = a->measured_improvement >= a->predicted_low &&
                 a->measured_improvement <= a->predicted_high;
        hits += a->hit != 0;
        explain(a);
    }
    ap->coverage = ap->n ? (double)hits / (double)ap->n : 0.0;
    /* every suggestion at once: composed prediction against a measurement */
    if (n_exps > 0 && (rc = pp__predict_combined(exps, n_exps, 0.90, &ap->combined.predicted,
                                                 &ap->combined.predicted_low,
                                                 &ap->combined.predicted_high)) != PP_OK)
        return rc;
    pp__ratio_est all;
    phase(w, "apply: all at once");
    if (n_cmp > 1) { /* with nothing to apply, no pairs of identical settings */
        if ((rc = measure(w, cfg, r->suggestions, r->n_suggestions, budget, &all)) != PP_OK)
            return rc;
        ap->combined.measured = 1.0 - all.ratio;
        ap->combined.measured_low = 1.0 - all.high;
        ap->combined.measured_high = 1.0 - all.low;
        ap->combined.pairs = (unsigned)all.n;
        ap->before_ns = all.base;
        ap->after_ns = all.base * all.ratio;
    }
    for (size_t i = 0; i < r->n_suggestions; i++)
        if (r->suggestions[i].knob >= 0 &&
            (rc = w->set_knob(w->ctx, (pp_knob)r->suggestions[i].knob, r->suggestions[i].value)) !=
                PP_OK)
            return rc;
    phase(w, "apply: after window");
    if ((rc = window(w, cfg, r, ap->after_targets, &ap->n_after_targets)) != PP_OK)
        return rc;
    ap->done = 1;
    return PP_OK;
}
