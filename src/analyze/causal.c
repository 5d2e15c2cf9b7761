/*
 * causal.c - From causal experiments to predicted gains (docs/causal.md).
 *
 * Parses the experiment logs programs write under `postprof causal` (one
 * line per experiment: pair, speedup, progress points, wall ns, inserted
 * delay ns, site; each experiment is run beside a baseline of the same pair,
 * the same site at speedup 0), and turns them into one gain per (site,
 * speedup): 1 - the ratio of the time per progress point of the experiments
 * to that of their baselines, Hodges-Lehmann over the pairs with its
 * Wilcoxon signed-rank 95 % interval from the statistics module. Pure: no I/O.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/causal.h>
#include <postprof/error.h>
#include <postprof/report.h>

#include "stats.h"

/* One experiment and its baseline. */
typedef struct cexp {
    size_t site;
    uint32_t permille;
    double ns_per_point, base_ns_per_point;
} cexp;

struct pp_causal_log {
    char *progress;
    char **sites;
    size_t nsites, capsites;
    cexp *exps;
    size_t n, cap;
    /* the line before, waiting for the other half of its pair */
    int pending;
    unsigned long long pending_pair;
    cexp pending_exp;
};

pp_causal_log *pp_causal_log_new(void)
{
    return calloc(1, sizeof(pp_causal_log));
}

void pp_causal_log_free(pp_causal_log *log)
{
    if (!log)
        return;
    for (size_t i = 0; i < log->nsites; i++)
        free(log->sites[i]);
    free(log->sites);
    free(log->exps);
    free(log->progress);
    free(log);
}

size_t pp_causal_log_count(const pp_causal_log *log)
{
    return log ? log->n : 0;
}

static int site_index(pp_causal_log *log, const char *name, size_t len, size_t *out)
{
    for (size_t i = 0; i < log->nsites; i++)
        if (strlen(log->sites[i]) == len && memcmp(log->sites[i], name, len) == 0) {
            *out = i;
            return PP_OK;
        }
    if (log->nsites == log->capsites) {
        size_t cap = log->capsites ? log->capsites * 2 : 16;
        char **p = realloc(log->sites, cap * sizeof *p);
        if (!p)
            return PP_ENOMEM;
        log->sites = p;
        log->capsites = cap;
    }
    char *s = strndup(name, len);
    if (!s)
        return PP_ENOMEM;
    log->sites[log->nsites] = s;
    *out = log->nsites++;
    return PP_OK;
}

/* A decimal unsigned integer field ending at a space; advances *p. -1 when not one. */
static int field_u64(const char **p, const char *end, unsigned long long *out)
{
    const char *s = *p;
    unsigned long long v = 0;
    if (s >= end || *s < '0' || *s > '9')
        return -1;
    while (s < end && *s >= '0' && *s <= '9') {
        unsigned d = (unsigned)(*s - '0');
        if (v > (~0ull - d) / 10)
            return -1;
        v = v * 10 + d;
        s++;
    }
    if (s >= end || *s != ' ')
        return -1;
    *p = s + 1;
    *out = v;
    return 0;
}

static void note_skip(size_t *skipped, size_t lineno, const char *why, char *err, size_t errcap)
{
    if (*skipped == 0 && err && errcap)
        snprintf(err, errcap, "line %zu: %s", lineno, why);
    (*skipped)++;
}

static int add_exp(pp_causal_log *log, const char *p, const char *end, size_t lineno,
                   size_t *skipped, char *err, size_t errcap)
{
    unsigned long long pair, pm, points, ns, delay;
    if (field_u64(&p, end, &pair) || field_u64(&p, end, &pm) || field_u64(&p, end, &points) ||
        field_u64(&p, end, &ns) || field_u64(&p, end, &delay) || p >= end) {
        note_skip(skipped, lineno, "an experiment needs: pair speedup points ns delay site", err,
                  errcap);
        return PP_OK;
    }
    if (pm > 1000) {
        note_skip(skipped, lineno, "speedup above 1000 per mille", err, errcap);
        return PP_OK;
    }
    if (points == 0 || delay >= ns) {
        note_skip(skipped, lineno, "no progress point, or no time left once delays are taken out",
                  err, errcap);
        return PP_OK;
    }
    size_t site;
    int rc = site_index(log, p, (size_t)(end - p), &site);
    if (rc != PP_OK)
        return rc;
    cexp e = {site, (uint32_t)pm, (double)(ns - delay) / (double)points, 0};
    if (!log->pending || log->pending_pair != pair || log->pending_exp.site != site ||
        (log->pending_exp.permille == 0) == (pm == 0)) {
        /* the first half of a pair (a half without its other one is dropped) */
        log->pending = 1;
        log->pending_pair = pair;
        log->pending_exp = e;
        return PP_OK;
    }
    log->pending = 0;
    cexp *first = &log->pending_exp;
    cexp both = pm ? e : *first;
    both.base_ns_per_point = pm ? first->ns_per_point : e.ns_per_point;
    if (log->n == log->cap) {
        size_t cap = log->cap ? log->cap * 2 : 64;
        cexp *x = realloc(log->exps, cap * sizeof *x);
        if (!x)
            return PP_ENOMEM;
        log->exps = x;
        log->cap = cap;
    }
    log->exps[log->n++] = both;
    return PP_OK;
}

