/*
 * report_json.c - The report as JSON (jansson), in the structure documented
 * in docs/report-schema.md, written atomically: temporary file in the target
 * directory, fsync, rename. Durations in seconds, memory in MiB or bytes as
 * the field name says. Never prints.
 */
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include <postprof/file.h>
#include <postprof/error.h>
#include <postprof/report.h>

#include "export/formats/report_causal.h"

#define MIB 1048576.0
#define S(ns) ((ns) / 1e9)

/* jansson setters that ignore allocation failure individually; the final
 * dump fails (NULL) if memory ran out, which is reported as PP_ENOMEM. */
static void put(json_t *o, const char *k, json_t *v)
{
    json_object_set_new(o, k, v);
}

/* Non-finite figures (never expected) become null rather than invalid JSON. */
static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *u64(uint64_t v)
{
    return json_integer((json_int_t)v);
}

/* Per-batch latencies in seconds. */
/* An A/B comparison's speedup, interval and pairs into o (nulls when not measured). */
static void ab_put(json_t *o, const pp_ab *ab)
{
    put(o, "speedup", ab->known ? num(ab->speedup) : json_null());
    put(o, "speedup_low", ab->known ? num(ab->speedup_low) : json_null());
    put(o, "speedup_high", ab->known ? num(ab->speedup_high) : json_null());
    put(o, "significant", ab->known ? json_boolean(ab->significant) : json_null());
    put(o, "pairs", ab->known ? u64(ab->pairs) : json_null());
}

/* A phase's passes at the current settings by CPU; null when not compared. */
static json_t *cpu_split_json(const pp_cpu_split *x)
{
    if (!x->known)
        return json_null();
    json_t *o = json_object();
    put(o, "slow_cpu", json_integer(x->slow_cpu));
    put(o, "quick_cpu", json_integer(x->quick_cpu));
    put(o, "slow_passes", u64(x->slow_passes));
    put(o, "quick_passes", u64(x->quick_passes));
    put(o, "moved_passes", u64(x->moved_passes));
    put(o, "slow_s", num(S(x->slow_ns)));
    put(o, "quick_s", num(S(x->quick_ns)));
    put(o, "ratio", num(x->ratio));
    put(o, "ratio_low", num(x->ratio_low));
    put(o, "ratio_high", num(x->ratio_high));
    put(o, "differs", json_boolean(x->differs));
    return o;
}

static json_t *samples_json(const double *ns, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, num(S(ns[i])));
    return a;
}

static json_t *system_json(const pp_sysstats_summary *s)
{
    json_t *o = json_object();
    put(o, "cpu_percent", num(s->cpu_percent));
    put(o, "memory_percent", num(s->memory_percent));
    put(o, "memory_available", num(s->memory_available_gb));
    put(o, "rss_bytes", num(s->rss_bytes));
    put(o, "peak_rss_bytes", num(s->peak_rss_bytes));
    json_t *io = json_object();
    put(io, "read_bytes", num(s->disk_read_bytes));
    put(io, "write_bytes", num(s->disk_write_bytes));
    put(o, "disk_io", io);
    put(o, "timestamp", num(s->timestamp));
    put(o, "n_cpus", json_integer(s->n_cpus));
    return o;
}

