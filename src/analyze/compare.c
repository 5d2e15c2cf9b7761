/*
 * compare.c - The CI gate's decision: N baseline runs against M candidate
 * runs (or N pairs of runs that ran back to back), one value per run and
 * metric, the ratio candidate/baseline with its interval from the statistics
 * module (so the noise between runs is what decides), and which settings
 * make two runs incomparable. Pure: no I/O.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/analyze.h>

#include "analyze/stats.h"

typedef struct metric {
    char name[PP_REPORT_NAME_MAX];
    const char *unit;
    double *v[2]; /* values per side, one per run in run order (NAN: the run lacks it) */
    size_t n[2];  /* runs of each side that measured it */
} metric;

typedef struct metrics {
    metric m[PP_COMPARE_MAX];
    size_t n;
    size_t cap[2]; /* runs per side: the size of each v[] */
    int oom;
} metrics;

const char *pp_compare_verdict_name(pp_compare_verdict v)
{
    switch (v) {
    case PP_COMPARE_BETTER:
        return "better";
    case PP_COMPARE_WORSE:
        return "worse";
    case PP_COMPARE_NO_CHANGE:
        return "no significant change";
    case PP_COMPARE_INCONCLUSIVE:
        return "inconclusive";
    }
    return "?";
}

/* Run `run`'s value of a metric; values that are not positive and finite are not costs. */
static void add(metrics *ms, int side, size_t run, const char *name, const char *unit, double value)
{
    if (!(value > 0.0) || !isfinite(value))
        return;
    size_t i = 0;
    while (i < ms->n && strcmp(ms->m[i].name, name) != 0)
        i++;
    if (i == ms->n) {
        if (ms->n >= PP_COMPARE_MAX)
            return; /* more metrics than rows: the rest are left out */
        metric *m = &ms->m[ms->n];
        memset(m, 0, sizeof *m);
        snprintf(m->name, sizeof m->name, "%s", name);
        m->unit = unit;
        m->v[0] = malloc(ms->cap[0] * sizeof(double));
        m->v[1] = malloc(ms->cap[1] * sizeof(double));
        ms->n++;
        if (!m->v[0] || !m->v[1]) {
            ms->oom = 1;
            return;
        }
        for (int k = 0; k < 2; k++)
            for (size_t j = 0; j < ms->cap[k]; j++)
                m->v[k][j] = NAN;
    }
    metric *m = &ms->m[i];
    if (m->v[side] && run < ms->cap[side] && isnan(m->v[side][run])) {
        m->v[side][run] = value;
        m->n[side]++;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q-quantile of n <= PP_REPORT_MAX_SAMPLES samples, linear between order statistics. */
static double quantile(const double *x, size_t n, double q)
{
    double s[PP_REPORT_MAX_SAMPLES];
    if (n == 0 || n > PP_REPORT_MAX_SAMPLES)
        return NAN;
    memcpy(s, x, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    double h = q * (double)(n - 1);
    size_t lo = (size_t)h;
    return lo + 1 < n ? s[lo] + (h - (double)lo) * (s[lo + 1] - s[lo]) : s[n - 1];
}

static void run_values(metrics *ms, int side, size_t run, const pp_report *r)
{
    char name[PP_REPORT_NAME_MAX];
    if (r->perf.n_passes > 0) {
        add(ms, side, run, "end_to_end", "s",
            pp__stats_median(r->perf.pass_ns, r->perf.n_passes) / 1e9);
        /* the pass's CPU time: what other processes on a shared machine disturb least */
        if (r->perf.pass_cpu_ns[0] > 0)
            add(ms, side, run, "end_to_end.cpu", "s",
                pp__stats_median(r->perf.pass_cpu_ns, r->perf.n_passes) / 1e9);
    }
    for (size_t i = 0; i < r->loading.n_sources; i++) {
        const pp_load_profile *l = &r->loading.sources[i];
        snprintf(name, sizeof name, "load.%.40s.p95", l->name);
        add(ms, side, run, name, "s", quantile(l->batch_ns, l->n_batch_ns, 0.95) / 1e9);
    }
    for (size_t i = 0; i < r->inference.n_models; i++) {
        const pp_model_profile *mp = &r->inference.models[i];
        for (size_t k = 0; k < mp->n_points; k++) {
            const pp_batch_point *pt = &mp->points[k];
            if (pt->batch != mp->current_batch)
                continue;
            snprintf(name, sizeof name, "infer.%.40s.p99", mp->name);
            add(ms, side, run, name, "s", quantile(pt->batch_ns, pt->n_batch_ns, 0.99) / 1e9);
        }
    }
    if (r->cache.present && r->cache.ops > 0)
        add(ms, side, run, "cache.miss_ratio", "ratio", 1.0 - r->cache.hit_ratio);
    add(ms, side, run, "memory.peak_rss", "bytes", r->system.peak_rss_bytes);
}

/* The fewest runs per side with which an interval at conf can exclude 1. */
static size_t min_runs_per_side(double conf)
{
    for (size_t n = 1; n <= 1000; n++) {
        size_t m = pp__stats_min_runs(n, conf);
        if (m && m <= n)
            return n;
    }
    return 0;
}

/* Runs per side that would likely narrow the interval enough to decide. */
static size_t runs_needed(const pp__ratio_est *e, double tol, size_t min_runs)
{
    double up = 1.0 + tol, down = 1.0 / (1.0 + tol), r = e->ratio, target;
    if (r > up)
        target = r - up; /* to become "worse" */
    else if (r < down)
        target = down - r; /* to become "better" */
    else
        target = fmin(up - r, r - down); /* to become "no significant change" */
    size_t n = target > 0.0 ? pp__stats_needed(e, target) : 0;
    if (target <= 0.0)
        n = 1000000000; /* right on the tolerance: no number of runs settles it */
    return n > min_runs ? n : min_runs;
}

static pp_compare_verdict verdict_of(pp__verdict v)
{
    switch (v) {
    case PP_VERDICT_BETTER:
        return PP_COMPARE_BETTER;
    case PP_VERDICT_WORSE:
        return PP_COMPARE_WORSE;
    case PP_VERDICT_NO_CHANGE:
        return PP_COMPARE_NO_CHANGE;
    case PP_VERDICT_INCONCLUSIVE:
        break;
    }
    return PP_COMPARE_INCONCLUSIVE;
}

/* Standard deviation of one comparison's log ratio: paired, of log(c_i / b_i)
 * over the pairs; unpaired, sqrt 2 times the pooled spread of the runs' logs
 * (what the log ratio of one baseline run and one candidate run would show).
 * NAN with too few values. */
static double log_spread(const double *a, const double *b, size_t n, size_t na, size_t nb,
                         int paired)
{
    double sa = 0, sb = 0, ssa = 0, ssb = 0;
    size_t ka = 0, kb = 0;
    if (paired) {
        for (size_t i = 0; i < n; i++, ka++) {
            double d = log(b[i]) - log(a[i]);
            sa += d;
            ssa += d * d;
        }
        if (ka < 2)
            return NAN;
        return sqrt(fmax(0.0, (ssa - sa * sa / (double)ka) / (double)(ka - 1)));
    }
    for (size_t i = 0; i < na; i++, ka++) {
        sa += log(a[i]);
        ssa += log(a[i]) * log(a[i]);
    }
    for (size_t i = 0; i < nb; i++, kb++) {
        sb += log(b[i]);
        ssb += log(b[i]) * log(b[i]);
    }
    if (ka + kb < 3 || ka == 0 || kb == 0)
        return NAN;
    double ss = (ssa - sa * sa / (double)ka) + (ssb - sb * sb / (double)kb);
    return sqrt(2.0 * fmax(0.0, ss / (double)(ka + kb - 2)));
}

/* The values of metric m that count: paired, the pairs where both runs
 * measured it (into a[k], b[k]); unpaired, each side's runs that measured it. */
static void usable(const metric *m, size_t cap0, size_t cap1, int paired, double *a, size_t *na,
                   double *b, size_t *nb)
{
    *na = *nb = 0;
    if (paired) {
        for (size_t i = 0; i < cap0 && i < cap1; i++)
            if (!isnan(m->v[0][i]) && !isnan(m->v[1][i])) {
                a[*na] = m->v[0][i];
                b[(*na)++] = m->v[1][i];
            }
        *nb = *na;
        return;
    }
    for (size_t i = 0; i < cap0; i++)
        if (!isnan(m->v[0][i]))
            a[(*na)++] = m->v[0][i];
    for (size_t i = 0; i < cap1; i++)
        if (!isnan(m->v[1][i]))
            b[(*nb)++] = m->v[1][i];
}

static int compare_core(const pp_report *const *base, size_t nb, const pp_report *const *cand,
                        size_t nc, int paired, double tolerance, double conf,
                        pp_compare_result *out)
{
    memset(out, 0, sizeof *out);
    out->tolerance = tolerance;
    out->conf = conf;
    out->row_conf = conf;
    out->paired = paired;
    if (!base || !cand || nb == 0 || nc == 0 || nb > PP_COMPARE_MAX_RUNS ||
        nc > PP_COMPARE_MAX_RUNS || (paired && nb != nc) || !(tolerance >= 0.0) ||
        !(conf > 0.5 && conf < 1.0))
        return PP_EINVAL;
    for (size_t i = 0; i < nb; i++)
        if (!base[i])
            return PP_EINVAL;
    for (size_t i = 0; i < nc; i++)
        if (!cand[i])
            return PP_EINVAL;
    metrics *ms = calloc(1, sizeof *ms);
    double *a = malloc(nb * sizeof *a), *b = malloc(nc * sizeof *b);
    int rc = PP_ENOMEM;
    if (!ms || !a || !b)
        goto out;
    ms->cap[0] = nb;
    ms->cap[1] = nc;
    for (size_t i = 0; i < nb; i++)
        run_values(ms, 0, i, base[i]);
    for (size_t i = 0; i < nc; i++)
        run_values(ms, 1, i, cand[i]);
    rc = ms->oom ? PP_ENOMEM : PP_OK;
    /* every metric is a chance for noise to look like a regression: with m
     * metrics each interval is at 1 - (1 - conf) / m (Bonferroni), so the
     * chance that any of them alarms on two alike sets of runs stays within
     * 1 - conf, not m times that */
    size_t m_judged = 0;
    for (size_t i = 0; rc == PP_OK && i < ms->n; i++) {
        size_t ka, kb;
        usable(&ms->m[i], nb, nc, paired, a, &ka, b, &kb);
        m_judged += ka > 0 && kb > 0;
    }
    double row_conf = m_judged > 1 ? 1.0 - (1.0 - conf) / (double)m_judged : conf;
    out->row_conf = row_conf;
    out->min_runs = paired ? pp__stats_min_pairs(row_conf) : min_runs_per_side(row_conf);
    for (size_t i = 0; rc == PP_OK && i < ms->n; i++) {
        const metric *m = &ms->m[i];
        size_t ka, kb;
        usable(m, nb, nc, paired, a, &ka, b, &kb);
        if (ka == 0 || kb == 0)
            continue; /* measured on one side only (or in no pair): nothing to compare */
        pp__ratio_est e;
        rc = paired ? pp__stats_paired(a, b, ka, row_conf, tolerance, &e)
                    : pp__stats_unpaired(a, ka, b, kb, row_conf, tolerance, &e);
        if (rc != PP_OK)
            break;
        pp_compare_row *row = &out->rows[out->n++];
        snprintf(row->metric, sizeof row->metric, "%s", m->name);
        snprintf(row->unit, sizeof row->unit, "%s", m->unit);
        row->base = e.base;
        row->cand = e.base * e.ratio;
        row->ratio = e.ratio;
        row->low = e.low;
        row->high = e.high;
        row->n_base = ka;
        row->n_cand = kb;
        row->spread = log_spread(a, b, ka, ka, kb, paired);
        row->verdict = verdict_of(e.verdict);
        switch (row->verdict) {
        case PP_COMPARE_WORSE:
            out->regressions++;
            break;
        case PP_COMPARE_BETTER:
            out->improvements++;
            break;
        case PP_COMPARE_NO_CHANGE:
            out->unchanged++;
            break;
        case PP_COMPARE_INCONCLUSIVE:
            out->inconclusive++;
            row->runs_needed = runs_needed(&e, tolerance, out->min_runs);
            break;
        }
    }
out:
    if (ms)
        for (size_t i = 0; i < ms->n; i++) {
            free(ms->m[i].v[0]);
            free(ms->m[i].v[1]);
        }
    free(ms);
    free(a);
    free(b);
    if (rc != PP_OK) {
        memset(out, 0, sizeof *out);
        out->tolerance = tolerance;
        out->conf = conf;
        out->row_conf = conf;
        out->paired = paired;
    }
    return rc;
}

int pp_compare_runs(const pp_report *const *base, size_t nb, const pp_report *const *cand,
                    size_t nc, double tolerance, double conf, pp_compare_result *out)
{
    return compare_core(base, nb, cand, nc, 0, tolerance, conf, out);
}

int pp_compare_pairs(const pp_report *const *base, const pp_report *const *cand, size_t n,
                     double tolerance, double conf, pp_compare_result *out)
{
    return compare_core(base, n, cand, n, 1, tolerance, conf, out);
}

/* "batch-size" and "batch_size" name the same knob */
static int same_name(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (*a != *b && !((*a == '-' || *a == '_') && (*b == '-' || *b == '_')))
            return 0;
    return *a == *b;
}

static int expected(const char *setting, const char *const *expect, size_t n)
{
    const char *dot = strchr(setting, '.');
    for (size_t i = 0; i < n; i++)
        if (expect[i] && (same_name(setting, expect[i]) || (dot && same_name(dot + 1, expect[i]))))
            return 1;
    return 0;
}

static void mismatch(size_t *n, pp_compare_mismatch *out, size_t cap, const pp_setting *s,
                     const char *a, const char *b)
{
    if (*n < cap) {
        pp_compare_mismatch *m = &out[*n];
        snprintf(m->setting, sizeof m->setting, "%s", s->name);
        snprintf(m->base, sizeof m->base, "%s", a ? a : "");
        snprintf(m->cand, sizeof m->cand, "%s", b ? b : "");
    }
    (*n)++;
}

size_t pp_compare_settings(const pp_report *a, const pp_report *b, const char *const *expect,
                           size_t n_expect, pp_compare_mismatch *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < a->n_settings; i++) {
        const pp_setting *s = &a->settings[i];
        const char *other = pp_report_setting_get(b, s->name);
        if ((!other || strcmp(other, s->value) != 0) && !expected(s->name, expect, n_expect))
            mismatch(&n, out, cap, s, s->value, other);
    }
    for (size_t i = 0; i < b->n_settings; i++) {
        const pp_setting *s = &b->settings[i];
        if (!pp_report_setting_get(a, s->name) && !expected(s->name, expect, n_expect))
            mismatch(&n, out, cap, s, NULL, s->value);
    }
    return n;
}

const char *pp_compare_setting_group(const char *s)
{
    if (strncmp(s, "data.", 5) == 0)
        return "data size";
    if (!strcmp(s, "knob.model") || !strcmp(s, "run.model") || !strcmp(s, "workload.models"))
        return "model";
    if (!strcmp(s, "workload.sources") || !strcmp(s, "run.sources"))
        return "sources";
    if (strncmp(s, "machine.", 8) == 0)
        return "machine";
    if (strncmp(s, "workload.", 9) == 0)
        return "workload";
    return "settings";
}