int pp_causal_log_parse(pp_causal_log *log, const char *text, size_t len, size_t *skipped,
                        char *err, size_t errcap)
{
    size_t skip_local = 0;
    if (!skipped)
        skipped = &skip_local;
    *skipped = 0;
    if (err && errcap)
        err[0] = 0;
    if (!log || (!text && len))
        return PP_EINVAL;
    static const char magic[] = "postprof-causal 2";
    if (len < sizeof magic - 1 || memcmp(text, magic, sizeof magic - 1) != 0 ||
        (len > sizeof magic - 1 && text[sizeof magic - 1] != '\n')) {
        if (err && errcap)
            snprintf(err, errcap, "line 1: not a causal experiment log (no 'postprof-causal 2')");
        return PP_EFORMAT;
    }
    int same_progress = 1;
    size_t lineno = 0;
    log->pending = 0; /* pairs never span two logs */
    const char *p = text, *stop = text + len;
    while (p < stop) {
        const char *nl = memchr(p, '\n', (size_t)(stop - p));
        const char *end = nl ? nl : stop;
        lineno++;
        if (lineno == 1 || end == p) {
            /* the header, or an empty line */
        } else if (end - p > 9 && memcmp(p, "progress ", 9) == 0) {
            size_t n = (size_t)(end - p - 9);
            if (memchr(p + 9, 0, n)) {
                note_skip(skipped, lineno, "a NUL byte in the progress point's name", err, errcap);
            } else if (!log->progress) {
                log->progress = strndup(p + 9, n);
                if (!log->progress)
                    return PP_ENOMEM;
            } else {
                same_progress = strlen(log->progress) == n && memcmp(log->progress, p + 9, n) == 0;
                if (!same_progress)
                    note_skip(skipped, lineno, "another progress point than the first log's", err,
                              errcap);
            }
        } else if (end - p > 4 && memcmp(p, "exp ", 4) == 0) {
            if (!log->progress || !same_progress) {
                note_skip(skipped, lineno, "an experiment before its progress point", err, errcap);
            } else if (memchr(p, 0, (size_t)(end - p))) {
                note_skip(skipped, lineno, "a NUL byte in an experiment", err, errcap);
            } else {
                int rc = add_exp(log, p + 4, end, lineno, skipped, err, errcap);
                if (rc != PP_OK)
                    return rc;
            }
        } else if ((end - p > 5 && memcmp(p, "note ", 5) == 0) ||
                   (end - p > 6 && memcmp(p, "error ", 6) == 0)) {
            /* messages for the user: the CLI shows them */
        } else {
            note_skip(skipped, lineno, "not an experiment, progress or note line", err, errcap);
        }
        p = nl ? nl + 1 : stop;
    }
    return PP_OK;
}

void pp_causal_result_free(pp_causal_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nsites; i++) {
        free(r->sites[i].name);
        free(r->sites[i].points);
    }
    free(r->sites);
    free(r->progress);
    free(r);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_slope(const void *a, const void *b)
{
    const pp_causal_site *x = a, *y = b;
    if (x->slope != y->slope)
        return x->slope < y->slope ? 1 : -1;
    return strcmp(x->name, y->name);
}

