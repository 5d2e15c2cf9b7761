/*
 * stats.c - Ratio estimates with confidence intervals (Hodges-Lehmann with
 * Wilcoxon signed-rank / Mann-Whitney intervals), sequential sampling and
 * Monte Carlo propagation of intervals. See stats.h and docs/profilers.md.
 * Pure: never reads a clock, a file or global state.
 */
#include "analyze/stats.h"

#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/error.h>

#define EXACT_MAX_PAIRS 50     /* 2^50 subsets: counts stay exact in a double */
#define EXACT_MAX_PATHS 0x1p50 /* C(na + nb, na) below this: exact Mann-Whitney counts */
#define PROPAGATE_MAX_INPUTS 1024

/* ---- small helpers ------------------------------------------------------- */

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

static int conf_ok(double conf)
{
    return conf > 0.5 && conf < 1.0;
}

static int sample_ok(double x)
{
    return isfinite(x) && x > 0.0;
}

/* A monotone map of finite doubles onto integers (and back), so a search over
 * values can bisect over the integers between two doubles: at most 64 steps. */
static uint64_t dkey(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return (u >> 63) ? ~u : (u | (1ull << 63));
}

static double dval(uint64_t k)
{
    uint64_t u = (k >> 63) ? (k & ~(1ull << 63)) : ~k;
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

double pp__stats_normal_quantile(double p)
{
    if (!(p > 0.0 && p < 1.0))
        return NAN;
    /* bisection on the CDF 0.5 erfc(-x / sqrt 2): slow but exact to the last bits */
    double lo = -40.0, hi = 40.0;
    for (int i = 0; i < 200 && hi - lo > 0.0; i++) {
        double mid = 0.5 * (lo + hi);
        if (mid == lo || mid == hi)
            break;
        if (0.5 * erfc(-mid / sqrt(2.0)) < p)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

double pp__stats_median(const double *x, size_t n)
{
    if (n == 0 || !x)
        return NAN;
    double *c = malloc(n * sizeof *c);
    if (!c)
        return NAN;
    memcpy(c, x, n * sizeof *c);
    qsort(c, n, sizeof *c, cmp_double);
    double m = (n % 2) ? c[n / 2] : 0.5 * (c[n / 2 - 1] + c[n / 2]);
    free(c);
    return m;
}

double pp__stats_gain(double share, double speedup)
{
    return share * (1.0 - 1.0 / speedup);
}

double pp__stats_inside_chance(double est, double low, double high, double m_low, double m_high)
{
    if (!isfinite(est) || !isfinite(low) || !isfinite(high) || !isfinite(m_low) ||
        !isfinite(m_high) || low > high || m_low > m_high)
        return NAN;
    /* the normal quantiles of a two-sided 90 % and 95 % interval */
    double sp = (high - low) / 2.0 / 1.6448536269514722;
    double sm = (m_high - m_low) / 2.0 / 1.959963984540054;
    double sd = hypot(sp, sm);
    if (!(sd > 0))
        return NAN;
    /* P(low <= est + d <= high), d the truth's and the measurement's error */
    double up = 0.5 * erfc(-(high - est) / (sd * M_SQRT2));
    double down = 0.5 * erfc(-(low - est) / (sd * M_SQRT2));
    return up - down;
}

int pp__stats_cheapest(const double *const *x, const size_t *n, const int *eligible, size_t k,
                       double conf, size_t *out_best, size_t *out_pick)
{
    if (!x || !n || !out_best || !out_pick || k == 0 || !conf_ok(conf))
        return PP_EINVAL;
    *out_best = *out_pick = k;
    size_t maxn = 0;
    for (size_t i = 0; i < k; i++) {
        if (!x[i] || n[i] == 0)
            return PP_EINVAL;
        maxn = n[i] > maxn ? n[i] : maxn;
    }
    double *ones = malloc(maxn * sizeof *ones);
    pp__ratio_est *est = calloc(k, sizeof *est);
    int rc = PP_ENOMEM;
    if (!ones || !est)
        goto out;
    for (size_t j = 0; j < maxn; j++)
        ones[j] = 1.0;
    size_t best = k;
    for (size_t i = 0; i < k; i++) {
        if (eligible && !eligible[i])
            continue;
        /* one-sample: the typical cost with its interval (ratio over 1) */
        if ((rc = pp__stats_paired(ones, x[i], n[i], conf, 0.0, &est[i])) != PP_OK)
            goto out;
        if (best == k || est[i].ratio < est[best].ratio)
            best = i;
    }
    rc = PP_OK;
    if (best == k)
        goto out;
    size_t pick = best;
    for (size_t i = 0; i < best && pick == best; i++) {
        if ((eligible && !eligible[i]) || est[i].low > est[best].high)
            continue; /* not eligible, or its interval does not reach the best's */
        int worse = 0;
        for (size_t j = 0; j < k && !worse; j++) {
            if (j == i || (eligible && !eligible[j]))
                continue;
            pp__ratio_est vs;
            if ((rc = pp__stats_unpaired(x[j], n[j], x[i], n[i], conf, 0.0, &vs)) != PP_OK)
                goto out;
            worse = vs.low > 1.0; /* costlier than setting j in a direct comparison */
        }
        if (!worse)
            pick = i;
    }
    *out_best = best;
    *out_pick = pick;
out:
    free(ones);
    free(est);
    return rc;
}

const char *pp__stats_range_text(char *buf, size_t cap, double low, double high, double scale,
                                 int digits, const char *unit)
{
    const char *sp = unit && unit[0] ? " " : "";
    unit = unit ? unit : "";
    int lf = isfinite(low), hf = isfinite(high);
    if (lf && hf)
        snprintf(buf, cap, "%.*f to %.*f%s%s", digits, low * scale, digits, high * scale, sp, unit);
    else if (hf)
        snprintf(buf, cap, "at most %.*f%s%s", digits, high * scale, sp, unit);
    else if (lf)
        snprintf(buf, cap, "at least %.*f%s%s", digits, low * scale, sp, unit);
    else
        snprintf(buf, cap, "unbounded");
    return buf;
}

pp__verdict pp__stats_verdict(double low, double high, double tol)
{
    if (!(low <= high) || !(tol >= 0.0))
        return PP_VERDICT_INCONCLUSIVE;
    double down = 1.0 / (1.0 + tol), up = 1.0 + tol;
    if (high < down)
        return PP_VERDICT_BETTER;
    if (low > up)
        return PP_VERDICT_WORSE;
    if (low >= down && high <= up)
        return PP_VERDICT_NO_CHANGE;
    return PP_VERDICT_INCONCLUSIVE;
}

const char *pp__stats_verdict_name(pp__verdict v)
{
    switch (v) {
    case PP_VERDICT_BETTER:
        return "better";
    case PP_VERDICT_WORSE:
        return "worse";
    case PP_VERDICT_NO_CHANGE:
        return "no significant change";
    case PP_VERDICT_INCONCLUSIVE:
        break;
    }
    return "inconclusive";
}

/* ---- order statistics of Walsh sums and pairwise differences ------------- */

/* #{i <= j : d[i] + d[j] <= x} over sorted d. */
static uint64_t walsh_count(const double *d, size_t n, double x)
{
    uint64_t c = 0;
    size_t j = n; /* one past the last j with d[i] + d[j] <= x */
    for (size_t i = 0; i < n; i++) {
        while (j > 0 && d[i] + d[j - 1] > x)
            j--;
        if (j > i)
            c += j - i;
    }
    return c;
}

/* #{(i, j) : y[j] - x[i] <= t} over sorted x, y. */
static uint64_t diff_count(const double *x, size_t nx, const double *y, size_t ny, double t)
{
    uint64_t c = 0;
    size_t p = 0; /* first i with y[j] - x[i] <= t */
    for (size_t j = 0; j < ny; j++) {
        while (p < nx && y[j] - x[p] > t)
            p++;
        c += nx - p;
    }
    return c;
}

typedef struct orderset {
    const double *x, *y;
    size_t nx, ny;
    int walsh; /* 1: sums x[i] + x[j], i <= j; 0: differences y[j] - x[i] */
} orderset;

static uint64_t os_count(const orderset *s, double v)
{
    return s->walsh ? walsh_count(s->x, s->nx, v) : diff_count(s->x, s->nx, s->y, s->ny, v);
}

/* The k-th smallest (1-based, 1 <= k <= total) value of the set. */
static double os_kth(const orderset *s, uint64_t k)
{
    double vmin, vmax;
    if (s->walsh) {
        vmin = s->x[0] + s->x[0];
        vmax = s->x[s->nx - 1] + s->x[s->nx - 1];
    } else {
        vmin = s->y[0] - s->x[s->nx - 1];
        vmax = s->y[s->ny - 1] - s->x[0];
    }
    uint64_t lo = dkey(vmin), hi = dkey(vmax);
    if (os_count(s, vmin) >= k)
        return vmin;
    /* invariant: count(val(lo)) < k <= count(val(hi)) */
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (os_count(s, dval(mid)) >= k)
            hi = mid;
        else
            lo = mid;
    }
    return dval(hi);
}

static double os_median(const orderset *s, uint64_t total)
{
    if (total % 2)
        return os_kth(s, total / 2 + 1);
    return 0.5 * (os_kth(s, total / 2) + os_kth(s, total / 2 + 1));
}

/* ---- null distributions -------------------------------------------------- */

/*
 * The rank k of the interval's lower end, [V_(k), V_(total + 1 - k)], from the
 * exact null distribution counts[0..deg] (sum `paths`): k = w + 1 for the
 * largest w with P(stat <= w) <= alpha / 2; 0 when there is none.
 */
static uint64_t k_exact(const double *counts, size_t deg, double paths, double half_alpha)
{
    double cum = 0.0;
    uint64_t k = 0;
    for (size_t w = 0; w <= deg; w++) {
        cum += counts[w];
        if (cum <= half_alpha * paths)
            k = (uint64_t)w + 1;
        else
            break;
    }
    return k;
}

/* Normal approximation with continuity correction: w = floor(mu - 0.5 - z sigma). */
static uint64_t k_normal(double mu, double sigma, double z)
{
    double w = floor(mu - 0.5 - z * sigma);
    if (w < 0.0)
        return 0;
    return (uint64_t)w + 1;
}

/* Wilcoxon signed-rank: coefficients of prod_{i=1..n} (1 + q^i). */
static int signed_rank_k(size_t n, double half_alpha, double z, uint64_t *out_k, int *out_exact)
{
    uint64_t total = (uint64_t)n * (n + 1) / 2;
    if (n > EXACT_MAX_PAIRS) {
        double nn = (double)n;
        *out_k = k_normal(nn * (nn + 1) / 4.0, sqrt(nn * (nn + 1) * (2 * nn + 1) / 24.0), z);
        *out_exact = 0;
        return PP_OK;
    }
    double *c = calloc(total + 1, sizeof *c);
    if (!c)
        return PP_ENOMEM;
    c[0] = 1.0;
    size_t deg = 0;
    for (size_t i = 1; i <= n; i++) {
        deg += i;
        for (size_t t = deg; t >= i; t--)
            c[t] += c[t - i];
    }
    *out_k = k_exact(c, total, ldexp(1.0, (int)n), half_alpha);
    *out_exact = 1;
    free(c);
    return PP_OK;
}

/* log C(a + b, a) */
static double log_choose(size_t a, size_t b)
{
    return lgamma((double)(a + b) + 1.0) - lgamma((double)a + 1.0) - lgamma((double)b + 1.0);
}

/* Mann-Whitney: coefficients of the Gaussian binomial [m + n choose m]_q, built
 * as prod_{i=1..m} (1 - q^(n+i)) / (1 - q^i); every partial product is a
 * polynomial with integer coefficients below 2^51, so doubles hold it exactly. */
static int mann_whitney_k(size_t m, size_t n, double half_alpha, double z, uint64_t *out_k,
                          int *out_exact)
{
    if (m > n) {
        size_t t = m;
        m = n;
        n = t;
    }
    uint64_t total = (uint64_t)m * n;
    if (log_choose(m, n) >= log(EXACT_MAX_PATHS)) {
        double mm = (double)m, nn = (double)n;
        *out_k = k_normal(mm * nn / 2.0, sqrt(mm * nn * (mm + nn + 1) / 12.0), z);
        *out_exact = 0;
        return PP_OK;
    }
    size_t cap = (size_t)total + m + n + 1;
    double *c = calloc(cap, sizeof *c);
    if (!c)
        return PP_ENOMEM;
    c[0] = 1.0;
    size_t deg = 0;
    for (size_t i = 1; i <= m; i++) {
        size_t a = n + i;
        deg += a; /* times (1 - q^a) */
        for (size_t t = deg; t >= a; t--)
            c[t] -= c[t - a];
        deg -= i; /* divided by (1 - q^i): r_t = p_t + r_(t-i) */
        for (size_t t = i; t <= deg; t++)
            c[t] += c[t - i];
        for (size_t t = deg + 1; t <= deg + i; t++)
            c[t] = 0.0;
    }
    double paths = 0.0;
    for (size_t t = 0; t <= (size_t)total; t++)
        paths += c[t];
    *out_k = k_exact(c, (size_t)total, paths, half_alpha);
    *out_exact = 1;
    free(c);
    return PP_OK;
}

/* ---- estimators ---------------------------------------------------------- */

static void est_empty(pp__ratio_est *out, double conf)
{
    memset(out, 0, sizeof *out);
    out->ratio = NAN;
    out->base = NAN;
    out->high = INFINITY;
    out->conf = conf;
    out->verdict = PP_VERDICT_INCONCLUSIVE;
}

/* Fill ratio and interval from the order set's median and ranks k, total + 1 - k. */
static void est_fill(pp__ratio_est *out, const orderset *s, uint64_t total, uint64_t k,
                     double scale, double tol)
{
    out->ratio = exp(os_median(s, total) * scale);
    if (k == 0 || k > total + 1 - k) {
        out->low = 0.0;
        out->high = INFINITY;
    } else {
        out->low = exp(os_kth(s, k) * scale);
        out->high = exp(os_kth(s, total + 1 - k) * scale);
    }
    out->verdict = pp__stats_verdict(out->low, out->high, tol);
}

int pp__stats_paired(const double *a, const double *b, size_t n, double conf, double tol,
                     pp__ratio_est *out)
{
    int rc = PP_EINVAL;
    double *d = NULL;
    if (!out)
        return PP_EINVAL;
    est_empty(out, conf);
    if (!a || !b || n == 0 || !conf_ok(conf) || !(tol >= 0.0) || n > (1u << 26))
        goto out;
    for (size_t i = 0; i < n; i++)
        if (!sample_ok(a[i]) || !sample_ok(b[i]))
            goto out;
    rc = PP_ENOMEM;
    d = malloc(n * sizeof *d);
    if (!d)
        goto out;
    for (size_t i = 0; i < n; i++)
        d[i] = log(b[i]) - log(a[i]);
    qsort(d, n, sizeof *d, cmp_double);

    double half_alpha = (1.0 - conf) / 2.0;
    uint64_t k = 0;
    int exact = 0;
    rc = signed_rank_k(n, half_alpha, pp__stats_normal_quantile(1.0 - half_alpha), &k, &exact);
    if (rc != PP_OK)
        goto out;
    orderset s = {.x = d, .nx = n, .walsh = 1};
    est_fill(out, &s, (uint64_t)n * (n + 1) / 2, k, 0.5, tol);
    out->base = pp__stats_median(a, n);
    out->n = out->n_a = out->n_b = n;
    out->exact = exact;
    rc = isnan(out->base) ? PP_ENOMEM : PP_OK;
out:
    if (rc != PP_OK)
        est_empty(out, conf);
    free(d);
    return rc;
}

int pp__stats_gauged(const double *const *a, const double *const *b, const double *const *ga,
                     const double *const *gb, const size_t *n, const int *use, size_t k,
                     double conf, double *out_theta, pp__ratio_est *out)
{
    if (!a || !b || !ga || !gb || !n || !use || !out || !out_theta || k == 0 || !conf_ok(conf))
        return PP_EINVAL;
    *out_theta = 0;
    double sxy = 0, sxx = 0;
    for (size_t j = 0; j < k; j++) {
        if (!use[j])
            continue;
        if (!a[j] || !b[j] || !ga[j] || !gb[j] || n[j] == 0)
            return PP_EINVAL;
        double md = 0, mx = 0;
        for (size_t i = 0; i < n[j]; i++) {
            if (!sample_ok(a[j][i]) || !sample_ok(b[j][i]) || !sample_ok(ga[j][i]) ||
                !sample_ok(gb[j][i]))
                return PP_EINVAL;
            md += log(b[j][i] / a[j][i]);
            mx += log(gb[j][i] / ga[j][i]);
        }
        md /= (double)n[j];
        mx /= (double)n[j];
        for (size_t i = 0; i < n[j]; i++) {
            double x = log(gb[j][i] / ga[j][i]) - mx;
            sxy += (log(b[j][i] / a[j][i]) - md) * x;
            sxx += x * x;
        }
    }
    double theta = sxx > 0 ? sxy / sxx : 0;
    theta = theta < 0 ? 0 : theta > 1 ? 1 : theta;
    *out_theta = theta;
    for (size_t j = 0; j < k; j++) {
        if (!use[j])
            continue;
        double *adj = malloc(n[j] * sizeof *adj);
        if (!adj)
            return PP_ENOMEM;
        for (size_t i = 0; i < n[j]; i++)
            adj[i] = b[j][i] * pow(ga[j][i] / gb[j][i], theta);
        int rc = pp__stats_paired(a[j], adj, n[j], conf, 0.0, &out[j]);
        free(adj);
        if (rc != PP_OK)
            return rc;
    }
    return PP_OK;
}

int pp__stats_log_dev(const double *a, const double *b, size_t n, double *dev)
{
    if (!a || !b || !dev || n == 0)
        return PP_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!sample_ok(a[i]) || !sample_ok(b[i]))
            return PP_EINVAL;
        dev[i] = log(b[i] / a[i]);
    }
    double mid = pp__stats_median(dev, n);
    for (size_t i = 0; i < n; i++)
        dev[i] -= mid;
    return PP_OK;
}

