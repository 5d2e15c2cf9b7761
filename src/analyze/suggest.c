/*
 * suggest.c - Optimization suggestions from measurements: a knob experiment
 * becomes a suggestion when the lower end of its predicted gain's interval
 * (per-site, analyze/predict.c) is above the minimum effect; the others stay
 * in the report as settings without a significant effect. The critical-path
 * bound for loads that no knob makes concurrent is an estimate. Never a
 * constant. Pure: no I/O, no clocks.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/analyze.h>

#include "analyze/predict.h"
#include "analyze/stats.h"

typedef struct stage_time {
    double ns[PP_STAGE_COUNT];
} stage_time;

/* A duration with three significant digits in a unit that fits it: "6.52us",
 * "97.8ms" (a per-item time of a microsecond printed as "0.001ms" says nothing). */
static const char *fmt_dur(char *buf, size_t cap, double ns)
{
    static const struct {
        double scale;
        const char *unit;
    } u[] = {{1e9, "s"}, {1e6, "ms"}, {1e3, "us"}, {1.0, "ns"}};
    size_t i = 0;
    while (i + 1 < sizeof u / sizeof u[0] && fabs(ns) < u[i].scale)
        i++;
    double v = ns / u[i].scale;
    snprintf(buf, cap,
             fabs(v) >= 100  ? "%.0f%s"
             : fabs(v) >= 10 ? "%.1f%s"
                             : "%.2f%s",
             v, u[i].unit);
    return buf;
}

/* The profilers' own timing of each stage, scaled to one pass's work. */
static void stage_times(const pp_report *r, stage_time *st)
{
    memset(st, 0, sizeof *st);
    st->ns[PP_STAGE_LOAD] = r->loading.sum_ns;
    uint64_t rows = 0;
    for (size_t i = 0; i < r->loading.n_sources; i++)
        rows += r->loading.sources[i].batch_size;
    if (r->inference.n_models > 0) {
        int m = r->inference.current_model;
        if (m < 0 || (size_t)m >= r->inference.n_models)
            m = 0;
        const pp_model_profile *mp = &r->inference.models[m];
        for (size_t k = 0; k < mp->n_points; k++)
            if (mp->points[k].batch == mp->current_batch && mp->points[k].throughput > 0)
                st->ns[PP_STAGE_INFER] = (double)(rows ? rows : 1) * 1e9 / mp->points[k].throughput;
    }
    if (r->cache.present)
        st->ns[PP_STAGE_CACHE] = r->cache.replay_ns;
    for (size_t i = 0; i < r->n_experiments; i++)
        if (r->experiments[i].stage == PP_STAGE_PREPROCESS && !r->experiments[i].per_item)
            st->ns[PP_STAGE_PREPROCESS] = r->experiments[i].base_ns;
}

/* Share of end-to-end time of a stage: measured from the pass when the
 * workload named the stage's scope, else estimated from stage timings. */
static double stage_share(const pp_report *r, pp_stage stage, int *estimated)
{
    pp_stage key = stage == PP_STAGE_LOAD_ALL ? PP_STAGE_LOAD : stage;
    double p = r->perf.stage_share[key];
    if (p >= 0 && !isnan(p)) {
        *estimated = 0;
        return p > 1 ? 1 : p;
    }
    *estimated = 1;
    stage_time st;
    stage_times(r, &st);
    double sum = 0;
    for (int i = 0; i < PP_STAGE_COUNT; i++)
        sum += st.ns[i];
    return sum > 0 ? st.ns[key] / sum : 0.0;
}

typedef struct kind_text {
    const char *name;
    pp_category cat;
    const char *what;           /* description lead */
    const char *implementation; /* how */
    double design_gain;         /* the gain the design expects from this kind, -1 none */
} kind_text;

static const kind_text kinds[] = {
    {"concurrent_loading", PP_CAT_DATA_LOADING, "Load the sources concurrently",
     "Issue the database, file and API loads at once (threads or async I/O) so a batch costs the "
     "slowest source, not the sum; pool connections",
     0.60},
    {"keep_alive", PP_CAT_DATA_LOADING, "Reuse network connections (keep-alive)",
     "Keep one HTTP connection per worker alive and reuse it (connection pooling) instead of a "
     "new TCP connection per request",
     0.60},
    {"batch_size", PP_CAT_MODEL_INFERENCE, "Infer in larger batches",
     "Group items into batches of the suggested size before calling the model (batch processing)",
     0.70},
    {"quantized", PP_CAT_MODEL_INFERENCE, "Quantize the model to int8",
     "Use int8 weights and activations (model quantization); check accuracy on a held-out set",
     0.70},
    {"cache_capacity", PP_CAT_CACHE, "Grow the cache",
     "Raise the cache capacity to the size the miss-ratio curve gives for 90 % hits", 0.40},
    {"preprocess_threads", PP_CAT_PERFORMANCE, "Preprocess in parallel",
     "Run the preprocess stage on a worker pool (parallel preprocessing)", -1.0},
    {"arena", PP_CAT_MEMORY, "Allocate per-batch memory from an arena",
     "Use a per-batch arena (memory pooling) and free it at once instead of many malloc/free",
     0.50},
};

