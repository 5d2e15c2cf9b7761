/*
 * report_read.c - Reads a JSON report back into a pp_report (for `postprof
 * compare` and tools). Input is outside data: every field's type and range
 * is checked, arrays are bounded by the report's fixed sizes, the first
 * fault is named by its path. Never prints.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <postprof/file.h>
#include <postprof/error.h>
#include <postprof/report.h>

#include "export/formats/report_causal.h"

#define MAX_INPUT (64u * 1024u * 1024u)
#define MIB 1048576.0

typedef struct rd {
    char *err;
    size_t errcap;
    int failed;
} rd;

static int fail(rd *c, const char *path, const char *key, const char *what)
{
    if (!c->failed)
        snprintf(c->err, c->errcap, "%s%s%s: %s", path, key ? "." : "", key ? key : "", what);
    c->failed = 1;
    return PP_EFORMAT;
}

/* A number field; absent or null leaves *out unchanged unless required. */
static int get_num(rd *c, json_t *o, const char *path, const char *key, int required, double *out)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return required ? fail(c, path, key, "missing") : PP_OK;
    if (!json_is_number(v))
        return fail(c, path, key, "not a number");
    double d = json_number_value(v);
    if (!isfinite(d))
        return fail(c, path, key, "not finite");
    *out = d;
    return PP_OK;
}

/* An optional speedup KEY with KEY_low and KEY_high (null: no upper end):
 * all 0 when KEY is absent or null (reports of before), an error when it
 * is a number not above 0. */
static void get_speed(rd *c, json_t *o, const char *path, const char *key, double *est, double *low,
                      double *high)
{
    char k[64];
    *est = *low = 0.0;
    *high = INFINITY;
    get_num(c, o, path, key, 0, est);
    snprintf(k, sizeof k, "%s_low", key);
    get_num(c, o, path, k, 0, low);
    snprintf(k, sizeof k, "%s_high", key);
    get_num(c, o, path, k, 0, high);
    json_t *v = json_object_get(o, key);
    if (v && json_is_number(v) && !(*est > 0))
        fail(c, path, key, "not positive");
    if (!(*est > 0))
        *est = *low = *high = 0.0;
}

/* An optional share of time (>= 0); -1 when absent or null. */
static int get_share(rd *c, json_t *o, const char *path, const char *key, double *out)
{
    double d = -1.0;
    int rc = get_num(c, o, path, key, 0, &d);
    *out = -1.0;
    if (rc != PP_OK)
        return rc;
    if (json_object_get(o, key) && !json_is_null(json_object_get(o, key)) && d < 0)
        return fail(c, path, key, "negative");
    *out = d;
    return PP_OK;
}

static int get_u64(rd *c, json_t *o, const char *path, const char *key, int required, uint64_t *out)
{
    json_t *v = json_object_get(o, key);
    double d = 0;
    int rc = get_num(c, o, path, key, required, &d);
    if (rc != PP_OK || !v || json_is_null(v))
        return rc;
    if (d < 0 || d > 1.8e19 || d != floor(d))
        return fail(c, path, key, "not a non-negative integer");
    *out = (uint64_t)d;
    return PP_OK;
}

static int get_ns(rd *c, json_t *o, const char *path, const char *key, int required, double *out)
{
    double s = 0;
    int rc = get_num(c, o, path, key, required, &s);
    if (rc == PP_OK && json_object_get(o, key) && !json_is_null(json_object_get(o, key)))
        *out = s * 1e9;
    return rc;
}

static int get_str(rd *c, json_t *o, const char *path, const char *key, int required, char *out,
                   size_t cap)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return required ? fail(c, path, key, "missing") : PP_OK;
    if (!json_is_string(v))
        return fail(c, path, key, "not a string");
    snprintf(out, cap, "%s", json_string_value(v));
    return PP_OK;
}

static int get_bool(rd *c, json_t *o, const char *path, const char *key, int *out)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return PP_OK;
    if (!json_is_boolean(v))
        return fail(c, path, key, "not a boolean");
    *out = json_is_true(v);
    return PP_OK;
}

/* An A/B comparison's speedup and its interval (optional: reports from
 * before have none; null: not measured). */
static void get_ab(rd *c, json_t *o, const char *path, pp_ab *ab)
{
    memset(ab, 0, sizeof *ab);
    json_t *v = json_object_get(o, "speedup");
    if (!v || json_is_null(v))
        return;
    ab->speedup_high = INFINITY; /* null: no upper end */
    get_num(c, o, path, "speedup", 1, &ab->speedup);
    get_num(c, o, path, "speedup_low", 1, &ab->speedup_low);
    get_num(c, o, path, "speedup_high", 0, &ab->speedup_high);
    get_bool(c, o, path, "significant", &ab->significant);
    uint64_t pairs = 0;
    get_u64(c, o, path, "pairs", 0, &pairs);
    ab->pairs = pairs <= 1000000 ? (unsigned)pairs : 1000000u;
    if (c->failed)
        return;
    if (!(ab->speedup > 0))
        fail(c, path, "speedup", "not positive");
    else if (!(ab->speedup_low >= 0 && ab->speedup_low <= ab->speedup &&
               ab->speedup <= ab->speedup_high))
        fail(c, path, "speedup", "outside [speedup_low, speedup_high]");
    ab->known = !c->failed;
}

static json_t *get_obj(rd *c, json_t *o, const char *path, const char *key, int required)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        if (required)
            fail(c, path, key, "missing");
        return NULL;
    }
    if (!json_is_object(v)) {
        fail(c, path, key, "not an object");
        return NULL;
    }
    return v;
}

static json_t *get_arr(rd *c, json_t *o, const char *path, const char *key, int required,
                       size_t max)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        if (required)
            fail(c, path, key, "missing");
        return NULL;
    }
    if (!json_is_array(v)) {
        fail(c, path, key, "not an array");
        return NULL;
    }
    if (json_array_size(v) > max) {
        fail(c, path, key, "too many elements");
        return NULL;
    }
    return v;
}

