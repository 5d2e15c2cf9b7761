/*
 * metrics_std.c - The standard metrics: the design's six, the process_* set
 * every Prometheus client exports, and the system/GPU metrics fed by a
 * sysstats collector. Render hooks refresh them from snapshots and /proc;
 * nothing here runs on an instrumented hot path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/error.h>
#include <postprof/snapshot.h>
#include <postprof/sysstats.h>

#include "aggregate/registry_impl.h"

static const double duration_bounds[] = {1e-6, 1e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01,
                                         0.05, 0.1,  0.5,  1.0,  5.0,  10.0};
#define NDB (sizeof duration_bounds / sizeof duration_bounds[0])

struct std_ctx {
    pp_metric *duration, *gpu_usage;
    pp_series *memory, *cpu, *proc_cpu, *proc_rss, *proc_vm, *proc_fds, *proc_max_fds, *proc_start;
    pp_sysstats_sample prev, cur; /* previous scrape, for the CPU % without a collector */
    pp_sysstats *collector;       /* attached (under the registry's render lock) */
    struct sys_series *sys;
};

struct sys_series {
    pp_series *sys_cpu, *mem_total, *mem_avail, *mem_used, *disk_read, *disk_written, *net_rx,
        *net_tx, *load[3], *ctx_sys, *ctx_vol, *ctx_invol, *flt_minor, *flt_major, *io_read,
        *io_write, *threads, *gpu_available;
    pp_metric *gpu_mem_used, *gpu_mem_total, *gpu_temp, *gpu_power, *gpu_self_mem, *gpu_mem_util;
};

/* Label value for a site name: valid UTF-8 of bounded length. */
static void site_label(const char *name, char *out, size_t cap)
{
    size_t n = 0;
    if (!name)
        name = "(unnamed)";
    for (const char *p = name; *p && n + 4 < cap;) {
        size_t len = 1;
        unsigned c = (unsigned char)*p;
        if (c >= 0xf0)
            len = 4;
        else if (c >= 0xe0)
            len = 3;
        else if (c >= 0xc0)
            len = 2;
        if (strnlen(p, len) == len && pp__utf8_valid(p, len)) {
            memcpy(out + n, p, len);
            n += len;
            p += len;
        } else {
            out[n++] = '?';
            p++;
        }
    }
    out[n] = '\0';
}

struct site_row {
    pp_series *s;
    uint64_t cum[NDB], count;
    double sum;
};

static int cmp_row(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const struct site_row *)a)->s;
    uintptr_t y = (uintptr_t)((const struct site_row *)b)->s;
    return (x > y) - (x < y);
}

/* profiling_duration_seconds{operation} from every site's histogram, sites of
 * the same name summed. */
static void mirror_sites(struct std_ctx *x)
{
    pp_snapshot *snap = NULL;
    struct site_row *rows = NULL;
    if (pp_snapshot_take(&snap) != PP_OK)
        goto out;
    size_t n = pp_snapshot_count(snap), k = 0;
    rows = calloc(n ? n : 1, sizeof *rows);
    if (!rows)
        goto out;
    for (size_t i = 0; i < n; i++) {
        const pp_site_stats *st = pp_snapshot_site(snap, i);
        if (!st || !st->hist || pp_histogram_count(st->hist) == 0)
            continue;
        char label[PP_METRICS_MAX_LABEL_VALUE + 1];
        site_label(st->name, label, sizeof label);
        const char *values[] = {label};
        if (pp_metric_series(x->duration, values, &rows[k].s) != PP_OK)
            continue; /* over the cardinality bound: counted as dropped */
        for (size_t b = 0; b < NDB; b++)
            rows[k].cum[b] = pp_histogram_count_le(st->hist, duration_bounds[b] * 1e9);
        rows[k].count = pp_histogram_count(st->hist);
        rows[k].sum = pp_histogram_sum(st->hist) / 1e9;
        k++;
    }
    qsort(rows, k, sizeof *rows, cmp_row);
    for (size_t i = 0; i < k;) {
        struct site_row acc = rows[i];
        size_t j = i + 1;
        for (; j < k && rows[j].s == acc.s; j++) {
            for (size_t b = 0; b < NDB; b++)
                acc.cum[b] += rows[j].cum[b];
            acc.count += rows[j].count;
            acc.sum += rows[j].sum;
        }
        pp_series_mirror_histogram(acc.s, acc.cum, NDB, acc.count, acc.sum);
        i = j;
    }
out:
    free(rows);
    pp_snapshot_free(snap);
}

static void gpu_set(pp_metric *m, unsigned index, double v)
{
    char idx[16];
    snprintf(idx, sizeof idx, "%u", index);
    const char *values[] = {idx};
    pp_series *s;
    if (pp_metric_series(m, values, &s) == PP_OK)
        pp_series_set(s, v);
}

