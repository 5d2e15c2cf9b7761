/*
 * trial.c - A knob experiment over whole passes: interleaved pairs of passes
 * at the current and the candidate setting (which goes first alternates),
 * a snapshot after each pass giving every instrumented site's self time in
 * it, pairs added until the end-to-end interval is narrow enough or the
 * time budget is spent. analyze/predict.c turns the pairs into per-site
 * speedups and the predicted gain. Restores the knob on every path.
 */
#include <fcntl.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <postprof/clock.h>
#include <postprof/error.h>
#include <postprof/scope.h>
#include <postprof/snapshot.h>

#include "analyze/predict.h"
#include "analyze/stats.h"
#include "profilers/prof_impl.h"

#define MAX_TRIAL_PAIRS 64
#define MAX_TRIAL_SITES 256
#define MIN_TRIAL_PAIRS 6 /* the fewest pairs whose 95 % interval can exclude 1 */

typedef struct site_series {
    char name[PP_REPORT_NAME_MAX];
    char parent[PP_REPORT_NAME_MAX]; /* the enclosing scope's name, "" for a root */
    double self[2][MAX_TRIAL_PAIRS]; /* [0] current setting, [1] candidate */
    double total[2][MAX_TRIAL_PAIRS];
    double cpu[2][MAX_TRIAL_PAIRS]; /* on-CPU time of its calls (while cpu_on) */
} site_series;

typedef struct trial_ctx {
    const pp_workload *w;
    pp_knob knob;
    int64_t base, cand;
    size_t n; /* pairs recorded */
    unsigned min_pairs;
    uint64_t deadline_ns;
    pp_snapshot *last; /* snapshot after the latest pass */
    size_t n_sites;
    site_series *sites; /* MAX_TRIAL_SITES */
    int overflow;       /* more sites than tracked */
    int sched_fd;       /* /proc/thread-self/schedstat, -1 when not readable */
    int cpu_on;         /* every call's on-CPU time measured (a loaded machine) */
    double wall[2][MAX_TRIAL_PAIRS];
    double rho[2][MAX_TRIAL_PAIRS]; /* CPU wait per ns on the CPU, this thread, each pass */
    double sampling_ns;             /* on-CPU time that sampling itself adds to each call */
} trial_ctx;

/*
 * The time this thread has spent runnable but waiting for a CPU (ns), from
 * /proc/thread-self/schedstat; -1 when not readable. On a loaded machine
 * that wait comes in slices of milliseconds (at load 19 on 2 CPUs, two
 * thirds of each pass) and lands in whichever site is running: it is the
 * other programs' time, not the pass's.
 */
static double run_delay_ns(int fd)
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

/*
 * The on-CPU time a scope with nothing inside measures, per call: the
 * clock reads of on-CPU sampling that land inside the measured interval
 * (2 to 5 us here: a system call each). Every measured call carries it and
 * it is no cost of the program's (with it int8's 1.19x at the toy's
 * predict read 1.14x). The mean of 256 calls; 0 when it cannot be read.
 */
static double sampling_cost_ns(void)
{
    static pp_site site = PP_SITE_INIT("postprof.experiment.sampling_cost", 0, 1);
    pp_snapshot *s0 = NULL, *s1 = NULL;
    double cost = 0;
    if (pp_snapshot_take(&s0) != PP_OK)
        return 0;
    for (int i = 0; i < 256; i++) {
        pp_scope sc = pp_scope_begin(&site);
        pp_scope_end(&sc);
    }
    if (pp_snapshot_take(&s1) == PP_OK) {
        uint32_t id = atomic_load(&site.id);
        const pp_site_stats *a = id ? pp_snapshot_by_id(s1, id) : NULL;
        const pp_site_stats *b = id ? pp_snapshot_by_id(s0, id) : NULL;
        uint64_t n = a ? a->cpu_samples - (b ? b->cpu_samples : 0) : 0;
        if (n > 0)
            cost = (a->cpu_ns - (b ? b->cpu_ns : 0)) / (double)n;
    }
    pp_snapshot_free(s0);
    pp_snapshot_free(s1);
    return cost > 0 ? cost : 0;
}

