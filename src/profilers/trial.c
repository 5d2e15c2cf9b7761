/*
 * trial.c - Experiments over whole passes, in rounds: each round runs one
 * pass at the current settings and one at each arm's settings (an arm: one
 * candidate knob value, or several at once for --apply), so one baseline
 * pass serves every arm's pair in that round. The baseline runs in the
 * middle of the round (a1 a2 a3 B a4 a5 a6), each arm's pass at most half
 * a round from it: the machine's speed drifts within seconds, and two
 * passes differ less the closer they run (on a 2-core VM, the same
 * setting's passes 1 apart by a median 6 %, 6 or more apart by 11 %). Odd
 * rounds run the round backwards, so that which of a pair goes first
 * alternates and a drift lands on both sides of each pair alike. With
 * per-site figures on, a snapshot after each pass gives every instrumented
 * site's self time in it; analyze/predict.c turns an arm's pairs into
 * per-site speedups and the predicted gain. Each arm stops on its own
 * (sequential stopping): when its end-to-end interval is narrow enough,
 * when it clearly cannot reach the minimum effect, when its per-site
 * prediction is settled, at its largest number of pairs, or once the
 * budget is spent and it has a few pairs more than the fewest its sites
 * can be judged with (SETTLE_PAIRS); for --apply, not while its interval
 * is wider than what it checks (pp__rounds_opts.resolve), up to 1.5 times
 * the budget. --apply's pairs whose machine changed speed between their
 * two passes are set aside by a gauge (gauged()), and each of its
 * predictions is made again with the arm's own passes at the current
 * settings (rebase_arm(): the machine's speed moves the shares of a pass).
 * On a loaded machine each site's on-CPU time is measured at a rate of its
 * own. Restores the knobs and the sampling on every path.
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
/* A "cannot reach the minimum effect" stop is judged at 98 %, not at the
 * 95 % the report prints: every round looks at the interval again, and each
 * look is a chance to stop on a momentarily pessimistic one (a stop here
 * never makes a suggestion, it can only miss one). 7 pairs at the least. */
#define STOP_CONF 0.98
/* sites counted for the fewest pairs: self time of at least this share of
 * a warm-up pass (half the share below which predict.c leaves a site out,
 * so the count errs on the side of more pairs) */
#define COUNTED_SHARE 2.5e-3
/* Pairs beyond an arm's floor before the budget may stop it. At its floor a
 * site's interval is the widest pair's (the Wilcoxon interval at the fewest
 * pairs that can exclude no change is the span of the extreme Walsh
 * averages), and the prediction that carries every site's interval is wide
 * with it: of the pipeline's default runs checked on 2 cores
 * (scripts/check_apply.sh, quiet and loaded), those whose arms stopped at
 * 8-10 pairs had 2 of 7 predicted intervals within the narrow target
 * (half-width <= max(3 points, 30 %)), those reaching 13 or more 38 of 46.
 * The budget stretches by at most half (SETTLE_STRETCH) for it, after
 * which the floor alone stops an arm. */
#define SETTLE_PAIRS 4
#define SETTLE_STRETCH 0.5
/* An arm whose per-site prediction is settled stops before the budget (once
 * it has its settle pairs), leaving the rounds to the arms still unsure:
 * its 90 % interval within max(NARROW_POINTS, NARROW_SHARE of the
 * prediction) either side, and wholly above the minimum effect or wholly
 * below it (suggested or not, either way decided). */
#define NARROW_POINTS 0.03
#define NARROW_SHARE 0.3

/* The shortest mean call, in clock reads, whose on-CPU time is its cost. A
 * call's on-CPU time is two clock reads apart, each about sampling_ns and
 * less than steady: a call shorter than this many reads is measured by the
 * reads more than by itself (the pipeline's cache gets, about a microsecond
 * each beside reads of 1.5 us, scaled to every call read as 42 % of a pass
 * under load), so its wall time stays its cost. */
#define CPU_MIN_READS 20.0
/* The share of a site's own time its clock reads may cost (pp__prof_site_cpu_every). */
#define SITE_READS_SHARE 0.01

typedef struct site_series {
    char name[PP_REPORT_NAME_MAX];
    char parent[PP_REPORT_NAME_MAX]; /* the enclosing scope's name, "" for a root */
    double self[2][MAX_TRIAL_PAIRS]; /* [0] current settings, [1] the arm's */
    double total[2][MAX_TRIAL_PAIRS];
    double cpu[2][MAX_TRIAL_PAIRS]; /* on-CPU time of its calls (while cpu_on) */
    double calls;                   /* its calls over every pass recorded */
} site_series;

/* One site's figures in one pass. */
typedef struct site_rec {
    char name[PP_REPORT_NAME_MAX];
    char parent[PP_REPORT_NAME_MAX];
    double self, total, cpu;
    double calls; /* calls that ended in the pass */
    uint32_t id;  /* the first site id seen under this name */
} site_rec;

/* One pass: its wall time, wall time less its thread's CPU waits, that wait
 * per ns on the CPU, and (with per-site figures) every site that ran in it. */
typedef struct pass_rec {
    double wall, quiet, rho;
    int cpu; /* the CPU its thread ran on, start to end; -1: it moved, or unknown */
    size_t n;
    int overflow;
    site_rec *s; /* MAX_TRIAL_SITES */
} pass_rec;

typedef struct arm_state {
    size_t n; /* pairs recorded */
    int done;
    size_t floor;  /* fewest pairs before a budget or narrow stop */
    size_t settle; /* fewest pairs before the budget stops it (floor + SETTLE_PAIRS) */
    double wall[2][MAX_TRIAL_PAIRS];
    double quiet[2][MAX_TRIAL_PAIRS];
    double rho[2][MAX_TRIAL_PAIRS]; /* CPU wait per ns on the CPU, this thread, each pass */
    int on_wall;                    /* timed on wall[] (pp__rounds_opts.wall), else on quiet[] */
    size_t n_sites;
    site_series *sites; /* MAX_TRIAL_SITES, with per-site figures */
    int overflow;
} arm_state;

