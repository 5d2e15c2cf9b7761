/*
 * report_console.c - The report in the design's console layout (banner, System
 * Stats, Data Loading, Model Inference, Cache, Optimization Suggestions),
 * then bottlenecks, targets and predicted vs measured. ANSI colour only when
 * the caller asks (the CLI asks on a terminal). Writes only to the given FILE.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <postprof/error.h>
#include <postprof/report.h>

#include "analyze/stats.h"
#include "export/report/report.h"

#define RULE "============================================================"

typedef struct out {
    FILE *f;
    int color;
} out;

static const char *col(const out *o, const char *code)
{
    return o->color ? code : "";
}
#define BOLD "\033[1m"
#define RED "\033[31m"
#define GREEN "\033[32m"
#define YELLOW "\033[33m"
#define RESET "\033[0m"

/* A duration readable at any scale: seconds as the design's report prints them down to
 * 10 ms, then ms, then us. */
static const char *dur(char *buf, size_t cap, double ns)
{
    double s = ns / 1e9;
    if (s >= 0.01)
        snprintf(buf, cap, "%.3fs", s);
    else if (ns >= 1e4)
        snprintf(buf, cap, "%.3fms", ns / 1e6);
    else
        snprintf(buf, cap, "%.2fus", ns / 1e3);
    return buf;
}

/* "9.8 to 14.6 %" from fractions; every printed interval reads this way */
static const char *pct(char *buf, size_t cap, double low, double high)
{
    return pp__stats_range_text(buf, cap, low, high, 100.0, 1, "%");
}

/* "1.92x, 95% 1.80 to 2.05 x, 12 pairs: faster": a comparison's x-factor
 * with its interval and what the interval says (web/report.js, abText,
 * writes the same for the page, which renders from report.json alone) */
static const char *ab_text(char *buf, size_t cap, const pp_ab *ab)
{
    char rg[64];
    snprintf(buf, cap, "%.2fx, 95%% %s, %u pairs: %s", ab->speedup,
             pp__stats_range_text(rg, sizeof rg, ab->speedup_low, ab->speedup_high, 1.0, 2, "x"),
             ab->pairs,
             !ab->significant        ? "no significant change"
             : ab->speedup_low > 1.0 ? "faster"
                                     : "slower");
    return buf;
}

static void header(const out *o, const char *title)
{
    fprintf(o->f, "\n%s%s:%s\n", col(o, BOLD), title, col(o, RESET));
}

/* A section's title with how many items it lists: "Bottlenecks (3):" */
static void count_header(const out *o, const char *title, size_t n)
{
    fprintf(o->f, "\n%s%s (%zu):%s\n", col(o, BOLD), title, n, col(o, RESET));
}

static const char *mib(char *buf, size_t cap, double bytes)
{
    if (bytes >= 1048576.0)
        snprintf(buf, cap, "%.1f MB", bytes / 1048576.0);
    else
        snprintf(buf, cap, "%.1f KB", bytes / 1024.0);
    return buf;
}

#define TOP_OPS 12

/* The operations with the most time (not async spans), with their on-CPU share,
 * allocations and heap peak; a figure nobody measured says so, never 0. */
static void operations(const out *o, const pp_perf_profile *p)
{
    char a[32], b[32], c[32];
    int shown[TOP_OPS];
    size_t n = 0;
    while (n < TOP_OPS) {
        int best = -1;
        for (size_t i = 0; i < p->n_ops; i++) {
            int seen = p->ops[i].async;
            for (size_t k = 0; k < n && !seen; k++)
                seen = shown[k] == (int)i;
            if (!seen && (best < 0 || p->ops[i].total_ns > p->ops[best].total_ns))
                best = (int)i;
        }
        if (best < 0)
            break;
        shown[n++] = best;
    }
    if (n == 0)
        fprintf(o->f, "  (no operations ran during the passes)\n");
    for (size_t k = 0; k < n; k++) {
        const pp_perf_op *op = &p->ops[shown[k]];
        fprintf(o->f, "  %s: %llu calls, %s (%.1f%%); ", op->name, (unsigned long long)op->count,
                dur(a, sizeof a, op->total_ns), op->share * 100.0);
        if (op->cpu_measured && op->cpu_wall_ns > 0) {
            /* the measured calls' share of their wall time, over all the calls */
            double share = op->cpu_ns / op->cpu_wall_ns;
            fprintf(o->f, "CPU %s (%.0f%% of its wall time; %llu of %llu calls measured)",
                    dur(b, sizeof b, share * op->total_ns), share * 100.0,
                    (unsigned long long)op->cpu_calls, (unsigned long long)op->count);
        } else
            fprintf(o->f, "CPU not measured");
        if (op->alloc_measured)
            fprintf(o->f, "; allocated %s", mib(b, sizeof b, op->alloc_bytes));
        else
            fprintf(o->f, "; allocations not measured");
        if (op->mem_measured)
            fprintf(o->f, "; peak +%s\n", mib(c, sizeof c, op->mem_delta_bytes));
        else
            fprintf(o->f, "; memory not measured\n");
    }
}