/* One pass, its wall time, its wall time less the CPU wait inside it, and
 * that wait per ns this thread spent on the CPU. */
static int timed_pass(const trial_ctx *t, double *out_wall, double *out_quiet, double *out_rho)
{
    pp_stage_result res;
    memset(&res, 0, sizeof res);
    uint64_t t0 = pp_clock_now_ns();
    double r0 = run_delay_ns(t->sched_fd);
    uint64_t c0 = pp_clock_thread_cpu_ns();
    int rc = t->w->run_stage(t->w->ctx, PP_STAGE_PASS, 0, &res);
    uint64_t c1 = pp_clock_thread_cpu_ns();
    double r1 = run_delay_ns(t->sched_fd);
    uint64_t t1 = pp_clock_now_ns();
    double wall = (double)(t1 - t0), waited = r0 >= 0 && r1 >= r0 ? r1 - r0 : 0;
    *out_wall = wall;
    *out_rho = c1 > c0 ? waited / (double)(c1 - c0) : 0;
    /* never below 1 % of the wall time: a pass is never all waiting */
    *out_quiet = wall - waited > 0.01 * wall ? wall - waited : 0.01 * wall;
    return rc;
}

/* One series per scope name: the same name at several call sites (or in
 * another code path the setting switches to) is one site for the user. */
static site_series *series_for(trial_ctx *t, const char *name)
{
    for (size_t i = 0; i < t->n_sites; i++)
        if (strcmp(t->sites[i].name, name) == 0)
            return &t->sites[i];
    if (t->n_sites >= MAX_TRIAL_SITES) {
        t->overflow = 1;
        return NULL;
    }
    site_series *x = &t->sites[t->n_sites++];
    memset(x, 0, sizeof *x);
    snprintf(x->name, sizeof x->name, "%s", name);
    return x;
}

/* One pass at setting `cand_now`, its wall time, and every site's self and
 * total time in it (the difference of the snapshots around it). */
static int one_pass(trial_ctx *t, int cand_now, double *out_ns)
{
    int rc = t->w->set_knob(t->w->ctx, t->knob, cand_now ? t->cand : t->base);
    if (rc != PP_OK)
        return rc;
    if ((rc = timed_pass(t, &t->wall[cand_now][t->n], out_ns, &t->rho[cand_now][t->n])) != PP_OK)
        return rc;
    pp_snapshot *now = NULL;
    if ((rc = pp_snapshot_take(&now)) != PP_OK)
        return rc;
    size_t k = t->n, cnt = pp_snapshot_count(now);
    for (size_t i = 0; i < cnt; i++) {
        const pp_site_stats *a = pp_snapshot_site(now, i);
        const pp_site_stats *b = t->last ? pp_snapshot_by_id(t->last, a->id) : NULL;
        if (a->flags & PP_SITE_ASYNC)
            continue; /* async spans overlap the pass: no share of it */
        if (a->count <= (b ? b->count : 0))
            continue;
        site_series *x = series_for(t, a->name ? a->name : "?");
        if (!x)
            continue;
        x->self[cand_now][k] += a->self_ns - (b ? b->self_ns : 0);
        x->total[cand_now][k] += a->total_ns - (b ? b->total_ns : 0);
        x->cpu[cand_now][k] += a->cpu_ns - (b ? b->cpu_ns : 0) -
                               t->sampling_ns * (double)(a->cpu_samples - (b ? b->cpu_samples : 0));
        const pp_site_stats *up = a->parent_id ? pp_snapshot_by_id(now, a->parent_id) : NULL;
        if (up && up->name && !x->parent[0])
            snprintf(x->parent, sizeof x->parent, "%s", up->name);
    }
    pp_snapshot_free(t->last);
    t->last = now;
    return PP_OK;
}