/* The pass times arm s is judged on (h 0: current settings, 1: the arm's). */
static const double *timed(const arm_state *s, int h)
{
    return s->on_wall ? s->wall[h] : s->quiet[h];
}

typedef struct rounds_ctx {
    const pp_workload *w;
    const pp__arm *arms;
    size_t n_arms;
    int with_sites; /* per-site figures recorded (for out_exp, or the gauge) */
    int per_site;   /* out_exp wanted: per-site predictions */
    /* every knob any arm sets, with its value before the experiment */
    size_t n_knobs;
    pp_knob knob[PP__MAX_ARMS * PP__ARM_MAX_KNOBS];
    int64_t old[PP__MAX_ARMS * PP__ARM_MAX_KNOBS];
    int sched_fd;       /* /proc/thread-self/schedstat, -1 when not readable */
    int cpu_on;         /* every call's on-CPU time measured (a loaded machine) */
    double sampling_ns; /* on-CPU time that sampling itself adds to each call */
    pp_snapshot *last;  /* snapshot after the latest pass */
    arm_state *st;
} rounds_ctx;

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

int pp__prof_quiet_pass(const pp_workload *w, int sched_fd, double *out_wall, double *out_quiet,
                        double *out_rho)
{
    pp_stage_result res;
    memset(&res, 0, sizeof res);
    uint64_t t0 = pp_clock_now_ns();
    double r0 = pp__prof_run_delay_ns(sched_fd);
    uint64_t c0 = pp_clock_thread_cpu_ns();
    int rc = w->run_stage(w->ctx, PP_STAGE_PASS, 0, &res);
    uint64_t c1 = pp_clock_thread_cpu_ns();
    double r1 = pp__prof_run_delay_ns(sched_fd);
    uint64_t t1 = pp_clock_now_ns();
    double wall = (double)(t1 - t0), waited = r0 >= 0 && r1 >= r0 ? r1 - r0 : 0;
    if (out_wall)
        *out_wall = wall;
    if (out_rho)
        *out_rho = c1 > c0 ? waited / (double)(c1 - c0) : 0;
    /* never below 1 % of the wall time: a pass is never all waiting */
    if (out_quiet)
        *out_quiet = wall - waited > 0.01 * wall ? wall - waited : 0.01 * wall;
    return rc;
}

/* Every knob at its value before the experiment, then arm `a`'s (-1: none). */
static int set_arm(const rounds_ctx *c, int a)
{
    int rc = PP_OK;
    for (size_t k = 0; rc == PP_OK && k < c->n_knobs; k++) {
        int64_t v = c->old[k];
        for (size_t j = 0; a >= 0 && j < c->arms[a].n; j++)
            if (c->arms[a].knob[j] == c->knob[k])
                v = c->arms[a].value[j];
        rc = c->w->set_knob(c->w->ctx, c->knob[k], v);
    }
    return rc;
}

static site_rec *rec_site(pp_snapshot *now, pass_rec *r, const pp_site_stats *a)
{
    const char *name = a->name ? a->name : "?";
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->s[i].name, name) == 0)
            return &r->s[i];
    if (r->n >= MAX_TRIAL_SITES) {
        r->overflow = 1;
        return NULL;
    }
    site_rec *x = &r->s[r->n++];
    memset(x, 0, sizeof *x);
    snprintf(x->name, sizeof x->name, "%s", name);
    x->id = a->id;
    const pp_site_stats *up = a->parent_id ? pp_snapshot_by_id(now, a->parent_id) : NULL;
    if (up && up->name)
        snprintf(x->parent, sizeof x->parent, "%s", up->name);
    return x;
}

/* The root scope (no enclosing scope) that x's parents lead to; x itself
 * when it is one. */
static const pp_site_stats *root_of(const pp_snapshot *now, const pp_site_stats *x)
{
    for (int depth = 0; x->parent_id && depth < 256; depth++) {
        const pp_site_stats *up = pp_snapshot_by_id(now, x->parent_id);
        if (!up || up == x)
            break;
        x = up;
    }
    return x;
}

/*
 * The pass's own root scope: of the root scopes that ran in the pass, the
 * one with the most time, when it holds at least half the pass less its
 * thread's CPU waits (NULL: none does, every site counts; against the wall
 * time, one preemption of a few milliseconds outside the scope made a pass
 * of 1 ms under ASan on a loaded machine look rootless). Its sites are the pass's critical path:
 * the pass ends when its thread returns, and their self times never count one instant twice. Work
 * on other threads (the in-process API server's handlers, roots of their own) counts through the
 * time the pass's thread waits for it, in whichever of its scopes it waits: counting both a
 * server's handler and the client's wait for its reply counted keep-alive's
 * gain twice (17.5 % predicted where the pass measured 13 %). A site's
 * parent is the enclosing scope of its first call inside a scope (any
 * thread), so a site that runs under the pass on one thread and alone on
 * another (loaders with concurrent loading) stays the pass's: there the
 * overlap rules of analyze/predict.c apply.
 */
static const pp_site_stats *pass_root(const pp_snapshot *now, const pp_snapshot *last, double quiet)
{
    const pp_site_stats *best = NULL;
    double best_t = 0;
    for (size_t i = 0, cnt = pp_snapshot_count(now); i < cnt; i++) {
        const pp_site_stats *x = pp_snapshot_site(now, i);
        const pp_site_stats *y = last ? pp_snapshot_by_id(last, x->id) : NULL;
        if (x->parent_id || (x->flags & PP_SITE_ASYNC) || x->count <= (y ? y->count : 0))
            continue;
        double t = (double)(x->total_ns - (y ? y->total_ns : 0));
        if (t > best_t) {
            best_t = t;
            best = x;
        }
    }
    return best_t >= 0.5 * quiet ? best : NULL;
}