static const char *impact_col(const out *o, pp_impact i)
{
    return i == PP_IMPACT_HIGH     ? col(o, RED)
           : i == PP_IMPACT_MEDIUM ? col(o, YELLOW)
                                   : col(o, GREEN);
}

static void upper_name(char *dst, size_t cap, const char *name)
{
    size_t i = 0;
    for (; name[i] && i + 1 < cap; i++)
        dst[i] = name[i] == '-' || name[i] == '_' ? ' ' : (char)toupper((unsigned char)name[i]);
    dst[i] = '\0';
}

static void targets(const out *o, const pp_target *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fprintf(o->f, "  %-22s %10.3f %-5s (%s %g) %s%s%s%s\n", t[i].name, t[i].value, t[i].unit,
                t[i].upper ? "<" : ">", t[i].limit, t[i].pass ? col(o, GREEN) : col(o, RED),
                t[i].pass ? "PASS" : "FAIL", col(o, RESET), t[i].measured ? "" : " (no data)");
    }
}

/* System Stats: the machine and the run's end-to-end pass */
static void print_system(const out *o, const pp_report *r)
{
    FILE *f = o->f;
    char a[32];
    header(o, "System Stats");
    fprintf(f, "  CPU Usage: %.1f%%\n", r->system.cpu_percent);
    fprintf(f, "  Memory Usage: %.1f%%\n", r->system.memory_percent);
    fprintf(f, "  Available Memory: %.1f GB\n", r->system.memory_available_gb);
    fprintf(f, "  Peak RSS: %.1f MB\n", r->system.peak_rss_bytes / 1048576.0);
    if (r->perf.n_passes)
        fprintf(f, "  End-to-end pass: %s (median of %zu)\n",
                dur(a, sizeof a, r->perf.end_to_end_ns), r->perf.n_passes);
}

