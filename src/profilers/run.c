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
#include "capture/capture.h"
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
    if (n == 0)
        return PP_OK;
    pp__arm arms[MAX_CANDIDATES];
    for (size_t i = 0; i < n; i++)
        arms[i] = (pp__arm){.name = c[i].name,
                            .stage = c[i].stage,
                            .n = 1,
                            .knob = {c[i].knob},
                            .value = {c[i].value}};
    /* every candidate in the same rounds: one pass at the current settings
     * serves all of their pairs in a round */
    r->n_experiment_passes = 0;
    unsigned char cut[MAX_CANDIDATES] = {0};
    pp__rounds_opts o = {.budget_ns = cfg->profile.experiment_budget_s * 1e9,
                         .end_ns = cfg->profile.experiments_end_ns,
                         .cut = cut,
                         .min_effect = cfg->profile.min_effect,
                         .base_out = r->experiment_passes_ns,
                         .base_cpu_out = r->experiment_pass_cpu,
                         .base_cap =
                             sizeof r->experiment_passes_ns / sizeof r->experiment_passes_ns[0],
                         .base_n = &r->n_experiment_passes};
    pp_experiment *e = calloc(n, sizeof *e);
    pp__ratio_est est[MAX_CANDIDATES];
    if (!e)
        return PP_ENOMEM;
    int rc = pp__prof_rounds(w, &cfg->profile, arms, n, &o, e, est, NULL);
    if (rc == PP_OK)
        pp__prof_cpu_split(r->experiment_passes_ns, r->experiment_pass_cpu, r->n_experiment_passes,
                           &r->experiment_cpus);
    for (size_t i = 0; rc == PP_OK && i < n; i++) {
        e[i].cut_short = cut[i];
        rc = pp__prof_append_experiment(r, &e[i]);
    }
    free(e);
    return rc;
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

/* Peak RSS from here on: VmHWM reset to the current RSS (Linux >= 4.0). */
static void reset_peak_rss(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f)
        return;
    fputs("5", f);
    fclose(f);
}

