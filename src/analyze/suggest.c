/*
 * suggest.c - Optimization suggestions from measurements: every knob
 * experiment that made its stage faster becomes a suggestion whose expected
 * improvement is Amdahl's law over the stage's measured share of end-to-end
 * time and the measured stage speedup; overlapping stages use the critical
 * path. Never a constant. Pure: no I/O, no clocks.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/analyze.h>

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
    double seed;                /* the seed's expectation, -1 none */
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

static void fill_gain(pp_suggestion *s, double p, double speedup, int share_estimated,
                      int speedup_measured, const char *model)
{
    s->stage_share = p;
    s->stage_speedup = speedup;
    s->expected_improvement = pp_amdahl_improvement(p, speedup);
    s->impact = pp_impact_from_gain(s->expected_improvement);
    s->basis = (!share_estimated && speedup_measured) ? PP_BASIS_MEASURED : PP_BASIS_ESTIMATED;
    snprintf(s->model, sizeof s->model, "%s%s", model,
             share_estimated ? "; share estimated from stage timings" : "");
}

static void from_experiment(pp_report *r, const pp_experiment *e)
{
    if (!(e->speedup > 0.0) || e->current_value == e->cand_value)
        return;
    if (strchr(e->name, '.'))
        return; /* "<name>.<stage>": part of <name>'s suggestion */
    const kind_text *k = find_kind(e->name);
    int est;
    double p = stage_share(r, e->stage, &est);
    if (e->stage == PP_STAGE_LOAD && r->loading.sum_ns > 0 && e->index < r->loading.n_sources) {
        /* one source within the load stage: its fraction of the stage */
        p *= r->loading.sources[e->index].mean_ns / r->loading.sum_ns;
    }
    double speedup = e->speedup;
    const char *model = "amdahl";
    if (e->stage == PP_STAGE_CACHE && e->knob == PP_KNOB_CACHE_CAPACITY && r->cache.present &&
        r->cache.has_recommended && e->cand_value == (int64_t)r->cache.recommended_capacity &&
        r->cache.recommended_hit_ratio < 1.0) {
        /* the share is the misses' cost in the pass: it shrinks with the
         * miss ratio measured at the new capacity */
        speedup = (1.0 - r->cache.hit_ratio) / (1.0 - r->cache.recommended_hit_ratio);
        model = "amdahl over the misses";
    }
    /* the same change measured on other stages it also affects in a pass
     * (e.g. batch_size also sizing loads and preprocessing): Amdahl over
     * every stage, 1 - T'/T = sum of p_i (1 - 1/s_i), a slower stage
     * counting against. Such experiments are named "<name>.<stage>". */
    const pp_experiment *also[4];
    double p_also[4], extra = 0;
    size_t n_also = 0, nl = strlen(e->name);
    int est2 = 0;
    for (size_t i = 0; i < r->n_experiments && n_also < 4; i++) {
        const pp_experiment *x = &r->experiments[i];
        if (strncmp(x->name, e->name, nl) == 0 && x->name[nl] == '.' &&
            x->cand_value == e->cand_value && x->speedup > 0) {
            int est_x;
            also[n_also] = x;
            p_also[n_also] = stage_share(r, x->stage, &est_x);
            extra += p_also[n_also] * (1.0 - 1.0 / x->speedup);
            est2 |= est_x;
            n_also++;
        }
    }
    double gain = pp_amdahl_improvement(p, speedup) + extra;
    if (!(gain > 0.0))
        return;
    pp_suggestion *s = next_slot(r);
    if (!s)
        return;
    s->category = k ? k->cat : PP_CAT_PERFORMANCE;
    s->seed_expectation = k ? k->seed : -1.0;
    s->knob = (int)e->knob;
    s->value = e->cand_value;
    fill_gain(s, p, speedup, est || est2, 1, model);
    if (n_also) {
        s->expected_improvement = gain > 1.0 ? 1.0 : gain;
        s->impact = pp_impact_from_gain(s->expected_improvement);
    }
    const char *unit = e->per_item ? "per item" : "per call";
    char what[128], b0[32], b1[32];
    snprintf(what, sizeof what, "%s", k ? k->what : "Change a setting");
    snprintf(s->description, sizeof s->description,
             "%s: %s %s -> %s %s (%.2fx) with %s=%lld (now %lld)", what, pp_stage_name(e->stage),
             fmt_dur(b0, sizeof b0, e->base_ns), fmt_dur(b1, sizeof b1, e->cand_ns), unit,
             e->speedup, pp_knob_name(e->knob), (long long)e->cand_value,
             (long long)e->current_value);
    snprintf(s->implementation, sizeof s->implementation, "%s (set %s=%lld)",
             k ? k->implementation : "Apply the measured setting", pp_knob_name(e->knob),
             (long long)e->cand_value);
    snprintf(s->evidence, sizeof s->evidence,
             "experiment %s: %u repeats, spread %.0f%%/%.0f%%; stage share %.1f%%%s; "
             "%s%.3f * (1 - 1/%.3f) = %.3f",
             e->name, e->repeats, e->base_spread * 100.0, e->cand_spread * 100.0, p * 100.0,
             est ? " (estimated)" : " (measured)",
             speedup != e->speedup ? "miss ratio down by the MRC-measured factor; Amdahl "
                                   : "Amdahl ",
             p, speedup, pp_amdahl_improvement(p, speedup));
    for (size_t i = 0; i < n_also; i++) {
        size_t len = strlen(s->evidence);
        snprintf(s->evidence + len, sizeof s->evidence - len,
                 "; also %s: %s %s -> %s %s (%.2fx), share %.1f%%, %+.3f", also[i]->name,
                 pp_stage_name(also[i]->stage), fmt_dur(b0, sizeof b0, also[i]->base_ns),
                 fmt_dur(b1, sizeof b1, also[i]->cand_ns),
                 also[i]->per_item ? "per item" : "per call", also[i]->speedup, p_also[i] * 100.0,
                 p_also[i] * (1.0 - 1.0 / also[i]->speedup));
    }
    if (n_also) {
        size_t len = strlen(s->evidence);
        snprintf(s->evidence + len, sizeof s->evidence - len, "; total %.3f",
                 s->expected_improvement);
        /* the headline names the knob's own stage; say so when another
         * stage the knob also touches brings most of the gain */
        size_t best = 0;
        for (size_t i = 1; i < n_also; i++)
            if (p_also[i] * (1.0 - 1.0 / also[i]->speedup) >
                p_also[best] * (1.0 - 1.0 / also[best]->speedup))
                best = i;
        double best_gain = p_also[best] * (1.0 - 1.0 / also[best]->speedup);
        if (best_gain > pp_amdahl_improvement(p, speedup)) {
            len = strlen(s->description);
            snprintf(s->description + len, sizeof s->description - len,
                     "; most of the gain in %s (%.2fx)", pp_stage_name(also[best]->stage),
                     also[best]->speedup);
        }
    }
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
    s->seed_expectation = k->seed;
    fill_gain(s, p, speedup, est, 0, "critical_path");
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

void pp_suggest(pp_report *r)
{
    r->n_suggestions = 0;
    for (size_t i = 0; i < r->n_experiments; i++)
        from_experiment(r, &r->experiments[i]);
    critical_path_estimate(r);
    /* drop suggestions whose gain rounds to nothing */
    size_t w = 0;
    for (size_t i = 0; i < r->n_suggestions; i++)
        if (r->suggestions[i].expected_improvement > 0.0)
            r->suggestions[w++] = r->suggestions[i];
    r->n_suggestions = w;
    qsort(r->suggestions, r->n_suggestions, sizeof r->suggestions[0], by_gain);
}