/* One pass at arm `a`'s settings (-1: the current ones) into *r: its times
 * and, with per-site figures, every site's self, total and on-CPU time in it
 * (the difference of the snapshots around it; one record per scope name:
 * the same name at several call sites is one site for the user). */
static int run_pass(rounds_ctx *c, int a, pass_rec *r)
{
    int rc = set_arm(c, a);
    if (rc != PP_OK)
        return rc;
    r->n = 0;
    r->overflow = 0;
    int cpu0, cpu1;
    long mig0, mig1;
    pp__prof_pass_cpu(&cpu0, &mig0);
    if ((rc = pp__prof_quiet_pass(c->w, c->sched_fd, &r->wall, &r->quiet, &r->rho)) != PP_OK)
        return rc;
    pp__prof_pass_cpu(&cpu1, &mig1);
    r->cpu = cpu0 >= 0 && cpu0 == cpu1 && mig1 == mig0 ? cpu0 : -1;
    if (!c->with_sites)
        return PP_OK;
    pp_snapshot *now = NULL;
    if ((rc = pp_snapshot_take(&now)) != PP_OK)
        return rc;
    const pp_site_stats *root = pass_root(now, c->last, r->quiet);
    for (size_t i = 0, cnt = pp_snapshot_count(now); i < cnt; i++) {
        const pp_site_stats *x = pp_snapshot_site(now, i);
        const pp_site_stats *y = c->last ? pp_snapshot_by_id(c->last, x->id) : NULL;
        if (x->flags & PP_SITE_ASYNC)
            continue; /* async spans overlap the pass: no share of it */
        if (x->count <= (y ? y->count : 0))
            continue;
        if (root && root_of(now, x) != root)
            continue; /* another thread's: the pass's thread shows its effect */
        site_rec *s = rec_site(now, r, x);
        if (!s)
            continue;
        s->self += x->self_ns - (y ? y->self_ns : 0);
        s->total += x->total_ns - (y ? y->total_ns : 0);
        /* on-CPU time of the calls measured, scaled to all of them (with
         * every Nth call measured) */
        double calls = (double)(x->count - (y ? y->count : 0));
        double measured = (double)(x->cpu_samples - (y ? y->cpu_samples : 0));
        if (measured > 0)
            s->cpu += (x->cpu_ns - (y ? y->cpu_ns : 0) - c->sampling_ns * measured) *
                      (calls > measured ? calls / measured : 1.0);
        s->calls += calls;
    }
    pp_snapshot_free(c->last);
    c->last = now;
    return PP_OK;
}

static site_series *series_for(arm_state *s, const site_rec *r)
{
    for (size_t i = 0; i < s->n_sites; i++)
        if (strcmp(s->sites[i].name, r->name) == 0)
            return &s->sites[i];
    if (s->n_sites >= MAX_TRIAL_SITES) {
        s->overflow = 1;
        return NULL;
    }
    site_series *x = &s->sites[s->n_sites++];
    memset(x, 0, sizeof *x);
    snprintf(x->name, sizeof x->name, "%s", r->name);
    return x;
}

/* Pass r as side h (0 current, 1 the arm's) of the arm's pair s->n (the
 * sites seen first in this pair read 0 in earlier pairs: zeroed). */
static void record(arm_state *s, int h, const pass_rec *r, int with_sites)
{
    size_t k = s->n;
    s->wall[h][k] = r->wall;
    s->quiet[h][k] = r->quiet;
    s->rho[h][k] = r->rho;
    s->overflow |= r->overflow;
    for (size_t i = 0; with_sites && i < r->n; i++) {
        site_series *x = series_for(s, &r->s[i]);
        if (!x)
            continue;
        x->self[h][k] += r->s[i].self;
        x->total[h][k] += r->s[i].total;
        x->cpu[h][k] += r->s[i].cpu;
        x->calls += r->s[i].calls;
        if (!x->parent[0] && r->s[i].parent[0])
            snprintf(x->parent, sizeof x->parent, "%s", r->s[i].parent);
    }
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
static int computes(const arm_state *t, const site_series *s, double sampling_ns)
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
    /* and whose calls are long enough to measure (pp__prof_calls_measurable) */
    return total > 0 && self >= 0.999 * total && unexplained <= 0.15 * self &&
           pp__prof_calls_measurable(self, s->calls, sampling_ns);
}

int pp__prof_calls_measurable(double self_ns, double calls, double sampling_ns)
{
    return calls > 0 && self_ns / calls >= CPU_MIN_READS * sampling_ns;
}

/* The site that encloses x (by the snapshot's parents), NULL for a root. */
static const site_series *parent_of(const arm_state *t, const site_series *x)
{
    const site_series *up = NULL;
    for (size_t i = 0; x->parent[0] && i < t->n_sites; i++)
        if (strcmp(t->sites[i].name, x->parent) == 0)
            up = &t->sites[i];
    return up == x ? NULL : up;
}

/* The stage whose scope is s or encloses it (by the snapshot's parents), -1 none. */
static int stage_of(const pp_workload *w, const arm_state *t, const site_series *s, int *is_stage)
{
    *is_stage = 0;
    const site_series *cur = s;
    for (int depth = 0; cur && depth < 64; depth++) {
        for (int st = 0; st < PP_STAGE_COUNT; st++)
            if (w->stage_scopes[st] && strcmp(w->stage_scopes[st], cur->name) == 0) {
                *is_stage = cur == s;
                return st;
            }
        cur = parent_of(t, cur);
    }
    return -1;
}

/* Sites whose self time is at least COUNTED_SHARE of their pass in either
 * of two passes (a stage scope: its inclusive time, which predict.c judges
 * when the stage's work overlaps). */
