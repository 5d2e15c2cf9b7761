/*
 * sysstats.c - Process and system statistics from /proc, and the collector
 * thread that samples them (with the GPU) every interval. Reads files into
 * bounded stack buffers; a missing file leaves its figures at 0.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <postprof/clock.h>
#include <postprof/error.h>
#include <postprof/sysstats.h>

#include "capture/procfs.h"

#define READ_MAX 65536 /* /proc/diskstats and net/dev fit; longer files are cut */

/* Read up to cap-1 bytes of path into buf. Returns bytes read, -1 on error. */
static ssize_t slurp(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t n = 0;
    while (n < cap - 1) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    return (ssize_t)n;
}

static int is_whole_disk(const char *name)
{
    char path[128];
    if (strncmp(name, "loop", 4) == 0 || strncmp(name, "ram", 3) == 0)
        return 0;
    snprintf(path, sizeof path, "/sys/block/%s", name);
    return access(path, F_OK) == 0;
}

static uint64_t count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return 0;
    uint64_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n ? n - 1 : 0; /* the directory stream's own fd */
}

static double percent(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

int pp_sysstats_read(const pp_sysstats_sample *prev, pp_gpu *gpu, pp_sysstats_sample *out)
{
    int rc = PP_OK;
    char *buf = malloc(READ_MAX);
    memset(out, 0, sizeof *out);
    out->taken_at_ns = pp_clock_now_ns();
    if (!buf) {
        rc = PP_ENOMEM;
        goto gpu;
    }
    long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    if (tck <= 0)
        tck = 100;
    if (page <= 0)
        page = 4096;

    pp__proc_stat st = {0};
    if (slurp("/proc/stat", buf, READ_MAX) > 0 && pp__procfs_stat(buf, &st) == 0) {
        out->ncpus = st.ncpus;
        out->context_switches = st.ctxt;
        if (prev && prev->samples && st.total_ticks > prev->cpu_total_ticks)
            out->system_cpu_percent = percent(st.busy_ticks - prev->cpu_busy_ticks,
                                              st.total_ticks - prev->cpu_total_ticks);
        else
            out->system_cpu_percent = percent(st.busy_ticks, st.total_ticks);
        out->cpu_busy_ticks = st.busy_ticks;
        out->cpu_total_ticks = st.total_ticks;
    }

    pp__proc_self_stat ps = {0};
    if (slurp("/proc/self/stat", buf, READ_MAX) <= 0 || pp__procfs_self_stat(buf, &ps) != 0) {
        rc = PP_EIO;
    } else {
        out->process_cpu_seconds = (double)(ps.utime_ticks + ps.stime_ticks) / (double)tck;
        out->resident_bytes = ps.rss_pages * (uint64_t)page;
        out->virtual_bytes = ps.vsize_bytes;
        out->minor_faults = ps.minflt;
        out->major_faults = ps.majflt;
        out->threads = ps.num_threads;
        out->start_time_seconds = (double)st.btime + (double)ps.starttime_ticks / (double)tck;
        double wall;
        double cpu = out->process_cpu_seconds;
        if (prev && prev->samples && out->taken_at_ns > prev->taken_at_ns) {
            wall = (double)(out->taken_at_ns - prev->taken_at_ns) / 1e9;
            cpu -= prev->process_cpu_seconds;
        } else {
            struct timespec now;
            clock_gettime(CLOCK_REALTIME, &now);
            wall = (double)now.tv_sec + now.tv_nsec / 1e9 - out->start_time_seconds;
        }
        out->process_cpu_percent = wall > 0 && cpu > 0 ? 100.0 * cpu / wall : 0.0;
    }

    if (slurp("/proc/self/status", buf, READ_MAX) > 0) {
        (void)pp__procfs_keyval(buf, "voluntary_ctxt_switches", &out->ctx_voluntary);
        (void)pp__procfs_keyval(buf, "nonvoluntary_ctxt_switches", &out->ctx_involuntary);
        (void)pp__procfs_keyval(buf, "VmHWM", &out->peak_resident_bytes);
    }
    if (slurp("/proc/self/io", buf, READ_MAX) > 0) {
        (void)pp__procfs_keyval(buf, "read_bytes", &out->io_read_bytes);
        (void)pp__procfs_keyval(buf, "write_bytes", &out->io_write_bytes);
    }
    out->open_fds = count_fds();
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        out->max_fds = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;

    if (slurp("/proc/meminfo", buf, READ_MAX) > 0) {
        (void)pp__procfs_keyval(buf, "MemTotal", &out->memory_total_bytes);
        if (pp__procfs_keyval(buf, "MemAvailable", &out->memory_available_bytes) != 0)
            (void)pp__procfs_keyval(buf, "MemFree", &out->memory_available_bytes);
        if (out->memory_available_bytes <= out->memory_total_bytes)
            out->memory_used_percent = percent(
                out->memory_total_bytes - out->memory_available_bytes, out->memory_total_bytes);
    }
    if (slurp("/proc/diskstats", buf, READ_MAX) > 0)
        (void)pp__procfs_diskstats(buf, is_whole_disk, &out->disk_read_bytes,
                                   &out->disk_written_bytes);
    if (slurp("/proc/net/dev", buf, READ_MAX) > 0)
        (void)pp__procfs_netdev(buf, &out->net_receive_bytes, &out->net_transmit_bytes);
    if (slurp("/proc/loadavg", buf, READ_MAX) > 0)
        (void)pp__procfs_loadavg(buf, &out->load1, &out->load5, &out->load15);
gpu:
    free(buf);
    pp_gpu_read(gpu, &out->gpu);
    return rc;
}

/* ---- collector ------------------------------------------------------------ */

struct pp_sysstats {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stop;
    uint64_t interval_ns;
    pp_gpu *gpu;
    pp_sysstats_sample latest; /* under lock */
    pp_sysstats_sample work;   /* collector thread only */
};

static void sample(pp_sysstats *c)
{
    pp_sysstats_sample prev;
    pthread_mutex_lock(&c->lock);
    prev = c->latest;
    pthread_mutex_unlock(&c->lock);
    if (pp_sysstats_read(&prev, c->gpu, &c->work) != PP_OK) {
        /* keep what could be read: the process figures stay 0 */
    }
    c->work.samples = prev.samples + 1;
    pthread_mutex_lock(&c->lock);
    c->latest = c->work;
    pthread_mutex_unlock(&c->lock);
}

static void *collector_main(void *arg)
{
    pp_sysstats *c = arg;
    pthread_mutex_lock(&c->lock);
    while (!c->stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        uint64_t ns = (uint64_t)until.tv_nsec + c->interval_ns;
        until.tv_sec += (time_t)(ns / 1000000000u);
        until.tv_nsec = (long)(ns % 1000000000u);
        while (!c->stop && pthread_cond_timedwait(&c->wake, &c->lock, &until) != ETIMEDOUT) {
        }
        if (c->stop)
            break;
        pthread_mutex_unlock(&c->lock);
        sample(c);
        pthread_mutex_lock(&c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

/* Release what pp_sysstats_start() set up (the thread already joined). */
static void collector_free(pp_sysstats *c)
{
    if (!c)
        return;
    pp_gpu_close(c->gpu);
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

int pp_sysstats_start(const pp_sysstats_config *cfg, pp_sysstats **out)
{
    int rc = PP_EINVAL;
    pp_sysstats *c = NULL;
    double interval = cfg ? cfg->interval_s : 0;
    if (!out)
        return PP_EINVAL;
    *out = NULL;
    if (interval == 0)
        interval = 1.0;
    if (!(interval >= 0.01 && interval <= 86400.0))
        goto out;
    rc = PP_ENOMEM;
    c = calloc(1, sizeof *c);
    if (!c)
        goto out;
    c->interval_ns = (uint64_t)(interval * 1e9);
    pthread_mutex_init(&c->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (!(cfg && cfg->no_gpu) && pp_gpu_open(&c->gpu) != PP_OK)
        goto out;
    sample(c);
    rc = PP_EIO;
    if (pthread_create(&c->thread, NULL, collector_main, c) != 0)
        goto out;
    *out = c;
    c = NULL;
    rc = PP_OK;
out:
    collector_free(c);
    return rc;
}

void pp_sysstats_latest(pp_sysstats *c, pp_sysstats_sample *out)
{
    if (!c) {
        memset(out, 0, sizeof *out);
        return;
    }
    pthread_mutex_lock(&c->lock);
    *out = c->latest;
    pthread_mutex_unlock(&c->lock);
}

void pp_sysstats_stop(pp_sysstats *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    c->stop = 1;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->thread, NULL);
    collector_free(c);
}
