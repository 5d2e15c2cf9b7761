/*
 * predict.c - Per-site predictions of a knob's gain from its experiment's
 * pairs of passes, and the composition of several settings' predictions.
 * No hand-written knob-to-stage mapping: whatever sites a setting changes
 * significantly in the pass count, wherever they run. Pure: no I/O, no clocks.
 */
#include "analyze/predict.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/error.h>

#include "analyze/stats.h"

#define CONF_SPEEDUP 0.95
#define CONF_PREDICT 0.90
#define DRAWS 4000
#define OVERLAP 1.02 /* members' self time above the stage's own time by this: overlap */
/* a unit below this share of a pass at both settings is left out: its gain
 * is below half the default minimum effect, and on a loaded machine a scope
 * of a few us self time per pass that a CPU wait lands in once swings by
 * 1000x (the no-effect knob read "-39430699.50 to 403.81 %" at load 29) */
#define NEGLIGIBLE 5e-3
#define FLOOR_NS 1.0 /* a site that did not run in a pass: 1 ns, so logs stay finite */
#define PREDICT_SEED 0x7072656469637431ull
/* The pairs the machine changed speed in (between a pair's two passes every
 * site slows or speeds alike: on the 2-core machine 15 to 20 %, in 1 or 2
 * of 14 pairs) are set aside when the sites a setting left as they were
 * make at least this share of a pass, and at least GAUGE_MIN_PAIRS pairs
 * (and as many as the sites need) are left. Those pairs left every site's
 * interval lopsided (keep-alive: the other sites together 1.00x, 95 % 0.85
 * to 1.01; predicted 9.2 %, 90 % 2.2 to 9.3). */
#define GAUGE_MIN_SHARE 0.05
#define GAUGE_MIN_PAIRS 6
/* a member of the pooled unit weighs at most as one measured this steadily
 * (standard error of its log ratio): no site's interval of a few pairs'
 * ties outweighs every other */
#define POOL_MIN_SE 0.01

typedef struct unit {
    const pp__trial_site *site;
    int whole;
    pp_site_change c;
    double r, r_low, r_high; /* cand / base self time, 95 % */
    const double *xa, *xb;   /* the times judged, per pass */
    const double *ja, *jb;   /* the same, whatever they were (on-CPU time too) */
    const double *of;        /* the passes' time ja is a share of (ja's terms) */
    const double *xp;        /* xb's peers (pp__trial_site.peer_self), NULL: none */
    int pooled;              /* 1: judged within the pooled unit below (not on its own) */
} unit;

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static double median_of(const double *x, size_t n)
{
    return pp__stats_median(x, n);
}

static int by_abs_gain(const void *pa, const void *pb)
{
    const unit *a = pa, *b = pb;
    double x = fabs(a->c.gain), y = fabs(b->c.gain);
    if (a->c.significant != b->c.significant)
        return b->c.significant - a->c.significant;
    return (x < y) - (x > y);
}

/* The level at which each of m sites is judged: Bonferroni over the sites
 * of one experiment, so that all of them together claim a change where
 * there is none at most 5 % of the time (at 95 % each, one of 8 unchanged
 * sites was "significant" in a third of experiments: under load the
 * no-effect knob was predicted -17 %, 90 % -33 to -3 %). The first step
 * of holm(), which judges the sites left at the level of fewer. */
static double site_level(size_t m)
{
    return 1.0 - (1.0 - CONF_SPEEDUP) / (double)(m ? m : 1);
}

/* Judgements in an experiment of m sites: each site, and the pooled unit
 * when there are at least two. */
static size_t judged(size_t m)
{
    return m >= 2 ? m + 1 : m;
}

/* A unit's times a, b with FLOOR_NS at the least, into fa, fb (n each). */
static void floored(const double *a, const double *b, size_t n, double *fa, double *fb)
{
    for (size_t i = 0; i < n; i++) {
        fa[i] = a[i] > FLOOR_NS ? a[i] : FLOOR_NS;
        fb[i] = b[i] > FLOOR_NS ? b[i] : FLOOR_NS;
    }
}

/*
 * Holm's step-down over the units' judgements (m of them in all): with k
 * significant at the level of m, the others are judged again at the level
 * of m - k, and so on while more turn significant. The same 5 % chance of
 * any false change as Bonferroni alone (site_level), and the sites a
 * setting changes clearly no longer make its smaller changes wait for the
 * level of every site: int8 on AVX-512 (every site about 1.2x faster,
 * docs/profilers.md) had 10 of 13 sites significant, its own
 * posts.model.predict 1.180x (95 % 1.129 to 1.235) and the other sites
 * together 1.141x (1.037 to 1.212) judged at the level of 14 and left out:
 * predicted 13.2 %, measured 19.5 %. Returns how many are significant;
 * fa, fb: scratch of n_pairs each.
 */
static int holm(unit *units, size_t nu, size_t m, size_t n, double *fa, double *fb, size_t *sig)
{
    size_t k = 0;
    for (size_t j = 0; j < nu; j++)
        k += units[j].c.significant != 0;
    while (k > 0 && k < m) {
        size_t more = 0;
        for (size_t j = 0; j < nu; j++) {
            unit *u = &units[j];
            if (u->c.significant || !u->ja || !u->jb)
                continue;
            floored(u->ja, u->jb, n, fa, fb);
            pp__ratio_est est;
            int rc = pp__stats_paired(fa, fb, n, site_level(m - k), 0.0, &est);
            if (rc != PP_OK)
                return rc;
            if (est.verdict == PP_VERDICT_BETTER || est.verdict == PP_VERDICT_WORSE) {
                u->c.significant = 1;
                more++;
            }
        }
        if (!more)
            break;
        k += more;
    }
    *sig = k;
    return PP_OK;
}

/* Whether site k lies under a scope taken whole (take[], by the parents). */
static int under_taken(const pp__trial *t, const unsigned char *take, size_t k)
{
    size_t up = t->sites[k].up;
    for (int depth = 0; up && up <= t->n_sites && depth < 64; depth++) {
        if (take[up - 1])
            return 1;
        up = t->sites[up - 1].up;
    }
    return 0;
}

/*
 * Overlap the stages do not account for (a loader's threads under a scope
 * the workload does not name as a stage): going up the scopes by their
 * parents, innermost first, a scope whose members' time adds up to more
 * than its own at either setting (medians) is taken whole, its inclusive
 * time standing for its members: the critical path of the work under it.
 * A scope that did not run at one setting stands for nothing there and
 * passes its members up. Sets take[] and returns 1 when the pass then adds
 * up (the units no longer sum to more than it), 0 when it still does not
 * (the pass itself is then the critical path), PP_ENOMEM. sa, sb: n_pairs
 * scratch.
 */