/* Data Loading Performance: each source, its own figures, concurrency, keep-alive */
static void print_loading(const out *o, const pp_report *r)
{
    FILE *f = o->f;
    char a[32], b[32], c[32], d[32];
    header(o, "Data Loading Performance");
    const pp_data_loading *dl = &r->loading;
    for (size_t i = 0; i < dl->n_sources; i++) {
        const pp_load_profile *l = &dl->sources[i];
        /* on CPU and waiting: the loading thread's own; the process's CPU
         * counts every thread (an in-process server's too) */
        char cpu[160], q[48] = "";
        if (l->thread_measured) {
            if (l->cpu_wait_share >= 0)
                snprintf(q, sizeof q, ", queued for a CPU %.0f%%", l->cpu_wait_share * 100.0);
            snprintf(cpu, sizeof cpu, "CPU %.0f%%, waiting %.0f%%%s; process CPU %.0f%%",
                     l->thread_cpu_share * 100.0, l->wait_share * 100.0, q, l->cpu_share * 100.0);
        } else {
            snprintf(cpu, sizeof cpu, "CPU %.0f%%, waiting %.0f%%", l->cpu_share * 100.0,
                     l->wait_share * 100.0);
        }
        fprintf(f, "  %s: %s  (batch %llu: p50 %s, p95 %s, p99 %s; %.0f rows/s, %.2f MB/s; %s)\n",
                l->name, dur(a, sizeof a, l->mean_ns), (unsigned long long)l->batch_size,
                dur(b, sizeof b, l->p50_ns), dur(c, sizeof c, l->p95_ns),
                dur(d, sizeof d, l->p99_ns), l->rows_per_s, l->bytes_per_s / 1048576.0, cpu);
    }
    for (size_t i = 0; i < dl->n_sources; i++) {
        const pp_load_profile *l = &dl->sources[i];
        if (l->n_figures == 0)
            continue;
        fprintf(f, "    %s:", l->name);
        for (size_t k = 0; k < l->n_figures; k++)
            fprintf(f, "%s %s %.6g", k ? "," : "", l->figures[k].name,
                    l->batches ? l->figures[k].total / (double)l->batches : 0.0);
        fprintf(f, " (per batch)\n");
    }
    char x[128], rows[48] = "one batch";
    /* the bound from the sources' own batches above, and the experiment's
     * batches (as many rows as the pass loads), which may differ in size */
    if (dl->n_sources > 1 && dl->critical_path_ns > 0)
        fprintf(f,
                "  the batches above: slowest source %s, all sources %s (at once, loading "
                "takes at least the slowest)\n",
                dur(a, sizeof a, dl->critical_path_ns), dur(b, sizeof b, dl->sum_ns));
    if (dl->concurrency_rows)
        snprintf(rows, sizeof rows, "a batch of %llu rows",
                 (unsigned long long)dl->concurrency_rows);
    if (dl->has_concurrency)
        fprintf(f, "  %s from every source: one after another %s, all at once %s%s%s%s\n", rows,
                dur(a, sizeof a, dl->sequential_ns), dur(b, sizeof b, dl->concurrent_ns),
                dl->concurrency_ab.known ? " (" : "",
                dl->concurrency_ab.known ? ab_text(x, sizeof x, &dl->concurrency_ab) : "",
                dl->concurrency_ab.known ? ")" : "");
    if (dl->has_keep_alive && dl->keep_alive_source >= 0 &&
        (size_t)dl->keep_alive_source < dl->n_sources)
        fprintf(f, "  keep-alive (%s): off %s, on %s per batch%s%s%s\n",
                dl->sources[dl->keep_alive_source].name, dur(a, sizeof a, dl->keep_alive_off_ns),
                dur(b, sizeof b, dl->keep_alive_on_ns), dl->keep_alive_ab.known ? " (" : "",
                dl->keep_alive_ab.known ? ab_text(x, sizeof x, &dl->keep_alive_ab) : "",
                dl->keep_alive_ab.known ? ")" : "");
}

/* Model Inference Performance: each model at its chosen batch, the sweep, int8 */
static void print_inference(const out *o, const pp_report *r)
{
    FILE *f = o->f;
    char a[32], b[32], c[32];
    header(o, "Model Inference Performance");
    const pp_model_inference *mi = &r->inference;
    for (size_t i = 0; i < mi->n_models; i++) {
        const pp_model_profile *m = &mi->models[i];
        uint64_t at = m->best_batch ? m->best_batch : m->current_batch;
        double p50 = 0, thr = 0, lo = 0, hi = 0;
        for (size_t k = 0; k < m->n_points; k++)
            if (m->points[k].batch == at) {
                p50 = m->points[k].p50_ns;
                thr = m->points[k].throughput;
                lo = m->points[k].throughput_low;
                hi = m->points[k].throughput_high;
            }
        char rg[64];
        fprintf(f,
                "  %s: %s  (load %s; best batch %llu: p99 %s, %.0f items/s (95%% %s); "
                "sweep %zu sizes%s)\n",
                m->name, dur(a, sizeof a, p50), dur(b, sizeof b, m->load_ns),
                (unsigned long long)at, dur(c, sizeof c, m->best_p99_ns), thr,
                pp__stats_range_text(rg, sizeof rg, lo, hi, 1.0, 0, "items/s"), m->n_points,
                m->stopped_early ? ", stopped early" : "");
        if (m->top_batch && m->top_batch != m->best_batch)
            fprintf(f,
                    "    highest throughput at batch %llu; batch %llu is not measurably worse "
                    "(their intervals overlap) and smaller\n",
                    (unsigned long long)m->top_batch, (unsigned long long)m->best_batch);
        char x[128];
        if (m->has_int8 && m->int8_ab.known)
            fprintf(f, "    fp32 %.0f items/s vs int8 %.0f items/s (int8 %s)\n", m->fp32_throughput,
                    m->int8_throughput, ab_text(x, sizeof x, &m->int8_ab));
        else if (m->has_int8) /* a report from before the interval was kept */
            fprintf(f, "    fp32 %.0f items/s vs int8 %.0f items/s (%.2fx)\n", m->fp32_throughput,
                    m->int8_throughput,
                    m->fp32_throughput > 0 ? m->int8_throughput / m->fp32_throughput : 0.0);
    }
}

