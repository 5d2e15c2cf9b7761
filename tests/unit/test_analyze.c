/*
 * test_analyze.c - The pure analyze layer with synthetic inputs: every
 * bottleneck rule at its boundary, Amdahl and critical-path arithmetic,
 * suggestions following the measured speedup, targets, MRC exact vs a
 * brute-force LRU and vs SHARDS, Welch's test and report comparison.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/analyze.h>

#include "near.h"

#define EPS 1e-9

static pp_thresholds defaults(void)
{
    pp_config c;
    pp_config_defaults(&c);
    return c.thresholds;
}

/* How many findings of `kind` (and severity, -1 any) the op gives. */
static int fired(const pp_perf_op *op, pp_finding_kind kind, int sev)
{
    pp_thresholds t = defaults();
    pp_finding f[16];
    size_t n = pp_bottleneck_check_op(op, &t, f, 16);
    int k = 0;
    for (size_t i = 0; i < n; i++)
        if (f[i].kind == kind && (sev < 0 || (int)f[i].severity == sev))
            k++;
    return k;
}

static pp_perf_op quiet_op(void)
{
    pp_perf_op op;
    memset(&op, 0, sizeof op);
    strcpy(op.name, "op");
    op.count = 1;
    op.mean_ns = 1e6;
    op.total_ns = 1e6;
    op.self_ns = 1e6; /* a leaf: all its time its own */
    op.p50_ns = op.p99_ns = 1e6;
    op.cpu_ns = 0.6e6; /* between waiting (<= 0.5) and cpu (> 0.8) */
    op.cpu_wall_ns = 1e6;
    return op;
}

static void test_quiet_op_fires_nothing(void **state)
{
    (void)state;
    pp_perf_op op = quiet_op();
    pp_thresholds t = defaults();
    pp_finding f[8];
    assert_int_equal(pp_bottleneck_check_op(&op, &t, f, 8), 0);
}

static void test_rule_slow_boundary(void **state)
{
    (void)state;
    pp_perf_op op = quiet_op();
    op.mean_ns = 0.5e9; /* design default: > 0.5 s */
    assert_int_equal(fired(&op, PP_FIND_SLOW, -1), 0);
    op.mean_ns = nextafter(0.5, 1.0) * 1e9 + 1;
    assert_int_equal(fired(&op, PP_FIND_SLOW, PP_SEV_MODERATE), 1);
    op.mean_ns = 1.0e9; /* design default: > 1 s */
    assert_int_equal(fired(&op, PP_FIND_SLOW, PP_SEV_HIGH), 0);
    assert_int_equal(fired(&op, PP_FIND_SLOW, PP_SEV_MODERATE), 1);
    op.mean_ns = 1.0e9 + 1;
    assert_int_equal(fired(&op, PP_FIND_SLOW, PP_SEV_HIGH), 1);
    assert_int_equal(fired(&op, PP_FIND_SLOW, -1), 1);
}

static void test_rule_memory_boundary(void **state)
{
    (void)state;
    pp_perf_op op = quiet_op();
    op.share = 0.05; /* min_mem_share */
    op.mem_delta_bytes = 50.0 * 1048576.0;
    assert_int_equal(fired(&op, PP_FIND_MEMORY, -1), 0);
    op.mem_delta_bytes += 1;
    assert_int_equal(fired(&op, PP_FIND_MEMORY, PP_SEV_MODERATE), 1);
    op.mem_delta_bytes = 100.0 * 1048576.0;
    assert_int_equal(fired(&op, PP_FIND_MEMORY, PP_SEV_HIGH), 0);
    op.mem_delta_bytes += 1;
    assert_int_equal(fired(&op, PP_FIND_MEMORY, PP_SEV_HIGH), 1);
    op.share = nextafter(0.05, 0.0); /* a small share of the pass: no memory finding */
    assert_int_equal(fired(&op, PP_FIND_MEMORY, -1), 0);
}