static int counted(const rounds_ctx *c, const pass_rec *p, const site_rec *s)
{
    double t = s->self;
    for (int st = 0; st < PP_STAGE_COUNT; st++)
        if (c->w->stage_scopes[st] && strcmp(c->w->stage_scopes[st], s->name) == 0)
            t = s->total;
    return t >= COUNTED_SHARE * p->wall;
}

static size_t counted_sites(const rounds_ctx *c, const pass_rec *a, const pass_rec *b)
{
    size_t m = 0;
    for (size_t i = 0; i < a->n; i++)
        m += counted(c, a, &a->s[i]);
    for (size_t j = 0; j < b->n; j++) {
        if (!counted(c, b, &b->s[j]))
            continue;
        int seen = 0;
        for (size_t i = 0; i < a->n && !seen; i++)
            seen = counted(c, a, &a->s[i]) && strcmp(a->s[i].name, b->s[j].name) == 0;
        m += !seen;
    }
    return m;
}

/*
 * Site x of arm s in the other arms' passes (pp__trial_site.peer_self,
 * peer_total): for each of s's pairs, the median over the other arms that
 * ran in that round and recorded the site (an arm's pair i is round i:
 * every arm runs from the first round until it stops) of their time for
 * it, NAN where fewer than PP__PREDICT_MIN_PEERS did. The median, as a
 * setting or two among them may change the site themselves.
 */
static void peers_of(const rounds_ctx *c, const arm_state *s, const site_series *x, double *self,
                     double *total)
{
    /* each other arm's series of the site, looked up once */
    const site_series *of[PP__MAX_ARMS];
    size_t runs[PP__MAX_ARMS], k = 0;
    for (size_t a = 0; a < c->n_arms; a++) {
        const arm_state *y = &c->st[a];
        for (size_t j = 0; y != s && j < y->n_sites; j++)
            if (strcmp(y->sites[j].name, x->name) == 0) {
                of[k] = &y->sites[j];
                runs[k++] = y->n;
                break;
            }
    }
    double vs[PP__MAX_ARMS], vt[PP__MAX_ARMS];
    for (size_t i = 0; i < s->n; i++) {
        size_t m = 0;
        for (size_t a = 0; a < k; a++)
            if (runs[a] > i) {
                vs[m] = of[a]->self[1][i];
                vt[m++] = of[a]->total[1][i];
            }
        if (m < PP__PREDICT_MIN_PEERS) {
            self[i] = total[i] = NAN;
            continue;
        }
        self[i] = pp__stats_median(vs, m);
        total[i] = pp__stats_median(vt, m);
    }
}

/* Arm s's fill of e from its pairs: per-site predictions (with sites) or the
 * end-to-end estimate alone. */
static int finish_arm(const rounds_ctx *c, arm_state *s, pp_experiment *e, pp__ratio_est *est)
{
    int rc = pp__stats_paired(timed(s, 0), timed(s, 1), s->n, 0.95, 0.0, est);
    if (rc != PP_OK || !e)
        return rc;
    pp__trial_site *ts = calloc(s->n_sites ? s->n_sites : 1, sizeof *ts);
    double *peer = malloc((2 * s->n_sites * s->n + 1) * sizeof *peer);
    if (!ts || !peer) {
        free(ts);
        free(peer);
        return PP_ENOMEM;
    }
    for (size_t i = 0; i < s->n_sites; i++) {
        ts[i].name = s->sites[i].name;
        ts[i].peer_self = peer + 2 * i * s->n;
        ts[i].peer_total = peer + (2 * i + 1) * s->n;
        peers_of(c, s, &s->sites[i], peer + 2 * i * s->n, peer + (2 * i + 1) * s->n);
        ts[i].stage = stage_of(c->w, s, &s->sites[i], &ts[i].is_stage);
        ts[i].self_a = s->sites[i].self[0];
        ts[i].self_b = s->sites[i].self[1];
        ts[i].total_a = s->sites[i].total[0];
        ts[i].total_b = s->sites[i].total[1];
        const site_series *up = parent_of(s, &s->sites[i]);
        ts[i].up = up ? (size_t)(up - s->sites) + 1 : 0;
        if (c->cpu_on && computes(s, &s->sites[i], c->sampling_ns)) {
            ts[i].cost_a = s->sites[i].cpu[0];
            ts[i].cost_b = s->sites[i].cpu[1];
        }
    }
    pp__trial tr = {.n_pairs = s->n,
                    .pass_a = s->wall[0],
                    .pass_b = s->wall[1],
                    .quiet_a = timed(s, 0),
                    .quiet_b = timed(s, 1),
                    .n_sites = s->n_sites,
                    .sites = ts};
    rc = pp__predict_experiment(&tr, e);
    free(ts);
    free(peer);
    if (rc != PP_OK)
        return rc;
    /* the spread of the pass times, for the evidence (sorts copies) */
    double tmp[MAX_TRIAL_PAIRS];
    memcpy(tmp, timed(s, 0), s->n * sizeof tmp[0]);
    e->base_spread = pp__prof_spread(tmp, s->n);
    memcpy(tmp, timed(s, 1), s->n * sizeof tmp[0]);
    e->cand_spread = pp__prof_spread(tmp, s->n);
    return PP_OK;
}

/* Whether arm s's prediction is settled (see NARROW_POINTS); scratch: an
 * experiment to compute it in, named as the arm (the prediction's draws
 * are seeded by the name). */
static int settled(const rounds_ctx *c, arm_state *s, const pp__rounds_opts *o,
                   pp_experiment *scratch)
{
    if (!scratch || !c->with_sites || s->n < s->settle)
        return 0;
    pp__ratio_est est;
    if (finish_arm(c, s, scratch, &est) != PP_OK)
        return 0;
    return scratch->n_sites > 0 &&
           pp__prof_prediction_settled(scratch->predicted, scratch->predicted_low,
                                       scratch->predicted_high, o->min_effect);
}

