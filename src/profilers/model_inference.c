/*
 * model_inference.c - The design's ModelInferenceProfiler: model load time,
 * batch-size sweep (1, 2, 4 ... max) with p50/p99 and throughput, early stop
 * when gains flatten, best batch under a latency target, fp32 vs int8.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/error.h>
#include <postprof/profilers.h>

#include "analyze/stats.h"
#include "profilers/prof_impl.h"

#define MIN_SWEEP_SAMPLES 6 /* the fewest batches whose 95 % interval is finite */
#define MAX_SWEEP_SAMPLES 256

/* Time `batches` batches at one batch size; per_item (MAX_SWEEP_SAMPLES, may
 * be NULL) gets each batch's time per item. */
static int time_batch(const pp_workload *w, unsigned m, uint64_t batch, unsigned batches,
                      pp_batch_point *pt, double *per_item_out)
{
    int rc = w->set_knob(w->ctx, PP_KNOB_BATCH_SIZE, (int64_t)batch);
    if (rc != PP_OK)
        return rc;
    if (batches < MIN_SWEEP_SAMPLES)
        batches = MIN_SWEEP_SAMPLES;
    if (batches > MAX_SWEEP_SAMPLES)
        batches = MAX_SWEEP_SAMPLES;
    pp_histogram *h = pp_histogram_new();
    if (!h)
        return PP_ENOMEM;
    double per_item[MAX_SWEEP_SAMPLES], ones[MAX_SWEEP_SAMPLES];
    memset(pt, 0, sizeof *pt);
    pt->batch = batch;
    double wall = 0;
    if ((rc = pp__prof_timed(w, PP_STAGE_INFER, m, NULL, NULL, NULL)) != PP_OK) /* warm-up */
        goto out;
    for (unsigned i = 0; i < batches; i++) {
        pp_stage_result res;
        memset(&res, 0, sizeof res);
        double ns;
        if ((rc = pp__prof_timed(w, PP_STAGE_INFER, m, &res, &ns, NULL)) != PP_OK)
            goto out;
        pp_histogram_record(h, (uint64_t)ns);
        if (pt->n_batch_ns < PP_REPORT_MAX_SAMPLES)
            pt->batch_ns[pt->n_batch_ns++] = ns;
        wall += ns;
        uint64_t items = res.items ? res.items : batch;
        per_item[i] = (ns > 0 ? ns : 1.0) / (double)items;
        ones[i] = 1.0;
    }
    pt->p50_ns = pp_histogram_value_at(h, 0.50);
    pt->p99_ns = pp_histogram_value_at(h, 0.99);
    pt->mean_ns = batches ? wall / batches : 0;
    pt->samples = batches;
    /* the typical time per item with its interval (Hodges-Lehmann over the
     * batches), so one preempted batch does not bend the sweep */
    pp__ratio_est est;
    if ((rc = pp__stats_paired(ones, per_item, batches, 0.95, 0.0, &est)) != PP_OK)
        goto out;
    pt->throughput = 1e9 / est.ratio;
    pt->throughput_low = isfinite(est.high) ? 1e9 / est.high : 0.0;
    pt->throughput_high = est.low > 0 ? 1e9 / est.low : INFINITY;
    if (per_item_out)
        memcpy(per_item_out, per_item, batches * sizeof *per_item);
out:
    pp_histogram_free(h);
    return rc;
}

static const pp_batch_point *point_at(const pp_model_profile *mp, uint64_t batch)
{
    for (size_t k = 0; k < mp->n_points; k++)
        if (mp->points[k].batch == batch)
            return &mp->points[k];
    return NULL;
}

typedef struct sweep_samples {
    double per_item[PP_REPORT_MAX_BATCHES][MAX_SWEEP_SAMPLES];
} sweep_samples;

/* The cheapest batch that is not measurably worse than the best under the
 * latency target (analyze/stats.c pp__stats_cheapest over the time per item). */
static int choose(const pp_profiler_cfg *cfg, const sweep_samples *sm, pp_model_profile *mp)
{
    double target = cfg->latency_target_ms * 1e6;
    const double *x[PP_REPORT_MAX_BATCHES];
    size_t n[PP_REPORT_MAX_BATCHES], order[PP_REPORT_MAX_BATCHES], k = 0;
    int ok[PP_REPORT_MAX_BATCHES];
    /* cheapest first: by batch size (the current setting may sit anywhere) */
    for (size_t i = 0; i < mp->n_points; i++) {
        size_t at = k++;
        while (at > 0 && mp->points[order[at - 1]].batch > mp->points[i].batch) {
            order[at] = order[at - 1];
            at--;
        }
        order[at] = i;
    }
    for (size_t j = 0; j < k; j++) {
        const pp_batch_point *pt = &mp->points[order[j]];
        x[j] = sm->per_item[order[j]];
        n[j] = pt->samples;
        ok[j] = pt->p99_ns <= target;
    }
    size_t best = k, pick = k;
    int rc = k ? pp__stats_cheapest(x, n, ok, k, 0.95, &best, &pick) : PP_OK;
    if (rc != PP_OK || best == k)
        return rc;
    const pp_batch_point *top = &mp->points[order[best]], *p = &mp->points[order[pick]];
    mp->top_batch = top->batch;
    mp->best_batch = p->batch;
    mp->best_throughput = p->throughput;
    mp->best_p99_ns = p->p99_ns;
    return PP_OK;
}