static void export_sys(struct std_ctx *x, const pp_sysstats_sample *st)
{
    struct sys_series *y = x->sys;
    pp_series_set(x->cpu, st->process_cpu_percent);
    pp_series_set(y->sys_cpu, st->system_cpu_percent);
    pp_series_set(y->mem_total, (double)st->memory_total_bytes);
    pp_series_set(y->mem_avail, (double)st->memory_available_bytes);
    pp_series_set(y->mem_used, st->memory_used_percent);
    pp_series_mirror_counter(y->disk_read, (double)st->disk_read_bytes);
    pp_series_mirror_counter(y->disk_written, (double)st->disk_written_bytes);
    pp_series_mirror_counter(y->net_rx, (double)st->net_receive_bytes);
    pp_series_mirror_counter(y->net_tx, (double)st->net_transmit_bytes);
    pp_series_set(y->load[0], st->load1);
    pp_series_set(y->load[1], st->load5);
    pp_series_set(y->load[2], st->load15);
    pp_series_mirror_counter(y->ctx_sys, (double)st->context_switches);
    pp_series_mirror_counter(y->ctx_vol, (double)st->ctx_voluntary);
    pp_series_mirror_counter(y->ctx_invol, (double)st->ctx_involuntary);
    pp_series_mirror_counter(y->flt_minor, (double)st->minor_faults);
    pp_series_mirror_counter(y->flt_major, (double)st->major_faults);
    pp_series_mirror_counter(y->io_read, (double)st->io_read_bytes);
    pp_series_mirror_counter(y->io_write, (double)st->io_write_bytes);
    pp_series_set(y->threads, (double)st->threads);
    pp_series_set(y->gpu_available, st->gpu.available ? 1.0 : 0.0);
    for (unsigned i = 0; st->gpu.available && i < st->gpu.ndevices; i++) {
        const pp_gpu_device *d = &st->gpu.devices[i];
        if (d->have_utilization) {
            gpu_set(x->gpu_usage, d->index, d->utilization_percent);
            gpu_set(y->gpu_mem_util, d->index, d->memory_utilization_percent);
        }
        if (d->have_memory) {
            gpu_set(y->gpu_mem_used, d->index, (double)d->memory_used_bytes);
            gpu_set(y->gpu_mem_total, d->index, (double)d->memory_total_bytes);
        }
        if (d->have_temperature)
            gpu_set(y->gpu_temp, d->index, d->temperature_celsius);
        if (d->have_power)
            gpu_set(y->gpu_power, d->index, d->power_watts);
        if (d->have_processes)
            gpu_set(y->gpu_self_mem, d->index, (double)d->self_memory_bytes);
    }
}

static void std_hook(pp_registry *r, void *arg)
{
    struct std_ctx *x = arg;
    (void)r;
    mirror_sites(x);
    if (pp_sysstats_read(x->prev.samples ? &x->prev : NULL, NULL, &x->cur) == PP_OK) {
        x->cur.samples = x->prev.samples + 1;
        pp_series_set(x->memory, (double)x->cur.resident_bytes);
        pp_series_set(x->cpu, x->cur.process_cpu_percent);
        pp_series_mirror_counter(x->proc_cpu, x->cur.process_cpu_seconds);
        pp_series_set(x->proc_rss, (double)x->cur.resident_bytes);
        pp_series_set(x->proc_vm, (double)x->cur.virtual_bytes);
        pp_series_set(x->proc_fds, (double)x->cur.open_fds);
        pp_series_set(x->proc_max_fds, (double)x->cur.max_fds);
        pp_series_set(x->proc_start, x->cur.start_time_seconds);
        x->prev = x->cur;
    }
    if (x->collector && x->sys) {
        pp_sysstats_latest(x->collector, &x->cur);
        export_sys(x, &x->cur);
    }
}

static void std_release(void *arg)
{
    struct std_ctx *x = arg;
    if (x)
        free(x->sys);
    free(x);
}

/* A label-less series of a new metric. */
static int plain(pp_registry *r, int kind, const char *name, const char *help, pp_series **out)
{
    pp_metric *m;
    int rc = kind == PP_METRIC_COUNTER ? pp_registry_counter(r, name, help, 0, NULL, &m)
                                       : pp_registry_gauge(r, name, help, 0, NULL, &m);
    return rc == PP_OK ? pp_metric_series(m, NULL, out) : rc;
}

#define TRY(call)                                                                                  \
    do {                                                                                           \
        rc = (call);                                                                               \
        if (rc != PP_OK)                                                                           \
            goto out;                                                                              \
    } while (0)

