/*
 * performance.c - The design's PerformanceProfiler: end-to-end passes of a
 * workload between two snapshots; every scope that ran becomes an operation
 * (count, total/self time, percentiles, CPU vs wall, memory, share of
 * end-to-end time) in call-tree order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/causal.h>
#include <postprof/error.h>
#include <postprof/profilers.h>
#include <postprof/scope.h>
#include <postprof/snapshot.h>

#include "profilers/prof_impl.h"

/* On-CPU time of every Nth call of a scope on each thread (the first one
 * included, so every op that ran is measured): a thread-CPU clock read is a
 * system call (bench_scope cpu_scope_ns: 7-11 us for the two on a virtual
 * machine), and a pass of the posts pipeline makes ~86 000 scope calls;
 * 1 in 64 keeps that within ~1 % of the pass (bench_op_figures) */
#define PERF_CPU_EVERY 64

typedef struct node {
    const pp_site_stats *after;
    const pp_site_stats *before; /* NULL: new since the first snapshot */
} node;

static void fill_op(pp_perf_op *op, const node *nd, double e2e_total_ns)
{
    const pp_site_stats *a = nd->after, *b = nd->before;
    memset(op, 0, sizeof *op);
    snprintf(op->name, sizeof op->name, "%s", a->name ? a->name : "?");
    op->count = a->count - (b ? b->count : 0);
    op->total_ns = a->total_ns - (b ? b->total_ns : 0);
    op->self_ns = a->self_ns - (b ? b->self_ns : 0);
    op->mean_ns = op->count ? op->total_ns / (double)op->count : 0;
    op->max_ns = a->max_ns;
    op->p50_ns = a->p50_ns;
    op->p95_ns = a->p95_ns;
    op->p99_ns = a->p99_ns;
    /* a figure no call measured is "not measured", never 0 */
    op->cpu_calls = a->cpu_samples - (b ? b->cpu_samples : 0);
    op->cpu_measured = op->cpu_calls > 0;
    op->cpu_ns = a->cpu_ns - (b ? b->cpu_ns : 0);
    op->cpu_wall_ns = a->cpu_wall_ns - (b ? b->cpu_wall_ns : 0);
    /* a scope runs on one thread, so its CPU time cannot exceed its wall
     * time: what a short call shows above it is the CPU clock's own cost
     * (a system call of a few us read around the call), not the call */
    if (op->cpu_ns > op->cpu_wall_ns)
        op->cpu_ns = op->cpu_wall_ns;
    uint64_t mem_calls = a->mem_calls - (b ? b->mem_calls : 0);
    op->alloc_measured = mem_calls > 0;
    if (op->alloc_measured) {
        /* calls counted are all of them when counting ran through the passes;
         * otherwise the counted calls' mean, times the calls */
        double bytes = (double)(a->mem_alloc_bytes - (b ? b->mem_alloc_bytes : 0));
        op->alloc_bytes =
            mem_calls < op->count ? bytes * (double)op->count / (double)mem_calls : bytes;
        op->mem_delta_bytes = a->mem_peak_bytes > 0 ? (double)a->mem_peak_bytes : 0;
        op->mem_measured = 1;
    } else if (a->flags & PP_SITE_MEM) {
        uint64_t calls = op->count ? op->count : 1;
        double rss = (double)(a->rss_delta_bytes - (b ? b->rss_delta_bytes : 0)) / (double)calls;
        op->mem_delta_bytes = rss > 0 ? rss : 0;
        op->mem_measured = 1;
    }
    op->share = e2e_total_ns > 0 ? op->total_ns / e2e_total_ns : 0;
    op->async = (a->flags & PP_SITE_ASYNC) != 0;
}

/* Depth-first from parent_id: children after their parent. */
static void walk(const node *nodes, size_t n, uint32_t parent_id, int parent_idx, int depth,
                 double e2e, pp_perf_profile *out, char *done)
{
    for (size_t i = 0; i < n; i++) {
        if (done[i] || nodes[i].after->parent_id != parent_id)
            continue;
        if (out->n_ops >= PP_REPORT_MAX_OPS)
            return;
        done[i] = 1;
        int idx = (int)out->n_ops++;
        fill_op(&out->ops[idx], &nodes[i], e2e);
        out->ops[idx].parent = parent_idx;
        out->ops[idx].depth = depth;
        walk(nodes, n, nodes[i].after->id, idx, depth + 1, e2e, out, done);
    }
}

