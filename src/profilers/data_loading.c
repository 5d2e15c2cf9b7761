/*
 * data_loading.c - The design's DataLoadingProfiler: per source batch latency
 * percentiles, rows/s, bytes/s, CPU vs waiting share (the loading thread's
 * own clocks) and memory; sequential vs concurrent loading of all sources;
 * keep-alive off vs on for the network source.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <postprof/error.h>
#include <postprof/memory.h>
#include <postprof/profilers.h>

#include "profilers/prof_impl.h"

/* Add a call's workload-defined figures into the source's totals. */
static void add_figures(pp_load_profile *lp, const pp_stage_result *res)
{
    size_t n = res->n_figures < PP_STAGE_MAX_FIGURES ? res->n_figures : PP_STAGE_MAX_FIGURES;
    for (size_t i = 0; i < n; i++) {
        const char *name = res->figures[i].name;
        if (!name || !name[0])
            continue;
        size_t k = 0;
        while (k < lp->n_figures &&
               strncmp(lp->figures[k].name, name, sizeof lp->figures[k].name - 1) != 0)
            k++;
        if (k == lp->n_figures) {
            if (k >= PP_REPORT_MAX_FIGURES)
                continue;
            snprintf(lp->figures[k].name, sizeof lp->figures[k].name, "%s", name);
            lp->figures[k].total = 0;
            lp->n_figures++;
        }
        lp->figures[k].total += res->figures[i].value;
    }
}

static int profile_source(const pp_workload *w, unsigned src, unsigned batches, uint64_t batch_size,
                          pp_load_profile *lp)
{
    int rc = PP_ENOMEM;
    pp_histogram *h = pp_histogram_new();
    if (!h)
        return rc;
    int sched_fd = pp__prof_sched_open(); /* this thread's, which loads */
    memset(lp, 0, sizeof *lp);
    snprintf(lp->name, sizeof lp->name, "%s", w->source_names[src]);
    lp->batch_size = batch_size;
    if ((rc = pp__prof_timed(w, PP_STAGE_LOAD, src, NULL, NULL, NULL)) != PP_OK) /* warm-up */
        goto out;
    double rss0 = (double)pp_mem_rss_bytes();
    double wall = 0, cpu = 0, own = 0, delay = 0;
    int delay_known = sched_fd >= 0;
    for (unsigned i = 0; i < batches; i++) {
        pp_stage_result res;
        memset(&res, 0, sizeof res);
        pp__timing t;
        if ((rc = pp__prof_timed_thread(w, PP_STAGE_LOAD, src, &res, sched_fd, &t)) != PP_OK)
            goto out;
        double ns = t.wall_ns;
        /* never more than the wall time: the CPU clock's window holds the
         * wall clock's reads (a few us, 5 % of a 36 us batch) */
        double on = t.thread_cpu_ns < ns ? t.thread_cpu_ns : ns;
        own += on;
        /* the wait for a CPU, never more than the time off it: the kernel
         * stamps it with the clocks of the CPUs the thread left and reached,
         * which on this VM differ by up to a third of a 1 ms batch */
        if (t.run_delay_ns >= 0)
            delay += t.run_delay_ns < ns - on ? t.run_delay_ns : ns - on;
        else
            delay_known = 0;
        pp_histogram_record(h, (uint64_t)ns);
        if (lp->n_batch_ns < PP_REPORT_MAX_SAMPLES)
            lp->batch_ns[lp->n_batch_ns++] = ns;
        wall += ns;
        cpu += t.cpu_ns;
        lp->rows += res.items;
        lp->bytes += res.bytes;
        lp->batches++;
        add_figures(lp, &res);
    }
    lp->rss_delta_bytes = (double)pp_mem_rss_bytes() - rss0;
    lp->mean_ns = lp->batches ? wall / (double)lp->batches : 0;
    lp->p50_ns = pp_histogram_value_at(h, 0.50);
    lp->p95_ns = pp_histogram_value_at(h, 0.95);
    lp->p99_ns = pp_histogram_value_at(h, 0.99);
    lp->rows_per_s = wall > 0 ? (double)lp->rows * 1e9 / wall : 0;
    lp->bytes_per_s = wall > 0 ? (double)lp->bytes * 1e9 / wall : 0;
    /* the process's CPU counts every thread (an in-process server's too, at
     * 190 % for the posts API source while its loader waited); whether the
     * loading waits is the loading thread's own: its wall time neither on
     * a CPU nor waiting for one */
    lp->cpu_share = wall > 0 ? cpu / wall : 0;
    lp->thread_measured = 1;
    lp->thread_cpu_share = wall > 0 ? own / wall : 0;
    lp->cpu_wait_share = !delay_known ? -1.0 : wall > 0 ? delay / wall : 0;
    double blocked = wall - own - (delay_known ? delay : 0);
    lp->wait_share = wall > 0 && blocked > 0 ? blocked / wall : 0.0;
    rc = PP_OK;
out:
    if (sched_fd >= 0)
        close(sched_fd);
    pp_histogram_free(h);
    return rc;
}

