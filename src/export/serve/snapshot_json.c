/*
 * snapshot_json.c - Builds the /api/snapshot JSON document with jansson:
 * {"info": ..., "sites": [...], "system": {...}, "gpu": {...}}.
 * Reads a snapshot and a stats copy; never touches live capture data.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <postprof/error.h>

#include "export/serve/serve.h"

/* jansson refuses invalid UTF-8 strings: use a placeholder rather than drop a site. */
static json_t *str(const char *s)
{
    json_t *j = json_string(s ? s : "");
    return j ? j : json_string("(invalid UTF-8)");
}

/* jansson has no NaN or infinity: those become null. */
static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static int set(json_t *o, const char *k, json_t *v)
{
    return json_object_set_new(o, k, v);
}

static json_t *site_json(const pp_site_stats *st)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int e = 0;
    e |= set(o, "id", json_integer(st->id));
    e |= set(o, "parent_id", json_integer(st->parent_id));
    e |= set(o, "name", str(st->name));
    e |= set(o, "file", str(st->file));
    e |= set(o, "function", str(st->function));
    e |= set(o, "line", json_integer(st->line));
    e |= set(o, "count", json_integer((json_int_t)st->count));
    e |= set(o, "errors", json_integer((json_int_t)st->errors));
    e |= set(o, "total_ns", num(st->total_ns));
    e |= set(o, "self_ns", num(st->self_ns));
    e |= set(o, "min_ns", num(st->min_ns));
    e |= set(o, "max_ns", num(st->max_ns));
    e |= set(o, "mean_ns", num(st->mean_ns));
    e |= set(o, "p50_ns", num(st->p50_ns));
    e |= set(o, "p90_ns", num(st->p90_ns));
    e |= set(o, "p95_ns", num(st->p95_ns));
    e |= set(o, "p99_ns", num(st->p99_ns));
    e |= set(o, "p999_ns", num(st->p999_ns));
    e |= set(o, "cpu_ns", num(st->cpu_ns));
    e |= set(o, "cpu_wall_ns", num(st->cpu_wall_ns));
    e |= set(o, "mem_alloc_bytes", json_integer((json_int_t)st->mem_alloc_bytes));
    e |= set(o, "mem_alloc_count", json_integer((json_int_t)st->mem_alloc_count));
    e |= set(o, "mem_freed_bytes", json_integer((json_int_t)st->mem_freed_bytes));
    e |= set(o, "mem_net_bytes", json_integer(st->mem_net_bytes));
    e |= set(o, "mem_peak_bytes", json_integer(st->mem_peak_bytes));
    e |= set(o, "open_spans", json_integer((json_int_t)st->open_spans));
    if (e) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *gpu_json(const pp_gpu_stats *g)
{
    json_t *o = json_object(), *devs = json_array();
    int e = !o || !devs;
    if (!e) {
        e |= set(o, "available", json_boolean(g->available));
        if (!g->available)
            e |= set(o, "reason", str(g->reason));
        e |= set(o, "driver", str(g->driver));
    }
    for (unsigned i = 0; !e && i < g->ndevices; i++) {
        const pp_gpu_device *d = &g->devices[i];
        json_t *dj = json_object(), *procs = json_array();
        e |= !dj || !procs;
        if (!e) {
            e |= set(dj, "index", json_integer(d->index));
            e |= set(dj, "name", str(d->name));
            if (d->have_utilization) {
                e |= set(dj, "utilization_percent", num(d->utilization_percent));
                e |= set(dj, "memory_utilization_percent", num(d->memory_utilization_percent));
            }
            if (d->have_memory) {
                e |= set(dj, "memory_used_bytes", json_integer((json_int_t)d->memory_used_bytes));
                e |= set(dj, "memory_total_bytes", json_integer((json_int_t)d->memory_total_bytes));
            }
            if (d->have_temperature)
                e |= set(dj, "temperature_celsius", num(d->temperature_celsius));
            if (d->have_power)
                e |= set(dj, "power_watts", num(d->power_watts));
            e |= set(dj, "self_memory_bytes", json_integer((json_int_t)d->self_memory_bytes));
            for (unsigned k = 0; !e && k < d->nprocesses; k++) {
                json_t *p =
                    json_pack("{s:I,s:I}", "pid", (json_int_t)d->processes[k].pid, "used_bytes",
                              d->processes[k].used_bytes == UINT64_MAX
                                  ? (json_int_t)-1
                                  : (json_int_t)d->processes[k].used_bytes);
                e |= !p || json_array_append_new(procs, p);
            }
            e |= set(dj, "processes", procs);
            procs = NULL;
            e |= json_array_append_new(devs, dj);
            dj = NULL;
        }
        json_decref(dj);
        json_decref(procs);
    }
    if (!e)
        e |= set(o, "devices", devs);
    else
        json_decref(devs);
    if (e) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *system_json(const pp_sysstats_sample *s)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int e = 0;
#define U(k, v) e |= set(o, k, json_integer((json_int_t)(v)))
#define D(k, v) e |= set(o, k, num(v))
    U("samples", s->samples);
    D("process_cpu_percent", s->process_cpu_percent);
    D("process_cpu_seconds", s->process_cpu_seconds);
    U("resident_bytes", s->resident_bytes);
    U("virtual_bytes", s->virtual_bytes);
    U("open_fds", s->open_fds);
    U("max_fds", s->max_fds == UINT64_MAX ? -1 : (json_int_t)s->max_fds);
    D("start_time_seconds", s->start_time_seconds);
    U("io_read_bytes", s->io_read_bytes);
    U("io_write_bytes", s->io_write_bytes);
    U("ctx_voluntary", s->ctx_voluntary);
    U("ctx_involuntary", s->ctx_involuntary);
    U("minor_faults", s->minor_faults);
    U("major_faults", s->major_faults);
    U("threads", s->threads);
    U("ncpus", s->ncpus);
    D("system_cpu_percent", s->system_cpu_percent);
    U("memory_total_bytes", s->memory_total_bytes);
    U("memory_available_bytes", s->memory_available_bytes);
    D("memory_used_percent", s->memory_used_percent);
    U("disk_read_bytes", s->disk_read_bytes);
    U("disk_written_bytes", s->disk_written_bytes);
    U("net_receive_bytes", s->net_receive_bytes);
    U("net_transmit_bytes", s->net_transmit_bytes);
    D("load1", s->load1);
    D("load5", s->load5);
    D("load15", s->load15);
    U("context_switches", s->context_switches);
#undef U
#undef D
    if (e) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int pp__snapshot_json(const pp_snapshot *snap, const pp_sysstats_sample *sys, char **out_text,
                      size_t *out_len)
{
    int rc = PP_ENOMEM;
    json_t *root = json_object(), *sites = json_array();
    *out_text = NULL;
    *out_len = 0;
    if (!root || !sites)
        goto out;
    int e = 0;
    if (snap) {
        pp_snapshot_info info;
        pp_snapshot_get_info(snap, &info);
        e |= set(root, "info",
                 json_pack("{s:I,s:I,s:I,s:I,s:s}", "taken_at_ns", (json_int_t)info.taken_at_ns,
                           "threads_live", (json_int_t)info.threads_live, "threads_exited",
                           (json_int_t)info.threads_exited, "dropped_sites",
                           (json_int_t)info.dropped_sites, "clock_source",
                           info.clock_source ? info.clock_source : ""));
        size_t n = pp_snapshot_count(snap);
        for (size_t i = 0; i < n && !e; i++) {
            json_t *sj = site_json(pp_snapshot_site(snap, i));
            e |= !sj || json_array_append_new(sites, sj);
        }
    }
    e |= set(root, "sites", sites);
    sites = NULL;
    if (sys) {
        e |= set(root, "system", system_json(sys));
        e |= set(root, "gpu", gpu_json(&sys->gpu));
    } else {
        e |= set(root, "system", json_null());
        e |= set(root, "gpu", json_null());
    }
    if (e)
        goto out;
    *out_text = json_dumps(root, JSON_COMPACT);
    if (!*out_text)
        goto out;
    *out_len = strlen(*out_text);
    rc = PP_OK;
out:
    json_decref(sites);
    json_decref(root);
    return rc;
}