/* Cache Performance: hit ratio, the miss-ratio curve's capacities, backends */
static void print_cache(const out *o, const pp_report *r)
{
    FILE *f = o->f;
    char a[32], b[32];
    header(o, "Cache Performance");
    const pp_cache_profile *k = &r->cache;
    if (!k->present) {
        fprintf(f, "  (the workload has no cache)\n");
    } else {
        fprintf(f, "  Hit Ratio: %.2f%%\n", k->hit_ratio * 100.0);
        fprintf(f, "  Average Time: %s (p99 %s)\n", dur(a, sizeof a, k->mean_ns),
                dur(b, sizeof b, k->p99_ns));
        fprintf(f, "  Misses: %llu, Evictions: %llu, Capacity: %llu entries\n",
                (unsigned long long)k->misses, (unsigned long long)k->evictions,
                (unsigned long long)k->capacity);
        char cf[3][32];
        for (int i = 0; i < 3; i++) {
            /* 0: no capacity reaches it (the trace's first-time misses alone exceed it) */
            if (k->capacity_for[i])
                snprintf(cf[i], sizeof cf[i], "%llu", (unsigned long long)k->capacity_for[i]);
            else
                snprintf(cf[i], sizeof cf[i], "unreachable");
        }
        fprintf(f, "  Capacity for 80/90/95%% hits: %s / %s / %s entries (%s MRC", cf[0], cf[1],
                cf[2], k->mrc_method);
        if (k->sampling_rate < 1.0)
            fprintf(f, ", rate %g", k->sampling_rate);
        fprintf(f, ", %llu accesses, %llu keys)\n", (unsigned long long)k->trace_len,
                (unsigned long long)k->unique_keys);
        /* the current backend against each other one, replays interleaved
         * (reports from before: each backend's own replay, compared without) */
        const pp_cache_backend *now = NULL;
        int paired = 0;
        for (size_t i = 0; i < k->n_backends; i++) {
            now = k->backends[i].current ? &k->backends[i] : now;
            paired |= k->backends[i].against_current.known;
        }
        for (size_t i = 0; i < k->n_backends; i++) {
            const pp_cache_backend *cb = &k->backends[i];
            fprintf(f, "  Backend %s%s: avg %s, p99 %s, hit ratio %.2f%%\n", cb->name,
                    cb->current ? " (current)" : "", dur(a, sizeof a, cb->mean_ns),
                    dur(b, sizeof b, cb->p99_ns), cb->hit_ratio * 100.0);
            /* replays too long to pair within the time allowed: side by
             * side above, no x-factor without its interval */
            if (!cb->current && !cb->against_current.known && now)
                fprintf(f,
                        "    not compared with %s over interleaved replays (a replay here took "
                        "%s, %s there; the pairs would take over %.0f s)\n",
                        now->name, dur(a, sizeof a, cb->replay_ns),
                        dur(b, sizeof b, now->replay_ns), PP_REPORT_BACKEND_PAIRS_S);
        }
        for (size_t i = 0; paired && now && i < k->n_backends; i++) {
            const pp_cache_backend *cb = &k->backends[i];
            const pp_ab *x = &cb->against_current;
            if (cb->current || !x->known)
                continue;
            char xt[128];
            /* the slower of the two first: "redis against in-process" */
            int now_slower = x->significant && x->speedup_low > 1.0;
            int other_slower = x->significant && x->speedup_high < 1.0;
            const pp_cache_backend *slow = now_slower ? now : cb, *quick = now_slower ? cb : now;
            pp_ab inv = *x; /* the slower one's time over the quicker one's */
            if (!now_slower) {
                inv.speedup = 1.0 / x->speedup;
                inv.speedup_low = isfinite(x->speedup_high) ? 1.0 / x->speedup_high : 0.0;
                inv.speedup_high = x->speedup_low > 0 ? 1.0 / x->speedup_low : INFINITY;
            }
            snprintf(xt, sizeof xt, "%.2fx the time, 95%% ", inv.speedup);
            char rg[64];
            pp__stats_range_text(rg, sizeof rg, inv.speedup_low, inv.speedup_high, 1.0, 2, "x");
            fprintf(f,
                    "  %s against %s, the same trace in %u interleaved pairs: replay %s against %s",
                    slow->name, quick->name, x->pairs,
                    dur(a, sizeof a, now_slower ? cb->pair_current_ns : cb->pair_replay_ns),
                    dur(b, sizeof b, now_slower ? cb->pair_replay_ns : cb->pair_current_ns));
            fprintf(f, " (%s%s)%s\n", xt, rg,
                    !(now_slower || other_slower) ? ": no significant change"
                    : inv.speedup_low > 1.5
                        ? ": a shared remote cache pays only when several processes share one "
                          "cache or the working set exceeds one machine's memory"
                        : "");
        }
        if (k->n_backends < 2)
            fprintf(f, "  One cache backend measured (the design expects 40%% from Redis: with "
                       "--cache redis://HOST:PORT the in-process LRU and Redis are measured side "
                       "by side)\n");
        char x[128];
        if (k->has_recommended && k->recommended_ab.known && k->recommended_now_ns > 0)
            fprintf(f, "  At %llu entries: hit ratio %.2f%%, replay %s (now %s; %s)\n",
                    (unsigned long long)k->recommended_capacity, k->recommended_hit_ratio * 100.0,
                    dur(a, sizeof a, k->recommended_replay_ns),
                    dur(b, sizeof b, k->recommended_now_ns),
                    ab_text(x, sizeof x, &k->recommended_ab));
        else if (k->has_recommended) /* a report from before the pairs were kept */
            fprintf(f, "  At %llu entries: hit ratio %.2f%%, replay %s (now %s)\n",
                    (unsigned long long)k->recommended_capacity, k->recommended_hit_ratio * 100.0,
                    dur(a, sizeof a, k->recommended_replay_ns), dur(b, sizeof b, k->replay_ns));
    }
}