static int scopes_whole(const pp__trial *t, unsigned char *take, double *sa, double *sb)
{
    size_t n = t->n_pairs, ns = t->n_sites;
    double *med = calloc(6 * (ns ? ns : 1), sizeof *med);
    int *depth = calloc(ns ? ns : 1, sizeof *depth);
    size_t *order = calloc(ns ? ns : 1, sizeof *order);
    int resolved = PP_ENOMEM;
    if (!med || !depth || !order)
        goto out;
    double *self_a = med, *self_b = med + ns, *tot_a = med + 2 * ns, *tot_b = med + 3 * ns;
    double *ca = med + 4 * ns, *cb = med + 5 * ns; /* members' time, collapsed so far */
    for (size_t k = 0; k < ns; k++) {
        const pp__trial_site *site = &t->sites[k];
        take[k] = 0;
        self_a[k] = ca[k] = median_of(site->self_a, n);
        self_b[k] = cb[k] = median_of(site->self_b, n);
        tot_a[k] = site->total_a ? median_of(site->total_a, n) : 0.0;
        tot_b[k] = site->total_b ? median_of(site->total_b, n) : 0.0;
        size_t up = site->up;
        for (depth[k] = 0; up && up <= ns && depth[k] < 64; depth[k]++)
            up = t->sites[up - 1].up;
        order[k] = k;
    }
    /* innermost first: insertion sort by depth, deepest first */
    for (size_t i = 1; i < ns; i++)
        for (size_t j = i; j > 0 && depth[order[j]] > depth[order[j - 1]]; j--) {
            size_t x = order[j];
            order[j] = order[j - 1];
            order[j - 1] = x;
        }
    for (size_t i = 0; i < ns; i++) {
        size_t k = order[i];
        int members = ca[k] > self_a[k] || cb[k] > self_b[k];
        if (members && tot_a[k] > 0 && tot_b[k] > 0 &&
            (ca[k] > OVERLAP * tot_a[k] || cb[k] > OVERLAP * tot_b[k]))
            take[k] = 1;
        size_t up = t->sites[k].up;
        if (up && up <= ns) {
            ca[up - 1] += take[k] ? tot_a[k] : ca[k];
            cb[up - 1] += take[k] ? tot_b[k] : cb[k];
        }
    }
    for (size_t i = 0; i < n; i++) {
        sa[i] = sb[i] = 0.0;
        for (size_t k = 0; k < ns; k++) {
            const pp__trial_site *site = &t->sites[k];
            if (under_taken(t, take, k))
                continue;
            sa[i] += take[k] ? site->total_a[i] : site->self_a[i];
            sb[i] += take[k] ? site->total_b[i] : site->self_b[i];
        }
        sa[i] /= t->pass_a[i];
        sb[i] /= t->pass_b[i];
    }
    resolved = !(median_of(sa, n) > OVERLAP || median_of(sb, n) > OVERLAP);
out:
    free(med);
    free(depth);
    free(order);
    return resolved;
}

size_t pp__predict_min_pairs(size_t n_sites)
{
    return pp__stats_min_pairs(site_level(judged(n_sites)));
}

/* The scopes enclosing the unit's site in t (by the parents), innermost
 * first, into c->within; none for a unit that is not one of t's sites (the
 * pooled unit, the whole pass). */
static void enclosing(const pp__trial *t, const pp__trial_site *site, pp_site_change *c)
{
    c->n_within = 0;
    if (!t->sites || site < t->sites || site >= t->sites + t->n_sites)
        return;
    size_t up = site->up;
    for (int depth = 0; up && up <= t->n_sites && depth < 64; depth++) {
        if (c->n_within < PP_SITE_MAX_WITHIN)
            c->within[c->n_within++] = name_hash(t->sites[up - 1].name);
        up = t->sites[up - 1].up;
    }
}

/* Fill a unit from its per-pass samples a (current) and b (candidate), its
 * share of the passes `pass` (the current setting's); significant when its
 * interval at `sig_conf` excludes no change. */
static int unit_fill(unit *u, const pp__trial *t, const double *sa, const double *sb,
                     const double *pass, double *fa, double *fb, double sig_conf)
{
    size_t n = t->n_pairs;
    floored(sa, sb, n, fa, fb);
    pp__ratio_est self, share, sig;
    int rc = pp__stats_paired(fa, fb, n, CONF_SPEEDUP, 0.0, &self);
    if (rc == PP_OK)
        rc = pp__stats_paired(pass, fa, n, CONF_SPEEDUP, 0.0, &share);
    if (rc == PP_OK)
        rc = pp__stats_paired(fa, fb, n, sig_conf, 0.0, &sig);
    if (rc != PP_OK)
        return rc;
    pp_site_change *c = &u->c;
    snprintf(c->name, sizeof c->name, "%s", u->site->name ? u->site->name : "?");
    c->stage = u->site->stage;
    c->whole_stage = u->whole;
    c->base_ns = self.base;
    c->cand_ns = self.base * self.ratio;
    c->share = share.ratio;
    c->share_low = share.low;
    c->share_high = share.high;
    c->speedup = 1.0 / self.ratio;
    c->speedup_low = 1.0 / self.high;
    c->speedup_high = self.low > 0 ? 1.0 / self.low : INFINITY;
    c->significant = sig.verdict == PP_VERDICT_BETTER || sig.verdict == PP_VERDICT_WORSE;
    c->gain = share.ratio * (1.0 - self.ratio);
    enclosing(t, u->site, c);
    u->r = self.ratio;
    u->r_low = self.low;
    u->r_high = self.high;
    return PP_OK;
}

/* Inputs of the gain's Monte Carlo: (share, ratio) of each significant unit. */
static double sum_gain(void *ctx, const double *x, size_t n)
{
    (void)ctx;
    double g = 0.0;
    for (size_t i = 0; i + 1 < n; i += 2)
        g += x[i] * (1.0 - x[i + 1]);
    return g;
}

static void put_interval(pp__interval *iv, double est, double low, double high)
{
    iv->est = est;
    iv->low = low < est ? low : est;
    iv->high = high > est ? high : est;
    iv->conf = CONF_SPEEDUP;
    iv->log_scale = 1;
}

void pp__predict_speedup(const pp__ratio_est *est, pp_experiment *e)
{
    e->speedup = 1.0 / est->ratio;
    e->speedup_low = 1.0 / est->high;
    e->speedup_high = est->low > 0 ? 1.0 / est->low : INFINITY;
    e->significant = est->verdict == PP_VERDICT_BETTER || est->verdict == PP_VERDICT_WORSE;
    e->base_ns = est->base;
    e->cand_ns = est->base * est->ratio;
}

/*
 * Which of n pairs the machine kept its speed in (keep[i] = 1), gauged by
 * the time the setting left as it was (ra, rb: the sites not significant,
 * pass by pass) and corroborated by the time it changed (ca, cb): a pair
 * is set aside when the one lies more than PP__MATCH_TOL (in log) from its
 * median ratio over the pairs and the other, to the same side, at least
 * half as far. A change of the machine's speed moves every site of a pass
 * alike; the setting's own effect on the other sites (threads it adds,
 * contending for the CPUs in some passes more than in others) does not
 * move the sites it changed with them: concurrent loading's pairs where
 * the others read 25 to 33 % slower and the changed loading 0 or 28 %
 * faster, set aside by the others alone, left 4.6 % predicted (90 % 2.4 to
 * 7.1) where --apply measured -4.7 %. Returns how many are kept; n (every
 * pair) when nothing changed is known (no changed site, a time not
 * positive, no memory).
 */