int pp_metrics_register_standard(pp_registry *r)
{
    int rc = PP_EINVAL;
    struct std_ctx *x = NULL;
    pp_metric *m;
    static const char *const op[] = {"operation"};
    static const char *const op_kind[] = {"operation", "kind"};
    static const char *const gpu[] = {"gpu"};
    if (!r)
        goto out;
    if (pp_registry_find(r, "profiling_duration_seconds")) {
        rc = PP_EEXIST;
        goto out;
    }
    rc = PP_ENOMEM;
    x = calloc(1, sizeof *x);
    if (!x)
        goto out;
    TRY(pp_registry_histogram(r, "profiling_duration_seconds",
                              "Duration of profiled operations (every PP_SCOPE site).", 1, op,
                              duration_bounds, NDB, &x->duration));
    TRY(plain(r, PP_METRIC_GAUGE, "memory_usage_bytes", "Resident memory of this process.",
              &x->memory));
    TRY(plain(r, PP_METRIC_GAUGE, "cpu_usage_percent",
              "CPU used by this process since the previous sample (100 = one core).", &x->cpu));
    TRY(pp_registry_gauge(r, "gpu_usage_percent", "GPU utilization per device (NVML).", 1, gpu,
                          &x->gpu_usage));
    TRY(pp_registry_gauge(r, "cache_hit_ratio",
                          "Cache hits over lookups (0..1), set by the "
                          "application.",
                          0, NULL, &m));
    TRY(pp_registry_counter(r, "bottleneck_detected_total",
                            "Bottlenecks found by the analysis, by operation and kind.", 2, op_kind,
                            &m));
    TRY(plain(r, PP_METRIC_COUNTER, "process_cpu_seconds_total",
              "Total user and system CPU time spent in seconds.", &x->proc_cpu));
    TRY(plain(r, PP_METRIC_GAUGE, "process_resident_memory_bytes", "Resident memory size in bytes.",
              &x->proc_rss));
    TRY(plain(r, PP_METRIC_GAUGE, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
              &x->proc_vm));
    TRY(plain(r, PP_METRIC_GAUGE, "process_open_fds", "Number of open file descriptors.",
              &x->proc_fds));
    TRY(plain(r, PP_METRIC_GAUGE, "process_max_fds", "Maximum number of open file descriptors.",
              &x->proc_max_fds));
    TRY(plain(r, PP_METRIC_GAUGE, "process_start_time_seconds",
              "Start time of the process since unix epoch in seconds.", &x->proc_start));
    rc = pp_registry_add_hook(r, std_hook, x, std_release);
    x = NULL; /* owned by the registry now, even on failure */
out:
    std_release(x);
    return rc;
}

static struct std_ctx *find_std(pp_registry *r)
{
    for (size_t i = 0; i < r->nhooks; i++)
        if (r->hooks[i].fn == std_hook)
            return r->hooks[i].ctx;
    return NULL;
}

