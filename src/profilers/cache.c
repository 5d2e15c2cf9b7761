/*
 * cache.c - The design's CacheProfiler: one replay of the workload's cache
 * trace (hit ratio, op latency, misses, evictions), its miss-ratio curve
 * (exact or SHARDS), the capacities for 80/90/95 % hits, and a measured
 * replay at the recommended capacity.
 */
#include <stdio.h>
#include <string.h>

#include <postprof/error.h>
#include <postprof/profilers.h>

#include "profilers/prof_impl.h"

static const double hit_targets[3] = {0.80, 0.90, 0.95};

static void fill_backend(pp_cache_backend *b, const char *name, const pp_stage_result *res,
                         const pp_histogram *h, double ns)
{
    uint64_t ops = res->items ? res->items : res->hits + res->misses;
    snprintf(b->name, sizeof b->name, "%s", name);
    b->hit_ratio = ops ? (double)res->hits / (double)ops : 0;
    b->replay_ns = ns;
    if (h && pp_histogram_count(h) > 0) {
        b->mean_ns = pp_histogram_mean(h);
        b->p99_ns = pp_histogram_value_at(h, 0.99);
    } else {
        b->mean_ns = b->p99_ns = ops ? ns / (double)ops : 0;
    }
}

static int replay(const pp_workload *w, pp_stage_result *res, pp_histogram *h, double *ns)
{
    memset(res, 0, sizeof *res);
    res->op_latency = h;
    int rc = pp__prof_timed(w, PP_STAGE_CACHE, 0, res, ns, NULL);
    /* the workload's preparation (emptying a remote cache) is not the replay */
    size_t n = res->n_figures < PP_STAGE_MAX_FIGURES ? res->n_figures : PP_STAGE_MAX_FIGURES;
    for (size_t i = 0; i < n; i++)
        if (res->figures[i].name && strcmp(res->figures[i].name, "setup_s") == 0 &&
            res->figures[i].value > 0 && res->figures[i].value * 1e9 < *ns)
            *ns -= res->figures[i].value * 1e9;
    return rc;
}

static int replay(const pp_workload *w, pp_stage_result *res, pp_histogram *h, double *ns);

/* The same replay on every other cache backend (in-process vs Redis ...). */
static int backends(const pp_workload *w, pp_cache_profile *c, const pp_stage_result *cur_res,
                    const pp_histogram *cur_h, double cur_ns, unsigned repeats)
{
    int64_t cur = 0;
    int rc = w->get_knob(w->ctx, PP_KNOB_CACHE_BACKEND, &cur);
    if (rc == PP_EUNAVAIL || w->n_cache_backends == 0)
        return PP_OK;
    if (rc != PP_OK)
        return rc;
    pp_histogram *h = pp_histogram_new();
    if (!h)
        return PP_ENOMEM;
    for (size_t b = 0; b < w->n_cache_backends; b++) {
        pp_cache_backend *cb = &c->backends[c->n_backends];
        if ((int64_t)b == cur) {
            fill_backend(cb, w->cache_backend_names[b], cur_res, cur_h, cur_ns);
            cb->current = 1;
            c->n_backends++;
            continue;
        }
        if ((rc = w->set_knob(w->ctx, PP_KNOB_CACHE_BACKEND, (int64_t)b)) != PP_OK)
            break;
        pp_stage_result res;
        double ns;
        pp_histogram_reset(h);
        if ((rc = replay(w, &res, NULL, &ns)) != PP_OK || (rc = replay(w, &res, h, &ns)) != PP_OK)
            break;
        fill_backend(cb, w->cache_backend_names[b], &res, h, ns);
        c->n_backends++;
        /* against the current one, replays interleaved: the comparison the
         * report prints, with its interval; as many pairs as fit in the
         * time allowed, and none when fewer than an interval needs fit */
        if ((rc = w->set_knob(w->ctx, PP_KNOB_CACHE_BACKEND, cur)) != PP_OK)
            break;
        double pair_ns = cur_ns + ns;
        double fit = pair_ns > 0 ? PP_REPORT_BACKEND_PAIRS_S * 1e9 / pair_ns - 1.0 : repeats;
        unsigned pairs = fit >= (double)repeats ? repeats : (unsigned)(fit > 0 ? fit : 0);
        if (pairs < pp__stats_min_pairs(0.95))
            continue;
        pp_experiment e;
        if ((rc = pp_experiment_run(w, "cache_backend", PP_STAGE_CACHE, 0, PP_KNOB_CACHE_BACKEND,
                                    cur, (int64_t)b, pairs, &e)) != PP_OK)
            break;
        cb->pair_current_ns = e.base_ns;
        cb->pair_replay_ns = e.cand_ns;
        pp__prof_ab(&e, &cb->against_current);
    }
    int rc2 = w->set_knob(w->ctx, PP_KNOB_CACHE_BACKEND, cur);
    pp_histogram_free(h);
    return rc != PP_OK ? rc : rc2;
}