static size_t speed_changed(const double *ra, const double *rb, const double *ca, const double *cb,
                            size_t n, unsigned char *keep)
{
    memset(keep, 1, n);
    double *dr = malloc(2 * n * sizeof *dr);
    if (!dr)
        return n;
    double *dc = dr + n;
    size_t kept = n;
    if (pp__stats_log_dev(ra, rb, n, dr) == PP_OK && pp__stats_log_dev(ca, cb, n, dc) == PP_OK)
        for (size_t i = 0; i < n; i++)
            if (fabs(dr[i]) > PP__MATCH_TOL && dr[i] * dc[i] > 0 &&
                fabs(dc[i]) >= 0.5 * PP__MATCH_TOL) {
                keep[i] = 0;
                kept--;
            }
    free(dr);
    return kept;
}

/*
 * The pooled unit's change judged by its members' changes weighted by how
 * steadily each is measured: pair by pair, the mean of the members' log
 * ratios (candidate over current, each in the terms it is judged in: on-CPU
 * time or wall time) weighted by the inverse square of each member's
 * standard error (from its 95 % interval), one paired sample. One
 * judgement, as the members' summed time was, so the same chance of a
 * false change; but not drowned by its noisiest member: int8 made eight
 * sites 1.14 to 1.24x faster (each 95 % interval above 1), while their
 * summed time, half of it the API's reads (1.151x, 1.030 to 1.260) and the
 * fp32 model's calls (0.927x, 0.787 to 1.085), was 1.162x (1.060 to 1.233)
 * and not significant at the level left: predicted 7.6 %, measured 15.8 %.
 * The verdict at level conf into *v. Returns 0 when no member has an
 * interval to weigh it by; fa, fb: n scratch each.
 */
static int pooled_change(const unit *units, size_t nu, size_t n, double conf, double *fa,
                         double *fb, pp__verdict *v)
{
    double wsum = 0.0;
    for (size_t i = 0; i < n; i++) {
        fa[i] = 1.0;
        fb[i] = 0.0;
    }
    for (size_t k = 0; k < nu; k++) {
        const unit *u = &units[k];
        if (u->c.significant || !u->ja || !(u->r_low > 0) || !isfinite(u->r_high))
            continue;
        double se = (log(u->r_high) - log(u->r_low)) / (2.0 * 1.959964);
        if (!(se >= POOL_MIN_SE))
            se = POOL_MIN_SE;
        double w = 1.0 / (se * se);
        for (size_t i = 0; i < n; i++) {
            double a = u->ja[i] > FLOOR_NS ? u->ja[i] : FLOOR_NS;
            double b = u->jb[i] > FLOOR_NS ? u->jb[i] : FLOOR_NS;
            fb[i] += w * log(b / a);
        }
        wsum += w;
    }
    if (!(wsum > 0))
        return 0;
    for (size_t i = 0; i < n; i++)
        fb[i] = exp(fb[i] / wsum);
    pp__ratio_est at_level;
    if (pp__stats_paired(fa, fb, n, conf, 0.0, &at_level) != PP_OK)
        return 0;
    *v = at_level.verdict;
    return 1;
}

/* The pooled unit's time in the candidate's passes against the same sites'
 * in the other settings' passes of the same rounds. */
typedef struct peer_check {
    size_t pairs;              /* the pairs compared; 0: not compared */
    double speedup, low, high; /* 95 % */
    /* the pooled unit's summed time significant on its own: the machine's
     * speed is gauged only then (gauge_others()) */
    int summed_significant;
    /* the pooled unit counted on these passes' word (predict_pairs()) */
    int own_counted;
} peer_check;

/*
 * The pooled unit's members in the candidate's passes (sb, pass by pass)
 * against their peers (the other settings' passes of the same rounds),
 * over the pairs where every member has a peer time; pc->pairs stays 0
 * when fewer than GAUGE_MIN_PAIRS such pairs. A machine slower in the pass
 * at the current settings makes every setting's other sites faster alike,
 * and the comparison reads no change; a setting that speeds up the sites
 * it does not run (int8's fp32 neighbour, docs/profilers.md) reads faster
 * than the others' passes too.
 */
static int peer_compare(const unit *units, size_t nu, const double *sb, size_t n, peer_check *pc)
{
    memset(pc, 0, sizeof *pc);
    double *p = malloc(2 * n * sizeof *p);
    if (!p)
        return PP_ENOMEM;
    double *b = p + n;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        double s = 0.0;
        int ok = 1;
        for (size_t k = 0; k < nu && ok; k++) {
            if (units[k].c.significant || !units[k].xa)
                continue; /* not a member */
            ok = units[k].xp && isfinite(units[k].xp[i]);
            if (ok)
                s += units[k].xp[i];
        }
        if (ok && s > FLOOR_NS && sb[i] > FLOOR_NS) {
            p[m] = s;
            b[m++] = sb[i];
        }
    }
    int rc = PP_OK;
    pp__ratio_est est;
    if (m >= GAUGE_MIN_PAIRS &&
        (rc = pp__stats_paired(p, b, m, CONF_SPEEDUP, 0.0, &est)) == PP_OK) {
        pc->pairs = m;
        pc->speedup = 1.0 / est.ratio;
        pc->low = 1.0 / est.high;
        pc->high = est.low > 0 ? 1.0 / est.low : INFINITY;
    }
    free(p);
    return rc;
}

/* the unit's speedup and share have intervals a prediction can carry */
static int unit_bounded(const unit *u)
{
    return isfinite(u->r_high) && u->r_low > 0 && isfinite(u->c.share_high);
}

/*
 * The counted units' gain pair by pair: in pair i, 1 less the time they
 * saved in it, each as a share of its pass (in its own terms), judged as
 * a paired ratio (Hodges-Lehmann, 90 %) against no change. Its interval
 * carries what the draws of each unit by itself (pp__stats_propagate) do
 * not: the units move together within a pair (a stall of the machine, a
 * CPU taken away, slows every site of the pass it lands in). On the
 * pipeline, int8's prediction (ten or so sites) varied between runs by 2.9
 * points (sd) where its draws' 90 % interval implied 1.6; its pass by 3.0
 * where its own interval implied 2.6 (docs/profilers.md). The prediction's
 * interval is widened on each side to this one's where it is wider. 0:
 * computed (*below, *above: its spread under and over its estimate, in
 * gain); -1 when a pair's counted units saved more than its pass. Scratch
 * one, left: n each.
 */
static int pair_spread(const unit *units, size_t nu, size_t n, double *one, double *left,
                       double *below, double *above)
{
    size_t counted = 0;
    for (size_t i = 0; i < n; i++)
        one[i] = left[i] = 1.0;
    for (size_t k = 0; k < nu; k++) {
        const unit *u = &units[k];
        if (!(u->c.significant || u->pooled) || !u->ja || !u->jb || !u->of || !unit_bounded(u))
            continue;
        counted++;
        for (size_t i = 0; i < n; i++)
            left[i] -= (u->ja[i] - u->jb[i]) / u->of[i];
    }
    if (!counted)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!(left[i] > 0) || !isfinite(left[i]))
            return -1;
    pp__ratio_est est;
    if (pp__stats_paired(one, left, n, CONF_PREDICT, 0.0, &est) != PP_OK)
        return -1;
    /* gain 1 - ratio: its low end from the ratio's high one */
    *below = est.high - est.ratio;
    *above = est.ratio - est.low;
    return 0;
}

/*
 * The experiment over t's pairs into e. With keep (n_pairs) and kept: which
 * pairs the machine kept its speed in, gauged by the sites the setting
 * left as they were (the pooled unit's members, when it is not significant
 * and at least GAUGE_MIN_SHARE of a pass) and corroborated by the ones it
 * changed (speed_changed()); *kept = n_pairs when none is set aside (no
 * gauge, or fewer pairs would be left than the sites need).
 */
