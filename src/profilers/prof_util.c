/*
 * prof_util.c - Clocks, timed stage calls and order statistics for the
 * profilers. Intervals come from the monotonic clock only.
 */
#include <fcntl.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <postprof/clock.h>
#include <postprof/error.h>

#include "common/histogram_impl.h"
#include "profilers/prof_impl.h"

uint64_t pp__prof_cpu_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int pp__prof_sched_open(void)
{
    return open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
}

/*
 * The time this thread has spent runnable but waiting for a CPU (ns), from
 * /proc/thread-self/schedstat; -1 when not readable. On a loaded machine
 * that wait comes in slices of milliseconds (at load 19 on 2 CPUs, two
 * thirds of each pass) and lands in whichever site is running: it is the
 * other programs' time, not the pass's.
 */
double pp__prof_run_delay_ns(int fd)
{
    char b[96];
    ssize_t n = fd >= 0 ? pread(fd, b, sizeof b - 1, 0) : -1;
    if (n <= 0)
        return -1;
    b[n] = 0;
    unsigned long long on_cpu = 0, waited = 0;
    if (sscanf(b, "%llu %llu", &on_cpu, &waited) != 2)
        return -1;
    return (double)waited;
}

int pp__prof_timed_thread(const pp_workload *w, pp_stage stage, unsigned index,
                          pp_stage_result *res, int sched_fd, pp__timing *out)
{
    pp_stage_result local;
    if (!res) {
        memset(&local, 0, sizeof local);
        res = &local;
    }
    double r0 = pp__prof_run_delay_ns(sched_fd);
    uint64_t c0 = pp__prof_cpu_ns(), h0 = pp_clock_thread_cpu_ns();
    uint64_t t0 = pp_clock_now_ns();
    int rc = w->run_stage(w->ctx, stage, index, res);
    uint64_t t1 = pp_clock_now_ns();
    uint64_t h1 = pp_clock_thread_cpu_ns(), c1 = pp__prof_cpu_ns();
    double r1 = pp__prof_run_delay_ns(sched_fd);
    out->wall_ns = (double)(t1 - t0);
    out->cpu_ns = (double)(c1 - c0);
    out->thread_cpu_ns = h1 > h0 ? (double)(h1 - h0) : 0.0;
    out->run_delay_ns = r0 >= 0 && r1 >= r0 ? r1 - r0 : -1.0;
    return rc;
}

int pp__prof_timed(const pp_workload *w, pp_stage stage, unsigned index, pp_stage_result *res,
                   double *out_wall_ns, double *out_cpu_ns)
{
    pp__timing t;
    int rc = pp__prof_timed_thread(w, stage, index, res, -1, &t);
    if (out_wall_ns)
        *out_wall_ns = t.wall_ns;
    if (out_cpu_ns)
        *out_cpu_ns = t.cpu_ns;
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double pp__prof_median(double *v, size_t n)
{
    if (n == 0)
        return 0.0;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

double pp__prof_spread(double *v, size_t n)
{
    if (n < 2)
        return 0.0;
    double med = pp__prof_median(v, n);
    return med > 0 ? (v[n - 1] - v[0]) / med : 0.0;
}

int pp__prof_knob_swap(const pp_workload *w, pp_knob knob, int64_t value, int64_t *old)
{
    int rc = w->get_knob(w->ctx, knob, old);
    if (rc != PP_OK)
        return rc;
    return w->set_knob(w->ctx, knob, value);
}

int pp__prof_experiment_begin(const pp_workload *w, const char *name, pp_stage stage, pp_knob knob,
                              int64_t cand, pp_experiment *out)
{
    memset(out, 0, sizeof *out);
    int rc = w->get_knob(w->ctx, knob, &out->current_value);
    if (rc != PP_OK)
        return rc;
    snprintf(out->name, sizeof out->name, "%s", name);
    out->stage = stage;
    out->knob = knob;
    out->base_value = out->current_value;
    out->cand_value = cand;
    return PP_OK;
}

int pp__prof_append_experiment(pp_report *r, const pp_experiment *e)
{
    if (r->n_experiments >= PP_REPORT_MAX_EXPERIMENTS)
        return PP_EFULL;
    r->experiments[r->n_experiments++] = *e;
    return PP_OK;
}

double pp__prof_hist_delta_quantile(const pp_histogram *after, const pp_histogram *before, double q)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < PP__HIST_BUCKETS; i++) {
        uint64_t a = atomic_load_explicit(&after->buckets[i], memory_order_relaxed);
        uint64_t b = before ? atomic_load_explicit(&before->buckets[i], memory_order_relaxed) : 0;
        n += a > b ? a - b : 0;
    }
    if (n == 0)
        return 0.0;
    uint64_t rank = (uint64_t)ceil(q * (double)n);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < PP__HIST_BUCKETS; i++) {
        uint64_t a = atomic_load_explicit(&after->buckets[i], memory_order_relaxed);
        uint64_t b = before ? atomic_load_explicit(&before->buckets[i], memory_order_relaxed) : 0;
        seen += a > b ? a - b : 0;
        if (seen >= rank) {
            if (i == PP__HIST_OVERFLOW)
                break;
            uint64_t width = 0;
            uint64_t low = pp__hist_low(i, &width);
            return ((double)low + (double)width / 2.0) * after->scale;
        }
    }
    return (double)atomic_load_explicit(&after->max, memory_order_relaxed) * after->scale;
}