/* Optimization Suggestions, each with its interval and basis */
static void print_suggestions(const out *o, const pp_report *r)
{
    FILE *f = o->f;
    count_header(o, "Optimization Suggestions", r->n_suggestions);
    for (size_t i = 0; i < r->n_suggestions; i++) {
        const pp_suggestion *s = &r->suggestions[i];
        char imp[16];
        upper_name(imp, sizeof imp, pp_impact_name(s->impact));
        fprintf(f, "  %zu. %s[%s]%s %s\n", i + 1, impact_col(o, s->impact), imp, col(o, RESET),
                s->description);
        fprintf(f, "     Implementation: %s\n", s->implementation);
        char rg[64];
        if (s->expected_improvement_high > s->expected_improvement_low)
            fprintf(f, "     Expected Improvement: %.1f%% (90%% %s)\n",
                    s->expected_improvement * 100.0,
                    pct(rg, sizeof rg, s->expected_improvement_low, s->expected_improvement_high));
        else
            fprintf(f, "     Expected Improvement: %.1f%% (an estimate: no interval)\n",
                    s->expected_improvement * 100.0);
        fprintf(f, "     Basis: %s (%s): %s\n", pp_basis_name(s->basis), s->model, s->evidence);
        if (s->design_gain >= 0)
            fprintf(f, "     Design's expected gain: %.0f%%; measured here: %.1f%%%s\n",
                    s->design_gain * 100.0, s->expected_improvement * 100.0,
                    s->expected_improvement + 0.10 < s->design_gain
                        ? " (the design's figure does not hold for this workload)"
                        : "");
    }
}

/* What a tested setting that was not suggested did to the passes: slower
 * beyond doubt, faster but with no site to predict from, faster with sites
 * whose prediction reaches zero, faster by too little, or no change the
 * pairs could tell from the noise. The HTML report's table says the same
 * from report.json (web/report.js, verdict). */