static int predict_pairs(const pp__trial *t, pp_experiment *e, unsigned char *keep, size_t *kept,
                         peer_check *pc)
{
    if (pc)
        memset(pc, 0, sizeof *pc);
    int rc = PP_EINVAL;
    unit *units = NULL;
    double *fa = NULL, *fb = NULL, *sa = NULL, *sb = NULL;
    unsigned char *take = NULL, *skip = NULL; /* per site: taken whole; under one taken whole */
    pp__interval *in = NULL;
    if (!t || !e || t->n_pairs < 2 || !t->pass_a || !t->pass_b || (t->n_sites && !t->sites))
        return PP_EINVAL;
    size_t n = t->n_pairs;
    const double *qa = t->quiet_a && t->quiet_b ? t->quiet_a : t->pass_a;
    const double *qb = t->quiet_a && t->quiet_b ? t->quiet_b : t->pass_b;
    for (size_t i = 0; i < n; i++)
        if (!(t->pass_a[i] > 0) || !(t->pass_b[i] > 0) || !(qa[i] > 0) || !(qb[i] > 0))
            return PP_EINVAL;

    rc = PP_ENOMEM;
    units = calloc(t->n_sites ? t->n_sites : 1, sizeof *units);
    fa = malloc(n * sizeof *fa);
    fb = malloc(n * sizeof *fb);
    sa = malloc(n * sizeof *sa);
    sb = malloc(n * sizeof *sb);
    take = calloc(t->n_sites ? t->n_sites : 1, 1);
    skip = calloc(t->n_sites ? t->n_sites : 1, 1);
    if (!units || !fa || !fb || !sa || !sb || !take || !skip)
        goto out;

    /* work overlaps (threads) when the sites' self times add up to more
     * than the pass at either setting; then each stage whose members' self
     * time exceeds the stage's own time counts whole: its critical path */
    int whole[PP_STAGE_COUNT] = {0};
    for (size_t i = 0; i < n; i++) {
        sa[i] = sb[i] = 0.0;
        for (size_t k = 0; k < t->n_sites; k++) {
            sa[i] += t->sites[k].self_a[i];
            sb[i] += t->sites[k].self_b[i];
        }
        sa[i] /= t->pass_a[i];
        sb[i] /= t->pass_b[i];
    }
    int overlap = median_of(sa, n) > OVERLAP || median_of(sb, n) > OVERLAP;
    /* the pass's own threads overlap it: the time they make the pass's
     * thread wait for a CPU is the setting's doing, not another program's
     * (on 2 CPUs, concurrent loading's three loaders made it wait 12 ms of
     * a 122 ms pass), so the pass is timed on its wall time */
    if (overlap) {
        qa = t->pass_a;
        qb = t->pass_b;
    }
    pp__ratio_est pass;
    if ((rc = pp__stats_paired(qa, qb, n, CONF_SPEEDUP, 0.0, &pass)) != PP_OK)
        goto out;
    e->repeats = (unsigned)n;
    pp__predict_speedup(&pass, e);
    e->per_item = 0;
    e->predicted = e->predicted_low = e->predicted_high = 0.0;
    e->n_sites = 0;
    double pass_med = pass.base;
    for (int s = 0; overlap && s < PP_STAGE_COUNT; s++) {
        const pp__trial_site *scope = NULL;
        for (size_t k = 0; k < t->n_sites; k++)
            if (t->sites[k].is_stage && t->sites[k].stage == s)
                scope = &t->sites[k];
        if (!scope || !scope->total_a || !scope->total_b)
            continue;
        for (size_t i = 0; i < n; i++) {
            sa[i] = sb[i] = 0.0;
            for (size_t k = 0; k < t->n_sites; k++)
                if (t->sites[k].stage == s) {
                    sa[i] += t->sites[k].self_a[i];
                    sb[i] += t->sites[k].self_b[i];
                }
        }
        double ma = median_of(sa, n), mb = median_of(sb, n);
        double ta = median_of(scope->total_a, n), tb = median_of(scope->total_b, n);
        whole[s] = ma > OVERLAP * ta || mb > OVERLAP * tb;
    }

    /* overlap the stages do not account for (work on other threads outside
     * every stage scope): the sites cannot be summed; the scopes that
     * enclose it are taken whole (scopes_whole), and when even that does
     * not add up, the critical path is the pass itself, measured in the
     * same pairs */
    int unresolved = 0;
    if (overlap) {
        for (size_t i = 0; i < n; i++) {
            sa[i] = sb[i] = 0.0;
            for (size_t k = 0; k < t->n_sites; k++) {
                const pp__trial_site *site = &t->sites[k];
                int w = site->stage >= 0 && site->stage < PP_STAGE_COUNT && whole[site->stage];
                if (w && !site->is_stage)
                    continue;
                sa[i] += w ? site->total_a[i] : site->self_a[i];
                sb[i] += w ? site->total_b[i] : site->self_b[i];
            }
            sa[i] /= t->pass_a[i];
            sb[i] /= t->pass_b[i];
        }
        unresolved = median_of(sa, n) > OVERLAP || median_of(sb, n) > OVERLAP;
    }

    /* per site: taken whole (its inclusive time), or left out (under a
     * scope taken whole) */
    if (unresolved) {
        int r = scopes_whole(t, take, sa, sb);
        if (r < 0) {
            rc = r;
            goto out;
        }
        unresolved = !r;
        for (size_t k = 0; k < t->n_sites; k++)
            skip[k] = under_taken(t, take, k);
    } else {
        for (size_t k = 0; k < t->n_sites; k++) {
            const pp__trial_site *site = &t->sites[k];
            int w = site->stage >= 0 && site->stage < PP_STAGE_COUNT && whole[site->stage];
            take[k] = w && site->is_stage;
            skip[k] = w && !site->is_stage;
        }
    }

    size_t nu = 0;
    if (unresolved) {
        unit *u = &units[nu++];
        static const pp__trial_site whole_pass = {.name = PP__PREDICT_PASS_NAME, .stage = -1};
        u->site = &whole_pass;
        u->whole = 1;
        if ((rc = unit_fill(u, t, qa, qb, qa, fa, fb, site_level(1))) != PP_OK)
            goto out;
    }
    /* the sites judged: first counted (the level depends on how many), then filled */
    size_t m = 0;
    for (int fill = 0; fill < 2 && !unresolved; fill++) {
        for (size_t k = 0; k < t->n_sites; k++) {
            const pp__trial_site *site = &t->sites[k];
            int w = take[k];
            if (skip[k])
                continue; /* inside a scope taken whole */
            int cost = !w && site->cost_a && site->cost_b;
            const double *xa = w ? site->total_a : cost ? site->cost_a : site->self_a;
            const double *xb = w ? site->total_b : cost ? site->cost_b : site->self_b;
            if (!xa || !xb)
                continue;
            double ma = median_of(xa, n), mb = median_of(xb, n);
            if (!(ma > NEGLIGIBLE * pass_med || mb > NEGLIGIBLE * pass_med))
                continue;
            if (!fill) {
                m++;
                continue;
            }
            unit *u = &units[nu];
            u->site = site;
            u->whole = w;
            /* a site judged on its on-CPU time is a share of the passes less
             * their CPU waits; one judged on wall time (CPU waits and all)
             * a share of the passes' wall time: each in its own terms, so a
             * wait that lands in it counts in both its time and the pass's */
            const double *of = cost ? qa : t->pass_a;
            /* one more judgement: the pooled unit (below) */
            if ((rc = unit_fill(u, t, xa, xb, of, fa, fb, site_level(judged(m)))) != PP_OK)
                goto out;
            u->ja = xa;
            u->jb = xb;
            u->of = of;
            u->xa = cost ? NULL : xa; /* pooled: only sites judged on wall time, like the pass */
            u->xb = cost ? NULL : xb;
            u->xp = cost ? NULL : w ? site->peer_total : site->peer_self;
            nu++;
        }
    }
    size_t n_sig = 0;
    if (!unresolved && (rc = holm(units, nu, judged(m), n, fa, fb, &n_sig)) != PP_OK)
        goto out;
    /* the pooled unit, when at least two sites are not significant alone: a
     * setting that makes many sites a little faster (less contention for the
     * CPUs, a warmer cache) changes each within its noise, and together by
     * more than theirs */
    static const pp__trial_site rest_site = {.name = PP__PREDICT_REST_NAME, .stage = -1};
    unit rest = {.site = &rest_site};
    int with_rest = 0;
    {
        size_t k_rest = 0;
        for (size_t k = 0; k < nu; k++)
            k_rest += !units[k].c.significant && units[k].xa != NULL;
        if (k_rest >= 2) {
            for (size_t i = 0; i < n; i++) {
                sa[i] = sb[i] = 0.0;
                for (size_t k = 0; k < nu; k++)
                    if (!units[k].c.significant && units[k].xa) {
                        sa[i] += units[k].xa[i];
                        sb[i] += units[k].xb[i];
                    }
            }
            /* at the level of the judgements left (holm()) */
            if ((rc = unit_fill(&rest, t, sa, sb, t->pass_a, fa, fb,
                                site_level(judged(m) - n_sig))) != PP_OK)
                goto out;
            with_rest = unit_bounded(&rest);
            /* judged by its members weighed by how steadily each is
             * measured (pooled_change()); its figures, and its judgement
             * for gauging the machine's speed (the pairs set aside below,
             * gauge_others()), stay the summed time's of the members
             * judged on wall time, like the pass. (The weighed members
             * deciding the gauge too was tried: every site 6 % faster
             * read as precisely faster and, where no other settings'
             * passes told the setting's own effect from the machine's,
             * was taken for the machine's speed and removed; in
             * test_steady_members_outweigh_a_noisy_one the unit then
             * counted in 61 of 200.) */
            pp__verdict v = PP_VERDICT_INCONCLUSIVE;
            int summed_sig = with_rest && rest.c.significant;
            if (with_rest && pooled_change(units, nu, n, site_level(judged(m) - n_sig), fa, fb, &v))
                rest.c.significant = v == PP_VERDICT_BETTER || v == PP_VERDICT_WORSE;
            /* sa, sb: still the members' time, pass by pass */
            if (pc && with_rest && (rc = peer_compare(units, nu, sb, n, pc)) != PP_OK)
                goto out;
            if (pc)
                pc->summed_significant = summed_sig;
            /* not significant at the level left, yet its 95 % interval
             * excludes no change and the same sites ran faster (slower) in
             * the setting's passes than in the other settings' passes of
             * the same rounds too (95 %): two comparisons against two
             * different passes at the current settings agree, which the
             * machine's speed in the one pass at the current settings
             * cannot make them do. int8 on this VM made every site 1.2x
             * faster (the fp32 model's 512-bit kernels slow the code after
             * them, docs/profilers.md); nine sites were significant alone,
             * the other three together 1.217x (95 % 1.064 to 1.321) were
             * not at Holm's level: predicted 11.8 %, measured 17.6 %. */
            if (pc && with_rest && !rest.c.significant && pc->pairs > 0 &&
                ((rest.r_high < 1.0 && pc->low > 1.0) || (rest.r_low > 1.0 && pc->high < 1.0))) {
                rest.c.significant = 1;
                pc->own_counted = 1;
            }
            size_t floor = pp__stats_min_pairs(site_level(judged(m)));
            if (keep && with_rest && !summed_sig && rest.c.share >= GAUGE_MIN_SHARE) {
                /* fa, fb: the changed sites' time, pass by pass */
                for (size_t i = 0; i < n; i++) {
                    fa[i] = fb[i] = 0.0;
                    for (size_t k = 0; k < nu; k++)
                        if (units[k].c.significant && units[k].xa) {
                            fa[i] += units[k].xa[i];
                            fb[i] += units[k].xb[i];
                        }
                }
                size_t k = speed_changed(sa, sb, fa, fb, n, keep);
                *kept = k >= floor && k >= GAUGE_MIN_PAIRS ? k : n;
            }
            for (size_t k = 0; with_rest && rest.c.significant && k < nu; k++)
                units[k].pooled = !units[k].c.significant && units[k].ja != NULL;
        }
    }
    qsort(units, nu, sizeof *units, by_abs_gain);

    /* the estimate counts the significant sites (and, when the pooled unit
     * is significant, each of its members at its own speedup, in its own
     * terms, as a significant site counts); the interval also carries
     * the others' uncertainty, drawn around no change (ratio 1), so a
     * change the pairs could not resolve widens the interval instead of
     * vanishing from it. (Drawing a pooled unit that is not significant
     * from its own interval, which leans to the side its pairs lean to,
     * was tried: on the pipeline its 90 % intervals came out lopsided and
     * wide, e.g. int8 11.3 %, 2.2 to 12.6, where the machine's drift
     * between the pairs' passes made the other sites' sum 0.95x, 0.82 to
     * 1.03; 3 of 7 narrow.) */
    if (nu > 0) {
        rc = PP_ENOMEM;
        in = calloc(2 * nu + 2, sizeof *in);
        if (!in)
            goto out;
        size_t j = 0;
        for (size_t k = 0; k < nu; k++) {
            const unit *u = &units[k];
            if (!unit_bounded(u))
                continue;
            double shift = u->c.significant || u->pooled ? 1.0 : 1.0 / u->r;
            put_interval(&in[j++], u->c.share, u->c.share_low, u->c.share_high);
            put_interval(&in[j++], u->r * shift, u->r_low * shift, u->r_high * shift);
        }
        pp__interval out = {0};
        rc = j ? pp__stats_propagate(in, j, sum_gain, NULL, DRAWS, CONF_PREDICT,
                                     PREDICT_SEED ^ name_hash(e->name), &out)
               : PP_OK;
        if (rc != PP_OK)
            goto out;
        e->predicted = out.est;
        e->predicted_low = out.low;
        e->predicted_high = out.high;
        double below, above;
        if (!unresolved && pair_spread(units, nu, n, fa, fb, &below, &above) == 0) {
            if (e->predicted - below < e->predicted_low)
                e->predicted_low = e->predicted - below;
            if (e->predicted + above > e->predicted_high)
                e->predicted_high = e->predicted + above;
        }
    }
    /* the significant sites, the pooled unit, the others */
    for (int sig_first = 1; sig_first >= 0; sig_first--) {
        if (!sig_first && with_rest && e->n_sites < PP_REPORT_MAX_SITES)
            e->sites[e->n_sites++] = rest.c;
        for (size_t k = 0; k < nu && e->n_sites < PP_REPORT_MAX_SITES; k++)
            if ((units[k].c.significant != 0) == sig_first)
                e->sites[e->n_sites++] = units[k].c;
    }
    rc = PP_OK;
out:
    free(units);
    free(fa);
    free(fb);
    free(sa);
    free(sb);
    free(take);
    free(skip);
    free(in);
    return rc;
}

