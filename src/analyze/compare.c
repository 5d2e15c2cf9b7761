/*
 * compare.c - Regression comparison of two reports: Welch's t-test on the
 * end-to-end pass samples, relative change with a tolerance on the rest.
 * Pure: no I/O, no clocks.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <postprof/analyze.h>

/* Continued fraction of the incomplete beta function (Lentz). */
static double betacf(double a, double b, double x)
{
    const double tiny = 1e-300;
    double qab = a + b, qap = a + 1.0, qam = a - 1.0;
    double c = 1.0, d = 1.0 - qab * x / qap;
    if (fabs(d) < tiny)
        d = tiny;
    d = 1.0 / d;
    double h = d;
    for (int m = 1; m <= 300; m++) {
        int m2 = 2 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if (fabs(d) < tiny)
            d = tiny;
        c = 1.0 + aa / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1.0 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if (fabs(d) < tiny)
            d = tiny;
        c = 1.0 + aa / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1.0 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1.0) < 1e-12)
            break;
    }
    return h;
}

/* Regularized incomplete beta I_x(a, b). */
static double ibeta(double a, double b, double x)
{
    if (x <= 0.0)
        return 0.0;
    if (x >= 1.0)
        return 1.0;
    double lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log(1.0 - x);
    double bt = exp(lbt);
    if (x < (a + 1.0) / (a + b + 2.0))
        return bt * betacf(a, b, x) / a;
    return 1.0 - bt * betacf(b, a, 1.0 - x) / b;
}

static void mean_var(const double *x, size_t n, double *mean, double *var)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    *mean = s / (double)n;
    double v = 0;
    for (size_t i = 0; i < n; i++)
        v += (x[i] - *mean) * (x[i] - *mean);
    *var = n > 1 ? v / (double)(n - 1) : 0.0;
}

double pp_welch_t_test(const double *x, size_t nx, const double *y, size_t ny)
{
    if (nx < 2 || ny < 2)
        return 1.0;
    double mx, vx, my, vy;
    mean_var(x, nx, &mx, &vx);
    mean_var(y, ny, &my, &vy);
    double sx = vx / (double)nx, sy = vy / (double)ny;
    if (sx + sy <= 0.0)
        return mx == my ? 1.0 : 0.0;
    double t = (mx - my) / sqrt(sx + sy);
    double df = (sx + sy) * (sx + sy) / (sx * sx / (double)(nx - 1) + sy * sy / (double)(ny - 1));
    return ibeta(df / 2.0, 0.5, df / (df + t * t));
}

static pp_compare_row *add_row(pp_compare_result *out, const char *metric, double a, double b,
                               double tolerance)
{
    if (out->n >= PP_COMPARE_MAX)
        return NULL;
    pp_compare_row *row = &out->rows[out->n++];
    memset(row, 0, sizeof *row);
    snprintf(row->metric, sizeof row->metric, "%.*s", (int)sizeof row->metric - 1, metric);
    row->a = a;
    row->b = b;
    row->change = a != 0.0 ? (b - a) / fabs(a) : (b - a);
    row->p_value = 1.0;
    row->regression = row->change > tolerance;
    return row;
}

static const pp_batch_point *chosen_point(const pp_model_profile *mp)
{
    uint64_t b = mp->best_batch ? mp->best_batch : mp->current_batch;
    for (size_t k = 0; k < mp->n_points; k++)
        if (mp->points[k].batch == b)
            return &mp->points[k];
    return NULL;
}

void pp_compare_reports(const pp_report *a, const pp_report *b, double tolerance, double alpha,
                        pp_compare_result *out)
{
    memset(out, 0, sizeof *out);
    char name[PP_REPORT_NAME_MAX * 2];
    if (a->perf.n_passes > 0 && b->perf.n_passes > 0) {
        double ma, va, mb, vb;
        mean_var(a->perf.pass_ns, a->perf.n_passes, &ma, &va);
        mean_var(b->perf.pass_ns, b->perf.n_passes, &mb, &vb);
        pp_compare_row *row = add_row(out, "end_to_end_ns", ma, mb, tolerance);
        if (row && a->perf.n_passes >= 2 && b->perf.n_passes >= 2) {
            row->tested = 1;
            row->p_value = pp_welch_t_test(a->perf.pass_ns, a->perf.n_passes, b->perf.pass_ns,
                                           b->perf.n_passes);
            row->regression = row->change > tolerance && row->p_value < alpha;
        }
    }
    for (size_t i = 0; i < a->loading.n_sources; i++)
        for (size_t j = 0; j < b->loading.n_sources; j++) {
            const pp_load_profile *x = &a->loading.sources[i], *y = &b->loading.sources[j];
            if (strcmp(x->name, y->name) != 0 || x->batches == 0 || y->batches == 0)
                continue;
            snprintf(name, sizeof name, "load.%s.p95_ns", x->name);
            add_row(out, name, x->p95_ns, y->p95_ns, tolerance);
        }
    for (size_t i = 0; i < a->inference.n_models; i++)
        for (size_t j = 0; j < b->inference.n_models; j++) {
            const pp_model_profile *x = &a->inference.models[i], *y = &b->inference.models[j];
            const pp_batch_point *px = chosen_point(x), *py = chosen_point(y);
            if (strcmp(x->name, y->name) != 0 || !px || !py)
                continue;
            snprintf(name, sizeof name, "infer.%s.p99_ns", x->name);
            add_row(out, name, px->p99_ns, py->p99_ns, tolerance);
        }
    if (a->cache.present && b->cache.present && a->cache.ops > 0 && b->cache.ops > 0)
        add_row(out, "cache.miss_ratio", 1.0 - a->cache.hit_ratio, 1.0 - b->cache.hit_ratio,
                tolerance);
    if (a->system.peak_rss_bytes > 0 && b->system.peak_rss_bytes > 0)
        add_row(out, "memory.peak_rss_bytes", a->system.peak_rss_bytes, b->system.peak_rss_bytes,
                tolerance);
    for (size_t i = 0; i < out->n; i++)
        out->regressions += out->rows[i].regression;
}