static void test_rule_cpu_boundary(void **state)
{
    (void)state;
    pp_perf_op op = quiet_op();
    op.share = 0.05;   /* min_cpu_share */
    op.cpu_ns = 0.8e6; /* 80 %: design: > 80 */
    assert_int_equal(fired(&op, PP_FIND_CPU, -1), 0);
    op.cpu_ns = 0.8e6 + 1;
    assert_int_equal(fired(&op, PP_FIND_CPU, PP_SEV_HIGH), 1);
    /* all CPU but a small share of the pass (the ~20 short scopes every run
     * flagged HIGH): no finding */
    op.cpu_ns = op.cpu_wall_ns;
    op.share = nextafter(0.05, 0.0);
    assert_int_equal(fired(&op, PP_FIND_CPU, -1), 0);
    op.share = 0.0;
    assert_int_equal(fired(&op, PP_FIND_CPU, -1), 0);
    /* a scope enclosing others (70 % of the pass, all on CPU) whose own code
     * is just under 5 % of it: its children are judged, not it; just over, it */
    op.share = 0.70;
    op.self_ns = op.total_ns * 0.0499 / 0.70;
    assert_int_equal(fired(&op, PP_FIND_CPU, -1), 0);
    op.self_ns = op.total_ns * 0.0501 / 0.70;
    assert_int_equal(fired(&op, PP_FIND_CPU, PP_SEV_HIGH), 1);
    pp_thresholds t = defaults();
    pp_finding f[8];
    size_t nf = pp_bottleneck_check_op(&op, &t, f, 8);
    int said = 0;
    for (size_t i = 0; i < nf; i++)
        said |= f[i].kind == PP_FIND_CPU && strstr(f[i].message, "5.0% in its own code") != NULL;
    assert_true(said);
}

static void test_rule_share_boundary(void **state)
{
    (void)state;
    pp_perf_op op = quiet_op();
    op.share = 0.40;
    assert_int_equal(fired(&op, PP_FIND_SHARE, PP_SEV_HIGH), 1);
    op.share = nextafter(0.40, 0.0);
    assert_int_equal(fired(&op, PP_FIND_SHARE, -1), 0);
}

static void test_rule_tail_boundary(void **state)
{
    (void)state;
    pp_perf_op op = quiet_op();
    op.share = 0.05; /* min_tail_share */
    op.p50_ns = 1000;
    op.p99_ns = 10000; /* exactly 10x */
    assert_int_equal(fired(&op, PP_FIND_TAIL, PP_SEV_MODERATE), 1);
    op.p99_ns = 9999;
    assert_int_equal(fired(&op, PP_FIND_TAIL, -1), 0);
    op.p99_ns = 1e6;
    op.share = nextafter(0.05, 0.0); /* a tiny scope's first-call faults: not a finding */
    assert_int_equal(fired(&op, PP_FIND_TAIL, -1), 0);
}

static int report_has(const pp_report *r, pp_finding_kind kind, const char *op, int sev);

static void test_rule_async_not_judged_by_share(void **state)
{
    (void)state;
    pp_perf_op op = quiet_op();
    op.share = 1.3; /* overlapping spans sum past the pass */
    op.p50_ns = 1000;
    op.p99_ns = 1e6;
    op.cpu_ns = 0.1e6;
    assert_int_equal(fired(&op, PP_FIND_SHARE, -1), 1);
    assert_int_equal(fired(&op, PP_FIND_TAIL, -1), 1);
    assert_int_equal(fired(&op, PP_FIND_WAITING, -1), 1);
    op.async = 1;
    assert_int_equal(fired(&op, PP_FIND_SHARE, -1), 0);
    assert_int_equal(fired(&op, PP_FIND_TAIL, -1), 0);
    assert_int_equal(fired(&op, PP_FIND_WAITING, -1), 0);
    op.mean_ns = 2e9; /* the rules not about share still apply */
    assert_int_equal(fired(&op, PP_FIND_SLOW, PP_SEV_HIGH), 1);

    pp_report *r = pp_report_new();
    assert_non_null(r);
    r->perf.n_ops = 1;
    r->perf.ops[0] = op;
    r->perf.ops[0].parent = -1;
    pp_thresholds t = defaults();
    pp_bottleneck_detect(r, &t);
    assert_false(report_has(r, PP_FIND_SHARE, "op", -1));
    assert_true(report_has(r, PP_FIND_SLOW, "op", PP_SEV_HIGH));
    pp_report_free(r);
}