/* src's values at the pairs kept (keep NULL: every one) times f, into *buf
 * (advanced past them); NULL for NULL. */
static const double *take(const double *src, const unsigned char *keep, size_t n, size_t kept,
                          double f, double **buf)
{
    if (!src)
        return NULL;
    double *d = *buf;
    *buf += kept;
    for (size_t i = 0, j = 0; i < n; i++)
        if (!keep || keep[i])
            d[j++] = src[i] * f;
    return d;
}

/* t's pairs where keep[i] (keep NULL: all n_pairs, kept = n_pairs) into
 * sub, every time of the candidate's passes times f_b; its arrays in buf
 * ((4 + 8 n_sites) x kept doubles) and its sites in ts. */
static void copy_trial(const pp__trial *t, const unsigned char *keep, size_t kept, double f_b,
                       double *buf, pp__trial_site *ts, pp__trial *sub)
{
    size_t n = t->n_pairs;
    *sub = *t;
    sub->n_pairs = kept;
    sub->pass_a = take(t->pass_a, keep, n, kept, 1.0, &buf);
    sub->pass_b = take(t->pass_b, keep, n, kept, f_b, &buf);
    sub->quiet_a = take(t->quiet_a, keep, n, kept, 1.0, &buf);
    sub->quiet_b = take(t->quiet_b, keep, n, kept, f_b, &buf);
    for (size_t k = 0; k < t->n_sites; k++) {
        const pp__trial_site *x = &t->sites[k];
        ts[k] = *x;
        ts[k].self_a = take(x->self_a, keep, n, kept, 1.0, &buf);
        ts[k].self_b = take(x->self_b, keep, n, kept, f_b, &buf);
        ts[k].total_a = take(x->total_a, keep, n, kept, 1.0, &buf);
        ts[k].total_b = take(x->total_b, keep, n, kept, f_b, &buf);
        ts[k].cost_a = take(x->cost_a, keep, n, kept, 1.0, &buf);
        ts[k].cost_b = take(x->cost_b, keep, n, kept, f_b, &buf);
        ts[k].peer_self = take(x->peer_self, keep, n, kept, 1.0, &buf);
        ts[k].peer_total = take(x->peer_total, keep, n, kept, 1.0, &buf);
    }
    sub->sites = ts;
}