size_t pp__stats_matched(const double *ga, const double *gb, size_t n, double tol,
                         unsigned char *keep)
{
    if (!keep || n == 0)
        return 0;
    memset(keep, 0, n);
    if (!(tol >= 0.0))
        return 0;
    double *q = malloc(n * sizeof *q);
    if (!q)
        return 0;
    size_t kept = 0;
    if (pp__stats_log_dev(ga, gb, n, q) == PP_OK)
        for (size_t i = 0; i < n; i++) {
            keep[i] = fabs(q[i]) <= tol;
            kept += keep[i];
        }
    free(q);
    return kept;
}

int pp__stats_unpaired(const double *a, size_t na, const double *b, size_t nb, double conf,
                       double tol, pp__ratio_est *out)
{
    int rc = PP_EINVAL;
    double *x = NULL, *y = NULL;
    if (!out)
        return PP_EINVAL;
    est_empty(out, conf);
    if (!a || !b || na == 0 || nb == 0 || !conf_ok(conf) || !(tol >= 0.0) || na > (1u << 26) ||
        nb > (1u << 26))
        goto out;
    for (size_t i = 0; i < na; i++)
        if (!sample_ok(a[i]))
            goto out;
    for (size_t j = 0; j < nb; j++)
        if (!sample_ok(b[j]))
            goto out;
    rc = PP_ENOMEM;
    x = malloc(na * sizeof *x);
    y = malloc(nb * sizeof *y);
    if (!x || !y)
        goto out;
    for (size_t i = 0; i < na; i++)
        x[i] = log(a[i]);
    for (size_t j = 0; j < nb; j++)
        y[j] = log(b[j]);
    qsort(x, na, sizeof *x, cmp_double);
    qsort(y, nb, sizeof *y, cmp_double);

    double half_alpha = (1.0 - conf) / 2.0;
    uint64_t k = 0;
    int exact = 0;
    rc =
        mann_whitney_k(na, nb, half_alpha, pp__stats_normal_quantile(1.0 - half_alpha), &k, &exact);
    if (rc != PP_OK)
        goto out;
    orderset s = {.x = x, .nx = na, .y = y, .ny = nb, .walsh = 0};
    est_fill(out, &s, (uint64_t)na * nb, k, 1.0, tol);
    out->base = pp__stats_median(a, na);
    out->n = na < nb ? na : nb;
    out->n_a = na;
    out->n_b = nb;
    out->exact = exact;
    rc = isnan(out->base) ? PP_ENOMEM : PP_OK;
out:
    if (rc != PP_OK)
        est_empty(out, conf);
    free(x);
    free(y);
    return rc;
}