int pp__prof_prediction_settled(double predicted, double low, double high, double min_effect)
{
    if (!isfinite(predicted) || !isfinite(low) || !isfinite(high) || low > high)
        return 0;
    double allowed = fmax(NARROW_POINTS, NARROW_SHARE * fabs(predicted));
    return (high - low) / 2.0 <= allowed && (low > min_effect || high < min_effect);
}

/*
 * Measure every Nth call's on-CPU time, N such that the clock reads cost at
 * most 1 % of a pass like p. Each measured call reads the thread's CPU clock
 * twice, about sampling_ns each, once on either side of the call's own
 * time: its caller's self time pays. Every call on the pipeline (50 000
 * cache gets a pass) made its passes 2.5x longer, 142 ms of it in the
 * caller of those gets, and moved every share toward the cache; a workload
 * of few calls keeps every call (N = 1). N = 1 too when the cost is not
 * known.
 */
uint32_t pp__prof_cpu_every(double calls, double sampling_ns, double pass_ns)
{
    double cost = 2.0 * sampling_ns * calls, allowed = 0.01 * pass_ns;
    if (!(sampling_ns > 0) || !(allowed > 0) || !(cost > allowed))
        return 1;
    double every = ceil(cost / allowed);
    return every > 4096 ? 4096u : (uint32_t)every;
}

static uint32_t cpu_every_for(const pass_rec *p, double sampling_ns)
{
    double calls = 0;
    for (size_t i = 0; i < p->n; i++)
        calls += p->s[i].calls;
    return pp__prof_cpu_every(calls, sampling_ns, p->wall);
}

/*
 * Every Nth call of one site, N such that its clock reads cost at most
 * SITE_READS_SHARE of its own time: a site of few long calls is measured
 * at (nearly) every call. One N for all sites, sized by the most frequent
 * (the pipeline's 50 000 cache gets a pass: N = 116), left about 5 of the
 * 560 preprocessing chunks of a pass measured, whose times vary
 * several-fold (median 80 us, 95th percentile 290 us): the
 * chunk's on-CPU time per pass read anywhere from 0.72x to 1.33x (95 %)
 * where no setting touched it, and every prediction carried that. Sites
 * never judged on their on-CPU time are never measured (UINT32_MAX): those
 * that enclose other scopes (their time is not their own,
 * computes()) and those whose calls are too short to measure
 * (pp__prof_calls_measurable). 0 (the default N) when nothing is known.
 */
uint32_t pp__prof_site_cpu_every(double calls, double self_ns, double total_ns, double sampling_ns)
{
    if (!(sampling_ns > 0) || !(calls > 0) || !(total_ns > 0))
        return 0;
    if (self_ns < 0.999 * total_ns || !pp__prof_calls_measurable(self_ns, calls, sampling_ns))
        return UINT32_MAX;
    double every = ceil(2.0 * sampling_ns * calls / (SITE_READS_SHARE * self_ns));
    return every < 1 ? 1u : every > 4096 ? 4096u : (uint32_t)every;
}

/* Why arm s stops after this round (STOP_NOT: it goes on). */
enum { STOP_NOT = 0, STOP_MAX, STOP_NARROW, STOP_NO_EFFECT, STOP_BUDGET };

static int stops(const arm_state *s, const pp__rounds_opts *o, size_t max_pairs, double target,
                 int past_deadline, int past_stretch)
{
    if (s->n >= max_pairs)
        return STOP_MAX;
    if (s->n < MIN_TRIAL_PAIRS)
        return STOP_NOT;
    pp__ratio_est e;
    if (pp__stats_paired(timed(s, 0), timed(s, 1), s->n, 0.95, 0.0, &e) != PP_OK)
        return STOP_NOT;
    if (s->n >= s->floor && isfinite(e.high) && (e.high - e.low) / 2.0 <= target)
        return STOP_NARROW;
    if (o->min_effect > 0 &&
        pp__stats_paired(timed(s, 0), timed(s, 1), s->n, STOP_CONF, 0.0, &e) == PP_OK &&
        e.low > 0 && 1.0 - e.low < o->min_effect)
        return STOP_NO_EFFECT; /* even the best end of the gain is under the minimum effect */
    if (past_stretch && s->n >= s->floor)
        return STOP_MAX;
    return past_deadline && s->n >= s->settle ? STOP_BUDGET : STOP_NOT;
}

/* Whether row leaves site x out of the gauge: it is named there, or a scope
 * above it is named with its subtree (by the snapshot's parents). */
static int gauge_skips(const arm_state *t, const site_series *x, const pp__gauge_row *row)
{
    const site_series *cur = x;
    for (int depth = 0; cur && depth < 64; depth++) {
        for (size_t j = 0; j < row->n_skip; j++)
            if ((depth == 0 || row->subtree[j]) && strcmp(row->skip[j], cur->name) == 0)
                return 1;
        cur = parent_of(t, cur);
    }
    return 0;
}

/*
 * The gauge of arm s: in each of its passes (h 0: current settings, 1: the
 * arm's), the self time of the sites row takes: those whose enclosing stage
 * scope is a stage row takes, or outside every stage when row takes those,
 * less the sites it leaves out. Returns its median share of the
 * current-settings passes' wall time, 0 when some pass has none of it.
 */
static double gauge_series(const rounds_ctx *c, const arm_state *s, const pp__gauge_row *row,
                           double g[2][MAX_TRIAL_PAIRS])
{
    memset(g, 0, 2 * sizeof g[0]);
    for (size_t k = 0; k < s->n_sites; k++) {
        int is_stage = 0, st = stage_of(c->w, s, &s->sites[k], &is_stage);
        if (!row->stage[st < 0 ? PP_STAGE_PASS : st] || gauge_skips(s, &s->sites[k], row))
            continue;
        for (int h = 0; h < 2; h++)
            for (size_t i = 0; i < s->n; i++)
                g[h][i] += s->sites[k].self[h][i];
    }
    /* its share of the pass's wall time: the gauge is wall time too (the
     * pass less its CPU waits is shorter on a loaded machine: at load 8 the
     * toy's gauge read 1.37 of that) */
    double share[MAX_TRIAL_PAIRS];
    for (size_t i = 0; i < s->n; i++) {
        if (!(g[0][i] > 0) || !(g[1][i] > 0) || !(s->wall[0][i] > 0))
            return 0;
        share[i] = g[0][i] / s->wall[0][i];
    }
    return s->n ? pp__stats_median(share, s->n) : 0;
}

