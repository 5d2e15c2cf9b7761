/*
 * bottleneck.c - Bottleneck rules: the design's thresholds (duration, memory,
 * CPU) plus share of end-to-end time, tail latency, waiting, allocation rate
 * and cache hit ratio. The per-operation memory, CPU, tail and waiting rules
 * only judge operations that are a meaningful share of the pass (min_*_share;
 * every threshold's default is in src/profilers/config.c, documented in
 * docs/report-schema.md). Pure: figures in, findings out; no I/O, no clocks.
 */
#include <stdio.h>
#include <string.h>

#include <postprof/analyze.h>

#define MIB 1048576.0

enum {
    R_SLOW = 1u << 0,
    R_MEM = 1u << 1,
    R_CPU = 1u << 2,
    R_SHARE = 1u << 3,
    R_TAIL = 1u << 4, /* needs share >= min_tail_share */
    R_WAIT = 1u << 5, /* needs share >= min_wait_share */
    R_WAIT_ANY = 1u << 6,
    R_ALLOC = 1u << 7,
    R_TAIL_ANY = 1u << 8, /* tail whatever the share (ops outside the pass) */
    R_MEM_ANY = 1u << 9,  /* memory whatever the share (ops outside the pass) */
    R_ALL_OPS = R_SLOW | R_MEM | R_CPU | R_SHARE | R_TAIL | R_WAIT | R_ALLOC,
};

typedef struct sink {
    pp_finding *out;
    size_t cap, n;
} sink;

static void emit(sink *s, const char *op, pp_finding_kind kind, pp_severity sev, double value,
                 double threshold, const char *unit, const char *msg)
{
    if (s->n < s->cap) {
        pp_finding *f = &s->out[s->n];
        memset(f, 0, sizeof *f);
        snprintf(f->operation, sizeof f->operation, "%s", op);
        f->kind = kind;
        f->severity = sev;
        f->value = value;
        f->threshold = threshold;
        snprintf(f->unit, sizeof f->unit, "%s", unit);
        snprintf(f->message, sizeof f->message, "%s", msg);
    }
    s->n++;
}