size_t pp__stats_min_pairs(double conf)
{
    if (!conf_ok(conf))
        return 0;
    double half_alpha = (1.0 - conf) / 2.0;
    for (size_t n = 1; n <= 64; n++)
        if (1.0 <= half_alpha * ldexp(1.0, (int)n))
            return n;
    return 0;
}

size_t pp__stats_min_runs(size_t na, double conf)
{
    if (!conf_ok(conf) || na == 0)
        return 0;
    double half_alpha = (1.0 - conf) / 2.0;
    double c = 1.0; /* C(na + nb, na), built up one nb at a time */
    for (size_t nb = 1; nb <= 10000; nb++) {
        c = c * (double)(na + nb) / (double)nb;
        if (1.0 <= half_alpha * c)
            return nb;
    }
    return 0;
}

size_t pp__stats_needed(const pp__ratio_est *e, double target)
{
    if (!e || !(target > 0.0) || e->n == 0 || !isfinite(e->high) || !isfinite(e->low))
        return 0;
    double hw = (e->high - e->low) / 2.0;
    if (hw <= target)
        return e->n;
    double need = ceil((double)e->n * (hw / target) * (hw / target));
    if (need > 1e9)
        need = 1e9;
    size_t n = (size_t)need;
    return n > e->n ? n : e->n + 1;
}