#define GAUGE_MIN_SHARE 0.05

/* Each arm's estimate adjusted for the machine's speed in its passes
 * (pp__gauge_out in prof_impl.h): the pairs whose machine changed speed
 * set aside, the slope over every usable arm's kept pairs, then each
 * usable arm's kept pairs with the gauge's change taken out. */
static int gauged(const rounds_ctx *c, const pp__rounds_opts *o, pp__ratio_est *est,
                  pp__gauge_out *out)
{
    double(*g)[2][MAX_TRIAL_PAIRS] = calloc(c->n_arms, sizeof *g);
    /* each arm's kept pairs, compacted: a, b, ga, gb */
    double(*kp)[4][MAX_TRIAL_PAIRS] = calloc(c->n_arms, sizeof *kp);
    int *usable = calloc(c->n_arms, sizeof *usable);
    double *share = calloc(c->n_arms, sizeof *share);
    size_t *aside = calloc(c->n_arms, sizeof *aside);
    pp__ratio_est *gr = calloc(c->n_arms, sizeof *gr), *adj = calloc(c->n_arms, sizeof *adj);
    const double **a = calloc(c->n_arms, sizeof *a), **b = calloc(c->n_arms, sizeof *b);
    const double **ga = calloc(c->n_arms, sizeof *ga), **gb = calloc(c->n_arms, sizeof *gb);
    size_t *n = calloc(c->n_arms, sizeof *n);
    int rc = PP_ENOMEM;
    if (!g || !kp || !usable || !share || !aside || !gr || !adj || !a || !b || !ga || !gb || !n)
        goto out;
    for (size_t j = 0; j < c->n_arms; j++) {
        const arm_state *s = &c->st[j];
        a[j] = timed(s, 0);
        b[j] = timed(s, 1);
        ga[j] = g[j][0];
        gb[j] = g[j][1];
        n[j] = s->n;
        share[j] = gauge_series(c, s, &o->gauge[j], g[j]);
        if (!(share[j] >= GAUGE_MIN_SHARE))
            continue;
        /* the pairs the machine kept its speed in (at least the fewest
         * whose interval can exclude no change, else every pair) */
        unsigned char keep[MAX_TRIAL_PAIRS];
        size_t m = pp__stats_matched(g[j][0], g[j][1], s->n, PP__MATCH_TOL, keep);
        if (m >= MIN_TRIAL_PAIRS && m < s->n) {
            for (size_t i = 0, k = 0; i < s->n; i++)
                if (keep[i]) {
                    kp[j][0][k] = a[j][i];
                    kp[j][1][k] = b[j][i];
                    kp[j][2][k] = ga[j][i];
                    kp[j][3][k++] = gb[j][i];
                }
            a[j] = kp[j][0];
            b[j] = kp[j][1];
            ga[j] = kp[j][2];
            gb[j] = kp[j][3];
            n[j] = m;
            aside[j] = s->n - m;
            if ((rc = pp__stats_paired(a[j], b[j], m, 0.95, 0.0, &adj[j])) != PP_OK)
                goto out;
        }
        /* usable: the arm's setting left the gauge as it was */
        if (pp__stats_paired(ga[j], gb[j], n[j], 0.95, 0.0, &gr[j]) == PP_OK)
            usable[j] = gr[j].low <= 1.0 && gr[j].high >= 1.0;
    }
    double theta = 0;
    pp__ratio_est *gauged_est = calloc(c->n_arms, sizeof *gauged_est);
    if (!gauged_est) {
        rc = PP_ENOMEM;
        goto out;
    }
    rc = pp__stats_gauged(a, b, ga, gb, n, usable, c->n_arms, 0.95, &theta, gauged_est);
    for (size_t j = 0; rc == PP_OK && j < c->n_arms; j++) {
        pp__gauge_out go = {
            .raw = est[j], .gauge = gr[j], .share = share[j], .set_aside = aside[j]};
        if (aside[j])
            est[j] = adj[j]; /* the pairs kept, unadjusted */
        if (usable[j] && theta > 0) {
            est[j] = gauged_est[j];
            go.used = 1;
            go.theta = theta;
        }
        if (out)
            out[j] = go;
    }
    free(gauged_est);
out:
    free(g);
    free(kp);
    free(usable);
    free(share);
    free(aside);
    free(gr);
    free(adj);
    free(a);
    free(b);
    free(ga);
    free(gb);
    free(n);
    return rc;
}

/*
 * Experiments e[0..n) predicted again with arm s's passes at the current
 * settings (their shares at this speed of the machine) into *out; not
 * known when a site of theirs did not run here. PP_ENOMEM only.
 */
static int rebase_arm(const rounds_ctx *c, const arm_state *s, const pp_experiment *const *e,
                      size_t n, pp__rebased *out)
{
    memset(out, 0, sizeof *out);
    if (n == 0 || !c->with_sites || s->n < 2)
        return PP_OK;
    pp__trial_site *ts = calloc(s->n_sites ? s->n_sites : 1, sizeof *ts);
    if (!ts)
        return PP_ENOMEM;
    for (size_t i = 0; i < s->n_sites; i++) {
        ts[i].name = s->sites[i].name;
        ts[i].self_a = s->sites[i].self[0];
        ts[i].total_a = s->sites[i].total[0];
    }
    pp__trial t = {.n_pairs = s->n, .pass_a = s->wall[0], .n_sites = s->n_sites, .sites = ts};
    int rc = pp__predict_rebased(e, n, &t, 0.90, &out->est, &out->low, &out->high);
    free(ts);
    if (rc == PP_ENOMEM)
        return rc;
    out->known = rc == PP_OK && isfinite(out->low) && isfinite(out->high);
    return PP_OK;
}