static void test_rule_waiting_boundary(void **state)
{
    (void)state;
    pp_perf_op op = quiet_op();
    op.share = 0.05;
    op.cpu_ns = 0.5e6; /* CPU share exactly 0.5 */
    assert_int_equal(fired(&op, PP_FIND_WAITING, PP_SEV_MODERATE), 1);
    op.cpu_ns = 0.5e6 + 1;
    assert_int_equal(fired(&op, PP_FIND_WAITING, -1), 0);
    op.cpu_ns = 0.1e6;
    op.share = nextafter(0.05, 0.0); /* too small a part of the run to matter */
    assert_int_equal(fired(&op, PP_FIND_WAITING, -1), 0);
}

static void test_rule_alloc_rate_boundary(void **state)
{
    (void)state;
    pp_perf_op op = quiet_op();
    op.share = 0.05;
    op.total_ns = 1e9;
    op.alloc_bytes = 1000.0 * 1048576.0; /* exactly 1000 MB/s */
    assert_int_equal(fired(&op, PP_FIND_ALLOC_RATE, PP_SEV_MODERATE), 1);
    op.alloc_bytes -= 1024;
    assert_int_equal(fired(&op, PP_FIND_ALLOC_RATE, -1), 0);
    /* too small a part of the pass to matter, however fast it allocates
     * (a model's load: 3 GB/s, 0.6 % of a pass) */
    op.alloc_bytes = 3000.0 * 1048576.0;
    op.share = nextafter(0.05, 0.0);
    assert_int_equal(fired(&op, PP_FIND_ALLOC_RATE, -1), 0);
}

static int report_has(const pp_report *r, pp_finding_kind kind, const char *op, int sev)
{
    for (size_t i = 0; i < r->n_findings; i++)
        if (r->findings[i].kind == kind && strcmp(r->findings[i].operation, op) == 0 &&
            (sev < 0 || (int)r->findings[i].severity == sev))
            return 1;
    return 0;
}

static void test_rule_cache_hit_boundary(void **state)
{
    (void)state;
    pp_thresholds t = defaults();
    pp_report *r = pp_report_new();
    assert_non_null(r);
    r->cache.present = 1;
    r->cache.ops = 100;
    r->cache.hit_ratio = 0.80;
    pp_bottleneck_detect(r, &t);
    assert_false(report_has(r, PP_FIND_CACHE_HIT, "cache", -1));
    r->cache.hit_ratio = nextafter(0.80, 0.0);
    pp_bottleneck_detect(r, &t);
    assert_true(report_has(r, PP_FIND_CACHE_HIT, "cache", PP_SEV_MODERATE));
    r->cache.hit_ratio = nextafter(0.40, 0.0);
    pp_bottleneck_detect(r, &t);
    assert_true(report_has(r, PP_FIND_CACHE_HIT, "cache", PP_SEV_HIGH));
    pp_report_free(r);
}

static void test_detect_sources_and_process_cpu(void **state)
{
    (void)state;
    pp_thresholds t = defaults();
    pp_report *r = pp_report_new();
    r->loading.n_sources = 1;
    pp_load_profile *l = &r->loading.sources[0];
    strcpy(l->name, "api");
    l->batches = 10;
    l->mean_ns = l->p50_ns = 1e6;
    l->p99_ns = 1e7;
    l->cpu_share = 0.1; /* waiting on the network */
    r->system.cpu_percent = 80.0;
    pp_bottleneck_detect(r, &t);
    assert_true(report_has(r, PP_FIND_WAITING, "load.api", -1));
    assert_true(report_has(r, PP_FIND_TAIL, "load.api", -1));
    assert_false(report_has(r, PP_FIND_CPU, "process", -1));
    r->system.cpu_percent = 80.01;
    pp_bottleneck_detect(r, &t);
    assert_true(report_has(r, PP_FIND_CPU, "process", PP_SEV_HIGH));
    pp_report_free(r);
}