/*
 * The machine's speed in the setting's passes, gauged by the sites it left
 * as they were: when their pooled time ran significantly faster there while
 * other sites changed significantly, every time of the setting's passes is
 * multiplied by that speedup and the sites judged again, so each changed
 * site counts its change relative to the others, and the others count
 * nothing. A faster machine in one setting's passes is no gain of the
 * setting: over ev51-ev70, 8 applied suggestions had such an experiment and
 * 6 missed by 2.1 to 12.3 points (int8 predicted 16.1 %, its other sites
 * together 1.034x faster, measured 13.4 %); the sites relative to the
 * others gave 7 of the 8 within 2 points (13.3 % there). Only faster: the
 * other sites slower with a setting is what the setting's own threads do to
 * the CPUs (parallel preprocessing) and stays its loss. The speedup is
 * taken as known: its own interval (1.01 to 1.05 there) is not drawn.
 *
 * Unless the other settings' passes of the same rounds say the speed was
 * the setting's own (pc, peer_compare()): the same sites ran significantly
 * faster in its passes than in theirs too. A pass at the current settings
 * slow for the machine's reasons makes every setting's other sites faster
 * alike; int8 on a CPU with AVX-512 makes its own faster (the fp32 model's
 * 512-bit kernels slow the code after them, docs/profilers.md), and was
 * twice left unsuggested by the gauge alone (its others 1.16 and 1.19x
 * faster, the other settings' same sites 0.89 to 1.18x, median 1.00). The
 * comparison is reported (others_own) whenever the gauge would have fired.
 */
static int gauge_others(const pp__trial *t, const peer_check *pc, pp_experiment *e)
{
    e->others_speedup = e->others_speedup_low = e->others_speedup_high = 0.0;
    e->others_own = e->others_own_low = e->others_own_high = 0.0;
    const pp_site_change *rest = NULL;
    int changed = 0;
    for (size_t i = 0; i < e->n_sites; i++) {
        const pp_site_change *c = &e->sites[i];
        if (!c->significant)
            continue;
        if (strcmp(c->name, PP__PREDICT_REST_NAME) == 0)
            rest = c;
        else
            changed = 1;
    }
    /* only when their summed time is significant on its own, as before the
     * members were weighed: judged by the weighed members, a toy whose
     * int8 left the CPUs to the other sites on a machine loaded 5 deep
     * (those sites faster in its passes, the other settings' passes not
     * telling) had that speed taken for the machine's, and its
     * toy.model.predict read 1.036x for 1.186 */
    if (rest && pc && pc->own_counted) {
        e->others_own = pc->speedup; /* counted on the other settings' word: say so */
        e->others_own_low = pc->low;
        e->others_own_high = pc->high;
        return PP_OK;
    }
    if (!rest || !changed || !(rest->speedup_low > 1.0) || !isfinite(rest->speedup) ||
        rest->share < GAUGE_MIN_SHARE || (pc && !pc->summed_significant))
        return PP_OK;
    if (pc && pc->pairs > 0) {
        e->others_own = pc->speedup;
        e->others_own_low = pc->low;
        e->others_own_high = pc->high;
        if (pc->low > 1.0)
            return PP_OK; /* the setting's own: its sites as measured */
    }
    double f = rest->speedup, f_low = rest->speedup_low, f_high = rest->speedup_high;
    size_t n = t->n_pairs, ns = t->n_sites;
    double *buf = malloc((4 + 8 * ns) * n * sizeof *buf);
    pp__trial_site *ts = calloc(ns ? ns : 1, sizeof *ts);
    int rc = PP_ENOMEM;
    if (buf && ts) {
        /* the pass's own figures stay what its pairs measured */
        double sp = e->speedup, sp_low = e->speedup_low, sp_high = e->speedup_high;
        double base = e->base_ns, cand = e->cand_ns;
        int sig = e->significant;
        pp__trial g;
        copy_trial(t, NULL, n, f, buf, ts, &g);
        rc = predict_pairs(&g, e, NULL, NULL, NULL);
        e->speedup = sp;
        e->speedup_low = sp_low;
        e->speedup_high = sp_high;
        e->base_ns = base;
        e->cand_ns = cand;
        e->significant = sig;
        e->others_speedup = f;
        e->others_speedup_low = f_low;
        e->others_speedup_high = f_high;
    }
    free(buf);
    free(ts);
    return rc;
}