/* An enum value from its name, via the report's name functions. */
static int get_enum(rd *c, json_t *o, const char *path, const char *key, int required,
                    const char *(*name)(int), int count, int *out)
{
    char s[64] = "";
    if (get_str(c, o, path, key, required, s, sizeof s) != PP_OK)
        return PP_EFORMAT;
    if (!s[0] && !required)
        return PP_OK;
    for (int i = 0; i < count; i++)
        if (strcmp(name(i), s) == 0) {
            *out = i;
            return PP_OK;
        }
    return fail(c, path, key, "unknown value");
}

static const char *kind_name(int i)
{
    return pp_finding_kind_name((pp_finding_kind)i);
}
static const char *sev_name(int i)
{
    return pp_severity_name((pp_severity)i);
}
static const char *cat_name(int i)
{
    return pp_category_name((pp_category)i);
}
static const char *impact_name(int i)
{
    return pp_impact_name((pp_impact)i);
}
static const char *basis_name(int i)
{
    return pp_basis_name((pp_basis)i);
}
static const char *knob_name(int i)
{
    return pp_knob_name((pp_knob)i);
}
static const char *stage_name(int i)
{
    return pp_stage_name((pp_stage)i);
}

static void read_system(rd *c, json_t *o, pp_sysstats_summary *s)
{
    const char *p = "system_stats";
    get_num(c, o, p, "cpu_percent", 1, &s->cpu_percent);
    get_num(c, o, p, "memory_percent", 1, &s->memory_percent);
    get_num(c, o, p, "memory_available", 1, &s->memory_available_gb);
    get_num(c, o, p, "rss_bytes", 0, &s->rss_bytes);
    get_num(c, o, p, "peak_rss_bytes", 0, &s->peak_rss_bytes);
    get_num(c, o, p, "timestamp", 1, &s->timestamp);
    double n = 0;
    get_num(c, o, p, "n_cpus", 0, &n);
    s->n_cpus = n >= 0 && n < 1e6 ? (int)n : 0;
    json_t *io = get_obj(c, o, p, "disk_io", 0);
    if (io) {
        get_num(c, io, "system_stats.disk_io", "read_bytes", 0, &s->disk_read_bytes);
        get_num(c, io, "system_stats.disk_io", "write_bytes", 0, &s->disk_write_bytes);
    }
}

/* Per-batch latencies (seconds) into ns[]; optional, at most PP_REPORT_MAX_SAMPLES. */
static void read_samples(rd *c, json_t *o, const char *path, double *ns, size_t *n)
{
    json_t *a = get_arr(c, o, path, "batch_s", 0, PP_REPORT_MAX_SAMPLES);
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        double d = json_is_number(v) ? json_number_value(v) : -1.0;
        if (!(d >= 0.0 && d < 1e9)) {
            fail(c, path, "batch_s", "element not a non-negative number of seconds");
            return;
        }
        ns[(*n)++] = d * 1e9;
    }
}

/* "settings": {"name": "value", ...}, every value a string. */
static void read_settings(rd *c, json_t *root, pp_report *r)
{
    json_t *o = get_obj(c, root, "report", "settings", 0);
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        char p[PP_REPORT_NAME_MAX + 16];
        snprintf(p, sizeof p, "settings.%.48s", k);
        if (!json_is_string(v)) {
            fail(c, p, NULL, "not a string");
            return;
        }
        int rc = pp_report_setting_set(r, k, json_string_value(v));
        if (rc == PP_ERANGE) {
            fail(c, "settings", NULL, "too many settings");
            return;
        }
        if (rc != PP_OK) {
            fail(c, p, NULL, "name or value too long (or empty name)");
            return;
        }
    }
}

static void read_perf(rd *c, json_t *o, pp_perf_profile *p)
{
    const char *path = "performance";
    get_ns(c, o, path, "end_to_end_s", 0, &p->end_to_end_ns);
    json_t *a = get_arr(c, o, path, "pass_s", 0, PP_REPORT_MAX_PASSES);
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        if (!json_is_number(v)) {
            fail(c, path, "pass_s", "element not a number");
            return;
        }
        p->pass_ns[p->n_passes++] = json_number_value(v) * 1e9;
    }
    a = get_arr(c, o, path, "pass_cpu_s", 0, PP_REPORT_MAX_PASSES);
    if (a && json_array_size(a) != 0 && json_array_size(a) != p->n_passes) {
        fail(c, path, "pass_cpu_s", "not one value per pass (as many as pass_s)");
        return;
    }
    json_array_foreach(a, i, v)
    {
        double d = json_is_number(v) ? json_number_value(v) : -1.0;
        if (!(d >= 0.0 && d < 1e9)) {
            fail(c, path, "pass_cpu_s", "element not a non-negative number of seconds");
            return;
        }
        p->pass_cpu_ns[i] = d * 1e9;
    }
    json_t *sh = get_obj(c, o, path, "stage_share", 0);
    for (int s = 0; sh && s < PP_STAGE_COUNT; s++)
        get_num(c, sh, "performance.stage_share", pp_stage_name((pp_stage)s), 0,
                &p->stage_share[s]);
    json_t *ops = get_arr(c, o, path, "operations", 0, PP_REPORT_MAX_OPS);
    json_array_foreach(ops, i, v)
    {
        pp_perf_op *op = &p->ops[p->n_ops];
        char ip[64];
        snprintf(ip, sizeof ip, "performance.operations[%zu]", i);
        if (!json_is_object(v)) {
            fail(c, ip, NULL, "not an object");
            return;
        }
        double parent = -1, depth = 0, mem = 0;
        get_str(c, v, ip, "name", 1, op->name, sizeof op->name);
        get_num(c, v, ip, "parent", 0, &parent);
        get_num(c, v, ip, "depth", 0, &depth);
        get_u64(c, v, ip, "count", 1, &op->count);
        get_ns(c, v, ip, "total_s", 1, &op->total_ns);
        get_ns(c, v, ip, "self_s", 0, &op->self_ns);
        get_ns(c, v, ip, "mean_s", 0, &op->mean_ns);
        get_ns(c, v, ip, "max_s", 0, &op->max_ns);
        get_ns(c, v, ip, "p50_s", 0, &op->p50_ns);
        get_ns(c, v, ip, "p95_s", 0, &op->p95_ns);
        get_ns(c, v, ip, "p99_s", 0, &op->p99_ns);
        get_ns(c, v, ip, "cpu_s", 0, &op->cpu_ns);
        get_ns(c, v, ip, "cpu_wall_s", 0, &op->cpu_wall_ns);
        get_u64(c, v, ip, "cpu_calls", 0, &op->cpu_calls);
        get_num(c, v, ip, "memory_delta_mb", 0, &mem);
        get_num(c, v, ip, "alloc_bytes", 0, &op->alloc_bytes);
        /* null or absent: not measured */
        op->cpu_measured = json_is_number(json_object_get(v, "cpu_s")) &&
                           json_is_number(json_object_get(v, "cpu_wall_s"));
        op->mem_measured = json_is_number(json_object_get(v, "memory_delta_mb"));
        op->alloc_measured = json_is_number(json_object_get(v, "alloc_bytes"));
        get_num(c, v, ip, "share", 0, &op->share);
        if (parent < -1 || parent >= (double)PP_REPORT_MAX_OPS || depth < 0 || depth > 1e6) {
            fail(c, ip, "parent", "out of range");
            return;
        }
        op->parent = (int)parent;
        op->depth = (int)depth;
        op->mem_delta_bytes = mem * MIB;
        p->n_ops++;
    }
}