static int sweep(const pp_workload *w, const pp_profiler_cfg *cfg, unsigned m, pp_model_profile *mp)
{
    unsigned batches = cfg->sweep_batches ? cfg->sweep_batches : 1;
    double best = 0;
    unsigned flat = 0;
    sweep_samples *sm = malloc(sizeof *sm);
    if (!sm)
        return PP_ENOMEM;
    int rc = PP_OK;
    for (uint64_t b = 1; b <= cfg->sweep_max && mp->n_points < PP_REPORT_MAX_BATCHES - 1; b *= 2) {
        pp_batch_point *pt = &mp->points[mp->n_points];
        if ((rc = time_batch(w, m, b, batches, pt, sm->per_item[mp->n_points])) != PP_OK)
            goto out;
        mp->n_points++;
        double gain = best > 0 ? pt->throughput / best - 1.0 : 1.0;
        if (pt->throughput > best)
            best = pt->throughput;
        flat = gain < cfg->sweep_min_gain ? flat + 1 : 0;
        if (flat >= cfg->sweep_patience && b * 2 <= cfg->sweep_max) {
            mp->stopped_early = 1;
            break;
        }
    }
    /* the current setting must be on the curve: suggestions start from it */
    if (mp->current_batch && !point_at(mp, mp->current_batch)) {
        if ((rc = time_batch(w, m, mp->current_batch, batches, &mp->points[mp->n_points],
                             sm->per_item[mp->n_points])) != PP_OK)
            goto out;
        mp->n_points++;
    }
    rc = choose(cfg, sm, mp);
out:
    free(sm);
    return rc;
}

int pp_profiler_model_inference(const pp_workload *w, const pp_profiler_cfg *cfg, pp_report *r)
{
    int rc = pp_workload_check(w);
    if (rc != PP_OK)
        return rc;
    pp_model_inference *mi = &r->inference;
    memset(mi, 0, sizeof *mi);
    mi->latency_target_ns = cfg->latency_target_ms * 1e6;
    int64_t model = 0, batch = 0;
    if (w->get_knob(w->ctx, PP_KNOB_MODEL, &model) == PP_OK && model >= 0 &&
        (size_t)model < w->n_models)
        mi->current_model = (int)model;
    int have_batch = w->get_knob(w->ctx, PP_KNOB_BATCH_SIZE, &batch);
    if (have_batch != PP_OK && have_batch != PP_EUNAVAIL)
        return have_batch;
    for (unsigned m = 0; m < w->n_models; m++) {
        pp_model_profile *mp = &mi->models[m];
        memset(mp, 0, sizeof *mp);
        snprintf(mp->name, sizeof mp->name, "%s", w->model_names[m]);
        mi->n_models++;
        if ((rc = pp__prof_timed(w, PP_STAGE_MODEL_LOAD, m, NULL, &mp->load_ns, NULL)) != PP_OK)
            goto out;
        if (have_batch == PP_OK) {
            mp->current_batch = (uint64_t)batch;
            if ((rc = sweep(w, cfg, m, mp)) != PP_OK)
                goto out;
        }
        uint64_t at = mp->best_batch ? mp->best_batch : mp->current_batch;
        if (have_batch == PP_OK && at &&
            (rc = w->set_knob(w->ctx, PP_KNOB_BATCH_SIZE, (int64_t)at)) != PP_OK)
            goto out;
        pp_experiment e;
        rc = pp_experiment_run(w, "quantized", PP_STAGE_INFER, m, PP_KNOB_QUANTIZED, 0, 1,
                               cfg->repeats, &e);
        if (rc == PP_OK) {
            double items = at ? (double)at : 1.0;
            mp->has_int8 = 1;
            mp->fp32_p50_ns = e.base_ns;
            mp->int8_p50_ns = e.cand_ns;
            mp->fp32_throughput = e.base_ns > 0 ? items * 1e9 / e.base_ns : 0;
            mp->int8_throughput = e.cand_ns > 0 ? items * 1e9 / e.cand_ns : 0;
            pp__prof_ab(&e, &mp->int8_ab);
        } else if (rc != PP_EUNAVAIL) {
            goto out;
        }
    }
    rc = PP_OK;
out:
    if (have_batch == PP_OK) {
        int rc2 = w->set_knob(w->ctx, PP_KNOB_BATCH_SIZE, batch);
        if (rc == PP_OK)
            rc = rc2;
    }
    return rc;
}