int pp__stats_sequential(pp__pair_fn fn, void *ctx, const pp__seq_opts *o, double *a, double *b,
                         pp__ratio_est *out, pp__seq_stop *out_stop)
{
    if (!out || !out_stop)
        return PP_EINVAL;
    *out_stop = PP_SEQ_MAX_PAIRS;
    est_empty(out, o ? o->conf : 0.0);
    if (!fn || !o || !a || !b || o->min_pairs == 0 || o->max_pairs < o->min_pairs ||
        !conf_ok(o->conf) || !(o->tol >= 0.0) || !(o->target_half_width > 0.0))
        return PP_EINVAL;
    size_t n = 0;
    int rc = PP_OK;
    while (n < o->max_pairs) {
        double x = 0.0, y = 0.0;
        int r = fn(ctx, &x, &y);
        if (r == PP__STATS_STOP) {
            *out_stop = PP_SEQ_BUDGET;
            break;
        }
        if (r < 0) {
            rc = r;
            break;
        }
        if (r != PP_OK || !sample_ok(x) || !sample_ok(y)) {
            rc = PP_EINVAL;
            break;
        }
        a[n] = x;
        b[n] = y;
        n++;
        if (n < o->min_pairs)
            continue;
        int e = pp__stats_paired(a, b, n, o->conf, o->tol, out);
        if (e != PP_OK)
            return e;
        if (isfinite(out->high) && (out->high - out->low) / 2.0 <= o->target_half_width) {
            *out_stop = PP_SEQ_NARROW;
            return PP_OK;
        }
    }
    if (n == 0) {
        est_empty(out, o->conf);
        return rc;
    }
    int e = pp__stats_paired(a, b, n, o->conf, o->tol, out);
    return rc != PP_OK ? rc : e;
}