static const char *untested_verdict(const pp_experiment *e)
{
    if (e->speedup_high > 0 && e->speedup_high < 1.0)
        return "slower with it: the passes' 95% interval lies below no change";
    if (e->speedup_low > 1.0 && !(e->predicted_low > 0)) {
        for (size_t i = 0; i < e->n_sites; i++)
            if (e->sites[i].significant)
                return "the passes were faster, but what the sites that changed predict is too "
                       "uncertain to vouch for: its 90% interval reaches no gain";
        return "the passes were faster, but no change of the sites it runs stood out from the "
               "noise, so nothing predicts what it gains";
    }
    if (e->speedup_low > 1.0)
        return "faster, by less than the minimum effect can be vouched for";
    return "no significant change";
}

/* the experiments whose setting was not suggested */
/* A phase whose passes at the current settings took longer on one CPU than
 * on another (only when they did, with the interval; web/report.js writes
 * the same note for the page) */
static void print_cpu_split(FILE *f, const pp_cpu_split *x, const char *whose)
{
    char a[32], b[32];
    if (!x->known || !x->differs)
        return;
    fprintf(f,
            "  The CPUs: %s passes at the current settings took %s on CPU %d (%u passes) and %s "
            "on CPU %d (%u): %.2fx (95%% %.2f to %.2f x). This machine's CPUs differ in speed, "
            "so a pass's time depends on the CPU its thread lands on, and a pair whose passes "
            "ran on different CPUs measures them as well as the setting\n",
            whose, dur(a, sizeof a, x->slow_ns), x->slow_cpu, x->slow_passes,
            dur(b, sizeof b, x->quick_ns), x->quick_cpu, x->quick_passes, x->ratio, x->ratio_low,
            x->ratio_high);
}

/* The experiments the run's time limit stopped while they were still going. */
static void print_cut_short(FILE *f, const pp_report *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_experiments; i++)
        n += r->experiments[i].cut_short != 0;
    if (!n)
        return;
    fprintf(f,
            "  The run's time limit ([profile] run_budget_s) stopped %zu experiment%s while "
            "still going (",
            n, n == 1 ? "" : "s");
    for (size_t i = 0, k = 0; i < r->n_experiments; i++)
        if (r->experiments[i].cut_short)
            fprintf(f, "%s%s=%lld", k++ ? ", " : "", pp_knob_name(r->experiments[i].knob),
                    (long long)r->experiments[i].cand_value);
    fprintf(f, "): their intervals are wider than more pairs would have made them (a slow "
               "machine, or a short limit)\n");
}

static void print_untested(const out *o, const pp_report *r)
{
    FILE *f = o->f;
    char a[32], b[32];
    size_t n_quiet = 0;
    for (size_t i = 0; i < r->n_experiments; i++)
        n_quiet += r->experiments[i].n_sites > 0 && !r->experiments[i].suggested;
    if (n_quiet) {
        fprintf(f, "  Tested and not suggested (the predicted gain's 90%% interval "
                   "reaches the minimum effect):\n");
        for (size_t i = 0; i < r->n_experiments; i++) {
            const pp_experiment *e = &r->experiments[i];
            if (e->n_sites == 0 || e->suggested)
                continue;
            double g = 1.0 - 1.0 / e->speedup;
            double lo = e->speedup_low > 0 ? 1.0 - 1.0 / e->speedup_low : -INFINITY;
            double hi = 1.0 - 1.0 / e->speedup_high;
            char r1[64], r2[64];
            fprintf(f,
                    "  - %s=%lld (now %lld): pass %s -> %s, gain %.1f%% (95%% %s), "
                    "predicted %.1f%% (90%% %s): %s\n",
                    pp_knob_name(e->knob), (long long)e->cand_value, (long long)e->current_value,
                    dur(a, sizeof a, e->base_ns), dur(b, sizeof b, e->cand_ns), g * 100.0,
                    pct(r1, sizeof r1, lo, hi), e->predicted * 100.0,
                    pct(r2, sizeof r2, e->predicted_low, e->predicted_high), untested_verdict(e));
        }
    }
    print_cpu_split(f, &r->experiment_cpus, "the experiments'");
    print_cut_short(f, r);
}

/* Bottlenecks */
static void print_findings(const out *o, const pp_report *r)
{
    FILE *f = o->f;
    count_header(o, "Bottlenecks", r->n_findings);
    for (size_t i = 0; i < r->n_findings; i++) {
        const pp_finding *fd = &r->findings[i];
        int high = fd->severity == PP_SEV_HIGH;
        fprintf(f, "  %s[%s]%s %s (%s): %s\n", high ? col(o, RED) : col(o, YELLOW),
                high ? "HIGH" : "MODERATE", col(o, RESET), fd->operation,
                pp_finding_kind_name(fd->kind), fd->message);
    }
}