int pp_profiler_data_loading(const pp_workload *w, const pp_profiler_cfg *cfg, pp_report *r)
{
    int rc = pp_workload_check(w);
    if (rc != PP_OK)
        return rc;
    pp_data_loading *dl = &r->loading;
    memset(dl, 0, sizeof *dl);
    dl->keep_alive_source = -1;
    int64_t old_batch = 0;
    int have_batch = pp__prof_knob_swap(w, PP_KNOB_LOAD_BATCH, cfg->load_batch, &old_batch);
    if (have_batch != PP_OK && have_batch != PP_EUNAVAIL)
        return have_batch;
    uint64_t batch_size = cfg->load_batch;
    if (have_batch == PP_EUNAVAIL)
        batch_size = 0; /* the workload's own; read from the first result */
    unsigned batches = cfg->load_batches ? cfg->load_batches : 1;
    double means[PP_WORKLOAD_MAX_SOURCES];
    for (unsigned s = 0; s < w->n_sources; s++) {
        if ((rc = profile_source(w, s, batches, batch_size, &dl->sources[s])) != PP_OK)
            goto out;
        if (!batch_size && dl->sources[s].batches)
            dl->sources[s].batch_size = dl->sources[s].rows / dl->sources[s].batches;
        means[s] = dl->sources[s].mean_ns;
        dl->sum_ns += means[s];
        dl->n_sources++;
    }
    dl->critical_path_ns = pp_critical_path_ns(means, dl->n_sources);

    uint64_t rows = batch_size; /* per batch from each source in the experiments below */
    if (w->load_batch_is_batch_size && have_batch == PP_OK) {
        /* the experiments below predict the pass: load as many rows per
         * batch as the pass does */
        int64_t b = 0;
        if (w->get_knob(w->ctx, PP_KNOB_BATCH_SIZE, &b) == PP_OK && b > 0) {
            if ((rc = w->set_knob(w->ctx, PP_KNOB_LOAD_BATCH, b)) != PP_OK)
                goto out;
            rows = (uint64_t)b;
        }
    }
    pp_experiment e;
    int64_t conc = 0;
    if (w->n_sources > 1 && w->get_knob(w->ctx, PP_KNOB_CONCURRENCY, &conc) == PP_OK) {
        /* from the current setting when it is partly concurrent, else from sequential */
        int64_t base = (conc > 1 && conc < (int64_t)w->n_sources) ? conc : 1;
        rc = pp_experiment_run(w, "concurrent_loading", PP_STAGE_LOAD_ALL, 0, PP_KNOB_CONCURRENCY,
                               base, (int64_t)w->n_sources, cfg->repeats, &e);
        if (rc == PP_OK) {
            dl->has_concurrency = 1;
            dl->sequential_ns = e.base_ns;
            dl->concurrent_ns = e.cand_ns;
            pp__prof_ab(&e, &dl->concurrency_ab);
            dl->concurrency_rows = rows;
        } else if (rc != PP_EUNAVAIL) {
            goto out;
        }
    }
    if (w->network_source >= 0) {
        rc = pp_experiment_run(w, "keep_alive", PP_STAGE_LOAD, (unsigned)w->network_source,
                               PP_KNOB_KEEP_ALIVE, 0, 1, cfg->repeats, &e);
        if (rc == PP_OK) {
            dl->has_keep_alive = 1;
            dl->keep_alive_source = w->network_source;
            dl->keep_alive_off_ns = e.base_ns;
            dl->keep_alive_on_ns = e.cand_ns;
            pp__prof_ab(&e, &dl->keep_alive_ab);
        } else if (rc != PP_EUNAVAIL) {
            goto out;
        }
    }
    rc = PP_OK;
out:
    if (have_batch == PP_OK) {
        int rc2 = w->set_knob(w->ctx, PP_KNOB_LOAD_BATCH, old_batch);
        if (rc == PP_OK)
            rc = rc2;
    }
    return rc;
}