static void test_amdahl_arithmetic(void **state)
{
    (void)state;
    assert_double_equal(pp_amdahl_improvement(0.5, 2.0), 0.25, EPS);
    assert_double_equal(pp_amdahl_improvement(0.6, 4.0), 0.45, EPS);
    assert_double_equal(pp_amdahl_improvement(1.0, 10.0), 0.9, EPS);
    assert_double_equal(pp_amdahl_improvement(0.5, 1.0), 0.0, EPS);
    assert_double_equal(pp_amdahl_improvement(0.5, 0.5), 0.0, EPS); /* slowdown: none */
    assert_double_equal(pp_amdahl_improvement(1.5, 2.0), 0.5, EPS); /* p clamped */
    assert_double_equal(pp_amdahl_improvement(NAN, 2.0), 0.0, EPS);
    assert_double_equal(pp_amdahl_improvement(0.3, INFINITY), 0.3, EPS);
    assert_double_equal(pp_amdahl_speedup(0.5, 2.0), 1.0 / 0.75, EPS);
    assert_double_equal(pp_amdahl_speedup(0.0, 100.0), 1.0, EPS);
    /* improvement and speedup agree: 1 - 1/speedup */
    assert_double_equal(pp_amdahl_improvement(0.7, 3.0), 1.0 - 1.0 / pp_amdahl_speedup(0.7, 3.0),
                        EPS);
}

static void test_critical_path_is_max(void **state)
{
    (void)state;
    double t[3] = {10, 30, 20};
    assert_double_equal(pp_critical_path_ns(t, 3), 30, EPS);
    assert_double_equal(pp_critical_path_ns(t, 0), 0, EPS);
}

static void test_impact_boundaries(void **state)
{
    (void)state;
    assert_int_equal(pp_impact_from_gain(0.20), PP_IMPACT_HIGH);
    assert_int_equal(pp_impact_from_gain(nextafter(0.20, 0)), PP_IMPACT_MEDIUM);
    assert_int_equal(pp_impact_from_gain(0.05), PP_IMPACT_MEDIUM);
    assert_int_equal(pp_impact_from_gain(nextafter(0.05, 0)), PP_IMPACT_LOW);
}

static pp_report *loading_report(double speedup, double share)
{
    pp_report *r = pp_report_new();
    r->loading.n_sources = 3;
    const double means[3] = {10e6, 20e6, 30e6};
    for (int i = 0; i < 3; i++) {
        r->loading.sources[i].mean_ns = means[i];
        r->loading.sources[i].batches = 5;
        r->loading.sum_ns += means[i];
    }
    r->loading.critical_path_ns = 30e6;
    r->perf.stage_share[PP_STAGE_LOAD] = share;
    if (speedup > 0) {
        pp_experiment *e = &r->experiments[r->n_experiments++];
        strcpy(e->name, "concurrent_loading");
        e->stage = PP_STAGE_LOAD_ALL;
        e->knob = PP_KNOB_CONCURRENCY;
        e->base_value = e->current_value = 1;
        e->cand_value = 3;
        e->base_ns = 60e6;
        e->cand_ns = 60e6 / speedup;
        e->speedup = speedup;
        e->repeats = 5;
    }
    return r;
}

/* A knob experiment as the profilers leave it: a prediction with its
 * interval from one significant site. */
/* An empty report whose stages' shares are not measured: experiments only. */
static pp_report *report_of_experiments(void)
{
    pp_report *r = pp_report_new();
    assert_non_null(r);
    for (int s = 0; s < PP_STAGE_COUNT; s++)
        r->perf.stage_share[s] = -1;
    return r;
}