/* ---- propagation --------------------------------------------------------- */

void pp__rng_seed(pp__rng *r, uint64_t seed)
{
    r->s = seed;
}

uint64_t pp__rng_next(pp__rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double pp__rng_uniform(pp__rng *r)
{
    return ((double)(pp__rng_next(r) >> 11) + 0.5) * 0x1p-53;
}

double pp__rng_normal(pp__rng *r)
{
    double u = pp__rng_uniform(r), v = pp__rng_uniform(r);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* Spread of each side of an input's interval, in units of a standard normal. */
typedef struct spread {
    double center, down, up;
    int log_scale, constant;
} spread;

static int spread_of(const pp__interval *iv, spread *out)
{
    if (!isfinite(iv->est) || !isfinite(iv->low) || !isfinite(iv->high) ||
        !(iv->low <= iv->est && iv->est <= iv->high))
        return PP_EINVAL;
    out->log_scale = iv->log_scale;
    out->constant = iv->low == iv->high;
    if (out->constant) {
        out->center = iv->est;
        out->down = out->up = 0.0;
        return PP_OK;
    }
    if (!conf_ok(iv->conf))
        return PP_EINVAL;
    double z = pp__stats_normal_quantile(0.5 + iv->conf / 2.0);
    if (iv->log_scale) {
        if (!(iv->low > 0.0))
            return PP_EINVAL;
        out->center = log(iv->est);
        out->down = (out->center - log(iv->low)) / z;
        out->up = (log(iv->high) - out->center) / z;
    } else {
        out->center = iv->est;
        out->down = (iv->est - iv->low) / z;
        out->up = (iv->high - iv->est) / z;
    }
    return PP_OK;
}

static double spread_draw(const spread *s, pp__rng *r)
{
    if (s->constant)
        return s->center;
    double z = pp__rng_normal(r);
    double v = s->center + z * (z < 0.0 ? s->down : s->up);
    return s->log_scale ? exp(v) : v;
}

/* The q-quantile (0 <= q <= 1) of sorted v[0..n-1], linear between ranks. */
static double quantile_sorted(const double *v, size_t n, double q)
{
    double pos = q * (double)(n - 1);
    size_t i = (size_t)floor(pos);
    if (i + 1 >= n)
        return v[n - 1];
    double f = pos - (double)i;
    return v[i] + f * (v[i + 1] - v[i]);
}

int pp__stats_propagate(const pp__interval *in, size_t n, pp__propagate_fn f, void *ctx,
                        size_t draws, double conf, uint64_t seed, pp__interval *out)
{
    int rc = PP_EINVAL;
    spread *sp = NULL;
    double *x = NULL, *v = NULL;
    if (!out)
        return PP_EINVAL;
    memset(out, 0, sizeof *out);
    out->est = out->low = out->high = NAN;
    if (!in || !f || n == 0 || n > PROPAGATE_MAX_INPUTS || draws < 100 || draws > 10000000 ||
        !conf_ok(conf))
        goto out;
    rc = PP_ENOMEM;
    sp = malloc(n * sizeof *sp);
    x = malloc(n * sizeof *x);
    v = malloc(draws * sizeof *v);
    if (!sp || !x || !v)
        goto out;
    rc = PP_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (spread_of(&in[i], &sp[i]) != PP_OK)
            goto out;
        x[i] = in[i].est;
    }
    double est = f(ctx, x, n);
    if (isnan(est))
        goto out;
    pp__rng r;
    pp__rng_seed(&r, seed);
    for (size_t d = 0; d < draws; d++) {
        for (size_t i = 0; i < n; i++)
            x[i] = spread_draw(&sp[i], &r);
        v[d] = f(ctx, x, n);
        if (isnan(v[d]))
            goto out;
    }
    qsort(v, draws, sizeof *v, cmp_double);
    out->est = est;
    out->low = quantile_sorted(v, draws, (1.0 - conf) / 2.0);
    out->high = quantile_sorted(v, draws, (1.0 + conf) / 2.0);
    /* a nonlinear f can put its value at the estimates just outside the draws' quantiles */
    if (out->low > est)
        out->low = est;
    if (out->high < est)
        out->high = est;
    out->conf = conf;
    out->log_scale = 0;
    rc = PP_OK;
out:
    free(sp);
    free(x);
    free(v);
    return rc;
}