static void check(const pp_perf_op *op, const pp_thresholds *t, unsigned rules, sink *s)
{
    char msg[PP_REPORT_TEXT_MAX];
    /* async spans overlap each other and the pass: their summed time is no
     * share of it, so neither the share rule nor the rules gated by share
     * apply (the others still do) */
    if (op->async)
        rules &= ~(unsigned)(R_SHARE | R_TAIL | R_WAIT);
    if (rules & R_SLOW) {
        double sec = op->mean_ns / 1e9;
        if (sec > t->slow_s) {
            snprintf(msg, sizeof msg, "Slow execution: %.2fs per call", sec);
            emit(s, op->name, PP_FIND_SLOW, PP_SEV_HIGH, sec, t->slow_s, "s", msg);
        } else if (sec > t->moderate_s) {
            snprintf(msg, sizeof msg, "Moderate execution: %.2fs per call", sec);
            emit(s, op->name, PP_FIND_SLOW, PP_SEV_MODERATE, sec, t->moderate_s, "s", msg);
        }
    }
    /* memory and CPU only for an op that is a meaningful share of the pass:
     * a scope of 0.1 % of it running on CPU is no bottleneck of the pass */
    int mem_ok = (rules & R_MEM_ANY) || ((rules & R_MEM) && op->share >= t->min_mem_share);
    if (mem_ok) {
        double mb = op->mem_delta_bytes / MIB;
        if (mb > t->mem_high_mb) {
            snprintf(msg, sizeof msg, "High memory usage: %.1fMB", mb);
            emit(s, op->name, PP_FIND_MEMORY, PP_SEV_HIGH, mb, t->mem_high_mb, "MB", msg);
        } else if (mb > t->mem_moderate_mb) {
            snprintf(msg, sizeof msg, "Moderate memory usage: %.1fMB", mb);
            emit(s, op->name, PP_FIND_MEMORY, PP_SEV_MODERATE, mb, t->mem_moderate_mb, "MB", msg);
        }
    }
    double cpu_share = op->cpu_wall_ns > 0 ? op->cpu_ns / op->cpu_wall_ns : -1.0;
    /* CPU by what the op's own code takes of the pass: a scope that encloses
     * others is as CPU-bound as they are, and they are judged themselves (a
     * fresh run listed posts.pipeline.run, posts.pipeline.load and
     * posts.load.source, whose own code is under 4 % of a pass, among 13
     * "High CPU usage" findings beside the 6 scopes that compute) */
    double own = op->total_ns > 0 ? op->share * op->self_ns / op->total_ns : op->share;
    int cpu_ok = (rules & R_CPU) && own >= t->min_cpu_share;
    if (cpu_ok && cpu_share >= 0 && cpu_share * 100.0 > t->cpu_high_percent) {
        if (own < 0.995 * op->share)
            snprintf(msg, sizeof msg,
                     "High CPU usage: %.1f%% of its wall time (%.1f%% of the pass, %.1f%% in its "
                     "own code)",
                     cpu_share * 100.0, op->share * 100.0, own * 100.0);
        else
            snprintf(msg, sizeof msg,
                     "High CPU usage: %.1f%% of its wall time (%.1f%% of the pass)",
                     cpu_share * 100.0, op->share * 100.0);
        emit(s, op->name, PP_FIND_CPU, PP_SEV_HIGH, cpu_share * 100.0, t->cpu_high_percent, "%",
             msg);
    }
    if ((rules & R_SHARE) && op->share >= t->share) {
        snprintf(msg, sizeof msg, "%.1f%% of end-to-end time", op->share * 100.0);
        emit(s, op->name, PP_FIND_SHARE, PP_SEV_HIGH, op->share, t->share, "ratio", msg);
    }
    int tail_ok = (rules & R_TAIL_ANY) || ((rules & R_TAIL) && op->share >= t->min_tail_share);
    if (tail_ok && op->p50_ns > 0 && op->p99_ns / op->p50_ns >= t->tail_ratio) {
        double ratio = op->p99_ns / op->p50_ns;
        snprintf(msg, sizeof msg, "Long tail: p99 %.3fms is %.1fx p50 %.3fms", op->p99_ns / 1e6,
                 ratio, op->p50_ns / 1e6);
        emit(s, op->name, PP_FIND_TAIL, PP_SEV_MODERATE, ratio, t->tail_ratio, "ratio", msg);
    }
    int wait_ok = (rules & R_WAIT_ANY) || ((rules & R_WAIT) && op->share >= t->min_wait_share);
    if (wait_ok && cpu_share >= 0 && cpu_share <= t->waiting_cpu_share) {
        snprintf(msg, sizeof msg, "Waiting: on CPU %.0f%% of its wall time (I/O or lock bound)",
                 cpu_share * 100.0);
        emit(s, op->name, PP_FIND_WAITING, PP_SEV_MODERATE, cpu_share, t->waiting_cpu_share,
             "ratio", msg);
    }
    /* like the memory rule, only for an op that is a part of the pass worth
     * judging: set-up calls (posts.pipeline.new, posts.model.load, under 1 %
     * of a pass) allocate at GB/s for a fraction of a millisecond */
    int alloc_ok = (rules & R_ALLOC) && ((rules & R_MEM_ANY) || op->share >= t->min_mem_share);
    if (alloc_ok && op->total_ns > 0) {
        double rate = (op->alloc_bytes / MIB) / (op->total_ns / 1e9);
        if (rate >= t->alloc_rate_mb_s) {
            snprintf(msg, sizeof msg, "Allocation rate %.0f MB/s", rate);
            emit(s, op->name, PP_FIND_ALLOC_RATE, PP_SEV_MODERATE, rate, t->alloc_rate_mb_s, "MB/s",
                 msg);
        }
    }
}