int pp_profiler_cache(const pp_workload *w, const pp_profiler_cfg *cfg, pp_report *r)
{
    pp_cache_profile *c = &r->cache;
    memset(c, 0, sizeof *c);
    int rc = pp_workload_check(w);
    if (rc != PP_OK || !w->cache_trace)
        return rc;
    pp_histogram *h = pp_histogram_new();
    pp_mrc *mrc = NULL;
    if (!h)
        return PP_ENOMEM;
    int64_t cap = 0;
    if ((rc = w->get_knob(w->ctx, PP_KNOB_CACHE_CAPACITY, &cap)) != PP_OK)
        goto out;
    c->present = 1;
    c->capacity = (uint64_t)cap;
    pp_stage_result res;
    double ns;
    if ((rc = replay(w, &res, NULL, &ns)) != PP_OK) /* warm-up */
        goto out;
    if ((rc = replay(w, &res, h, &ns)) != PP_OK)
        goto out;
    c->replay_ns = ns;
    c->ops = res.items ? res.items : res.hits + res.misses;
    c->hits = res.hits;
    c->misses = res.misses;
    c->evictions = res.evictions;
    c->hit_ratio = c->ops ? (double)c->hits / (double)c->ops : 0;
    if (pp_histogram_count(h) > 0) {
        c->mean_ns = pp_histogram_mean(h);
        c->p99_ns = pp_histogram_value_at(h, 0.99);
    } else {
        c->mean_ns = c->ops ? ns / (double)c->ops : 0;
        c->p99_ns = c->mean_ns;
    }
    if ((rc = backends(w, c, &res, h, ns, cfg->repeats)) != PP_OK)
        goto out;

    const uint64_t *keys = NULL;
    size_t n = 0;
    if ((rc = w->cache_trace(w->ctx, &keys, &n)) != PP_OK)
        goto out;
    c->trace_len = n;
    if (n == 0)
        goto out;
    if (n <= cfg->exact_mrc_max) {
        rc = pp_mrc_exact(keys, n, &mrc);
        snprintf(c->mrc_method, sizeof c->mrc_method, "exact");
        c->sampling_rate = 1.0;
    } else {
        rc = pp_mrc_shards(keys, n, cfg->shards_rate, &mrc);
        snprintf(c->mrc_method, sizeof c->mrc_method, "shards");
        c->sampling_rate = cfg->shards_rate;
    }
    if (rc != PP_OK)
        goto out;
    c->unique_keys = pp_mrc_unique(mrc);
    c->n_mrc = pp_mrc_sample(mrc, c->mrc, PP_REPORT_MAX_MRC);
    for (int i = 0; i < 3; i++)
        c->capacity_for[i] = pp_mrc_capacity_for(mrc, hit_targets[i]);
    c->recommended_capacity = c->capacity_for[1];
    if (c->recommended_capacity > c->capacity) {
        pp_experiment e;
        rc = pp_experiment_run(w, "cache_capacity", PP_STAGE_CACHE, 0, PP_KNOB_CACHE_CAPACITY, cap,
                               (int64_t)c->recommended_capacity, cfg->repeats, &e);
        if (rc != PP_OK)
            goto out;
        /* the hit ratio at that capacity, measured */
        if ((rc = w->set_knob(w->ctx, PP_KNOB_CACHE_CAPACITY, (int64_t)c->recommended_capacity)) !=
            PP_OK)
            goto out;
        rc = replay(w, &res, NULL, &ns);
        int rc2 = w->set_knob(w->ctx, PP_KNOB_CACHE_CAPACITY, cap);
        if (rc == PP_OK)
            rc = rc2;
        if (rc != PP_OK)
            goto out;
        uint64_t ops = res.items ? res.items : res.hits + res.misses;
        c->has_recommended = 1;
        c->recommended_hit_ratio = ops ? (double)res.hits / (double)ops : 0;
        c->recommended_replay_ns = e.cand_ns;
        c->recommended_now_ns = e.base_ns;
        pp__prof_ab(&e, &c->recommended_ab);
    }
    rc = PP_OK;
out:
    pp_mrc_free(mrc);
    pp_histogram_free(h);
    return rc;
}