static void read_loading(rd *c, json_t *o, pp_data_loading *d)
{
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        if (strcmp(key, "sequential_vs_concurrent") == 0) {
            const char *p = "data_loading.sequential_vs_concurrent";
            if (!json_is_object(v)) {
                fail(c, p, NULL, "not an object");
                return;
            }
            get_bool(c, v, p, "measured", &d->has_concurrency);
            get_ns(c, v, p, "sequential_s", 0, &d->sequential_ns);
            get_ns(c, v, p, "concurrent_s", 0, &d->concurrent_ns);
            get_ns(c, v, p, "sum_s", 0, &d->sum_ns);
            get_ns(c, v, p, "critical_path_s", 0, &d->critical_path_ns);
            get_u64(c, v, p, "rows_per_batch", 0, &d->concurrency_rows);
            get_ab(c, v, p, &d->concurrency_ab);
            continue;
        }
        if (strcmp(key, "keep_alive") == 0) {
            const char *p = "data_loading.keep_alive";
            if (!json_is_object(v)) {
                fail(c, p, NULL, "not an object");
                return;
            }
            get_bool(c, v, p, "measured", &d->has_keep_alive);
            get_ns(c, v, p, "off_s", 0, &d->keep_alive_off_ns);
            get_ns(c, v, p, "on_s", 0, &d->keep_alive_on_ns);
            get_ab(c, v, p, &d->keep_alive_ab);
            continue;
        }
        if (d->n_sources >= PP_WORKLOAD_MAX_SOURCES) {
            fail(c, "data_loading", NULL, "too many sources");
            return;
        }
        char p[PP_REPORT_NAME_MAX + 16];
        snprintf(p, sizeof p, "data_loading.%.40s", key);
        if (!json_is_object(v)) {
            fail(c, p, NULL, "not an object");
            return;
        }
        pp_load_profile *l = &d->sources[d->n_sources++];
        snprintf(l->name, sizeof l->name, "%s", key);
        double mem = 0;
        get_ns(c, v, p, "loading_time", 1, &l->mean_ns);
        get_num(c, v, p, "memory_usage", 1, &mem);
        l->rss_delta_bytes = mem * MIB;
        get_u64(c, v, p, "batch_size", 0, &l->batch_size);
        get_u64(c, v, p, "batches", 0, &l->batches);
        get_u64(c, v, p, "rows", 0, &l->rows);
        get_u64(c, v, p, "bytes", 0, &l->bytes);
        get_ns(c, v, p, "p50_s", 0, &l->p50_ns);
        get_ns(c, v, p, "p95_s", 0, &l->p95_ns);
        get_ns(c, v, p, "p99_s", 0, &l->p99_ns);
        get_num(c, v, p, "rows_per_s", 0, &l->rows_per_s);
        get_num(c, v, p, "bytes_per_s", 0, &l->bytes_per_s);
        get_num(c, v, p, "cpu_share", 0, &l->cpu_share);
        get_num(c, v, p, "wait_share", 0, &l->wait_share);
        /* the loading thread's own clocks: absent from reports of before */
        get_share(c, v, p, "thread_cpu_share", &l->thread_cpu_share);
        get_share(c, v, p, "cpu_wait_share", &l->cpu_wait_share);
        l->thread_measured = l->thread_cpu_share >= 0;
        read_samples(c, v, p, l->batch_ns, &l->n_batch_ns);
        json_t *fig = get_obj(c, v, p, "figures", 0);
        const char *fk;
        json_t *fv;
        json_object_foreach(fig, fk, fv)
        {
            if (l->n_figures >= PP_REPORT_MAX_FIGURES) {
                fail(c, p, "figures", "too many figures");
                return;
            }
            if (!json_is_number(fv)) {
                char fp[PP_REPORT_NAME_MAX + 32];
                snprintf(fp, sizeof fp, "%s.figures", p);
                fail(c, fp, fk, "not a number");
                return;
            }
            pp_named_figure *nf = &l->figures[l->n_figures++];
            snprintf(nf->name, sizeof nf->name, "%s", fk);
            nf->total = json_number_value(fv);
        }
    }
    json_t *ka = json_object_get(o, "keep_alive");
    json_t *src = ka ? json_object_get(ka, "source") : NULL;
    for (size_t i = 0; src && json_is_string(src) && i < d->n_sources; i++)
        if (strcmp(d->sources[i].name, json_string_value(src)) == 0)
            d->keep_alive_source = (int)i;
}