/* How a measurement was adjusted for the machine's speed; a line only when
 * there was a gauge to speak of. */
static void print_gauge(const out *o, const pp_apply_gauge *g)
{
    char r[64];
    if (g->set_aside)
        fprintf(o->f,
                "     %u pair%s set aside: the machine changed speed between its two passes "
                "(the stages it does not change took over 10%% more or less time than in the "
                "other pairs); over every pair %.1f%% (95%% %s)\n",
                g->set_aside, g->set_aside == 1 ? "" : "s", g->raw * 100.0,
                pct(r, sizeof r, g->raw_low, g->raw_high));
    if (g->used)
        fprintf(o->f,
                "     adjusted for the machine's speed, gauged by the stages it does not change "
                "(%s, %.0f%% of a pass, weight %.2f); unadjusted %.1f%% (95%% %s)\n",
                g->stages, g->share * 100.0, g->theta, g->raw * 100.0,
                pct(r, sizeof r, g->raw_low, g->raw_high));
    else if (g->stages[0] && g->gauge_ratio > 0 && (g->gauge_low > 1.0 || g->gauge_high < 1.0))
        fprintf(o->f,
                "     not adjusted: the stages it should not change (%s) took %.3fx their time "
                "(95%% %.3f to %.3f): they share the machine with what it changes\n",
                g->stages, g->gauge_ratio, g->gauge_low, g->gauge_high);
}

/* "inside", "below" or "above" [low, high] for x; NULL when not known. */
static const char *side_of(double x, double low, double high)
{
    if (!isfinite(x) || !isfinite(low) || !isfinite(high) || low > high)
        return NULL;
    return x < low ? "below" : x > high ? "above" : "inside";
}