static int make_sys(pp_registry *r, struct sys_series *y)
{
    int rc;
    static const char *const gpu[] = {"gpu"};
    static const char *const period[] = {"period"};
    static const char *const kind[] = {"kind"};
    static const char *const names[3] = {"1m", "5m", "15m"};
    pp_metric *m;
    TRY(plain(r, PP_METRIC_GAUGE, "postprof_system_cpu_usage_percent",
              "CPU busy over all CPUs since the previous sample (100 = all busy).", &y->sys_cpu));
    TRY(plain(r, PP_METRIC_GAUGE, "postprof_system_memory_total_bytes", "Physical memory.",
              &y->mem_total));
    TRY(plain(r, PP_METRIC_GAUGE, "postprof_system_memory_available_bytes",
              "Memory available for new work (MemAvailable).", &y->mem_avail));
    TRY(plain(r, PP_METRIC_GAUGE, "postprof_system_memory_usage_percent",
              "Memory in use: (total - available) / total, in percent.", &y->mem_used));
    TRY(plain(r, PP_METRIC_COUNTER, "postprof_system_disk_read_bytes_total",
              "Bytes read from whole disks (/proc/diskstats).", &y->disk_read));
    TRY(plain(r, PP_METRIC_COUNTER, "postprof_system_disk_written_bytes_total",
              "Bytes written to whole disks (/proc/diskstats).", &y->disk_written));
    TRY(plain(r, PP_METRIC_COUNTER, "postprof_system_network_receive_bytes_total",
              "Bytes received on every interface but lo.", &y->net_rx));
    TRY(plain(r, PP_METRIC_COUNTER, "postprof_system_network_transmit_bytes_total",
              "Bytes sent on every interface but lo.", &y->net_tx));
    TRY(pp_registry_gauge(r, "postprof_system_load_average", "Run-queue load average.", 1, period,
                          &m));
    for (int i = 0; i < 3; i++)
        TRY(pp_metric_series(m, &names[i], &y->load[i]));
    TRY(plain(r, PP_METRIC_COUNTER, "postprof_system_context_switches_total",
              "Context switches on every CPU since boot.", &y->ctx_sys));
    TRY(pp_registry_counter(r, "postprof_process_context_switches_total",
                            "Context switches of this process.", 1, kind, &m));
    TRY(pp_metric_series(m, (const char *const[]){"voluntary"}, &y->ctx_vol));
    TRY(pp_metric_series(m, (const char *const[]){"involuntary"}, &y->ctx_invol));
    TRY(pp_registry_counter(r, "postprof_process_page_faults_total", "Page faults of this process.",
                            1, kind, &m));
    TRY(pp_metric_series(m, (const char *const[]){"minor"}, &y->flt_minor));
    TRY(pp_metric_series(m, (const char *const[]){"major"}, &y->flt_major));
    TRY(plain(r, PP_METRIC_COUNTER, "postprof_process_io_read_bytes_total",
              "Bytes this process read from storage (/proc/self/io).", &y->io_read));
    TRY(plain(r, PP_METRIC_COUNTER, "postprof_process_io_written_bytes_total",
              "Bytes this process wrote to storage (/proc/self/io).", &y->io_write));
    TRY(plain(r, PP_METRIC_GAUGE, "postprof_process_threads", "Threads of this process.",
              &y->threads));
    TRY(plain(r, PP_METRIC_GAUGE, "postprof_gpu_available",
              "1 when NVML answered and at least one GPU was read, else 0.", &y->gpu_available));
    TRY(pp_registry_gauge(r, "postprof_gpu_memory_utilization_percent",
                          "GPU memory controller busy time per device.", 1, gpu, &y->gpu_mem_util));
    TRY(pp_registry_gauge(r, "postprof_gpu_memory_used_bytes", "GPU memory in use per device.", 1,
                          gpu, &y->gpu_mem_used));
    TRY(pp_registry_gauge(r, "postprof_gpu_memory_total_bytes", "GPU memory per device.", 1, gpu,
                          &y->gpu_mem_total));
    TRY(pp_registry_gauge(r, "postprof_gpu_temperature_celsius", "GPU core temperature.", 1, gpu,
                          &y->gpu_temp));
    TRY(pp_registry_gauge(r, "postprof_gpu_power_watts", "GPU power draw.", 1, gpu, &y->gpu_power));
    TRY(pp_registry_gauge(r, "postprof_gpu_process_memory_bytes",
                          "GPU memory used by this process per device.", 1, gpu, &y->gpu_self_mem));
out:
    return rc;
}

int pp_metrics_attach_sysstats(pp_registry *r, pp_sysstats *c)
{
    int rc = PP_EINVAL;
    struct sys_series *y = NULL;
    if (!r)
        return PP_EINVAL;
    pthread_mutex_lock(&r->render_lock);
    struct std_ctx *x = find_std(r);
    if (!x)
        goto out;
    if (c && !x->sys) {
        rc = PP_ENOMEM;
        y = calloc(1, sizeof *y);
        if (!y)
            goto out;
        rc = make_sys(r, y);
        if (rc != PP_OK)
            goto out;
        x->sys = y;
        y = NULL;
    }
    x->collector = c;
    rc = PP_OK;
out:
    pthread_mutex_unlock(&r->render_lock);
    free(y);
    return rc;
}

/* ---- the process-wide registry -------------------------------------------- */

static pthread_mutex_t default_lock = PTHREAD_MUTEX_INITIALIZER;
static pp_registry *default_registry;

pp_registry *pp_metrics_default(void)
{
    pthread_mutex_lock(&default_lock);
    if (!default_registry) {
        pp_registry *r = NULL;
        if (pp_registry_new(NULL, &r) == PP_OK && pp_metrics_register_standard(r) == PP_OK)
            default_registry = r;
        else
            pp_registry_free(r);
    }
    pp_registry *r = default_registry;
    pthread_mutex_unlock(&default_lock);
    return r;
}

void pp_metrics_default_free(void)
{
    pthread_mutex_lock(&default_lock);
    pp_registry_free(default_registry);
    default_registry = NULL;
    pthread_mutex_unlock(&default_lock);
}

int pp__metrics_default_visit(void (*fn)(pp_registry *r, void *ctx), void *ctx)
{
    pthread_mutex_lock(&default_lock);
    pp_registry *r = default_registry;
    if (r)
        fn(r, ctx);
    pthread_mutex_unlock(&default_lock);
    return r != NULL;
}
