/*
 * targets.c - The design's five performance targets, each with its measured
 * value and PASS/FAIL. Pure: no I/O, no clocks.
 */
#include <stdio.h>
#include <string.h>

#include <postprof/analyze.h>

static void set(pp_target *t, const char *name, double value, double limit, const char *unit,
                int upper, int measured)
{
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    snprintf(t->unit, sizeof t->unit, "%s", unit);
    t->value = value;
    t->limit = limit;
    t->upper = upper;
    t->measured = measured;
    t->pass = measured && (upper ? value < limit : value > limit);
}

size_t pp_targets_evaluate(const pp_report *r, const pp_targets_cfg *c, pp_target *out, size_t cap)
{
    pp_target all[5];
    double load = 0;
    int have_load = 0;
    for (size_t i = 0; i < r->loading.n_sources; i++) {
        const pp_load_profile *lp = &r->loading.sources[i];
        if (lp->batches > 0) {
            have_load = 1;
            if (lp->p95_ns > load)
                load = lp->p95_ns;
        }
    }
    set(&all[0], "data_loading_latency", load / 1e6, c->data_loading_ms, "ms", 1, have_load);

    double inf = 0;
    int have_inf = 0;
    for (size_t i = 0; i < r->inference.n_models; i++) {
        const pp_model_profile *mp = &r->inference.models[i];
        uint64_t b = mp->best_batch ? mp->best_batch : mp->current_batch;
        for (size_t k = 0; k < mp->n_points; k++)
            if (mp->points[k].batch == b) {
                have_inf = 1;
                if (mp->points[k].p99_ns > inf)
                    inf = mp->points[k].p99_ns;
            }
    }
    set(&all[1], "inference_latency", inf / 1e6, c->inference_ms, "ms", 1, have_inf);
    set(&all[2], "cache_hit_ratio", r->cache.hit_ratio, c->cache_hit_ratio, "ratio", 0,
        r->cache.present && r->cache.ops > 0);
    double peak = r->system.peak_rss_bytes > 0 ? r->system.peak_rss_bytes : r->system.rss_bytes;
    set(&all[3], "memory", peak / 1e9, c->memory_gb, "GB", 1, peak > 0);
    set(&all[4], "cpu", r->system.cpu_percent, c->cpu_percent, "%", 1, r->system.cpu_percent > 0);
    size_t n = cap < 5 ? cap : 5;
    memcpy(out, all, n * sizeof all[0]);
    return n;
}