static pp_experiment *predicted_exp(pp_report *r, const char *name, pp_knob knob, int64_t cur,
                                    int64_t cand, double pred, double lo, double hi)
{
    pp_experiment *e = &r->experiments[r->n_experiments++];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    e->stage = PP_STAGE_INFER;
    e->knob = knob;
    e->base_value = e->current_value = cur;
    e->cand_value = cand;
    e->base_ns = 2e6;
    e->speedup = 1.25;
    e->speedup_low = 1.2;
    e->speedup_high = 1.3;
    e->cand_ns = e->base_ns / e->speedup;
    e->repeats = 12;
    e->significant = 1;
    e->predicted = pred;
    e->predicted_low = lo;
    e->predicted_high = hi;
    e->n_sites = 1;
    pp_site_change *c = &e->sites[0];
    snprintf(c->name, sizeof c->name, "model.predict");
    c->stage = PP_STAGE_INFER;
    c->share = 0.5;
    c->share_low = 0.48;
    c->share_high = 0.52;
    c->speedup = 1.0 / (1.0 - pred / 0.5);
    c->speedup_low = c->speedup * 0.9;
    c->speedup_high = c->speedup * 1.1;
    c->significant = 1;
    c->gain = pred;
    c->base_ns = 1e6;
    c->cand_ns = 1e6 / c->speedup;
    return e;
}

/* The evidence's terms add up to the prediction: four sites significant
 * alone, the pooled unit significant with 19 members, each member a term
 * of its own (marked as judged with the others, the unit itself none);
 * the terms that do not fit the text are summed into a last one, never
 * cut in the middle. */
static void test_suggestion_terms_add_up(void **state)
{
    (void)state;
    pp_report *r = report_of_experiments();
    pp_experiment *e = predicted_exp(r, "quantized", PP_KNOB_QUANTIZED, 0, 1, 0, 0, 0);
    double want = 0.0;
    e->n_sites = PP_REPORT_MAX_SITES;
    for (size_t i = 0; i < e->n_sites; i++) {
        pp_site_change *c = &e->sites[i];
        memset(c, 0, sizeof *c);
        int rest = i == 4;
        snprintf(c->name, sizeof c->name, "%s",
                 rest ? "(the other sites together)" : "posts.a.rather.long.scope.name.for.a.site");
        c->stage = -1;
        c->share = 0.04;
        c->share_low = 0.03;
        c->share_high = 0.05;
        c->speedup = 1.2;
        c->speedup_low = 1.1;
        c->speedup_high = 1.3;
        c->significant = i <= 4;
        c->gain = c->share * (1.0 - 1.0 / c->speedup);
        c->base_ns = 1e6;
        c->cand_ns = 1e6 / c->speedup;
        want += rest ? 0.0 : c->gain;
    }
    e->predicted = want;
    e->predicted_low = want * 0.8;
    e->predicted_high = want * 1.2;
    pp_suggest(r, 0.01);
    assert_int_equal(r->n_suggestions, 1);
    const char *ev = r->suggestions[0].evidence;
    assert_non_null(strstr(ev, "(significant with the other sites together)"));
    assert_null(strstr(ev, "(the other sites together)"));
    assert_non_null(strstr(ev, " more sites = +"));
    size_t n = strlen(ev);
    assert_true(n > 0 && n + 1 < sizeof r->suggestions[0].evidence && ev[n - 1] == '%');
    double sum = 0.0;
    int terms = 0;
    for (const char *p = strstr(ev, "= +"); p; p = strstr(p + 1, "= +")) {
        sum += strtod(p + 2, NULL) / 100.0;
        terms++;
    }
    /* "predicted x% (...) = sum over ..." is not a term; each term rounds to 0.05 points */
    assert_true(terms >= 2);
    assert_double_equal(sum, want, 0.0005 * terms + 1e-9);
    pp_report_free(r);
}

/* Suggested only when the gain's interval starts above the minimum effect;
 * the figures are the prediction's, the times and x-factor the pairs'. */