static const kind_text *find_kind(const char *name)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kinds[i].name, name) == 0)
            return &kinds[i];
    return NULL;
}

static pp_suggestion *next_slot(pp_report *r)
{
    if (r->n_suggestions >= PP_REPORT_MAX_SUGGESTIONS)
        return NULL;
    pp_suggestion *s = &r->suggestions[r->n_suggestions++];
    memset(s, 0, sizeof *s);
    s->knob = -1;
    return s;
}

/* Each counted site's term of the prediction appended to buf ("; name a ->
 * b per pass: share x (1 - 1/speedup [interval]) = +gain"); the terms that
 * do not fit are summed into one last term, so the text adds up. */
static void site_terms(char *buf, size_t cap, const pp_experiment *e)
{
    size_t len = strlen(buf), left = 0;
    double left_gain = 0.0;
    char tail[96];
    for (size_t i = 0; i < e->n_sites; i++) {
        const pp_site_change *c = &e->sites[i];
        if (!pp__predict_counted(e, i))
            continue;
        char b0[32], b1[32], rg[64], term[PP_REPORT_NAME_MAX + 256];
        snprintf(term, sizeof term,
                 "; %s%s%s %s -> %s per pass: %.1f%% of the pass x (1 - 1/%.2f [%s]) = %+.1f%%",
                 c->name, c->whole_stage ? " (taken whole: work under it overlaps)" : "",
                 c->significant ? "" : " (significant with the other sites together)",
                 fmt_dur(b0, sizeof b0, c->base_ns), fmt_dur(b1, sizeof b1, c->cand_ns),
                 c->share * 100.0, c->speedup,
                 pp__stats_range_text(rg, sizeof rg, c->speedup_low, c->speedup_high, 1.0, 2, ""),
                 c->gain * 100.0);
        if (!left && len + strlen(term) + sizeof tail < cap) {
            snprintf(buf + len, cap - len, "%s", term);
            len = strlen(buf);
        } else {
            left++;
            left_gain += c->gain;
        }
    }
    if (left) {
        snprintf(tail, sizeof tail, "; %zu more site%s = %+.1f%%", left, left == 1 ? "" : "s",
                 left_gain * 100.0);
        snprintf(buf + len, cap - len, "%s", tail);
    }
}

/* An experiment whose predicted gain passed the noise gate becomes a suggestion. */
static void from_experiment(pp_report *r, pp_experiment *e, double min_effect)
{
    e->suggested = 0;
    if (e->current_value == e->cand_value || e->n_sites == 0)
        return;
    if (!(e->predicted_low > min_effect))
        return; /* the gain's interval reaches the minimum effect: not worth betting on */
    pp_suggestion *s = next_slot(r);
    if (!s)
        return;
    e->suggested = 1;
    const kind_text *k = find_kind(e->name);
    s->category = k ? k->cat : PP_CAT_PERFORMANCE;
    s->design_gain = k ? k->design_gain : -1.0;
    s->knob = (int)e->knob;
    s->value = e->cand_value;
    s->expected_improvement = e->predicted > 1.0 ? 1.0 : e->predicted;
    s->expected_improvement_low = e->predicted_low;
    s->expected_improvement_high = e->predicted_high;
    s->impact = pp_impact_from_gain(s->expected_improvement);
    s->basis = PP_BASIS_MEASURED;
    double share = 0.0;
    int whole = 0;
    const pp_site_change *top = NULL;
    for (size_t i = 0; i < e->n_sites; i++) {
        const pp_site_change *c = &e->sites[i];
        if (!pp__predict_counted(e, i))
            continue;
        share += c->share;
        whole |= c->whole_stage;
        if (!top || c->gain > top->gain)
            top = c;
    }
    s->stage_share = share > 1.0 ? 1.0 : share;
    s->stage_speedup = share > e->predicted ? share / (share - e->predicted) : INFINITY;
    snprintf(s->model, sizeof s->model, "%s",
             whole ? "per-site amdahl, critical path where work overlaps" : "per-site amdahl");
    char b0[32], b1[32], rg[64], aside[96] = "";
    if (e->set_aside)
        snprintf(aside, sizeof aside,
                 " (%u more set aside: the machine changed speed between their two passes)",
                 e->set_aside);
    snprintf(s->description, sizeof s->description,
             "%s: pass %s -> %s (%.2fx, 95%% %s) with %s=%lld (now %lld)%s%s%s",
             k ? k->what : "Change a setting", fmt_dur(b0, sizeof b0, e->base_ns),
             fmt_dur(b1, sizeof b1, e->cand_ns), e->speedup,
             pp__stats_range_text(rg, sizeof rg, e->speedup_low, e->speedup_high, 1.0, 2, "x"),
             pp_knob_name(e->knob), (long long)e->cand_value, (long long)e->current_value,
             top ? "; most in " : "", top ? top->name : "", "");
    snprintf(s->implementation, sizeof s->implementation, "%s (set %s=%lld)",
             k ? k->implementation : "Apply the measured setting", pp_knob_name(e->knob),
             (long long)e->cand_value);
    char speed[320] = "", rg2[64];
    if (e->others_speedup > 0)
        snprintf(speed, sizeof speed,
                 "; the sites it left alone ran %.3fx faster in its passes (95%% %s): taken as "
                 "the machine's speed, the sites judged against them",
                 e->others_speedup,
                 pp__stats_range_text(rg2, sizeof rg2, e->others_speedup_low,
                                      e->others_speedup_high, 1.0, 3, "x"));
    else if (e->others_own > 0 && e->others_own_low > 1.0)
        snprintf(speed, sizeof speed,
                 "; the sites it left alone ran faster in its passes, %.3fx faster than in the "
                 "other settings' passes of the same rounds too (95%% %s): its own effect, "
                 "counted",
                 e->others_own,
                 pp__stats_range_text(rg2, sizeof rg2, e->others_own_low, e->others_own_high, 1.0,
                                      3, "x"));
    snprintf(
        s->evidence, sizeof s->evidence,
        "experiment %s: %u interleaved pairs of passes%s%s; predicted %.1f%% (90%% %s) "
        "= sum over the sites whose self time changed significantly",
        e->name, e->repeats, aside, speed, e->predicted * 100.0,
        pp__stats_range_text(rg, sizeof rg, e->predicted_low, e->predicted_high, 100.0, 1, "%"));
    site_terms(s->evidence, sizeof s->evidence, e);
}