int pp__predict_experiment(const pp__trial *t, pp_experiment *e)
{
    if (!t || !e || t->n_pairs < 2)
        return PP_EINVAL;
    size_t n = t->n_pairs, ns = t->n_sites, kept = n;
    unsigned char *keep = calloc(n, 1);
    if (!keep)
        return PP_ENOMEM;
    peer_check pc;
    int rc = predict_pairs(t, e, keep, &kept, &pc);
    e->set_aside = 0;
    double *buf = NULL;
    pp__trial_site *ts = NULL;
    pp__trial sub;
    const pp__trial *judged = t;
    if (rc == PP_OK && kept < n) {
        /* the pairs the machine changed speed in set aside: everything over the others */
        buf = malloc((4 + 8 * ns) * kept * sizeof *buf);
        ts = calloc(ns ? ns : 1, sizeof *ts);
        rc = PP_ENOMEM;
        if (buf && ts) {
            copy_trial(t, keep, kept, 1.0, buf, ts, &sub);
            rc = predict_pairs(&sub, e, NULL, NULL, &pc);
            e->set_aside = (unsigned)(n - kept);
            judged = &sub;
        }
    }
    /* and the machine's speed across all of them, gauged by the sites left alone */
    if (rc == PP_OK)
        rc = gauge_others(judged, &pc, e);
    free(buf);
    free(ts);
    free(keep);
    return rc;
}

int pp__predict_counted(const pp_experiment *e, size_t i)
{
    if (!e || i >= e->n_sites || strcmp(e->sites[i].name, PP__PREDICT_REST_NAME) == 0)
        return 0;
    if (e->sites[i].significant)
        return 1;
    for (size_t j = 0; j < e->n_sites; j++)
        if (strcmp(e->sites[j].name, PP__PREDICT_REST_NAME) == 0)
            return e->sites[j].significant;
    return 0;
}

/* ---- several settings at once ------------------------------------------ */

#define MAX_MEMBERS (PP_REPORT_MAX_SUGGESTIONS * PP_REPORT_MAX_SITES)

typedef struct combo {
    size_t n_members, n_groups, n_exp, n_sites;
    size_t group_of[MAX_MEMBERS], exp_of[MAX_MEMBERS];
    size_t site_of[MAX_MEMBERS];     /* the member's site: (group, name) */
    size_t group_share[MAX_MEMBERS]; /* input index of each group's share */
    size_t site_share[MAX_MEMBERS];  /* input index of each site's share (its first member's) */
    size_t site_group[MAX_MEMBERS];
    char key[MAX_MEMBERS][PP_REPORT_NAME_MAX + 8];
    char key_site[MAX_MEMBERS][PP_REPORT_NAME_MAX];
    /* setting k took group g whole (its scope, or its stage, is k's own unit) */
    char whole[MAX_MEMBERS][PP_REPORT_MAX_SUGGESTIONS];
    double sum[MAX_MEMBERS][PP_REPORT_MAX_SUGGESTIONS]; /* scratch: gain of (group, setting) */
    double ratio[MAX_MEMBERS]; /* scratch: each site's time ratio, its settings composed */
    double after[MAX_MEMBERS]; /* scratch: each group's share, its sites' changes made */
} combo;

/*
 * inputs: member m's share at 2m, its ratio (cand / base) at 2m + 1. In
 * each group, the settings inside it compose site by site (two settings
 * on one site multiply that site's time ratios; each site's change comes
 * off the group's time), then each setting that took the group whole
 * scales what is left by its own ratio of the group's time: concurrent
 * loading's 0.8 of the loading scope applies to the loading that
 * keep-alive and the batch size left, not to the loading before them.
 * (Composed per setting at the group's level, keep-alive's and the batch
 * size's 2.9x and 3.3x on the API source each came off the group as if
 * the other had not run: 19.7 points of a pass from a site of 15.5.)
 */
static double combined_gain(void *ctx, const double *x, size_t nx)
{
    combo *c = ctx;
    (void)nx;
    for (size_t g = 0; g < c->n_groups; g++) {
        memset(c->sum[g], 0, c->n_exp * sizeof c->sum[g][0]);
        c->after[g] = x[c->group_share[g]];
    }
    for (size_t j = 0; j < c->n_sites; j++)
        c->ratio[j] = 1.0;
    for (size_t m = 0; m < c->n_members; m++) {
        size_t g = c->group_of[m], k = c->exp_of[m];
        if (c->whole[g][k])
            c->sum[g][k] += x[2 * m] * (1.0 - x[2 * m + 1]);
        else
            c->ratio[c->site_of[m]] *= x[2 * m + 1];
    }
    for (size_t j = 0; j < c->n_sites; j++)
        c->after[c->site_group[j]] -= x[c->site_share[j]] * (1.0 - c->ratio[j]);
    double total = 0.0;
    for (size_t g = 0; g < c->n_groups; g++) {
        double share = x[c->group_share[g]], left = c->after[g] > 0.0 ? c->after[g] : 0.0;
        if (!(share > 0))
            continue;
        for (size_t k = 0; k < c->n_exp; k++) {
            if (!c->whole[g][k])
                continue;
            double r = 1.0 - c->sum[g][k] / share;
            left *= r > 0.0 ? r : 0.0;
        }
        total += share - left;
    }
    return total;
}

/* Where the scope named name (hash h) lies from site s: 0 it is s, 1 + i
 * the i-th scope enclosing s (innermost first), -1 neither. */
static int scope_depth(const pp_site_change *s, const char *name, uint64_t h)
{
    if (strcmp(name, s->name) == 0)
        return 0;
    for (unsigned i = 0; i < s->n_within && i < PP_SITE_MAX_WITHIN; i++)
        if (s->within[i] == h)
            return (int)i + 1;
    return -1;
}