static void test_suggestion_noise_gate(void **state)
{
    (void)state;
    pp_report *r = report_of_experiments();
    predicted_exp(r, "quantized", PP_KNOB_QUANTIZED, 0, 1, 0.10, 0.08, 0.12);
    predicted_exp(r, "arena", PP_KNOB_ARENA, 0, 1, 0.02, 0.009, 0.03);          /* reaches 1 % */
    predicted_exp(r, "keep_alive", PP_KNOB_KEEP_ALIVE, 0, 1, 0.02, 0.01, 0.03); /* at 1 % */
    predicted_exp(r, "batch_size", PP_KNOB_BATCH_SIZE, 8, 8, 0.2, 0.1, 0.3);    /* no change */
    pp_suggest(r, 0.01);
    assert_int_equal(r->n_suggestions, 1);
    const pp_suggestion *s = &r->suggestions[0];
    assert_int_equal(s->knob, PP_KNOB_QUANTIZED);
    assert_int_equal(s->value, 1);
    assert_double_equal(s->expected_improvement, 0.10, EPS);
    assert_double_equal(s->expected_improvement_low, 0.08, EPS);
    assert_double_equal(s->expected_improvement_high, 0.12, EPS);
    assert_int_equal(s->basis, PP_BASIS_MEASURED);
    assert_int_equal(s->category, PP_CAT_MODEL_INFERENCE);
    assert_non_null(strstr(s->description, "pass 2.00ms -> 1.60ms (1.25x, 95% 1.20 to 1.30 x)"));
    assert_non_null(strstr(s->evidence, "model.predict"));
    assert_int_equal(r->experiments[0].suggested, 1);
    assert_int_equal(r->experiments[1].suggested, 0);
    assert_int_equal(r->experiments[2].suggested, 0);
    assert_int_equal(r->experiments[3].suggested, 0);

    /* a lower minimum effect lets the arena through; ranked by gain */
    pp_suggest(r, 0.005);
    assert_int_equal(r->n_suggestions, 3);
    assert_int_equal(r->suggestions[0].knob, PP_KNOB_QUANTIZED);
    /* an experiment without sites (too few pairs) is never suggested */
    r->experiments[0].n_sites = 0;
    pp_suggest(r, 0.005);
    for (size_t i = 0; i < r->n_suggestions; i++)
        assert_int_not_equal(r->suggestions[i].knob, PP_KNOB_QUANTIZED);
    pp_report_free(r);
}

static void test_suggestion_critical_path_without_knob(void **state)
{
    (void)state;
    pp_report *r = loading_report(0, 0.6);
    pp_suggest(r, 0.01);
    assert_int_equal(r->n_suggestions, 1);
    /* sum 60 ms, critical path 30 ms: stage speedup 2, gain 0.6 * 0.5 */
    assert_double_equal(r->suggestions[0].stage_speedup, 2.0, EPS);
    assert_double_equal(r->suggestions[0].expected_improvement, 0.3, EPS);
    assert_int_equal(r->suggestions[0].basis, PP_BASIS_ESTIMATED);
    assert_string_equal(r->suggestions[0].model, "critical_path");
    assert_int_equal(r->suggestions[0].knob, -1);
    pp_report_free(r);
}

static void test_targets_pass_fail(void **state)
{
    (void)state;
    pp_config c;
    pp_config_defaults(&c);
    pp_report *r = pp_report_new();
    r->loading.n_sources = 1;
    r->loading.sources[0].batches = 1;
    r->loading.sources[0].p95_ns = 100e6; /* < 100 ms: at the limit fails */
    r->cache.present = 1;
    r->cache.ops = 10;
    r->cache.hit_ratio = 0.81;
    r->system.peak_rss_bytes = 1e9;
    r->system.cpu_percent = 70;
    pp_target t[8];
    size_t n = pp_targets_evaluate(r, &c.targets, t, 8);
    assert_int_equal(n, 5);
    assert_string_equal(t[0].name, "data_loading_latency");
    assert_false(t[0].pass);
    assert_false(t[1].pass); /* inference: no data */
    assert_false(t[1].measured);
    assert_true(t[2].pass);
    assert_true(t[3].pass);
    assert_false(t[4].pass); /* cpu: < 70 */
    r->loading.sources[0].p95_ns = 99.9e6;
    r->system.cpu_percent = 69.9;
    n = pp_targets_evaluate(r, &c.targets, t, 8);
    assert_true(t[0].pass);
    assert_true(t[4].pass);
    pp_report_free(r);
}