/* Predicted vs Measured (--apply): each suggestion alone, all at once, targets after */
static void print_apply(const out *o, const pp_report *r)
{
    FILE *f = o->f;
    char a[32], b[32];
    if (!r->apply.done)
        return;
    const pp_apply *ap = &r->apply;
    header(o, "Predicted vs Measured (--apply)");
    const pp_apply_speed *sp = &ap->speed;
    if (sp->known)
        fprintf(f,
                "  The machine's speed: a pass at the current settings took %s here, %s in the "
                "experiments (%.2fx, 95%% %.2f to %.2f): %s\n",
                dur(a, sizeof a, sp->apply_ns), dur(b, sizeof b, sp->experiments_ns), sp->ratio,
                sp->ratio_low, sp->ratio_high,
                sp->differs ? "another speed; each prediction was made at the experiments', and "
                              "a site's share of a pass moves with it, so each is made again "
                              "at this speed (the experiments' site speedups, this run's "
                              "shares) and judges the measurement"
                : sp->ratio_low >= 1.0 / 1.05 && sp->ratio_high <= 1.05
                    ? "the same speed within 5 %"
                : sp->ratio_high < 1.0 || sp->ratio_low > 1.0
                    ? "a different speed, but not shown to differ by more than 5 %, the least "
                      "for which predictions are made again"
                    : "no difference the passes can show");
    print_cpu_split(f, &ap->cpus, "--apply's");
    size_t hits = 0, as_predicted = 0, judged = 0;
    for (size_t i = 0; i < ap->n; i++) {
        const pp_apply_result *x = &ap->results[i];
        hits += x->hit != 0;
        as_predicted += x->hit_as_predicted != 0;
        judged += x->at_speed.judged != 0;
        char r1[64], r2[64];
        fprintf(f,
                "  %zu. %s (%s=%lld): predicted %.1f%% (90%% %s), measured %.1f%% "
                "(95%% %s, %u pairs%s): %s%s%s\n",
                i + 1, pp_category_name(x->category),
                x->knob >= 0 ? pp_knob_name((pp_knob)x->knob) : "?", (long long)x->value,
                x->predicted_improvement * 100.0,
                pct(r1, sizeof r1, x->predicted_low, x->predicted_high),
                x->measured_improvement * 100.0,
                pct(r2, sizeof r2, x->measured_low, x->measured_high), x->pairs,
                x->cut_short ? ", cut short by the run's time limit" : "", x->hit ? "hit" : "miss",
                x->note[0] ? " - " : "", x->note);
        print_gauge(o, &x->gauge);
    }
    if (judged)
        fprintf(f,
                "  Measured inside the prediction made at this speed: %zu of %zu (coverage "
                "%.0f%%); inside the intervals printed with the suggestions: %zu of %zu\n",
                hits, ap->n, ap->coverage * 100.0, as_predicted, ap->n);
    else
        fprintf(f, "  Measured inside the predicted interval: %zu of %zu (coverage %.0f%%)\n", hits,
                ap->n, ap->coverage * 100.0);
    if (ap->n && ap->coverage_expected > 0) /* 0: not computed; NAN: not known */
        fprintf(f,
                "  Coverage expected of right predictions, given the predictions' and the "
                "measurements' noise: %.0f%%\n",
                ap->coverage_expected * 100.0);
    const pp_apply_combined *cb = &ap->combined;
    char r1[64], r2[64];
    /* where the measurement lies against the interval that judges it: the
     * prediction made at this speed when there is one, else the printed one */
    int at_speed = cb->at_speed.judged;
    const char *where =
        side_of(cb->measured, at_speed ? cb->at_speed.predicted_low : cb->predicted_low,
                at_speed ? cb->at_speed.predicted_high : cb->predicted_high);
    if (cb->pairs == 0)
        fprintf(f, "  All at once: no setting to apply\n");
    else
        fprintf(f,
                "  All at once: predicted %.1f%% (90%% %s, composed per site), measured "
                "%.1f%% (95%% %s, %u pairs%s)%s%s%s\n",
                cb->predicted * 100.0, pct(r1, sizeof r1, cb->predicted_low, cb->predicted_high),
                cb->measured * 100.0, pct(r2, sizeof r2, cb->measured_low, cb->measured_high),
                cb->pairs, cb->cut_short ? ", cut short by the run's time limit" : "",
                !at_speed && where ? ": " : "", !at_speed && where ? where : "",
                !at_speed && where ? " the predicted interval" : "");
    if (cb->pairs > 0 && at_speed)
        fprintf(f, "     at this speed of the machine: predicted %.1f%% (90%% %s)%s%s%s\n",
                cb->at_speed.predicted * 100.0,
                pct(r1, sizeof r1, cb->at_speed.predicted_low, cb->at_speed.predicted_high),
                where ? ": measured " : "", where ? where : "", where ? " it" : "");
    if (cb->pairs > 0)
        print_gauge(o, &cb->gauge);
    double gain = ap->before_ns > 0 ? 1.0 - ap->after_ns / ap->before_ns : 0.0;
    if (ap->before_ns > 0)
        fprintf(f, "  End to end: before %s, after %s (%.1f%% %s)\n",
                dur(a, sizeof a, ap->before_ns), dur(b, sizeof b, ap->after_ns), fabs(gain) * 100.0,
                gain >= 0 ? "better" : "slower");
    fprintf(f, "  Targets before (measured in a window like the after one):\n");
    targets(o, ap->before_targets, ap->n_before_targets);
    fprintf(f, "  Targets after:\n");
    targets(o, ap->after_targets, ap->n_after_targets);
}

int pp_report_print_console(const pp_report *r, FILE *f, unsigned flags)
{
    out o = {f, (flags & PP_CONSOLE_COLOR) != 0};
    char title[PP_REPORT_NAME_MAX];
    upper_name(title, sizeof title, r->workload[0] ? r->workload : "linkedin-posts");
    fprintf(f, "%s\n%s%s PROFILING REPORT%s\n%s\n", RULE, col(&o, BOLD), title, col(&o, RESET),
            RULE);
    print_system(&o, r);
    print_loading(&o, r);
    print_inference(&o, r);
    print_cache(&o, r);
    header(&o, "Operations (the profiled passes, most time first)");
    operations(&o, &r->perf);
    print_suggestions(&o, r);
    print_untested(&o, r);
    print_findings(&o, r);
    header(&o, "Performance Targets");
    targets(&o, r->targets, r->n_targets);
    print_apply(&o, r);
    pp__console_causal(f, o.color, r);
    fprintf(f, "%s\n", RULE);
    fflush(f);
    return ferror(f) ? PP_EIO : PP_OK;
}