static json_t *perf_json(const pp_perf_profile *p)
{
    json_t *o = json_object();
    put(o, "end_to_end_s", num(S(p->end_to_end_ns)));
    json_t *passes = json_array();
    for (size_t i = 0; i < p->n_passes; i++)
        json_array_append_new(passes, num(S(p->pass_ns[i])));
    put(o, "pass_s", passes);
    json_t *cpu = json_array();
    for (size_t i = 0; i < p->n_passes && p->pass_cpu_ns[0] > 0; i++)
        json_array_append_new(cpu, num(S(p->pass_cpu_ns[i])));
    put(o, "pass_cpu_s", cpu);
    json_t *shares = json_object();
    for (int s = 0; s < PP_STAGE_COUNT; s++)
        put(shares, pp_stage_name((pp_stage)s),
            p->stage_share[s] >= 0 ? num(p->stage_share[s]) : json_null());
    put(o, "stage_share", shares);
    json_t *ops = json_array();
    for (size_t i = 0; i < p->n_ops; i++) {
        const pp_perf_op *op = &p->ops[i];
        json_t *j = json_object();
        put(j, "name", json_string(op->name));
        put(j, "parent", json_integer(op->parent));
        put(j, "depth", json_integer(op->depth));
        put(j, "count", u64(op->count));
        put(j, "total_s", num(S(op->total_ns)));
        put(j, "self_s", num(S(op->self_ns)));
        put(j, "mean_s", num(S(op->mean_ns)));
        put(j, "max_s", num(S(op->max_ns)));
        put(j, "p50_s", num(S(op->p50_ns)));
        put(j, "p95_s", num(S(op->p95_ns)));
        put(j, "p99_s", num(S(op->p99_ns)));
        /* null: not measured (never a 0 that reads as a measurement) */
        put(j, "cpu_s", op->cpu_measured ? num(S(op->cpu_ns)) : json_null());
        put(j, "cpu_wall_s", op->cpu_measured ? num(S(op->cpu_wall_ns)) : json_null());
        put(j, "cpu_calls", u64(op->cpu_calls));
        put(j, "memory_delta_mb", op->mem_measured ? num(op->mem_delta_bytes / MIB) : json_null());
        put(j, "alloc_bytes", op->alloc_measured ? num(op->alloc_bytes) : json_null());
        put(j, "share", num(op->share));
        put(j, "async", json_boolean(op->async));
        json_array_append_new(ops, j);
    }
    put(o, "operations", ops);
    return o;
}

static json_t *loading_json(const pp_data_loading *d)
{
    json_t *o = json_object();
    for (size_t i = 0; i < d->n_sources; i++) {
        const pp_load_profile *l = &d->sources[i];
        json_t *j = json_object();
        put(j, "loading_time", num(S(l->mean_ns)));
        put(j, "memory_usage", num(l->rss_delta_bytes / MIB));
        put(j, "batch_size", u64(l->batch_size));
        put(j, "batches", u64(l->batches));
        put(j, "rows", u64(l->rows));
        put(j, "bytes", u64(l->bytes));
        put(j, "p50_s", num(S(l->p50_ns)));
        put(j, "p95_s", num(S(l->p95_ns)));
        put(j, "p99_s", num(S(l->p99_ns)));
        put(j, "rows_per_s", num(l->rows_per_s));
        put(j, "bytes_per_s", num(l->bytes_per_s));
        put(j, "cpu_share", num(l->cpu_share));
        put(j, "thread_cpu_share", l->thread_measured ? num(l->thread_cpu_share) : json_null());
        put(j, "wait_share", num(l->wait_share));
        put(j, "cpu_wait_share",
            l->thread_measured && l->cpu_wait_share >= 0 ? num(l->cpu_wait_share) : json_null());
        put(j, "batch_s", samples_json(l->batch_ns, l->n_batch_ns));
        json_t *fig = json_object();
        for (size_t k = 0; k < l->n_figures; k++)
            put(fig, l->figures[k].name, num(l->figures[k].total));
        put(j, "figures", fig);
        put(o, l->name, j);
    }
    json_t *c = json_object();
    put(c, "measured", json_boolean(d->has_concurrency));
    put(c, "sequential_s", num(S(d->sequential_ns)));
    put(c, "concurrent_s", num(S(d->concurrent_ns)));
    put(c, "sum_s", num(S(d->sum_ns)));
    put(c, "critical_path_s", num(S(d->critical_path_ns)));
    put(c, "rows_per_batch", d->concurrency_rows ? u64(d->concurrency_rows) : json_null());
    ab_put(c, &d->concurrency_ab);
    put(o, "sequential_vs_concurrent", c);
    json_t *k = json_object();
    put(k, "measured", json_boolean(d->has_keep_alive));
    put(k, "source",
        d->keep_alive_source >= 0 && (size_t)d->keep_alive_source < d->n_sources
            ? json_string(d->sources[d->keep_alive_source].name)
            : json_null());
    put(k, "off_s", num(S(d->keep_alive_off_ns)));
    put(k, "on_s", num(S(d->keep_alive_on_ns)));
    ab_put(k, &d->keep_alive_ab);
    put(o, "keep_alive", k);
    return o;
}