/* ---- MRC ---- */

static uint64_t rng(uint64_t *s)
{
    *s = *s * 6364136223846793005u + 1442695040888963407u;
    return *s >> 11;
}

static uint64_t *zipf_trace(size_t n, uint64_t keys, double skew_pow, uint64_t seed)
{
    uint64_t *t = malloc(n * sizeof *t);
    for (size_t i = 0; i < n; i++) {
        double u = (double)rng(&seed) / 9007199254740992.0;
        t[i] = (uint64_t)((double)keys * pow(u, skew_pow)) * 7919u + 13u;
    }
    return t;
}

/* Brute-force LRU hit count: an array kept in recency order. */
static size_t lru_hits(const uint64_t *keys, size_t n, size_t cap)
{
    uint64_t *stack = malloc((cap + 1) * sizeof *stack);
    size_t size = 0, hits = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < size && stack[j] != keys[i])
            j++;
        if (j < size) {
            hits++;
        } else {
            j = size < cap ? size++ : cap - 1;
        }
        memmove(stack + 1, stack, j * sizeof *stack);
        stack[0] = keys[i];
    }
    free(stack);
    return hits;
}

static void test_mrc_exact_small_by_hand(void **state)
{
    (void)state;
    const uint64_t t[] = {1, 2, 3, 1, 1, 2};
    pp_mrc *m;
    assert_int_equal(pp_mrc_exact(t, 6, &m), PP_OK);
    /* distances: 1@3 -> 3, 1@4 -> 1, 2@5 -> 3 */
    assert_double_equal(pp_mrc_miss_ratio(m, 1), 5.0 / 6.0, EPS);
    assert_double_equal(pp_mrc_miss_ratio(m, 2), 5.0 / 6.0, EPS);
    assert_double_equal(pp_mrc_miss_ratio(m, 3), 3.0 / 6.0, EPS);
    assert_double_equal(pp_mrc_miss_ratio(m, 100), 3.0 / 6.0, EPS);
    assert_int_equal(pp_mrc_unique(m), 3);
    assert_int_equal(pp_mrc_capacity_for(m, 0.5), 3);
    assert_int_equal(pp_mrc_capacity_for(m, 0.6), 0); /* cold misses alone: 50 % */
    pp_mrc_free(m);
    assert_int_equal(pp_mrc_exact(t, 0, &m), PP_EINVAL);
    assert_null(m);
    assert_int_equal(pp_mrc_shards(t, 6, 0.0, &m), PP_EINVAL);
    pp_mrc_free(NULL);
}

static void test_mrc_exact_matches_lru_simulation(void **state)
{
    (void)state;
    size_t n = 5000;
    uint64_t *t = zipf_trace(n, 400, 2.0, 7);
    pp_mrc *m;
    assert_int_equal(pp_mrc_exact(t, n, &m), PP_OK);
    const size_t caps[] = {1, 2, 5, 17, 50, 100, 250, 400};
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        double want = 1.0 - (double)lru_hits(t, n, caps[i]) / (double)n;
        assert_double_equal(pp_mrc_miss_ratio(m, caps[i]), want, EPS);
    }
    uint64_t c90 = pp_mrc_capacity_for(m, 0.90);
    if (c90) {
        assert_true(1.0 - pp_mrc_miss_ratio(m, c90) >= 0.90);
        assert_true(c90 == 1 || 1.0 - pp_mrc_miss_ratio(m, c90 - 1) < 0.90);
    }
    pp_mrc_free(m);
    free(t);
}