int pp_causal_analyze(const pp_causal_log *log, pp_causal_result **out, double *widest)
{
    if (!log || !out)
        return PP_EINVAL;
    *out = NULL;
    if (widest)
        *widest = INFINITY;
    if (log->n == 0)
        return PP_EINVAL;
    int rc = PP_ENOMEM;
    double *base = NULL, *group = NULL;
    pp_causal_result *r = calloc(1, sizeof *r);
    if (!r)
        return PP_ENOMEM;
    base = malloc(log->n * sizeof *base);
    group = malloc(log->n * sizeof *group);
    r->progress = strdup(log->progress ? log->progress : "");
    r->sites = calloc(log->nsites ? log->nsites : 1, sizeof *r->sites);
    if (!base || !group || !r->progress || !r->sites)
        goto out;
    for (size_t i = 0; i < log->n; i++)
        base[i] = log->exps[i].base_ns_per_point;
    r->baselines = log->n;
    qsort(base, log->n, sizeof *base, cmp_double);
    r->baseline_ns = log->n % 2 ? base[log->n / 2] : (base[log->n / 2 - 1] + base[log->n / 2]) / 2;
    double wide = 0;
    for (size_t s = 0; s < log->nsites; s++) {
        /* the speedups tried at this site, in increasing order */
        uint32_t seen[1001];
        size_t nseen = 0;
        for (size_t i = 0; i < log->n; i++) {
            const cexp *e = &log->exps[i];
            if (e->site != s)
                continue;
            size_t k = 0;
            while (k < nseen && seen[k] != e->permille)
                k++;
            if (k == nseen)
                seen[nseen++] = e->permille;
        }
        if (!nseen)
            continue;
        for (size_t i = 1; i < nseen; i++)
            for (size_t j = i; j > 0 && seen[j - 1] > seen[j]; j--) {
                uint32_t t = seen[j];
                seen[j] = seen[j - 1];
                seen[j - 1] = t;
            }
        pp_causal_site *cs = &r->sites[r->nsites];
        cs->name = strdup(log->sites[s]);
        cs->points = calloc(nseen, sizeof *cs->points);
        if (!cs->name || !cs->points) {
            free(cs->name);
            free(cs->points);
            goto out;
        }
        r->nsites++;
        double sg = 0, ss = 0;
        for (size_t k = 0; k < nseen; k++) {
            size_t ng = 0;
            for (size_t i = 0; i < log->n; i++)
                if (log->exps[i].site == s && log->exps[i].permille == seen[k]) {
                    base[ng] = log->exps[i].base_ns_per_point;
                    group[ng++] = log->exps[i].ns_per_point;
                }
            pp__ratio_est est;
            int src = pp__stats_paired(base, group, ng, 0.95, 0.0, &est);
            if (src == PP_ENOMEM)
                goto out;
            pp_causal_point *pt = &cs->points[cs->npoints++];
            pt->speedup = seen[k] / 1000.0;
            pt->experiments = ng;
            pt->gain = src == PP_OK ? 1.0 - est.ratio : 0;
            pt->gain_low = src == PP_OK && isfinite(est.high) ? 1.0 - est.high : -INFINITY;
            pt->gain_high = src == PP_OK && est.low > 0 ? 1.0 - est.low : INFINITY;
            double half = (pt->gain_high - pt->gain_low) / 2;
            if (!(half <= wide))
                wide = half;
            if (src == PP_OK) {
                sg += pt->speedup * pt->gain;
                ss += pt->speedup * pt->speedup;
            }
        }
        cs->slope = ss > 0 ? sg / ss : 0;
    }
    qsort(r->sites, r->nsites, sizeof *r->sites, cmp_slope);
    if (widest)
        *widest = r->nsites ? wide : INFINITY;
    *out = r;
    r = NULL;
    rc = PP_OK;
out:
    pp_causal_result_free(r);
    free(base);
    free(group);
    return rc;
}

/* ---- the causal section of a report (`postprof run`): the stage scopes'
 * gains beside what their shares and the knob experiments predict (both rest
 * on the share model: every nanosecond of a scope on the critical path), with
 * which one to believe where they disagree, and why ---- */

static const pp_perf_op *find_op(const pp_report *r, const char *name)
{
    for (size_t i = 0; i < r->perf.n_ops; i++)
        if (strcmp(r->perf.ops[i].name, name) == 0)
            return &r->perf.ops[i];
    return NULL;
}

/* The causal curve at a fraction removed: linear between (0, 0) and the points,
 * proportional to the last point beyond it. which: 0 gain, 1 low, 2 high. */