static json_t *inference_json(const pp_model_inference *mi)
{
    json_t *o = json_object();
    for (size_t i = 0; i < mi->n_models; i++) {
        const pp_model_profile *m = &mi->models[i];
        json_t *j = json_object();
        double lat = 0;
        uint64_t at = m->best_batch ? m->best_batch : m->current_batch;
        json_t *sweep = json_array();
        for (size_t k = 0; k < m->n_points; k++) {
            const pp_batch_point *pt = &m->points[k];
            if (pt->batch == at)
                lat = pt->p50_ns;
            json_t *p = json_object();
            put(p, "batch", u64(pt->batch));
            put(p, "p50_s", num(S(pt->p50_ns)));
            put(p, "p99_s", num(S(pt->p99_ns)));
            put(p, "mean_s", num(S(pt->mean_ns)));
            put(p, "throughput", num(pt->throughput));
            put(p, "throughput_low", num(pt->throughput_low));
            put(p, "throughput_high", num(pt->throughput_high));
            put(p, "samples", json_integer(pt->samples));
            put(p, "batch_s", samples_json(pt->batch_ns, pt->n_batch_ns));
            json_array_append_new(sweep, p);
        }
        put(j, "inference_time", num(S(lat)));
        put(j, "load_time", num(S(m->load_ns)));
        put(j, "current", json_boolean((int)i == mi->current_model));
        put(j, "current_batch", u64(m->current_batch));
        put(j, "best_batch", u64(m->best_batch));
        put(j, "top_batch", u64(m->top_batch));
        put(j, "best_p99_s", num(S(m->best_p99_ns)));
        put(j, "best_throughput", num(m->best_throughput));
        put(j, "latency_target_s", num(S(mi->latency_target_ns)));
        put(j, "stopped_early", json_boolean(m->stopped_early));
        put(j, "batch_sweep", sweep);
        if (m->has_int8) {
            json_t *q = json_object();
            put(q, "fp32_throughput", num(m->fp32_throughput));
            put(q, "int8_throughput", num(m->int8_throughput));
            put(q, "fp32_p50_s", num(S(m->fp32_p50_ns)));
            put(q, "int8_p50_s", num(S(m->int8_p50_ns)));
            ab_put(q, &m->int8_ab);
            put(j, "fp32_vs_int8", q);
        } else {
            put(j, "fp32_vs_int8", json_null());
        }
        put(o, m->name, j);
    }
    return o;
}