static int next_pair(void *ctx, double *out_a, double *out_b)
{
    trial_ctx *t = ctx;
    if (t->n >= t->min_pairs && pp_clock_now_ns() >= t->deadline_ns)
        return PP__STATS_STOP;
    if (t->n >= MAX_TRIAL_PAIRS)
        return PP__STATS_STOP;
    /* the sites seen first in this pair read 0 in earlier pairs (calloc'd) */
    for (int h = 0; h < 2; h++) {
        int cand_now = (int)((t->n + (size_t)h) % 2u);
        double ns = 0;
        int rc = one_pass(t, cand_now, &ns);
        if (rc != PP_OK)
            return rc;
        *(cand_now ? out_b : out_a) = ns;
    }
    t->n++;
    return PP_OK;
}

/*
 * A site that only computes: a leaf (its inclusive time is its self time)
 * whose time off the CPU is what waiting for a CPU explains. A site that
 * computes waits for a CPU in proportion to its time on it (this thread's
 * wait per ns on the CPU, each pass); a site that also sleeps or waits on
 * I/O has that much more off the CPU. Summed over all passes, the time
 * left unexplained is at most 15 % of the site's time for a site that only
 * computes (the waits land at random, in slices). Its on-CPU time is then
 * its cost; any other site keeps its wall time.
 */
static int computes(const trial_ctx *t, const site_series *s)
{
    double self = 0, total = 0, unexplained = 0;
    for (int h = 0; h < 2; h++)
        for (size_t i = 0; i < t->n; i++) {
            if (!(s->cpu[h][i] > 0))
                return 0;
            self += s->self[h][i];
            total += s->total[h][i];
            unexplained += s->self[h][i] - s->cpu[h][i] * (1.0 + t->rho[h][i]);
        }
    return total > 0 && self >= 0.999 * total && unexplained <= 0.15 * self;
}

/* The stage whose scope is s or encloses it (by the snapshot's parents), -1 none. */
static int stage_of(const pp_workload *w, const trial_ctx *t, const site_series *s, int *is_stage)
{
    *is_stage = 0;
    const site_series *cur = s;
    for (int depth = 0; cur && depth < 64; depth++) {
        for (int st = 0; st < PP_STAGE_COUNT; st++)
            if (w->stage_scopes[st] && strcmp(w->stage_scopes[st], cur->name) == 0) {
                *is_stage = cur == s;
                return st;
            }
        const site_series *up = NULL;
        for (size_t i = 0; cur->parent[0] && i < t->n_sites; i++)
            if (strcmp(t->sites[i].name, cur->parent) == 0)
                up = &t->sites[i];
        cur = up == cur ? NULL : up;
    }
    return -1;
}