static void read_models(rd *c, json_t *o, pp_model_inference *mi)
{
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        if (mi->n_models >= PP_WORKLOAD_MAX_MODELS) {
            fail(c, "model_inference", NULL, "too many models");
            return;
        }
        char p[PP_REPORT_NAME_MAX + 24];
        snprintf(p, sizeof p, "model_inference.%.40s", key);
        if (!json_is_object(v)) {
            fail(c, p, NULL, "not an object");
            return;
        }
        pp_model_profile *m = &mi->models[mi->n_models];
        snprintf(m->name, sizeof m->name, "%s", key);
        int current = 0;
        get_ns(c, v, p, "load_time", 1, &m->load_ns);
        get_bool(c, v, p, "current", &current);
        if (current)
            mi->current_model = (int)mi->n_models;
        get_u64(c, v, p, "current_batch", 0, &m->current_batch);
        get_u64(c, v, p, "best_batch", 0, &m->best_batch);
        get_u64(c, v, p, "top_batch", 0, &m->top_batch);
        get_ns(c, v, p, "best_p99_s", 0, &m->best_p99_ns);
        get_num(c, v, p, "best_throughput", 0, &m->best_throughput);
        get_ns(c, v, p, "latency_target_s", 0, &mi->latency_target_ns);
        get_bool(c, v, p, "stopped_early", &m->stopped_early);
        json_t *sw = get_arr(c, v, p, "batch_sweep", 1, PP_REPORT_MAX_BATCHES);
        size_t i;
        json_t *pt;
        json_array_foreach(sw, i, pt)
        {
            char bp[PP_REPORT_NAME_MAX + 72];
            snprintf(bp, sizeof bp, "%s.batch_sweep[%zu]", p, i);
            if (!json_is_object(pt)) {
                fail(c, bp, NULL, "not an object");
                return;
            }
            pp_batch_point *b = &m->points[m->n_points++];
            get_u64(c, pt, bp, "batch", 1, &b->batch);
            get_ns(c, pt, bp, "p50_s", 1, &b->p50_ns);
            get_ns(c, pt, bp, "p99_s", 1, &b->p99_ns);
            get_ns(c, pt, bp, "mean_s", 0, &b->mean_ns);
            get_num(c, pt, bp, "throughput", 1, &b->throughput);
            b->throughput_low = b->throughput_high = b->throughput;
            get_num(c, pt, bp, "throughput_low", 0, &b->throughput_low);
            get_num(c, pt, bp, "throughput_high", 0, &b->throughput_high);
            double samples = 0;
            get_num(c, pt, bp, "samples", 0, &samples);
            b->samples = samples >= 0 && samples <= 1e6 ? (unsigned)samples : 0;
            read_samples(c, pt, bp, b->batch_ns, &b->n_batch_ns);
        }
        json_t *q = get_obj(c, v, p, "fp32_vs_int8", 0);
        if (q) {
            char qp[PP_REPORT_NAME_MAX + 40];
            snprintf(qp, sizeof qp, "%s.fp32_vs_int8", p);
            m->has_int8 = 1;
            get_num(c, q, qp, "fp32_throughput", 1, &m->fp32_throughput);
            get_num(c, q, qp, "int8_throughput", 1, &m->int8_throughput);
            get_ns(c, q, qp, "fp32_p50_s", 0, &m->fp32_p50_ns);
            get_ns(c, q, qp, "int8_p50_s", 0, &m->int8_p50_ns);
            get_ab(c, q, qp, &m->int8_ab);
        }
        mi->n_models++;
    }
}

static void read_cache(rd *c, json_t *o, pp_cache_profile *k)
{
    const char *p = "cache_performance";
    get_bool(c, o, p, "present", &k->present);
    get_num(c, o, p, "hit_ratio", 1, &k->hit_ratio);
    get_ns(c, o, p, "avg_time", 1, &k->mean_ns);
    get_ns(c, o, p, "p99_time", 0, &k->p99_ns);
    get_u64(c, o, p, "ops", 0, &k->ops);
    get_u64(c, o, p, "hits", 0, &k->hits);
    get_u64(c, o, p, "misses", 0, &k->misses);
    get_u64(c, o, p, "evictions", 0, &k->evictions);
    get_u64(c, o, p, "capacity", 0, &k->capacity);
    get_ns(c, o, p, "replay_s", 0, &k->replay_ns);
    get_u64(c, o, p, "trace_len", 0, &k->trace_len);
    get_u64(c, o, p, "unique_keys", 0, &k->unique_keys);
    get_u64(c, o, p, "recommended_capacity", 0, &k->recommended_capacity);
    if (k->hit_ratio < 0 || k->hit_ratio > 1)
        fail(c, p, "hit_ratio", "outside [0, 1]");
    json_t *m = get_obj(c, o, p, "miss_ratio_curve", 0);
    if (m) {
        get_str(c, m, "cache_performance.miss_ratio_curve", "method", 0, k->mrc_method,
                sizeof k->mrc_method);
        get_num(c, m, "cache_performance.miss_ratio_curve", "sampling_rate", 0, &k->sampling_rate);
        json_t *pts =
            get_arr(c, m, "cache_performance.miss_ratio_curve", "points", 0, PP_REPORT_MAX_MRC);
        size_t i;
        json_t *pt;
        json_array_foreach(pts, i, pt)
        {
            char pp[64];
            snprintf(pp, sizeof pp, "cache_performance.miss_ratio_curve.points[%zu]", i);
            if (!json_is_object(pt)) {
                fail(c, pp, NULL, "not an object");
                return;
            }
            get_u64(c, pt, pp, "capacity", 1, &k->mrc[k->n_mrc].capacity);
            get_num(c, pt, pp, "miss_ratio", 1, &k->mrc[k->n_mrc].miss_ratio);
            k->n_mrc++;
        }
    }
    json_t *cf = get_obj(c, o, p, "capacity_for_hit_ratio", 0);
    if (cf) {
        static const char *const keys[3] = {"0.80", "0.90", "0.95"};
        for (int i = 0; i < 3; i++)
            get_u64(c, cf, "cache_performance.capacity_for_hit_ratio", keys[i], 0,
                    &k->capacity_for[i]);
    }
    json_t *be = get_arr(c, o, p, "backends", 0, PP_WORKLOAD_MAX_BACKENDS);
    size_t bi;
    json_t *bv;
    json_array_foreach(be, bi, bv)
    {
        char bp[64];
        snprintf(bp, sizeof bp, "cache_performance.backends[%zu]", bi);
        if (!json_is_object(bv)) {
            fail(c, bp, NULL, "not an object");
            return;
        }
        pp_cache_backend *b = &k->backends[k->n_backends++];
        get_str(c, bv, bp, "name", 1, b->name, sizeof b->name);
        get_bool(c, bv, bp, "current", &b->current);
        get_num(c, bv, bp, "hit_ratio", 1, &b->hit_ratio);
        get_ns(c, bv, bp, "avg_time", 1, &b->mean_ns);
        get_ns(c, bv, bp, "p99_time", 0, &b->p99_ns);
        get_ns(c, bv, bp, "replay_s", 0, &b->replay_ns);
        json_t *ac = get_obj(c, bv, bp, "against_current", 0);
        if (ac) {
            char ap[96];
            snprintf(ap, sizeof ap, "%s.against_current", bp);
            get_ns(c, ac, ap, "current_replay_s", 1, &b->pair_current_ns);
            get_ns(c, ac, ap, "replay_s", 1, &b->pair_replay_ns);
            get_ab(c, ac, ap, &b->against_current);
        }
    }
    json_t *rec = get_obj(c, o, p, "at_recommended", 0);
    if (rec) {
        k->has_recommended = 1;
        get_num(c, rec, "cache_performance.at_recommended", "hit_ratio", 1,
                &k->recommended_hit_ratio);
        get_ns(c, rec, "cache_performance.at_recommended", "replay_s", 1,
               &k->recommended_replay_ns);
        get_ns(c, rec, "cache_performance.at_recommended", "now_replay_s", 0,
               &k->recommended_now_ns);
        get_ab(c, rec, "cache_performance.at_recommended", &k->recommended_ab);
    }
}