int pp__predict_combined(const pp_experiment *const *e, size_t n, double conf, double *out_est,
                         double *out_low, double *out_high)
{
    *out_est = *out_low = *out_high = 0.0;
    if (!e || n == 0 || n > PP_REPORT_MAX_SUGGESTIONS)
        return PP_EINVAL;
    combo *c = calloc(1, sizeof *c);
    pp__interval *in = calloc(2 * MAX_MEMBERS, sizeof *in);
    int rc = PP_ENOMEM;
    if (!c || !in)
        goto out;
    /* the units some setting took whole and counts: the stages (their
     * members by stage) and the other scopes (their members by enclosure) */
    int whole[PP_STAGE_COUNT] = {0};
    const pp_site_change *scope[MAX_MEMBERS];
    uint64_t scope_hash[MAX_MEMBERS];
    size_t n_scopes = 0;
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < e[k]->n_sites; i++) {
            const pp_site_change *s = &e[k]->sites[i];
            if (!s->whole_stage || !pp__predict_counted(e[k], i))
                continue;
            if (s->stage >= 0 && s->stage < PP_STAGE_COUNT)
                whole[s->stage] = 1;
            if (n_scopes < MAX_MEMBERS) {
                scope[n_scopes] = s;
                scope_hash[n_scopes++] = name_hash(s->name);
            }
        }
    c->n_exp = n;
    for (size_t k = 0; k < n; k++) {
        for (size_t i = 0; i < e[k]->n_sites && c->n_members < MAX_MEMBERS; i++) {
            const pp_site_change *s = &e[k]->sites[i];
            /* every unit its experiment's interval carried: the ones counted
             * at their speedups, the others drawn around no change (the
             * pooled unit itself never: its members stand for it) */
            if (strcmp(s->name, PP__PREDICT_REST_NAME) == 0)
                continue;
            if (!(s->speedup > 0) || !(s->speedup_low > 0) || !isfinite(s->speedup_high))
                continue;
            int counted = pp__predict_counted(e[k], i);
            /* the outermost scope taken whole that is this site or encloses
             * it: concurrent loading times posts.pipeline.load whole, and
             * int8's preprocessing under it shortens that time, not a pass
             * besides it (composed as two settings on one site are) */
            const pp_site_change *in_scope = NULL;
            int depth = -1;
            for (size_t w = 0; w < n_scopes; w++) {
                int d = scope_depth(s, scope[w]->name, scope_hash[w]);
                if (d > depth) {
                    in_scope = scope[w];
                    depth = d;
                }
            }
            int in_whole = s->stage >= 0 && s->stage < PP_STAGE_COUNT && whole[s->stage];
            /* the unit whose share is its group's: the scope itself */
            int defines = s->whole_stage && (in_scope ? depth == 0 : in_whole);
            char key[PP_REPORT_NAME_MAX + 8];
            if (in_scope && in_scope->stage >= 0 && in_scope->stage < PP_STAGE_COUNT)
                snprintf(key, sizeof key, "stage:%d", in_scope->stage);
            else if (in_scope)
                snprintf(key, sizeof key, "scope:%s", in_scope->name);
            else if (in_whole)
                snprintf(key, sizeof key, "stage:%d", s->stage);
            else
                snprintf(key, sizeof key, "site:%s", s->name);
            size_t g = 0;
            while (g < c->n_groups && strcmp(c->key[g], key) != 0)
                g++;
            size_t m = c->n_members++;
            double shift = counted ? 1.0 : s->speedup; /* ratio 1/speedup, centred on 1 */
            put_interval(&in[2 * m], s->share, s->share_low, s->share_high);
            put_interval(&in[2 * m + 1], shift / s->speedup, shift / s->speedup_high,
                         shift / s->speedup_low);
            if (g == c->n_groups) {
                snprintf(c->key[g], sizeof c->key[g], "%s", key);
                c->group_share[g] = 2 * m;
                c->n_groups++;
            } else if (defines) {
                /* the scope's own share, not a member's */
                c->group_share[g] = 2 * m;
            }
            c->group_of[m] = g;
            c->exp_of[m] = k;
            if (defines)
                c->whole[g][k] = 1;
            size_t j = 0;
            while (j < c->n_sites &&
                   (c->site_group[j] != g || strcmp(c->key_site[j], s->name) != 0))
                j++;
            if (j == c->n_sites) {
                c->site_group[j] = g;
                c->site_share[j] = 2 * m;
                snprintf(c->key_site[j], sizeof c->key_site[j], "%s", s->name);
                c->n_sites++;
            }
            c->site_of[m] = j;
        }
    }
    if (c->n_members == 0) {
        rc = PP_OK;
        goto out;
    }
    pp__interval iv;
    rc =
        pp__stats_propagate(in, 2 * c->n_members, combined_gain, c, DRAWS, conf, PREDICT_SEED, &iv);
    if (rc == PP_OK) {
        *out_est = iv.est;
        *out_low = iv.low;
        *out_high = iv.high;
    }
out:
    free(c);
    free(in);
    return rc;
}

/* ---- the same experiments at another speed of the machine --------------- */

static const pp__trial_site *trial_site(const pp__trial *t, const char *name)
{
    for (size_t k = 0; k < t->n_sites; k++)
        if (t->sites[k].name && strcmp(t->sites[k].name, name) == 0)
            return &t->sites[k];
    return NULL;
}

/* The time per pass of experiment e's unit s in t's passes into x: a stage
 * taken whole its inclusive time, the pooled unit its members' (the units
 * not significant alone), any other site its self time. PP_ENOTFOUND when a
 * site with a share of its own did not run in t's passes. */
static int unit_times(const pp_experiment *e, const pp_site_change *s, const pp__trial *t,
                      double *x)
{
    size_t n = t->n_pairs;
    for (size_t i = 0; i < n; i++)
        x[i] = 0.0;
    int rest = strcmp(s->name, PP__PREDICT_REST_NAME) == 0;
    for (size_t j = 0; j < (rest ? e->n_sites : 1); j++) {
        const pp_site_change *m = rest ? &e->sites[j] : s;
        if (rest && (m->significant || strcmp(m->name, PP__PREDICT_REST_NAME) == 0 ||
                     strcmp(m->name, PP__PREDICT_PASS_NAME) == 0))
            continue;
        const pp__trial_site *ts = trial_site(t, m->name);
        if (!ts && rest)
            continue; /* a member that did not run here: none of its time */
        const double *v = !ts ? NULL : m->whole_stage ? ts->total_a : ts->self_a;
        if (!v)
            return PP_ENOTFOUND;
        for (size_t i = 0; i < n; i++)
            x[i] += v[i];
    }
    for (size_t i = 0; i < n; i++)
        x[i] = x[i] > FLOOR_NS ? x[i] : FLOOR_NS;
    return PP_OK;
}

/* Experiment e's unit s (a copy, in cp) re-shared with t's passes: its
 * share, the share's interval and its gain. PP_ENOTFOUND when it did not
 * run there. */
static int reshare(const pp_experiment *e, pp_site_change *s, const pp__trial *t, double *x)
{
    pp__ratio_est share;
    int rc = unit_times(e, s, t, x);
    if (rc != PP_OK ||
        (rc = pp__stats_paired(t->pass_a, x, t->n_pairs, CONF_SPEEDUP, 0.0, &share)) != PP_OK)
        return rc;
    s->share = share.ratio;
    s->share_low = share.low;
    s->share_high = share.high;
    s->gain = share.ratio * (1.0 - 1.0 / s->speedup);
    return PP_OK;
}

int pp__predict_rebased(const pp_experiment *const *e, size_t n, const pp__trial *t, double conf,
                        double *out_est, double *out_low, double *out_high)
{
    *out_est = *out_low = *out_high = 0.0;
    if (!e || n == 0 || n > PP_REPORT_MAX_SUGGESTIONS || !t || t->n_pairs < 2 || !t->pass_a ||
        (t->n_sites && !t->sites))
        return PP_EINVAL;
    for (size_t i = 0; i < t->n_pairs; i++)
        if (!(t->pass_a[i] > 0))
            return PP_EINVAL;
    pp_experiment *cp = malloc(n * sizeof *cp);
    const pp_experiment **pe = malloc(n * sizeof *pe);
    double *x = malloc(t->n_pairs * sizeof *x);
    int rc = PP_ENOMEM;
    if (!cp || !pe || !x)
        goto out;
    for (size_t k = 0; k < n; k++) {
        cp[k] = *e[k];
        pe[k] = &cp[k];
        for (size_t i = 0; i < cp[k].n_sites; i++) {
            pp_site_change *s = &cp[k].sites[i];
            if (strcmp(s->name, PP__PREDICT_PASS_NAME) == 0)
                continue; /* the pass itself is all of the pass at any speed */
            rc = reshare(e[k], s, t, x);
            if (rc == PP_ENOTFOUND && !s->significant)
                continue; /* changed nothing, and does not run here */
            if (rc != PP_OK)
                goto out;
        }
    }
    /* composed as the printed prediction for all of them is; for one, that
     * carries the units its own interval carried */
    rc = pp__predict_combined(pe, n, conf, out_est, out_low, out_high);
out:
    free(cp);
    free(pe);
    free(x);
    return rc;
}