/* The workload's before_pass (version 2), outside the pass's timing. */
static void before_pass(const pp_workload *w)
{
    if (w->version >= 2 && w->before_pass)
        w->before_pass(w->ctx);
}

int pp_profiler_performance(const pp_workload *w, const pp_profiler_cfg *cfg, pp_perf_profile *out)
{
    pp_snapshot *before = NULL, *after = NULL;
    node *nodes = NULL;
    char *done = NULL;
    int rc = pp_workload_check(w);
    memset(out, 0, sizeof *out);
    for (int i = 0; i < PP_STAGE_COUNT; i++)
        out->stage_share[i] = -1.0;
    if (rc != PP_OK)
        goto out;
    unsigned passes = cfg->passes < 1 ? 1 : cfg->passes;
    if (passes > PP_REPORT_MAX_PASSES)
        passes = PP_REPORT_MAX_PASSES;
    before_pass(w);
    if ((rc = pp__prof_timed(w, PP_STAGE_PASS, 0, NULL, NULL, NULL)) != PP_OK) /* warm-up */
        goto out;
    /* on-CPU time (a sample of calls: the two thread-CPU clock reads are a
     * system call each) and allocations (every call) of every scope, during
     * the measured passes only (experiments time their stages without them) */
    uint32_t cpu_every = pp_cpu_sampling();
    int alloc_on = pp_alloc_counting();
    pp_set_cpu_sampling(PERF_CPU_EVERY);
    pp_set_alloc_counting(1);
    if ((rc = pp_snapshot_take(&before)) != PP_OK)
        goto restore;
    double sum = 0;
    for (unsigned i = 0; i < passes; i++) {
        double ns, cpu_ns;
        before_pass(w);
        if ((rc = pp__prof_timed(w, PP_STAGE_PASS, 0, NULL, &ns, &cpu_ns)) != PP_OK)
            goto restore;
        out->pass_cpu_ns[out->n_passes] = cpu_ns;
        out->pass_ns[out->n_passes++] = ns;
        sum += ns;
    }
restore:
    pp_set_cpu_sampling(cpu_every);
    pp_set_alloc_counting(alloc_on);
    if (rc != PP_OK)
        goto out;
    double tmp[PP_REPORT_MAX_PASSES];
    memcpy(tmp, out->pass_ns, out->n_passes * sizeof tmp[0]);
    out->end_to_end_ns = pp__prof_median(tmp, out->n_passes);
    if ((rc = pp_snapshot_take(&after)) != PP_OK)
        goto out;

    size_t n = pp_snapshot_count(after), k = 0;
    nodes = calloc(n ? n : 1, sizeof *nodes);
    done = calloc(n ? n : 1, 1);
    if (!nodes || !done) {
        rc = PP_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const pp_site_stats *a = pp_snapshot_site(after, i);
        const pp_site_stats *b = pp_snapshot_by_id(before, a->id);
        /* a progress point (PP_PROGRESS) counts units of work, it takes no time: no operation */
        int progress = (a->flags & (PP_SITE_PROGRESS | PP_SITE_LATENCY)) == PP_SITE_PROGRESS;
        if (a->count > (b ? b->count : 0) && !progress)
            nodes[k++] = (node){a, b};
    }
    walk(nodes, k, 0, -1, 0, sum, out, done);
    /* scopes whose parent did not run during the passes: roots */
    for (size_t i = 0; i < k && out->n_ops < PP_REPORT_MAX_OPS; i++) {
        if (done[i])
            continue;
        done[i] = 1;
        int idx = (int)out->n_ops++;
        fill_op(&out->ops[idx], &nodes[i], sum);
        out->ops[idx].parent = -1;
        walk(nodes, k, nodes[i].after->id, idx, 1, sum, out, done);
    }
    for (int s = 0; s < PP_STAGE_COUNT; s++) {
        if (!w->stage_scopes[s])
            continue;
        double total = 0;
        int found = 0;
        for (size_t i = 0; i < out->n_ops; i++)
            if (strcmp(out->ops[i].name, w->stage_scopes[s]) == 0) {
                total += out->ops[i].total_ns;
                found = 1;
            }
        if (found && sum > 0)
            out->stage_share[s] = total / sum;
    }
out:
    pp_snapshot_free(before);
    pp_snapshot_free(after);
    free(nodes);
    free(done);
    return rc;
}