static void read_setting(rd *c, json_t *o, const char *at, int *knob, int64_t *value)
{
    *knob = -1;
    json_t *s = get_obj(c, o, at, "setting", 0);
    if (!s)
        return;
    char p[96];
    snprintf(p, sizeof p, "%s.setting", at);
    int k = -1;
    double v = 0;
    get_enum(c, s, p, "knob", 1, knob_name, PP_KNOB_COUNT, &k);
    get_num(c, s, p, "value", 1, &v);
    if (fabs(v) > 9e18)
        fail(c, p, "value", "out of range");
    *knob = k;
    *value = (int64_t)v;
}

static void read_targets(rd *c, json_t *a, const char *arr, pp_target *t, size_t *n)
{
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        char p[64];
        snprintf(p, sizeof p, "%s[%zu]", arr, i);
        if (!json_is_object(v)) {
            fail(c, p, NULL, "not an object");
            return;
        }
        pp_target *x = &t[(*n)++];
        char cmp[4] = "", status[8] = "";
        get_str(c, v, p, "name", 1, x->name, sizeof x->name);
        get_num(c, v, p, "value", 1, &x->value);
        get_num(c, v, p, "limit", 1, &x->limit);
        get_str(c, v, p, "unit", 0, x->unit, sizeof x->unit);
        get_str(c, v, p, "comparison", 1, cmp, sizeof cmp);
        get_bool(c, v, p, "measured", &x->measured);
        get_str(c, v, p, "status", 1, status, sizeof status);
        if (strcmp(cmp, "<") != 0 && strcmp(cmp, ">") != 0)
            fail(c, p, "comparison", "not '<' or '>'");
        if (strcmp(status, "PASS") != 0 && strcmp(status, "FAIL") != 0)
            fail(c, p, "status", "not PASS or FAIL");
        x->upper = cmp[0] == '<';
        x->pass = status[0] == 'P';
    }
}

/* A measurement's speed_gauge (optional: reports from before it have none). */
static void read_gauge(rd *c, json_t *o, const char *at, pp_apply_gauge *g)
{
    json_t *x = get_obj(c, o, at, "speed_gauge", 0);
    if (!x)
        return;
    char path[96];
    snprintf(path, sizeof path, "%s.speed_gauge", at);
    get_bool(c, x, path, "used", &g->used);
    get_str(c, x, path, "stages", 0, g->stages, sizeof g->stages);
    get_num(c, x, path, "weight", 0, &g->theta);
    get_num(c, x, path, "share", 0, &g->share);
    get_num(c, x, path, "gauge_ratio", 0, &g->gauge_ratio);
    get_num(c, x, path, "gauge_low", 0, &g->gauge_low);
    get_num(c, x, path, "gauge_high", 0, &g->gauge_high);
    get_num(c, x, path, "unadjusted", 0, &g->raw);
    get_num(c, x, path, "unadjusted_low", 0, &g->raw_low);
    get_num(c, x, path, "unadjusted_high", 0, &g->raw_high);
    get_str(c, x, path, "why_not_used", 0, g->why, sizeof g->why);
    uint64_t aside = 0;
    get_u64(c, x, path, "pairs_set_aside", 0, &aside);
    g->set_aside = aside <= 1000000 ? (unsigned)aside : 1000000u;
}

/* A prediction made again at --apply's speed (optional: null when not made,
 * absent in reports from before it). */
static void read_at_speed(rd *c, json_t *o, const char *path, pp_apply_at_speed *as)
{
    json_t *x = get_obj(c, o, path, "at_apply_speed", 0);
    if (!x)
        return;
    char in[96];
    snprintf(in, sizeof in, "%s.at_apply_speed", path);
    as->known = 1;
    get_num(c, x, in, "predicted", 1, &as->predicted);
    get_num(c, x, in, "predicted_low", 1, &as->predicted_low);
    get_num(c, x, in, "predicted_high", 1, &as->predicted_high);
    get_bool(c, x, in, "hit", &as->hit);
    get_bool(c, x, in, "judged", &as->judged);
}