static double curve_at(const pp_report_causal_site *s, double x, int which)
{
    double px = 0, py = 0;
    for (size_t k = 0; k < s->n_points; k++) {
        const pp_report_causal_point *p = &s->points[k];
        double y = which == 0 ? p->gain : which == 1 ? p->gain_low : p->gain_high;
        if (x <= p->speedup)
            return p->speedup > px ? py + (y - py) * (x - px) / (p->speedup - px) : y;
        px = p->speedup;
        py = y;
    }
    return px > 0 ? py * x / px : NAN;
}

static int all_decided(const pp_report_causal_site *s)
{
    for (size_t k = 0; k < s->n_points; k++)
        if (!s->points[k].decided)
            return 0;
    return s->n_points > 0;
}

/* A knob experiment's per-site change of this scope: by name, or a stage scope taken whole. */
static int change_matches(const pp_site_change *c, const pp_report_causal_site *s)
{
    if (strcmp(c->name, s->name) == 0)
        return 1;
    return s->stage >= 0 && c->stage == s->stage && c->whole_stage;
}

static void add_checks(const pp_report *r, pp_report_causal *rc, pp_report_causal_site *s)
{
    if (!all_decided(s) || !(rc->phase_share > 0))
        return;
    for (size_t i = 0; i < r->n_experiments && s->n_checks < PP_REPORT_MAX_CAUSAL_CHECKS; i++) {
        const pp_experiment *e = &r->experiments[i];
        for (size_t k = 0; k < e->n_sites; k++) {
            const pp_site_change *c = &e->sites[k];
            if (!change_matches(c, s) || !c->significant || !(c->speedup > 1) ||
                !(c->speedup_low > 0) || !(c->speedup_high > 0))
                continue;
            pp_report_causal_check *ck = &s->checks[s->n_checks++];
            memset(ck, 0, sizeof *ck);
            snprintf(ck->experiment, sizeof ck->experiment, "%s", e->name);
            ck->removed = 1 - 1 / c->speedup;
            ck->knob = c->gain;
            ck->knob_low = c->share_low * (1 - 1 / c->speedup_low);
            ck->knob_high = c->share_high * (1 - 1 / c->speedup_high);
            ck->causal = curve_at(s, ck->removed, 0) * rc->phase_share;
            ck->causal_low = curve_at(s, ck->removed, 1) * rc->phase_share;
            ck->causal_high = curve_at(s, ck->removed, 2) * rc->phase_share;
            ck->agree = !(ck->knob_low > ck->causal_high || ck->knob_high < ck->causal_low);
            break;
        }
    }
}

static void verdict(const pp_report_causal *rc, pp_report_causal_site *s)
{
    char *v = s->verdict;
    size_t cap = sizeof s->verdict, n = 0;
#define PUT(...)                                                                                   \
    do {                                                                                           \
        if (n < cap) {                                                                             \
            int w_ = snprintf(v + n, cap - n, __VA_ARGS__);                                        \
            n += w_ > 0 ? (size_t)w_ : 0;                                                          \
        }                                                                                          \
    } while (0)
    int above = 0, below = 0, decided = 0;
    const pp_report_causal_point *last = NULL;
    for (size_t k = 0; k < s->n_points; k++) {
        const pp_report_causal_point *p = &s->points[k];
        if (!p->decided)
            continue;
        decided++;
        last = p;
        above += p->agree == 0 && p->share_gain > p->gain_high;
        below += p->agree == 0 && p->share_gain < p->gain_low;
    }
    if (!decided) {
        PUT("not decided: no point's 95 %% interval came within +-%.0f points in the time "
            "allowed (run `postprof causal` on the pipeline for longer)",
            100 * rc->precision);
        return;
    }
    if (above) {
        PUT("believe the causal prediction (%+.1f %% at %.0f %% faster, 95 %%: %+.1f to %+.1f): "
            "%s overlaps other work (its time is %.0f %% of the phase's, summed over threads), "
            "so making it faster saves less than its share says; shares, and the knob "
            "experiments' per-stage predictions built on them, count overlapped time as if it "
            "were on the critical path, the causal run measured what speeding it up does",
            100 * last->gain, 100 * last->speedup, 100 * last->gain_low, 100 * last->gain_high,
            s->name, 100 * s->share);
    } else if (below) {
        PUT("believe the causal prediction (%+.1f %% at %.0f %% faster, 95 %%: %+.1f to %+.1f): "
            "other threads wait for %s, so making it faster saves more than its share (%.0f %% "
            "of the phase) says; the causal run measured the waiting it removes",
            100 * last->gain, 100 * last->speedup, 100 * last->gain_low, 100 * last->gain_high,
            s->name, 100 * s->share);
    } else if (s->share >= 0) {
        PUT("the causal prediction and the share (%.0f %% of the phase) agree: %s is on the "
            "critical path as much as its share says, either may be believed",
            100 * s->share, s->name);
    } else {
        PUT("no share to compare with: the causal prediction is the only one");
    }
    for (size_t i = 0; i < s->n_checks; i++) {
        const pp_report_causal_check *c = &s->checks[i];
        if (c->agree)
            continue;
        PUT("; the knob experiment %s removed %.0f %% of this scope's time and its share model "
            "predicted %+.1f %% of a pass (%+.1f to %+.1f), the causal curve says %+.1f %% "
            "(%+.1f to %+.1f): believe the causal one for what that change of the scope saves "
            "(the experiment's own end-to-end speedup is what its knob does, measured)",
            c->experiment, 100 * c->removed, 100 * c->knob, 100 * c->knob_low, 100 * c->knob_high,
            100 * c->causal, 100 * c->causal_low, 100 * c->causal_high);
    }
    if ((above || below) && s->stage == PP_STAGE_LOAD)
        PUT("; unless its loads wait on a server outside the process (--postgres), which a "
            "causal run cannot tell from work (docs/causal.md, Limits)");
#undef PUT
}