/*
 * Past the budget: each arm the budget stopped this round (why[i] ==
 * STOP_BUDGET) goes on while the half-width of its 95 % interval as
 * gauged() will give it out is wider than o->resolve[i] (or not finite);
 * the stretched budget stops it at last (STOP_MAX). On any failure the
 * arms stop as the budget said.
 */
static void resolve_pending(rounds_ctx *c, const pp__rounds_opts *o, const int *why)
{
    pp__ratio_est *est = calloc(c->n_arms, sizeof *est);
    if (!est)
        return;
    for (size_t j = 0; j < c->n_arms; j++)
        if (c->st[j].n > 0 && pp__stats_paired(timed(&c->st[j], 0), timed(&c->st[j], 1), c->st[j].n,
                                               0.95, 0.0, &est[j]) != PP_OK)
            memset(&est[j], 0, sizeof est[j]);
    if (gauged(c, o, est, NULL) == PP_OK)
        for (size_t j = 0; j < c->n_arms; j++) {
            double half = (est[j].high - est[j].low) / 2.0;
            if (why[j] == STOP_BUDGET && o->resolve[j] > 0 &&
                !(isfinite(half) && half <= o->resolve[j]))
                c->st[j].done = 0;
        }
    free(est);
}

size_t pp__prof_round_plan(const size_t *seq, size_t k, int *plan)
{
    size_t n = 0;
    for (size_t j = 0; j < k; j++) {
        if (j == k / 2)
            plan[n++] = -1;
        plan[n++] = (int)seq[j];
    }
    return n;
}