static double shards_mae(const uint64_t *t, size_t n, double rate)
{
    pp_mrc *ex, *sh;
    assert_int_equal(pp_mrc_exact(t, n, &ex), PP_OK);
    assert_int_equal(pp_mrc_shards(t, n, rate, &sh), PP_OK);
    uint64_t u = pp_mrc_unique(ex);
    double err = 0;
    for (int i = 1; i <= 100; i++) {
        uint64_t c = (uint64_t)((double)u * i / 100.0);
        err += fabs(pp_mrc_miss_ratio(ex, c) - pp_mrc_miss_ratio(sh, c));
    }
    pp_mrc_free(ex);
    pp_mrc_free(sh);
    return err / 100.0;
}

static void test_mrc_shards_close_to_exact(void **state)
{
    (void)state;
    size_t n = 400000;
    uint64_t *zipf = zipf_trace(n, 50000, 3.0, 11);
    double mae = shards_mae(zipf, n, 0.1);
    print_message("SHARDS rate 0.1 zipf-like MAE %.4f\n", mae);
    assert_true(mae <= 0.02);
    mae = shards_mae(zipf, n, 0.02);
    print_message("SHARDS rate 0.02 zipf-like MAE %.4f\n", mae);
    assert_true(mae <= 0.02);
    /* a looping scan over 20000 keys mixed with a hot set of 5000 */
    uint64_t s = 3;
    for (size_t i = 0; i < n; i++)
        zipf[i] = (rng(&s) % 4 == 0) ? (uint64_t)(rng(&s) % 5000) : 1000000u + (i % 20000);
    mae = shards_mae(zipf, n, 0.1);
    print_message("SHARDS rate 0.1 scan+hot MAE %.4f\n", mae);
    assert_true(mae <= 0.02);
    free(zipf);
}

static void test_mrc_sample_is_monotone(void **state)
{
    (void)state;
    size_t n = 20000;
    uint64_t *t = zipf_trace(n, 2000, 2.0, 5);
    pp_mrc *m;
    assert_int_equal(pp_mrc_shards(t, n, 0.5, &m), PP_OK);
    pp_mrc_point pts[32];
    size_t k = pp_mrc_sample(m, pts, 32);
    assert_true(k > 5);
    for (size_t i = 1; i < k; i++) {
        assert_true(pts[i].capacity > pts[i - 1].capacity);
        assert_true(pts[i].miss_ratio <= pts[i - 1].miss_ratio + 1e-12);
    }
    pp_mrc_free(m);
    free(t);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_quiet_op_fires_nothing),
    cmocka_unit_test(test_rule_slow_boundary),
    cmocka_unit_test(test_rule_memory_boundary),
    cmocka_unit_test(test_rule_cpu_boundary),
    cmocka_unit_test(test_rule_share_boundary),
    cmocka_unit_test(test_rule_tail_boundary),
    cmocka_unit_test(test_rule_async_not_judged_by_share),
    cmocka_unit_test(test_rule_waiting_boundary),
    cmocka_unit_test(test_rule_alloc_rate_boundary),
    cmocka_unit_test(test_rule_cache_hit_boundary),
    cmocka_unit_test(test_detect_sources_and_process_cpu),
    cmocka_unit_test(test_amdahl_arithmetic),
    cmocka_unit_test(test_critical_path_is_max),
    cmocka_unit_test(test_impact_boundaries),
    cmocka_unit_test(test_suggestion_noise_gate),
    cmocka_unit_test(test_suggestion_terms_add_up),
    cmocka_unit_test(test_suggestion_critical_path_without_knob),
    cmocka_unit_test(test_targets_pass_fail),
    cmocka_unit_test(test_mrc_exact_small_by_hand),
    cmocka_unit_test(test_mrc_exact_matches_lru_simulation),
    cmocka_unit_test(test_mrc_shards_close_to_exact),
    cmocka_unit_test(test_mrc_sample_is_monotone),
};
PP_TEST_MAIN(tests)