int pp_report_causal_set(pp_report *r, const pp_causal_result *res, const char *phase,
                         const char *const *stage_scopes, double precision)
{
    if (!r || !res || !phase)
        return PP_EINVAL;
    pp_report_causal *rc = &r->causal;
    rc->done = 1;
    rc->precision = precision;
    snprintf(rc->progress, sizeof rc->progress, "%s", res->progress ? res->progress : "");
    snprintf(rc->phase, sizeof rc->phase, "%s", phase);
    rc->baselines = res->baselines;
    rc->baseline_ns = res->baseline_ns;
    const pp_perf_op *ph = find_op(r, phase);
    rc->phase_share = ph ? ph->share : -1;
    rc->n_sites = 0;
    rc->undecided = 0;
    for (size_t i = 0; i < res->nsites && rc->n_sites < PP_REPORT_MAX_CAUSAL_SITES; i++) {
        const pp_causal_site *cs = &res->sites[i];
        pp_report_causal_site *s = &rc->sites[rc->n_sites++];
        memset(s, 0, sizeof *s);
        snprintf(s->name, sizeof s->name, "%s", cs->name);
        s->stage = -1;
        for (int k = 0; stage_scopes && k < PP_STAGE_COUNT; k++)
            if (stage_scopes[k] && strcmp(stage_scopes[k], cs->name) == 0)
                s->stage = k;
        s->slope = cs->slope;
        const pp_perf_op *op = find_op(r, cs->name);
        s->share = op && ph && ph->total_ns > 0 ? op->total_ns / ph->total_ns : -1;
        for (size_t k = 0; k < cs->npoints && s->n_points < PP_REPORT_MAX_CAUSAL_POINTS; k++) {
            const pp_causal_point *cp = &cs->points[k];
            pp_report_causal_point *p = &s->points[s->n_points++];
            p->speedup = cp->speedup;
            p->gain = cp->gain;
            p->experiments = (unsigned)cp->experiments;
            int open = !isfinite(cp->gain_low) || !isfinite(cp->gain_high);
            p->gain_low = open ? NAN : cp->gain_low;
            p->gain_high = open ? NAN : cp->gain_high;
            p->decided = !open && (cp->gain_high - cp->gain_low) / 2 <= precision;
            rc->undecided += !p->decided;
            p->share_gain = s->share >= 0 ? (s->share < 1 ? s->share : 1) * p->speedup : NAN;
            p->agree = !p->decided || !(s->share >= 0)
                           ? -1
                           : p->share_gain >= p->gain_low && p->share_gain <= p->gain_high;
        }
        add_checks(r, rc, s);
        verdict(rc, s);
    }
    return PP_OK;
}