size_t pp_bottleneck_check_op(const pp_perf_op *op, const pp_thresholds *t, pp_finding *out,
                              size_t cap)
{
    sink s = {out, cap, 0};
    check(op, t, R_ALL_OPS, &s);
    return s.n;
}

void pp_bottleneck_detect(pp_report *r, const pp_thresholds *t)
{
    sink s = {r->findings, PP_REPORT_MAX_FINDINGS, 0};
    for (size_t i = 0; i < r->perf.n_ops; i++) {
        /* an op that encloses the whole pass (and the ops under it) is the
         * end-to-end time itself, not a bottleneck by share */
        unsigned rules = R_ALL_OPS;
        int has_child = 0;
        for (size_t k = 0; k < r->perf.n_ops && !has_child; k++)
            has_child = r->perf.ops[k].parent == (int)i;
        if (has_child && r->perf.ops[i].share >= 0.99)
            rules &= ~(unsigned)R_SHARE;
        check(&r->perf.ops[i], t, rules, &s);
    }

    for (size_t i = 0; i < r->loading.n_sources; i++) {
        const pp_load_profile *lp = &r->loading.sources[i];
        if (lp->batches == 0)
            continue;
        pp_perf_op op;
        memset(&op, 0, sizeof op);
        snprintf(op.name, sizeof op.name, "load.%.40s", lp->name);
        op.mean_ns = lp->mean_ns;
        op.p50_ns = lp->p50_ns;
        op.p99_ns = lp->p99_ns;
        op.cpu_wall_ns = lp->mean_ns * (double)lp->batches;
        /* the loading thread's own CPU: the process's counts the threads it
         * waits on (an in-process server) as if the loading computed */
        op.cpu_ns = (lp->thread_measured ? lp->thread_cpu_share : lp->cpu_share) * op.cpu_wall_ns;
        op.mem_delta_bytes = lp->rss_delta_bytes;
        check(&op, t, R_SLOW | R_MEM_ANY | R_TAIL_ANY | R_WAIT_ANY, &s);
    }

    for (size_t i = 0; i < r->inference.n_models; i++) {
        const pp_model_profile *mp = &r->inference.models[i];
        uint64_t b = mp->best_batch ? mp->best_batch : mp->current_batch;
        for (size_t k = 0; k < mp->n_points; k++) {
            if (mp->points[k].batch != b)
                continue;
            pp_perf_op op;
            memset(&op, 0, sizeof op);
            snprintf(op.name, sizeof op.name, "infer.%.40s@%llu", mp->name, (unsigned long long)b);
            op.mean_ns = mp->points[k].mean_ns;
            op.p50_ns = mp->points[k].p50_ns;
            op.p99_ns = mp->points[k].p99_ns;
            check(&op, t, R_SLOW | R_TAIL_ANY, &s);
        }
    }

    if (r->cache.present && r->cache.ops > 0 && r->cache.hit_ratio < t->cache_hit_ratio) {
        char msg[PP_REPORT_TEXT_MAX];
        snprintf(msg, sizeof msg, "Cache hit ratio %.1f%% under the %.1f%% target",
                 r->cache.hit_ratio * 100.0, t->cache_hit_ratio * 100.0);
        pp_severity sev =
            r->cache.hit_ratio < t->cache_hit_ratio / 2.0 ? PP_SEV_HIGH : PP_SEV_MODERATE;
        emit(&s, "cache", PP_FIND_CACHE_HIT, sev, r->cache.hit_ratio, t->cache_hit_ratio, "ratio",
             msg);
    }

    if (r->system.cpu_percent > t->cpu_high_percent) {
        char msg[PP_REPORT_TEXT_MAX];
        snprintf(msg, sizeof msg, "High CPU usage: %.1f%%", r->system.cpu_percent);
        emit(&s, "process", PP_FIND_CPU, PP_SEV_HIGH, r->system.cpu_percent, t->cpu_high_percent,
             "%", msg);
    }
    r->n_findings = s.n < PP_REPORT_MAX_FINDINGS ? s.n : PP_REPORT_MAX_FINDINGS;
}