int pp_profiler_run(const pp_workload *w, const pp_config *cfg, pp_report *r)
{
    int rc = pp_workload_check(w);
    if (rc != PP_OK)
        return rc;
    uint64_t cpu0 = pp__prof_cpu_ns(), t0 = pp_clock_now_ns();
    snprintf(r->workload, sizeof r->workload, "%s", w->name ? w->name : "workload");
    /* the call tree as the profiled passes draw it, not as set-up before
     * drew it (data generation, model training): the experiments judge
     * each site by the pass's root scope it leads to */
    pp__scope_parents_forget();
    /* and the peak RSS from here on: the memory target and `compare`'s
     * memory.peak_rss are the profile's, not the data generation's before
     * it (66 MB against 46 MB on a fresh clone) */
    reset_peak_rss();
    r->n_experiments = 0;
    r->n_experiment_passes = 0;
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

static void explain(pp_apply_result *a, const pp_apply_speed *sp)
{
    a->note[0] = '\0';
    const pp_apply_at_speed *as = &a->at_speed;
    char rg[64];
    if (as->judged) { /* the prediction that holds at this speed judged it */
        snprintf(a->note, sizeof a->note,
                 "a pass at the current settings took %.2fx the experiments' (95%% %.2f to "
                 "%.2f): at this speed of the machine the experiment's site speedups "
                 "predict %.1f%% (%s), which the measurement %s",
                 sp->ratio, sp->ratio_low, sp->ratio_high, as->predicted * 100.0,
                 pp__stats_range_text(rg, sizeof rg, as->predicted_low, as->predicted_high, 100.0,
                                      1, "%"),
                 as->hit                                       ? "holds"
                 : a->measured_improvement < as->predicted_low ? "falls below"
                                                               : "exceeds");
        return;
    }
    if (a->hit)
        return;
    if (a->measured_low <= a->predicted_high && a->measured_high >= a->predicted_low)
        snprintf(
            a->note, sizeof a->note,
            "outside the predicted interval, but the measurement's own 95%% interval "
            "(%s) overlaps it: within noise",
            pp__stats_range_text(rg, sizeof rg, a->measured_low, a->measured_high, 100.0, 1, "%"));
    else if (sp->known && sp->differs)
        snprintf(a->note, sizeof a->note,
                 "measured %s the prediction, which was made at another "
                 "speed of the machine: a site's share of a pass moves with it",
                 a->measured_improvement < a->predicted_low ? "below" : "above");
    else if (a->measured_improvement < a->predicted_low)
        snprintf(a->note, sizeof a->note,
                 "measured below the prediction: the sites' changes in the experiment's passes "
                 "did not all carry over (the machine's load or the other settings differ)");
    else
        snprintf(a->note, sizeof a->note,
                 "measured above the prediction: sites whose change was not significant in the "
                 "experiment added up");
    size_t len = strlen(a->note);
    if (sp->known && sp->differs && len < sizeof a->note)
        snprintf(a->note + len, sizeof a->note - len,
                 " (a pass at the current settings %.2fx "
                 "the experiments', 95%% %.2f to %.2f)",
                 sp->ratio, sp->ratio_low, sp->ratio_high);
}

static const pp_experiment *experiment_for(const pp_report *r, const pp_suggestion *s)
{
    for (size_t i = 0; i < r->n_experiments; i++)
        if ((int)r->experiments[i].knob == s->knob && r->experiments[i].cand_value == s->value &&
            r->experiments[i].n_sites > 0)
            return &r->experiments[i];
    return NULL;
}

/* Stage st no longer fit to gauge the machine's speed (row: one arm's). */
static void gauge_drop(pp__gauge_row *row, int st)
{
    if (st == PP_STAGE_LOAD_ALL)
        st = PP_STAGE_LOAD; /* the sources' loads are the load stage's sites */
    if (st == PP_STAGE_MODEL_LOAD)
        st = PP_STAGE_INFER;
    if (st >= 0 && st < PP_STAGE_COUNT && st != PP_STAGE_PASS)
        row->stage[st] = 0;
    else
        memset(row->stage, 0, sizeof row->stage); /* the whole pass: nothing is left */
}

static int op_index(const pp_perf_profile *p, const char *name)
{
    for (size_t i = 0; name && i < p->n_ops; i++)
        if (strcmp(p->ops[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* A scope outside every stage, site, no longer fit to gauge the speed: by
 * itself, or (whole: the experiment took it whole) with every scope under
 * it (pp__prof_rounds follows the parents); the stages among those, found
 * in the report's call tree, are dropped from the row too, so that the
 * row names only what gauges. */
static void gauge_skip(const pp_workload *w, const pp_report *r, const pp_site_change *site,
                       pp__gauge_row *row)
{
    if (row->n_skip >= PP__GAUGE_MAX_SKIP) {
        memset(row->stage, 0, sizeof row->stage);
        return;
    }
    row->skip[row->n_skip] = site->name;
    row->subtree[row->n_skip++] = site->whole_stage != 0;
    int top = op_index(&r->perf, site->name);
    for (int st = 0; site->whole_stage && top >= 0 && st < PP_STAGE_COUNT; st++) {
        int i = op_index(&r->perf, w->stage_scopes[st]);
        for (int depth = 0; i >= 0 && depth < 64; depth++) {
            if (i == top) {
                gauge_drop(row, st);
                break;
            }
            i = r->perf.ops[i].parent;
        }
    }
}

/*
 * pp__apply_gauge_row() - The sites that gauge the machine's speed for an
 * arm that applies the suggestions sg[0..n): every stage with a scope of
 * its own and the scopes outside every stage, less the stage each
 * suggestion's experiment was about, the stage of every site whose change
 * was significant in it, and each significant site outside the stages (a
 * scope its experiment took whole: with everything under it). None when a
 * suggestion has no experiment, its experiment took the whole pass (work
 * that overlaps: any site may have changed) or its other sites together
 * changed.
 */
void pp__apply_gauge_row(const pp_workload *w, const pp_report *r, const pp_suggestion *const *sg,
                         size_t n, pp__gauge_row *row)
{
    memset(row, 0, sizeof *row);
    for (int st = 0; st < PP_STAGE_COUNT; st++)
        row->stage[st] = w->stage_scopes[st] != NULL && st != PP_STAGE_PASS;
    row->stage[PP_STAGE_PASS] = 1; /* the scopes outside every stage */
    for (size_t k = 0; k < n; k++) {
        const pp_experiment *e = experiment_for(r, sg[k]);
        if (!e) {
            memset(row->stage, 0, sizeof row->stage);
            return;
        }
        gauge_drop(row, (int)e->stage);
        for (size_t i = 0; i < e->n_sites; i++) {
            const pp_site_change *site = &e->sites[i];
            if (!site->significant)
                continue;
            if (strcmp(site->name, PP__PREDICT_REST_NAME) == 0 ||
                strcmp(site->name, PP__PREDICT_PASS_NAME) == 0)
                gauge_drop(row, -1); /* every site: nothing is left */
            else if (site->stage >= 0)
                gauge_drop(row, site->stage);
            else
                gauge_skip(w, r, site, row);
        }
    }
}

/* Whether the suggestions sg[0..n) run work on threads of their own that
 * overlaps the pass (an experiment took a scope or the pass whole): their
 * arm is timed on wall time (pp__rounds_opts.wall). */
static unsigned char overlaps(const pp_report *r, const pp_suggestion *const *sg, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        const pp_experiment *e = experiment_for(r, sg[k]);
        for (size_t i = 0; e && i < e->n_sites; i++)
            if (e->sites[i].whole_stage)
                return 1;
    }
    return 0;
}

static void gauge_fill(pp_apply_gauge *g, const pp__gauge_row *row, const pp__gauge_out *go)
{
    memset(g, 0, sizeof *g);
    size_t len = 0;
    for (int st = 0; st < PP_STAGE_COUNT; st++)
        if (row->stage[st] && len < sizeof g->stages)
            len += (size_t)snprintf(
                g->stages + len, sizeof g->stages - len, "%s%s", len ? ", " : "",
                st == PP_STAGE_PASS ? "scopes outside the stages" : pp_stage_name((pp_stage)st));
    g->used = go->used;
    g->theta = go->theta;
    g->share = go->share;
    g->gauge_ratio = go->gauge.ratio;
    g->gauge_low = go->gauge.low;
    g->gauge_high = go->gauge.high;
    g->raw = 1.0 - go->raw.ratio;
    g->raw_low = 1.0 - go->raw.high;
    g->raw_high = 1.0 - go->raw.low;
    g->set_aside = (unsigned)go->set_aside;
    if (go->used)
        return;
    snprintf(g->why, sizeof g->why, "%s",
             !g->stages[0]          ? "no stage is left that the settings do not change"
             : !(go->share >= 0.05) ? "the stages left are under 5 % of a pass"
             : go->gauge.n && (go->gauge.low > 1.0 || go->gauge.high < 1.0)
                 ? "the stages left changed with the setting"
                 : "the gauge did not follow the pass times");
}

/* --apply's passes at the current settings against the experiments' (pp_apply_speed). */
static void speed_check(const pp_report *r, const double *apply_ns, size_t n, pp_apply_speed *sp)
{
    memset(sp, 0, sizeof *sp);
    size_t ne = r->n_experiment_passes;
    pp__ratio_est e;
    if (ne < 2 || n < 2 ||
        pp__stats_unpaired(r->experiment_passes_ns, ne, apply_ns, n, 0.95, 0.05, &e) != PP_OK ||
        !isfinite(e.high))
        return;
    sp->known = 1;
    /* the two times from the same estimate as the ratio, so they never disagree */
    sp->experiments_ns = e.base;
    sp->apply_ns = e.base * e.ratio;
    sp->ratio = e.ratio;
    sp->ratio_low = e.low;
    sp->ratio_high = e.high;
    sp->differs = e.verdict == PP_VERDICT_BETTER || e.verdict == PP_VERDICT_WORSE;
}

/* A prediction made again at --apply's speed (rb), and whether it is the
 * one that judges the measurement: when the machine's speed differed. */
static void at_speed_fill(pp_apply_at_speed *a, const pp__rebased *rb, const pp_apply_speed *sp,
                          double measured)
{
    memset(a, 0, sizeof *a);
    if (!rb->known)
        return;
    a->known = 1;
    a->predicted = rb->est;
    a->predicted_low = rb->low;
    a->predicted_high = rb->high;
    a->hit = measured >= rb->low && measured <= rb->high;
    a->judged = sp->known && sp->differs;
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

/*
 * The half-width (in points of the pass) below which an --apply measurement
 * needs no more pairs whatever the prediction's: a measurement checks a
 * prediction to within about this much. A measurement wider than this and
 * than the prediction's own interval goes on past the budget (up to 1.5
 * times it): on a machine whose speed moves, concurrent loading's 13 pairs
 * in the budget read 1.5 % (95 % -6.3 to 10.4) against 7.8 % predicted.
 */
#define CHECK_POINTS 0.02

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
    phase(w, "apply: the suggestions");
    /* one arm per suggestion, and one with all of them when there are
     * several (with one, that one is all of them), measured in the same
     * rounds: one pass at the current settings serves every arm's pair */
    pp__arm arms[PP__MAX_ARMS];
    size_t idx[PP__MAX_ARMS], n_arms = 0;
    pp__arm all = {.name = "all", .stage = PP_STAGE_PASS};
    pp__gauge_row gst[PP__MAX_ARMS];
    unsigned char on_wall[PP__MAX_ARMS];
    const pp_suggestion *sg[PP__MAX_ARMS];
    for (size_t i = 0; i < r->n_suggestions && n_arms + 1 < PP__MAX_ARMS; i++) {
        const pp_suggestion *s = &r->suggestions[i];
        if (s->knob < 0 || all.n >= PP__ARM_MAX_KNOBS)
            continue;
        sg[n_arms] = s;
        pp__apply_gauge_row(w, r, &sg[n_arms], 1, &gst[n_arms]);
        on_wall[n_arms] = overlaps(r, &sg[n_arms], 1);
        arms[n_arms] = (pp__arm){.name = s->description,
                                 .stage = PP_STAGE_PASS,
                                 .n = 1,
                                 .knob = {(pp_knob)s->knob},
                                 .value = {s->value}};
        idx[n_arms++] = i;
        all.knob[all.n] = (pp_knob)s->knob;
        all.value[all.n++] = s->value;
    }
    size_t n_each = n_arms;
    if (n_each > 1) {
        pp__apply_gauge_row(w, r, sg, n_each, &gst[n_arms]);
        on_wall[n_arms] = overlaps(r, sg, n_each);
        arms[n_arms++] = all;
    }
    /* every suggestion at once: the composed prediction */
    const pp_experiment *exps[PP_REPORT_MAX_SUGGESTIONS];
    size_t n_exps = 0, hits = 0, hits_as_predicted = 0, n_chance = 0;
    double chance = 0.0; /* the sum of each result's chance to be seen inside */
    for (size_t k = 0; k < n_each; k++) {
        const pp_experiment *e = experiment_for(r, &r->suggestions[idx[k]]);
        if (e && n_exps < PP_REPORT_MAX_SUGGESTIONS)
            exps[n_exps++] = e;
    }
    if (n_exps > 0 && (rc = pp__predict_combined(exps, n_exps, 0.90, &ap->combined.predicted,
                                                 &ap->combined.predicted_low,
                                                 &ap->combined.predicted_high)) != PP_OK)
        return rc;
    /* a measurement past the budget while it is less sure than what it checks */
    double resolve[PP__MAX_ARMS];
    for (size_t k = 0; k < n_arms; k++) {
        double lo = k < n_each ? r->suggestions[idx[k]].expected_improvement_low
                               : ap->combined.predicted_low;
        double hi = k < n_each ? r->suggestions[idx[k]].expected_improvement_high
                               : ap->combined.predicted_high;
        double half = isfinite(hi - lo) ? (hi - lo) / 2.0 : 0.0;
        resolve[k] = half > CHECK_POINTS ? half : CHECK_POINTS;
    }
    pp__ratio_est est[PP__MAX_ARMS];
    pp__gauge_out go[PP__MAX_ARMS];
    memset(go, 0, sizeof go);
    double passes[64];
    int pass_cpu[64];
    size_t n_passes = 0;
    /* each prediction made again at --apply's own speed: one suggestion's
     * experiment for its arm, all of them for the arm of all */
    const pp_experiment *one[PP__MAX_ARMS];
    const pp_experiment *const *rebase[PP__MAX_ARMS];
    size_t n_rebase[PP__MAX_ARMS];
    pp__rebased rebased[PP__MAX_ARMS];
    for (size_t k = 0; k < n_arms; k++) {
        one[k] = k < n_each ? experiment_for(r, &r->suggestions[idx[k]]) : NULL;
        rebase[k] = k < n_each ? &one[k] : exps;
        n_rebase[k] = k < n_each ? one[k] != NULL : n_exps;
    }
    unsigned char cut[PP__MAX_ARMS] = {0};
    pp__rounds_opts o = {.budget_ns = cfg->profile.apply_budget_s * 1e9,
                         .end_ns = cfg->profile.apply_end_ns,
                         .cut = cut,
                         .min_effect = 0,
                         .gauge = gst,
                         .wall = on_wall,
                         .resolve = resolve,
                         .base_out = passes,
                         .base_cpu_out = pass_cpu,
                         .base_cap = sizeof passes / sizeof passes[0],
                         .base_n = &n_passes,
                         .rebase = rebase,
                         .n_rebase = n_rebase,
                         .rebased = rebased};
    if (n_arms > 0 &&
        (rc = pp__prof_rounds(w, &cfg->profile, arms, n_arms, &o, NULL, est, go)) != PP_OK)
        return rc;
    speed_check(r, passes, n_passes, &ap->speed);
    pp__prof_cpu_split(passes, pass_cpu, n_passes, &ap->cpus);
    for (size_t k = 0; k < n_each && ap->n < PP_REPORT_MAX_SUGGESTIONS; k++) {
        const pp_suggestion *s = &r->suggestions[idx[k]];
        pp_apply_result *a = &ap->results[ap->n++];
        memset(a, 0, sizeof *a);
        a->category = s->category;
        snprintf(a->description, sizeof a->description, "%s", s->description);
        a->knob = s->knob;
        a->value = s->value;
        a->predicted_improvement = s->expected_improvement;
        a->predicted_low = s->expected_improvement_low;
        a->predicted_high = s->expected_improvement_high;
        a->measured_improvement = 1.0 - est[k].ratio;
        a->measured_low = 1.0 - est[k].high;
        a->measured_high = 1.0 - est[k].low;
        a->pairs = (unsigned)est[k].n;
        a->before_ns = est[k].base;
        a->after_ns = est[k].base * est[k].ratio;
        a->noise = (a->measured_high - a->measured_low) / 2.0;
        a->hit_as_predicted = a->measured_improvement >= a->predicted_low &&
                              a->measured_improvement <= a->predicted_high;
        at_speed_fill(&a->at_speed, &rebased[k], &ap->speed, a->measured_improvement);
        a->hit = a->at_speed.judged ? a->at_speed.hit : a->hit_as_predicted;
        a->cut_short = cut[k];
        gauge_fill(&a->gauge, &gst[k], &go[k]);
        hits += a->hit != 0;
        hits_as_predicted += a->hit_as_predicted != 0;
        /* what the two phases' noise lets a right prediction score, against
         * the interval that judged it */
        const pp_apply_at_speed *as = &a->at_speed;
        double p =
            as->judged
                ? pp__stats_inside_chance(as->predicted, as->predicted_low, as->predicted_high,
                                          a->measured_low, a->measured_high)
                : pp__stats_inside_chance(a->predicted_improvement, a->predicted_low,
                                          a->predicted_high, a->measured_low, a->measured_high);
        if (isfinite(p)) {
            chance += p;
            n_chance++;
        }
        explain(a, &ap->speed);
    }
    ap->coverage = ap->n ? (double)hits / (double)ap->n : 0.0;
    ap->coverage_expected = n_chance ? chance / (double)n_chance : NAN;
    ap->coverage_as_predicted = ap->n ? (double)hits_as_predicted / (double)ap->n : 0.0;
    if (n_arms > 0) { /* with nothing to apply, no pairs of identical settings */
        const pp__ratio_est *x = &est[n_arms - 1];
        ap->combined.measured = 1.0 - x->ratio;
        ap->combined.measured_low = 1.0 - x->high;
        ap->combined.measured_high = 1.0 - x->low;
        ap->combined.pairs = (unsigned)x->n;
        ap->combined.cut_short = cut[n_arms - 1];
        gauge_fill(&ap->combined.gauge, &gst[n_arms - 1], &go[n_arms - 1]);
        at_speed_fill(&ap->combined.at_speed, &rebased[n_arms - 1], &ap->speed,
                      ap->combined.measured);
        ap->before_ns = x->base;
        ap->after_ns = x->base * x->ratio;
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