/* A phase's passes by CPU (optional: reports from before have none; null: not compared). */
static void read_cpu_split(rd *c, json_t *o, const char *at, const char *key, pp_cpu_split *x)
{
    memset(x, 0, sizeof *x);
    x->slow_cpu = x->quick_cpu = -1;
    json_t *v = get_obj(c, o, at, key, 0);
    if (!v)
        return;
    char p[64];
    snprintf(p, sizeof p, "%s%s%s", strcmp(at, "report") ? at : "", strcmp(at, "report") ? "." : "",
             key);
    double sc = -1, qc = -1;
    uint64_t sp = 0, qp = 0, mp = 0;
    get_num(c, v, p, "slow_cpu", 1, &sc);
    get_num(c, v, p, "quick_cpu", 1, &qc);
    get_u64(c, v, p, "slow_passes", 1, &sp);
    get_u64(c, v, p, "quick_passes", 1, &qp);
    get_u64(c, v, p, "moved_passes", 0, &mp);
    get_ns(c, v, p, "slow_s", 1, &x->slow_ns);
    get_ns(c, v, p, "quick_s", 1, &x->quick_ns);
    get_num(c, v, p, "ratio", 1, &x->ratio);
    get_num(c, v, p, "ratio_low", 1, &x->ratio_low);
    get_num(c, v, p, "ratio_high", 1, &x->ratio_high);
    get_bool(c, v, p, "differs", &x->differs);
    if (c->failed)
        return;
    if (!(sc >= 0 && sc < 65536 && qc >= 0 && qc < 65536 && sc != qc))
        fail(c, p, "slow_cpu", "not two different CPU numbers");
    else if (!(x->ratio_low <= x->ratio && x->ratio <= x->ratio_high && x->ratio_low > 0))
        fail(c, p, "ratio", "outside [ratio_low, ratio_high]");
    x->slow_cpu = (int)sc;
    x->quick_cpu = (int)qc;
    x->slow_passes = sp <= 64 ? (unsigned)sp : 64u;
    x->quick_passes = qp <= 64 ? (unsigned)qp : 64u;
    x->moved_passes = mp <= 64 ? (unsigned)mp : 64u;
    x->known = !c->failed;
}

static void read_apply(rd *c, json_t *root, pp_apply *ap)
{
    const char *p = "apply";
    json_t *a = get_obj(c, root, "report", "apply", 0);
    if (!a)
        return;
    json_t *b = get_obj(c, a, p, "before", 1);
    json_t *af = get_obj(c, a, p, "after", 1);
    if (!b || !af)
        return;
    json_t *ms = get_obj(c, a, p, "machine_speed", 0);
    if (ms) {
        const char *mp = "apply.machine_speed";
        ap->speed.known = 1;
        get_ns(c, ms, mp, "experiments_pass_s", 1, &ap->speed.experiments_ns);
        get_ns(c, ms, mp, "apply_pass_s", 1, &ap->speed.apply_ns);
        get_num(c, ms, mp, "ratio", 1, &ap->speed.ratio);
        get_num(c, ms, mp, "ratio_low", 1, &ap->speed.ratio_low);
        get_num(c, ms, mp, "ratio_high", 1, &ap->speed.ratio_high);
        get_bool(c, ms, mp, "differs", &ap->speed.differs);
    }
    read_cpu_split(c, a, p, "cpus", &ap->cpus);
    get_ns(c, b, "apply.before", "end_to_end_s", 1, &ap->before_ns);
    get_ns(c, af, "apply.after", "end_to_end_s", 1, &ap->after_ns);
    json_t *t = get_arr(c, b, "apply.before", "targets", 1, PP_REPORT_MAX_TARGETS);
    read_targets(c, t, "apply.before.targets", ap->before_targets, &ap->n_before_targets);
    t = get_arr(c, af, "apply.after", "targets", 1, PP_REPORT_MAX_TARGETS);
    read_targets(c, t, "apply.after.targets", ap->after_targets, &ap->n_after_targets);
    json_t *arr = get_arr(c, a, p, "suggestions", 1, PP_REPORT_MAX_SUGGESTIONS);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        char sp[64];
        snprintf(sp, sizeof sp, "apply.suggestions[%zu]", i);
        if (!json_is_object(v)) {
            fail(c, sp, NULL, "not an object");
            return;
        }
        pp_apply_result *x = &ap->results[ap->n++];
        int cat = 0;
        get_enum(c, v, sp, "category", 1, cat_name, PP_CAT_CACHE + 1, &cat);
        get_str(c, v, sp, "description", 1, x->description, sizeof x->description);
        read_setting(c, v, sp, &x->knob, &x->value);
        get_num(c, v, sp, "predicted_improvement", 1, &x->predicted_improvement);
        get_num(c, v, sp, "predicted_low", 0, &x->predicted_low);
        get_num(c, v, sp, "predicted_high", 0, &x->predicted_high);
        get_num(c, v, sp, "measured_improvement", 1, &x->measured_improvement);
        get_num(c, v, sp, "measured_low", 0, &x->measured_low);
        get_num(c, v, sp, "measured_high", 0, &x->measured_high);
        get_bool(c, v, sp, "hit", &x->hit);
        x->hit_as_predicted = x->hit; /* reports from before the speed's check */
        get_bool(c, v, sp, "hit_as_predicted", &x->hit_as_predicted);
        read_at_speed(c, v, sp, &x->at_speed);
        double pairs = 0;
        get_num(c, v, sp, "pairs", 0, &pairs);
        x->pairs = pairs >= 0 && pairs <= 1e6 ? (unsigned)pairs : 0;
        get_bool(c, v, sp, "cut_short", &x->cut_short);
        get_ns(c, v, sp, "before_s", 1, &x->before_ns);
        get_ns(c, v, sp, "after_s", 1, &x->after_ns);
        get_num(c, v, sp, "noise", 0, &x->noise);
        get_str(c, v, sp, "note", 0, x->note, sizeof x->note);
        read_gauge(c, v, sp, &x->gauge);
        x->category = (pp_category)cat;
    }
    get_num(c, a, p, "coverage", 0, &ap->coverage);
    ap->coverage_as_predicted = ap->coverage;
    get_num(c, a, p, "coverage_as_predicted", 0, &ap->coverage_as_predicted);
    ap->coverage_expected = NAN; /* not known in reports of before */
    get_num(c, a, p, "coverage_expected", 0, &ap->coverage_expected);
    json_t *cb = get_obj(c, a, p, "combined", 0);
    if (cb) {
        const char *cp = "apply.combined";
        double pairs = 0;
        get_num(c, cb, cp, "predicted", 0, &ap->combined.predicted);
        get_num(c, cb, cp, "predicted_low", 0, &ap->combined.predicted_low);
        get_num(c, cb, cp, "predicted_high", 0, &ap->combined.predicted_high);
        get_num(c, cb, cp, "measured", 0, &ap->combined.measured);
        get_num(c, cb, cp, "measured_low", 0, &ap->combined.measured_low);
        get_num(c, cb, cp, "measured_high", 0, &ap->combined.measured_high);
        get_num(c, cb, cp, "pairs", 0, &pairs);
        ap->combined.pairs = pairs >= 0 && pairs <= 1e6 ? (unsigned)pairs : 0;
        get_bool(c, cb, cp, "cut_short", &ap->combined.cut_short);
        read_gauge(c, cb, cp, &ap->combined.gauge);
        read_at_speed(c, cb, cp, &ap->combined.at_speed);
    }
    ap->done = !c->failed;
}