static json_t *cache_json(const pp_cache_profile *c)
{
    json_t *o = json_object();
    put(o, "present", json_boolean(c->present));
    put(o, "hit_ratio", num(c->hit_ratio));
    put(o, "avg_time", num(S(c->mean_ns)));
    put(o, "p99_time", num(S(c->p99_ns)));
    put(o, "ops", u64(c->ops));
    put(o, "hits", u64(c->hits));
    put(o, "misses", u64(c->misses));
    put(o, "evictions", u64(c->evictions));
    put(o, "capacity", u64(c->capacity));
    put(o, "replay_s", num(S(c->replay_ns)));
    put(o, "trace_len", u64(c->trace_len));
    put(o, "unique_keys", u64(c->unique_keys));
    json_t *m = json_object();
    put(m, "method", json_string(c->mrc_method));
    put(m, "sampling_rate", num(c->sampling_rate));
    json_t *pts = json_array();
    for (size_t i = 0; i < c->n_mrc; i++) {
        json_t *p = json_object();
        put(p, "capacity", u64(c->mrc[i].capacity));
        put(p, "miss_ratio", num(c->mrc[i].miss_ratio));
        json_array_append_new(pts, p);
    }
    put(m, "points", pts);
    put(o, "miss_ratio_curve", m);
    json_t *cf = json_object();
    /* null: unreachable, no capacity gets there (first-time misses alone exceed it) */
    put(cf, "0.80", c->capacity_for[0] ? u64(c->capacity_for[0]) : json_null());
    put(cf, "0.90", c->capacity_for[1] ? u64(c->capacity_for[1]) : json_null());
    put(cf, "0.95", c->capacity_for[2] ? u64(c->capacity_for[2]) : json_null());
    put(o, "capacity_for_hit_ratio", cf);
    put(o, "recommended_capacity", u64(c->recommended_capacity));
    json_t *be = json_array();
    for (size_t i = 0; i < c->n_backends; i++) {
        const pp_cache_backend *b = &c->backends[i];
        json_t *x = json_object();
        put(x, "name", json_string(b->name));
        put(x, "current", json_boolean(b->current));
        put(x, "hit_ratio", num(b->hit_ratio));
        put(x, "avg_time", num(S(b->mean_ns)));
        put(x, "p99_time", num(S(b->p99_ns)));
        put(x, "replay_s", num(S(b->replay_ns)));
        if (b->against_current.known) {
            json_t *ac = json_object();
            put(ac, "current_replay_s", num(S(b->pair_current_ns)));
            put(ac, "replay_s", num(S(b->pair_replay_ns)));
            ab_put(ac, &b->against_current);
            put(x, "against_current", ac);
        } else {
            put(x, "against_current", json_null());
        }
        json_array_append_new(be, x);
    }
    put(o, "backends", be);
    if (c->has_recommended) {
        json_t *r = json_object();
        put(r, "hit_ratio", num(c->recommended_hit_ratio));
        put(r, "replay_s", num(S(c->recommended_replay_ns)));
        put(r, "now_replay_s",
            c->recommended_now_ns > 0 ? num(S(c->recommended_now_ns)) : json_null());
        ab_put(r, &c->recommended_ab);
        put(o, "at_recommended", r);
    } else {
        put(o, "at_recommended", json_null());
    }
    return o;
}

static json_t *setting_json(int knob, int64_t value)
{
    if (knob < 0)
        return json_null();
    json_t *o = json_object();
    put(o, "knob", json_string(pp_knob_name((pp_knob)knob)));
    put(o, "value", json_integer((json_int_t)value));
    return o;
}

/* How an --apply measurement was adjusted for the machine's speed. */
/* A prediction made again at --apply's speed (null: not made). */
static json_t *at_speed_json(const pp_apply_at_speed *as)
{
    if (!as->known)
        return json_null();
    json_t *o = json_object();
    put(o, "predicted", num(as->predicted));
    put(o, "predicted_low", num(as->predicted_low));
    put(o, "predicted_high", num(as->predicted_high));
    put(o, "hit", json_boolean(as->hit));
    put(o, "judged", json_boolean(as->judged));
    return o;
}

static json_t *gauge_json(const pp_apply_gauge *g)
{
    json_t *o = json_object();
    put(o, "used", json_boolean(g->used));
    put(o, "stages", json_string(g->stages));
    put(o, "weight", num(g->theta));
    put(o, "share", num(g->share));
    put(o, "gauge_ratio", num(g->gauge_ratio));
    put(o, "gauge_low", num(g->gauge_low));
    put(o, "gauge_high", num(g->gauge_high));
    put(o, "unadjusted", num(g->raw));
    put(o, "unadjusted_low", num(g->raw_low));
    put(o, "unadjusted_high", num(g->raw_high));
    put(o, "why_not_used", g->why[0] ? json_string(g->why) : json_null());
    put(o, "pairs_set_aside", json_integer(g->set_aside));
    return o;
}