int pp__prof_rounds(const pp_workload *w, const pp_profiler_cfg *cfg, const pp__arm *arms,
                    size_t n_arms, const pp__rounds_opts *o, pp_experiment *out_exp,
                    pp__ratio_est *out_est, pp__gauge_out *out_gauge)
{
    if (!w || !cfg || !arms || !o || !out_est || n_arms == 0 || n_arms > PP__MAX_ARMS)
        return PP_EINVAL;
    rounds_ctx c = {.w = w,
                    .arms = arms,
                    .n_arms = n_arms,
                    .with_sites = out_exp != NULL || o->gauge != NULL,
                    .per_site = out_exp != NULL,
                    .sched_fd = -1};
    uint32_t cpu_every = pp_cpu_sampling();
    pass_rec recs[PP__MAX_ARMS + 1];
    memset(recs, 0, sizeof recs);
    int rc = PP_OK;
    pp_experiment *scratch = NULL;
    for (size_t i = 0; i < n_arms && rc == PP_OK; i++) {
        if (arms[i].n == 0 || arms[i].n > PP__ARM_MAX_KNOBS)
            return PP_EINVAL;
        for (size_t j = 0; j < arms[i].n && rc == PP_OK; j++) {
            size_t k = 0;
            while (k < c.n_knobs && c.knob[k] != arms[i].knob[j])
                k++;
            if (k < c.n_knobs)
                continue;
            c.knob[k] = arms[i].knob[j];
            rc = w->get_knob(w->ctx, c.knob[k], &c.old[k]);
            c.n_knobs++;
        }
    }
    if (rc != PP_OK)
        return rc;
    rc = PP_ENOMEM;
    c.st = calloc(n_arms, sizeof *c.st);
    if (!c.st)
        goto out;
    for (size_t i = 0; i <= n_arms; i++)
        if (c.with_sites && !(recs[i].s = calloc(MAX_TRIAL_SITES, sizeof *recs[i].s)))
            goto out;
    for (size_t i = 0; i < n_arms; i++) {
        if (c.with_sites && !(c.st[i].sites = calloc(MAX_TRIAL_SITES, sizeof *c.st[i].sites)))
            goto out;
        c.st[i].on_wall = o->wall && o->wall[i];
    }
    size_t max_pairs = cfg->max_pairs ? cfg->max_pairs : 40;
    if (max_pairs > MAX_TRIAL_PAIRS)
        max_pairs = MAX_TRIAL_PAIRS;
    if (max_pairs < MIN_TRIAL_PAIRS)
        max_pairs = MIN_TRIAL_PAIRS;
    double target = cfg->target_half_width > 0 ? cfg->target_half_width : 0.01;
    c.sched_fd = pp__prof_sched_open();

    /* warm-up: a pass at the current settings, then one at each arm's
     * (caches, pools, first-use costs); not recorded */
    if (c.with_sites && (rc = pp_snapshot_take(&c.last)) != PP_OK)
        goto out;
    if ((rc = run_pass(&c, -1, &recs[n_arms])) != PP_OK)
        goto out;
    /* a loaded machine (the warm-up waited for a CPU for more than 2 % of
     * its time): every call's on-CPU time is measured, so that a site that
     * only computes is judged on it (costs two clock reads per call) */
    c.cpu_on = c.per_site && recs[n_arms].quiet < 0.98 * recs[n_arms].wall;
    if (c.cpu_on) {
        pp_set_cpu_sampling(1);
        c.sampling_ns = sampling_cost_ns();
        /* the default for a site the warm-up did not see; each one it saw
         * by its own calls */
        pp_set_cpu_sampling(cpu_every_for(&recs[n_arms], c.sampling_ns));
        for (size_t k = 0; k < recs[n_arms].n; k++) {
            const site_rec *x = &recs[n_arms].s[k];
            pp_set_site_cpu_sampling(
                x->id, pp__prof_site_cpu_every(x->calls, x->self, x->total, c.sampling_ns));
        }
        /* its empty scopes are no part of the next pass */
        pp_snapshot_free(c.last);
        c.last = NULL;
        if ((rc = pp_snapshot_take(&c.last)) != PP_OK)
            goto out;
    }
    for (size_t i = 0; i < n_arms; i++) {
        if ((rc = run_pass(&c, (int)i, &recs[i])) != PP_OK)
            goto out;
        /* enough pairs for a site to be significant among the sites the
         * arm's pass and the current one run */
        size_t need = c.per_site ? pp__predict_min_pairs(counted_sites(&c, &recs[n_arms], &recs[i]))
                                 : MIN_TRIAL_PAIRS;
        c.st[i].floor = need < MIN_TRIAL_PAIRS ? MIN_TRIAL_PAIRS : need;
        if (c.st[i].floor > max_pairs)
            c.st[i].floor = max_pairs;
        c.st[i].settle = c.st[i].floor + SETTLE_PAIRS;
        if (c.st[i].settle > max_pairs)
            c.st[i].settle = max_pairs;
    }
    uint64_t budget = (uint64_t)(o->budget_ns > 0 ? o->budget_ns : 0);
    uint64_t deadline = pp_clock_now_ns() + budget;
    uint64_t stretched = deadline + (uint64_t)(SETTLE_STRETCH * (double)budget);
    if (o->cut)
        memset(o->cut, 0, n_arms);
    uint64_t round_ns = 0; /* the last round's length */

    /* per-site predictions while the rounds go on (settled()); without the
     * memory an arm just runs on to the budget */
    scratch = c.per_site ? calloc(1, sizeof *scratch) : NULL;
    size_t order[PP__MAX_ARMS];
    int why[PP__MAX_ARMS] = {0};
    for (size_t round = 0;; round++) {
        memset(why, 0, sizeof why);
        size_t k = 0;
        for (size_t i = 0; i < n_arms; i++)
            if (!c.st[i].done)
                order[k++] = i;
        if (k == 0)
            break;
        /* the run's time spent: every arm with the fewest pairs whose
         * interval can exclude 1 stops, whatever its own fewest */
        uint64_t start = pp_clock_now_ns();
        if (o->end_ns && start + round_ns > o->end_ns) {
            size_t left = 0;
            for (size_t i = 0; i < k; i++) {
                arm_state *s = &c.st[order[i]];
                if (s->n < MIN_TRIAL_PAIRS) {
                    order[left++] = order[i];
                    continue;
                }
                s->done = 1;
                if (o->cut)
                    o->cut[order[i]] = 1;
            }
            if ((k = left) == 0)
                break;
        }
        /* the arms rotated every other round around the pass at the current
         * settings (pp__prof_round_plan()); odd rounds run the plan backwards */
        size_t q = (round / 2) % k, seq[PP__MAX_ARMS];
        for (size_t i = 0; i < k; i++)
            seq[i] = order[(q + i) % k];
        int plan[PP__MAX_ARMS + 1];
        size_t n_plan = pp__prof_round_plan(seq, k, plan);
        int odd = (int)(round % 2);
        for (size_t i = 0; i < n_plan; i++) {
            int x = plan[odd ? n_plan - 1 - i : i];
            if ((rc = run_pass(&c, x, &recs[x >= 0 ? (size_t)x : n_arms])) != PP_OK)
                goto out;
        }
        /* the round's pass at the current settings */
        if (o->base_out && o->base_n && *o->base_n < o->base_cap) {
            if (o->base_cpu_out)
                o->base_cpu_out[*o->base_n] = recs[n_arms].cpu;
            o->base_out[(*o->base_n)++] = recs[n_arms].quiet;
        }
        uint64_t now = pp_clock_now_ns();
        round_ns = now - start;
        int past = now >= deadline, past_stretch = now >= stretched;
        for (size_t i = 0; i < k; i++) {
            arm_state *s = &c.st[order[i]];
            record(s, 0, &recs[n_arms], c.with_sites);
            record(s, 1, &recs[order[i]], c.with_sites);
            s->n++;
            why[order[i]] = stops(s, o, max_pairs, target, past, past_stretch);
            s->done = why[order[i]] != STOP_NOT;
            if (!s->done && scratch) {
                snprintf(scratch->name, sizeof scratch->name, "%s", arms[order[i]].name);
                s->done = settled(&c, s, o, scratch);
            }
        }
        if (past && o->resolve && o->gauge)
            resolve_pending(&c, o, why);
    }
    /* the current settings back before the experiments read them */
    if ((rc = set_arm(&c, -1)) != PP_OK)
        goto out;
    for (size_t i = 0; i < n_arms; i++) {
        pp_experiment *e = out_exp ? &out_exp[i] : NULL;
        if (e && (rc = pp__prof_experiment_begin(w, arms[i].name, arms[i].stage, arms[i].knob[0],
                                                 arms[i].value[0], e)) != PP_OK)
            goto out;
        if ((rc = finish_arm(&c, &c.st[i], e, &out_est[i])) != PP_OK)
            goto out;
    }
    if (o->gauge && (rc = gauged(&c, o, out_est, out_gauge)) != PP_OK)
        goto out;
    for (size_t i = 0; o->rebase && o->n_rebase && o->rebased && i < n_arms; i++)
        if ((rc = rebase_arm(&c, &c.st[i], o->rebase[i], o->n_rebase[i], &o->rebased[i])) != PP_OK)
            goto out;
    rc = PP_OK;
out : {
    int rc2 = set_arm(&c, -1);
    if (rc == PP_OK)
        rc = rc2;
}
    if (c.cpu_on)
        pp_set_cpu_sampling(cpu_every);
    if (c.sched_fd >= 0)
        close(c.sched_fd);
    pp_snapshot_free(c.last);
    free(scratch);
    for (size_t i = 0; i <= n_arms; i++)
        free(recs[i].s);
    for (size_t i = 0; c.st && i < n_arms; i++)
        free(c.st[i].sites);
    free(c.st);
    return rc;
}