static void read_root(rd *c, json_t *root, pp_report *r)
{
    const char *p = "report";
    if (!json_is_object(root)) {
        fail(c, p, NULL, "not a JSON object");
        return;
    }
    double ver = 0;
    if (get_num(c, root, p, "schema_version", 1, &ver) != PP_OK)
        return;
    if (ver != PP_REPORT_SCHEMA_VERSION) {
        fail(c, p, "schema_version", "unsupported version");
        return;
    }
    get_str(c, root, p, "workload", 0, r->workload, sizeof r->workload);
    read_settings(c, root, r);
    json_t *o;
    if ((o = get_obj(c, root, p, "system_stats", 1)))
        read_system(c, o, &r->system);
    if ((o = get_obj(c, root, p, "performance", 0)))
        read_perf(c, o, &r->perf);
    if ((o = get_obj(c, root, p, "data_loading", 1)))
        read_loading(c, o, &r->loading);
    if ((o = get_obj(c, root, p, "model_inference", 1)))
        read_models(c, o, &r->inference);
    if ((o = get_obj(c, root, p, "cache_performance", 1)))
        read_cache(c, o, &r->cache);
    if (c->failed)
        return;

    size_t i;
    json_t *v;
    json_t *a = get_arr(c, root, p, "experiments", 0, PP_REPORT_MAX_EXPERIMENTS);
    json_array_foreach(a, i, v)
    {
        char ep[64];
        snprintf(ep, sizeof ep, "experiments[%zu]", i);
        if (!json_is_object(v)) {
            fail(c, ep, NULL, "not an object");
            return;
        }
        pp_experiment *e = &r->experiments[r->n_experiments++];
        int stage = 0, knob = 0;
        double bv = 0, cv = 0, cur = 0, idx = 0, rep = 0;
        get_str(c, v, ep, "name", 1, e->name, sizeof e->name);
        get_enum(c, v, ep, "stage", 1, stage_name, PP_STAGE_COUNT, &stage);
        get_enum(c, v, ep, "knob", 1, knob_name, PP_KNOB_COUNT, &knob);
        get_num(c, v, ep, "index", 0, &idx);
        get_num(c, v, ep, "base_value", 1, &bv);
        get_num(c, v, ep, "cand_value", 1, &cv);
        get_num(c, v, ep, "current_value", 0, &cur);
        get_bool(c, v, ep, "per_item", &e->per_item);
        get_ns(c, v, ep, "base_s", 1, &e->base_ns);
        get_ns(c, v, ep, "cand_s", 1, &e->cand_ns);
        get_num(c, v, ep, "base_spread", 0, &e->base_spread);
        get_num(c, v, ep, "cand_spread", 0, &e->cand_spread);
        get_num(c, v, ep, "repeats", 0, &rep);
        uint64_t aside = 0; /* older reports: none */
        get_u64(c, v, ep, "pairs_set_aside", 0, &aside);
        e->set_aside = aside <= 1000000 ? (unsigned)aside : 1000000u;
        get_bool(c, v, ep, "cut_short", &e->cut_short); /* older reports: not cut */
        /* older reports and null: not gauged, not compared (0) */
        get_speed(c, v, ep, "others_speedup", &e->others_speedup, &e->others_speedup_low,
                  &e->others_speedup_high);
        get_speed(c, v, ep, "others_own", &e->others_own, &e->others_own_low, &e->others_own_high);
        get_num(c, v, ep, "speedup", 1, &e->speedup);
        e->speedup_high = INFINITY; /* null: no upper end */
        get_num(c, v, ep, "speedup_low", 0, &e->speedup_low);
        get_num(c, v, ep, "speedup_high", 0, &e->speedup_high);
        get_bool(c, v, ep, "significant", &e->significant);
        get_num(c, v, ep, "predicted_improvement", 0, &e->predicted);
        get_num(c, v, ep, "predicted_low", 0, &e->predicted_low);
        get_num(c, v, ep, "predicted_high", 0, &e->predicted_high);
        get_bool(c, v, ep, "suggested", &e->suggested);
        json_t *sites = get_arr(c, v, ep, "sites", 0, PP_REPORT_MAX_SITES);
        size_t k;
        json_t *sv;
        json_array_foreach(sites, k, sv)
        {
            char xp[80];
            snprintf(xp, sizeof xp, "experiments[%zu].sites[%zu]", i, k);
            if (!json_is_object(sv)) {
                fail(c, xp, NULL, "not an object");
                return;
            }
            pp_site_change *x = &e->sites[e->n_sites++];
            int st = -1;
            x->stage = -1;
            x->speedup_high = INFINITY;
            get_str(c, sv, xp, "name", 1, x->name, sizeof x->name);
            json_t *stv = json_object_get(sv, "stage");
            if (stv && !json_is_null(stv) &&
                get_enum(c, sv, xp, "stage", 0, stage_name, PP_STAGE_COUNT, &st) == PP_OK)
                x->stage = st;
            get_bool(c, sv, xp, "whole_stage", &x->whole_stage);
            get_ns(c, sv, xp, "base_s", 0, &x->base_ns);
            get_ns(c, sv, xp, "cand_s", 0, &x->cand_ns);
            get_num(c, sv, xp, "share", 1, &x->share);
            get_num(c, sv, xp, "share_low", 0, &x->share_low);
            get_num(c, sv, xp, "share_high", 0, &x->share_high);
            get_num(c, sv, xp, "speedup", 1, &x->speedup);
            get_num(c, sv, xp, "speedup_low", 0, &x->speedup_low);
            get_num(c, sv, xp, "speedup_high", 0, &x->speedup_high);
            get_bool(c, sv, xp, "significant", &x->significant);
            get_num(c, sv, xp, "gain", 0, &x->gain);
        }
        if (fabs(bv) > 9e18 || fabs(cv) > 9e18 || fabs(cur) > 9e18 || idx < 0 || idx > 1e6 ||
            rep < 0 || rep > 1e6) {
            fail(c, ep, NULL, "value out of range");
            return;
        }
        e->stage = (pp_stage)stage;
        e->knob = (pp_knob)knob;
        e->index = (unsigned)idx;
        e->base_value = (int64_t)bv;
        e->cand_value = (int64_t)cv;
        e->current_value = (int64_t)cur;
        e->repeats = (unsigned)rep;
    }
    a = get_arr(c, root, p, "bottlenecks", 1, PP_REPORT_MAX_FINDINGS);
    json_array_foreach(a, i, v)
    {
        char bp[64];
        snprintf(bp, sizeof bp, "bottlenecks[%zu]", i);
        if (!json_is_object(v)) {
            fail(c, bp, NULL, "not an object");
            return;
        }
        pp_finding *f = &r->findings[r->n_findings++];
        int kind = 0, sev = 0;
        get_str(c, v, bp, "operation", 1, f->operation, sizeof f->operation);
        get_enum(c, v, bp, "kind", 1, kind_name, PP_FIND_KIND_COUNT, &kind);
        get_enum(c, v, bp, "severity", 1, sev_name, 2, &sev);
        get_num(c, v, bp, "value", 1, &f->value);
        get_num(c, v, bp, "threshold", 1, &f->threshold);
        get_str(c, v, bp, "unit", 0, f->unit, sizeof f->unit);
        get_str(c, v, bp, "message", 0, f->message, sizeof f->message);
        f->kind = (pp_finding_kind)kind;
        f->severity = (pp_severity)sev;
    }
    a = get_arr(c, root, p, "optimization_suggestions", 1, PP_REPORT_MAX_SUGGESTIONS);
    json_array_foreach(a, i, v)
    {
        char sp[64];
        snprintf(sp, sizeof sp, "optimization_suggestions[%zu]", i);
        if (!json_is_object(v)) {
            fail(c, sp, NULL, "not an object");
            return;
        }
        pp_suggestion *s = &r->suggestions[r->n_suggestions++];
        int cat = 0, imp = 0, basis = 0;
        s->design_gain = -1;
        get_enum(c, v, sp, "category", 1, cat_name, PP_CAT_CACHE + 1, &cat);
        get_str(c, v, sp, "description", 1, s->description, sizeof s->description);
        get_enum(c, v, sp, "impact", 1, impact_name, PP_IMPACT_HIGH + 1, &imp);
        get_str(c, v, sp, "implementation", 1, s->implementation, sizeof s->implementation);
        get_num(c, v, sp, "expected_improvement", 1, &s->expected_improvement);
        s->expected_improvement_low = s->expected_improvement_high = s->expected_improvement;
        get_num(c, v, sp, "expected_improvement_low", 0, &s->expected_improvement_low);
        get_num(c, v, sp, "expected_improvement_high", 0, &s->expected_improvement_high);
        get_enum(c, v, sp, "basis", 1, basis_name, PP_BASIS_ESTIMATED + 1, &basis);
        get_str(c, v, sp, "model", 0, s->model, sizeof s->model);
        get_str(c, v, sp, "evidence", 0, s->evidence, sizeof s->evidence);
        get_num(c, v, sp, "stage_share", 0, &s->stage_share);
        get_num(c, v, sp, "stage_speedup", 0, &s->stage_speedup);
        /* reports written before the field was renamed call it seed_expectation */
        get_num(c, v, sp, "seed_expectation", 0, &s->design_gain);
        get_num(c, v, sp, "design_gain", 0, &s->design_gain);
        read_setting(c, v, sp, &s->knob, &s->value);
        if (s->expected_improvement < 0 || s->expected_improvement > 1)
            fail(c, sp, "expected_improvement", "outside [0, 1]");
        s->category = (pp_category)cat;
        s->impact = (pp_impact)imp;
        s->basis = (pp_basis)basis;
    }
    a = get_arr(c, root, p, "targets", 1, PP_REPORT_MAX_TARGETS);
    read_targets(c, a, "targets", r->targets, &r->n_targets);
    read_apply(c, root, &r->apply); /* optional: only after --apply */
    read_cpu_split(c, root, "report", "experiment_cpus", &r->experiment_cpus);
    if (!c->failed && pp__report_causal_read(root, &r->causal, c->err, c->errcap) != PP_OK)
        c->failed = 1; /* optional: only after a causal phase */
}