static json_t *targets_json(const pp_target *t, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        put(o, "name", json_string(t[i].name));
        put(o, "value", num(t[i].value));
        put(o, "limit", num(t[i].limit));
        put(o, "unit", json_string(t[i].unit));
        put(o, "comparison", json_string(t[i].upper ? "<" : ">"));
        put(o, "measured", json_boolean(t[i].measured));
        put(o, "status", json_string(t[i].pass ? "PASS" : "FAIL"));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *report_json(const pp_report *r)
{
    json_t *root = json_object();
    put(root, "schema_version", json_integer(r->schema_version));
    put(root, "workload", json_string(r->workload));
    json_t *settings = json_object();
    for (size_t i = 0; i < r->n_settings; i++)
        put(settings, r->settings[i].name, json_string(r->settings[i].value));
    put(root, "settings", settings);
    put(root, "system_stats", system_json(&r->system));
    put(root, "performance", perf_json(&r->perf));
    put(root, "data_loading", loading_json(&r->loading));
    put(root, "model_inference", inference_json(&r->inference));
    put(root, "cache_performance", cache_json(&r->cache));

    json_t *ex = json_array();
    for (size_t i = 0; i < r->n_experiments; i++) {
        const pp_experiment *e = &r->experiments[i];
        json_t *o = json_object();
        put(o, "name", json_string(e->name));
        put(o, "stage", json_string(pp_stage_name(e->stage)));
        put(o, "index", json_integer(e->index));
        put(o, "knob", json_string(pp_knob_name(e->knob)));
        put(o, "base_value", json_integer((json_int_t)e->base_value));
        put(o, "cand_value", json_integer((json_int_t)e->cand_value));
        put(o, "current_value", json_integer((json_int_t)e->current_value));
        put(o, "per_item", json_boolean(e->per_item));
        put(o, "base_s", num(S(e->base_ns)));
        put(o, "cand_s", num(S(e->cand_ns)));
        put(o, "base_spread", num(e->base_spread));
        put(o, "cand_spread", num(e->cand_spread));
        put(o, "repeats", json_integer(e->repeats));
        put(o, "pairs_set_aside", json_integer(e->set_aside));
        put(o, "cut_short", json_boolean(e->cut_short));
        /* null: the sites it left alone did not gauge the machine's speed */
        put(o, "others_speedup", e->others_speedup > 0 ? num(e->others_speedup) : json_null());
        put(o, "others_speedup_low",
            e->others_speedup > 0 ? num(e->others_speedup_low) : json_null());
        put(o, "others_speedup_high",
            e->others_speedup > 0 ? num(e->others_speedup_high) : json_null());
        /* null: not compared with the other settings' passes */
        put(o, "others_own", e->others_own > 0 ? num(e->others_own) : json_null());
        put(o, "others_own_low", e->others_own > 0 ? num(e->others_own_low) : json_null());
        put(o, "others_own_high", e->others_own > 0 ? num(e->others_own_high) : json_null());
        put(o, "speedup", num(e->speedup));
        put(o, "speedup_low", num(e->speedup_low));
        put(o, "speedup_high", num(e->speedup_high));
        put(o, "significant", json_boolean(e->significant));
        put(o, "predicted_improvement", num(e->predicted));
        put(o, "predicted_low", num(e->predicted_low));
        put(o, "predicted_high", num(e->predicted_high));
        put(o, "suggested", json_boolean(e->suggested));
        json_t *sites = json_array();
        for (size_t k = 0; k < e->n_sites; k++) {
            const pp_site_change *c = &e->sites[k];
            json_t *so = json_object();
            put(so, "name", json_string(c->name));
            put(so, "stage",
                c->stage >= 0 && c->stage < PP_STAGE_COUNT
                    ? json_string(pp_stage_name((pp_stage)c->stage))
                    : json_null());
            put(so, "whole_stage", json_boolean(c->whole_stage));
            put(so, "base_s", num(S(c->base_ns)));
            put(so, "cand_s", num(S(c->cand_ns)));
            put(so, "share", num(c->share));
            put(so, "share_low", num(c->share_low));
            put(so, "share_high", num(c->share_high));
            put(so, "speedup", num(c->speedup));
            put(so, "speedup_low", num(c->speedup_low));
            put(so, "speedup_high", num(c->speedup_high));
            put(so, "significant", json_boolean(c->significant));
            put(so, "gain", num(c->gain));
            json_array_append_new(sites, so);
        }
        put(o, "sites", sites);
        json_array_append_new(ex, o);
    }
    put(root, "experiments", ex);
    put(root, "experiment_cpus", cpu_split_json(&r->experiment_cpus));

    json_t *bn = json_array();
    for (size_t i = 0; i < r->n_findings; i++) {
        const pp_finding *f = &r->findings[i];
        json_t *o = json_object();
        put(o, "operation", json_string(f->operation));
        put(o, "kind", json_string(pp_finding_kind_name(f->kind)));
        put(o, "severity", json_string(pp_severity_name(f->severity)));
        put(o, "value", num(f->value));
        put(o, "threshold", num(f->threshold));
        put(o, "unit", json_string(f->unit));
        put(o, "message", json_string(f->message));
        json_array_append_new(bn, o);
    }
    put(root, "bottlenecks", bn);

    json_t *sg = json_array();
    for (size_t i = 0; i < r->n_suggestions; i++) {
        const pp_suggestion *s = &r->suggestions[i];
        json_t *o = json_object();
        put(o, "category", json_string(pp_category_name(s->category)));
        put(o, "description", json_string(s->description));
        put(o, "impact", json_string(pp_impact_name(s->impact)));
        put(o, "implementation", json_string(s->implementation));
        put(o, "expected_improvement", num(s->expected_improvement));
        put(o, "expected_improvement_low", num(s->expected_improvement_low));
        put(o, "expected_improvement_high", num(s->expected_improvement_high));
        put(o, "basis", json_string(pp_basis_name(s->basis)));
        put(o, "model", json_string(s->model));
        put(o, "evidence", json_string(s->evidence));
        put(o, "stage_share", num(s->stage_share));
        put(o, "stage_speedup", num(s->stage_speedup));
        put(o, "setting", setting_json(s->knob, s->value));
        put(o, "design_gain", s->design_gain >= 0 ? num(s->design_gain) : json_null());
        json_array_append_new(sg, o);
    }
    put(root, "optimization_suggestions", sg);
    put(root, "targets", targets_json(r->targets, r->n_targets));

    if (r->apply.done) {
        const pp_apply *ap = &r->apply;
        json_t *a = json_object();
        const pp_apply_speed *sp = &ap->speed;
        json_t *ms = json_null();
        if (sp->known) {
            ms = json_object();
            put(ms, "experiments_pass_s", num(S(sp->experiments_ns)));
            put(ms, "apply_pass_s", num(S(sp->apply_ns)));
            put(ms, "ratio", num(sp->ratio));
            put(ms, "ratio_low", num(sp->ratio_low));
            put(ms, "ratio_high", num(sp->ratio_high));
            put(ms, "differs", json_boolean(sp->differs));
        }
        put(a, "machine_speed", ms);
        put(a, "cpus", cpu_split_json(&ap->cpus));
        json_t *b = json_object();
        put(b, "end_to_end_s", num(S(ap->before_ns)));
        put(b, "targets", targets_json(ap->before_targets, ap->n_before_targets));
        put(a, "before", b);
        json_t *af = json_object();
        put(af, "end_to_end_s", num(S(ap->after_ns)));
        put(af, "targets", targets_json(ap->after_targets, ap->n_after_targets));
        put(a, "after", af);
        put(a, "improvement", num(ap->before_ns > 0 ? 1.0 - ap->after_ns / ap->before_ns : 0));
        json_t *arr = json_array();
        for (size_t i = 0; i < ap->n; i++) {
            const pp_apply_result *x = &ap->results[i];
            json_t *o = json_object();
            put(o, "category", json_string(pp_category_name(x->category)));
            put(o, "description", json_string(x->description));
            put(o, "setting", setting_json(x->knob, x->value));
            put(o, "predicted_improvement", num(x->predicted_improvement));
            put(o, "predicted_low", num(x->predicted_low));
            put(o, "predicted_high", num(x->predicted_high));
            put(o, "measured_improvement", num(x->measured_improvement));
            put(o, "measured_low", num(x->measured_low));
            put(o, "measured_high", num(x->measured_high));
            put(o, "hit", json_boolean(x->hit));
            put(o, "hit_as_predicted", json_boolean(x->hit_as_predicted));
            put(o, "at_apply_speed", at_speed_json(&x->at_speed));
            put(o, "pairs", json_integer(x->pairs));
            put(o, "cut_short", json_boolean(x->cut_short));
            put(o, "before_s", num(S(x->before_ns)));
            put(o, "after_s", num(S(x->after_ns)));
            put(o, "noise", num(x->noise));
            put(o, "note", x->note[0] ? json_string(x->note) : json_null());
            put(o, "speed_gauge", gauge_json(&x->gauge));
            json_array_append_new(arr, o);
        }
        put(a, "suggestions", arr);
        put(a, "coverage", num(ap->coverage));
        put(a, "coverage_as_predicted", num(ap->coverage_as_predicted));
        put(a, "coverage_expected", num(ap->coverage_expected));
        json_t *cb = json_object();
        put(cb, "predicted", num(ap->combined.predicted));
        put(cb, "predicted_low", num(ap->combined.predicted_low));
        put(cb, "predicted_high", num(ap->combined.predicted_high));
        put(cb, "measured", num(ap->combined.measured));
        put(cb, "measured_low", num(ap->combined.measured_low));
        put(cb, "measured_high", num(ap->combined.measured_high));
        put(cb, "pairs", json_integer(ap->combined.pairs));
        put(cb, "cut_short", json_boolean(ap->combined.cut_short));
        put(cb, "speed_gauge", gauge_json(&ap->combined.gauge));
        put(cb, "at_apply_speed", at_speed_json(&ap->combined.at_speed));
        put(a, "combined", cb);
        put(root, "apply", a);
    }
    json_t *causal = pp__report_causal_json(&r->causal);
    if (causal)
        put(root, "causal", causal);
    return root;
}

int pp_report_to_json_string(const pp_report *r, char **out)
{
    *out = NULL;
    json_t *root = report_json(r);
    if (!root)
        return PP_ENOMEM;
    /* 15 significant digits: system_stats.timestamp (Unix seconds, ~1.8e9)
     * keeps its microseconds, which `compare --paired` orders runs by: with
     * 10 digits two sub-second runs ended "at the same time". */
    char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    json_decref(root);
    if (!s)
        return PP_ENOMEM;
    *out = s;
    return PP_OK;
}

int pp_report_write_json(const pp_report *r, const char *path, char *err, size_t errcap)
{
    char dummy[8];
    if (!err || errcap == 0) {
        err = dummy;
        errcap = sizeof dummy;
    }
    err[0] = '\0';
    char *text = NULL;
    int rc = pp_report_to_json_string(r, &text);
    if (rc != PP_OK) {
        snprintf(err, errcap, "%s: out of memory rendering the report", path);
        return rc;
    }
    size_t len = strlen(text);
    text[len] = '\n'; /* replaces the NUL: written with its length */
    rc = pp_file_write(path, text, len + 1, err, errcap);
    free(text);
    return rc;
}