int pp__prof_pass_trial(const pp_workload *w, const pp_profiler_cfg *cfg, const char *name,
                        pp_stage stage, pp_knob knob, int64_t cand, double budget_ns,
                        pp_experiment *out)
{
    int rc = pp__prof_experiment_begin(w, name, stage, knob, cand, out);
    if (rc != PP_OK)
        return rc;
    int64_t old = out->current_value;
    if (old == cand)
        return PP_EUNAVAIL;
    trial_ctx t = {.w = w, .knob = knob, .base = old, .cand = cand, .sched_fd = -1};
    uint32_t cpu_every = pp_cpu_sampling();
    double a[MAX_TRIAL_PAIRS], b[MAX_TRIAL_PAIRS];
    pp__trial_site *ts = NULL;
    t.sites = calloc(MAX_TRIAL_SITES, sizeof *t.sites);
    if (!t.sites)
        return PP_ENOMEM;
    unsigned max_pairs = cfg->max_pairs ? cfg->max_pairs : 40;
    if (max_pairs > MAX_TRIAL_PAIRS)
        max_pairs = MAX_TRIAL_PAIRS;
    if (max_pairs < MIN_TRIAL_PAIRS)
        max_pairs = MIN_TRIAL_PAIRS;
    t.min_pairs = MIN_TRIAL_PAIRS;
    t.sched_fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);

    /* warm-up at the candidate (caches, pools, first-use costs); the current
     * setting ran in the passes just before */
    double wall = 0, quiet = 0, rho = 0;
    pp_snapshot *pre = NULL;
    if ((rc = pp_snapshot_take(&pre)) != PP_OK)
        goto out;
    if ((rc = w->set_knob(w->ctx, knob, cand)) != PP_OK ||
        (rc = timed_pass(&t, &wall, &quiet, &rho)) != PP_OK) {
        pp_snapshot_free(pre);
        goto out;
    }
    /* a loaded machine (the warm-up waited for a CPU for more than 2 % of
     * its time): every call's on-CPU time is measured, so that a site that
     * only computes is judged on it (costs two clock reads per call) */
    t.cpu_on = quiet < 0.98 * wall;
    if (t.cpu_on) {
        pp_set_cpu_sampling(1);
        t.sampling_ns = sampling_cost_ns();
    }
    if ((rc = pp_snapshot_take(&t.last)) != PP_OK) {
        pp_snapshot_free(pre);
        goto out;
    }
    /* enough pairs for a site to be significant among the sites a pass runs */
    size_t m = 0;
    for (size_t i = 0, cnt = pp_snapshot_count(t.last); i < cnt; i++) {
        const pp_site_stats *x = pp_snapshot_site(t.last, i);
        const pp_site_stats *y = pp_snapshot_by_id(pre, x->id);
        m += !(x->flags & PP_SITE_ASYNC) && x->count > (y ? y->count : 0);
    }
    pp_snapshot_free(pre);
    size_t need = pp__predict_min_pairs(m);
    if (need > t.min_pairs)
        t.min_pairs = (unsigned)(need < MAX_TRIAL_PAIRS ? need : MAX_TRIAL_PAIRS);
    if (max_pairs < t.min_pairs)
        max_pairs = t.min_pairs;
    t.deadline_ns = pp_clock_now_ns() + (uint64_t)(budget_ns > 0 ? budget_ns : 0);

    pp__seq_opts o = {.min_pairs = t.min_pairs,
                      .max_pairs = max_pairs,
                      .target_half_width =
                          cfg->target_half_width > 0 ? cfg->target_half_width : 0.01,
                      .conf = 0.95,
                      .tol = 0.0};
    pp__ratio_est est;
    pp__seq_stop why;
    if ((rc = pp__stats_sequential(next_pair, &t, &o, a, b, &est, &why)) != PP_OK)
        goto out;

    rc = PP_ENOMEM;
    ts = calloc(t.n_sites ? t.n_sites : 1, sizeof *ts);
    if (!ts)
        goto out;
    for (size_t i = 0; i < t.n_sites; i++) {
        ts[i].name = t.sites[i].name;
        ts[i].stage = stage_of(w, &t, &t.sites[i], &ts[i].is_stage);
        ts[i].self_a = t.sites[i].self[0];
        ts[i].self_b = t.sites[i].self[1];
        ts[i].total_a = t.sites[i].total[0];
        ts[i].total_b = t.sites[i].total[1];
        if (t.cpu_on && computes(&t, &t.sites[i])) {
            ts[i].cost_a = t.sites[i].cpu[0];
            ts[i].cost_b = t.sites[i].cpu[1];
        }
    }
    pp__trial tr = {.n_pairs = t.n,
                    .pass_a = t.wall[0],
                    .pass_b = t.wall[1],
                    .quiet_a = a,
                    .quiet_b = b,
                    .n_sites = t.n_sites,
                    .sites = ts};
    if ((rc = pp__predict_experiment(&tr, out)) != PP_OK)
        goto out;
    /* the spread of the pass times, for the evidence */
    out->base_spread = pp__prof_spread(a, t.n);
    out->cand_spread = pp__prof_spread(b, t.n);
out : {
    int rc2 = w->set_knob(w->ctx, knob, old);
    if (rc == PP_OK)
        rc = rc2;
}
    if (t.cpu_on)
        pp_set_cpu_sampling(cpu_every);
    if (t.sched_fd >= 0)
        close(t.sched_fd);
    pp_snapshot_free(t.last);
    free(t.sites);
    free(ts);
    return rc;
}