int pp_report_read_json(const char *data, size_t len, pp_report **out, char *err, size_t errcap)
{
    char dummy[8];
    if (!err || errcap == 0) {
        err = dummy;
        errcap = sizeof dummy;
    }
    err[0] = '\0';
    *out = NULL;
    if (len > MAX_INPUT) {
        snprintf(err, errcap, "report larger than %u bytes", MAX_INPUT);
        return PP_ERANGE;
    }
    json_error_t je;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        snprintf(err, errcap, "invalid JSON at line %d, column %d: %s", je.line, je.column,
                 je.text);
        return PP_EFORMAT;
    }
    pp_report *r = pp_report_new();
    if (!r) {
        json_decref(root);
        snprintf(err, errcap, "out of memory");
        return PP_ENOMEM;
    }
    rd c = {err, errcap, 0};
    read_root(&c, root, r);
    json_decref(root);
    if (c.failed) {
        pp_report_free(r);
        return PP_EFORMAT;
    }
    *out = r;
    return PP_OK;
}

int pp_report_load_json(const char *path, pp_report **out, char *err, size_t errcap)
{
    char dummy[8];
    if (!err || errcap == 0) {
        err = dummy;
        errcap = sizeof dummy;
    }
    *out = NULL;
    char *buf = NULL;
    size_t n = 0;
    int rc = pp_file_read(path, MAX_INPUT, &buf, &n, err, errcap);
    if (rc != PP_OK)
        return rc;
    char msg[256];
    rc = pp_report_read_json(buf, n, out, msg, sizeof msg);
    if (rc != PP_OK)
        snprintf(err, errcap, "%s: %s", path, msg);
    free(buf);
    return rc;
}