/* Several sources with no concurrency knob: the critical-path bound. */
static void critical_path_estimate(pp_report *r)
{
    const pp_data_loading *dl = &r->loading;
    if (dl->n_sources < 2 || dl->critical_path_ns <= 0)
        return;
    for (size_t i = 0; i < r->n_experiments; i++)
        if (strcmp(r->experiments[i].name, "concurrent_loading") == 0)
            return; /* measured instead */
    double speedup = dl->sum_ns / dl->critical_path_ns;
    if (!(speedup > 1.0))
        return;
    int est;
    double p = stage_share(r, PP_STAGE_LOAD, &est);
    pp_suggestion *s = next_slot(r);
    if (!s)
        return;
    const kind_text *k = find_kind("concurrent_loading");
    s->category = k->cat;
    s->design_gain = k->design_gain;
    s->stage_share = p;
    s->stage_speedup = speedup;
    s->expected_improvement = pp_amdahl_improvement(p, speedup);
    /* a bound, not a measurement: no interval beyond the estimate itself */
    s->expected_improvement_low = s->expected_improvement_high = s->expected_improvement;
    s->impact = pp_impact_from_gain(s->expected_improvement);
    s->basis = PP_BASIS_ESTIMATED;
    snprintf(s->model, sizeof s->model, "critical_path%s",
             est ? "; share estimated from stage timings" : "");
    char b0[32], b1[32];
    snprintf(s->description, sizeof s->description,
             "%s: sequential %s per batch, critical path (slowest source) %s", k->what,
             fmt_dur(b0, sizeof b0, dl->sum_ns), fmt_dur(b1, sizeof b1, dl->critical_path_ns));
    snprintf(s->implementation, sizeof s->implementation, "%s", k->implementation);
    snprintf(s->evidence, sizeof s->evidence,
             "not measured (no concurrency knob): stage speedup bounded by sum/max = %.3f; "
             "share %.1f%%",
             speedup, p * 100.0);
}

static int by_gain(const void *a, const void *b)
{
    double x = ((const pp_suggestion *)a)->expected_improvement;
    double y = ((const pp_suggestion *)b)->expected_improvement;
    return (x < y) - (x > y);
}

void pp_suggest(pp_report *r, double min_effect)
{
    r->n_suggestions = 0;
    for (size_t i = 0; i < r->n_experiments; i++)
        from_experiment(r, &r->experiments[i], min_effect);
    critical_path_estimate(r);
    /* drop suggestions whose gain rounds to nothing */
    size_t w = 0;
    for (size_t i = 0; i < r->n_suggestions; i++)
        if (r->suggestions[i].expected_improvement > 0.0)
            r->suggestions[w++] = r->suggestions[i];
    r->n_suggestions = w;
    qsort(r->suggestions, r->n_suggestions, sizeof r->suggestions[0], by_gain);
}
