/*
 * serve.c - The pipeline as a service (posts/serve.h): a request worker, a
 * refresher reloading the sources into a new feature batch swapped in under
 * a rwlock, and a detector judging sliding windows of the instruments'
 * cumulative figures (snapshot deltas) with the bottleneck rules.
 *
 * Windowed latency quantiles: each sample keeps, per operation, how many
 * calls took at most each point of a fixed grid (20 points per decade, 100 ns
 * to 100 s); a window is the difference of two samples, and a quantile is
 * interpolated between the two grid points around it (within 6 %).
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include <postprof/analyze.h>
#include <postprof/log.h>
#include <postprof/scope.h>
#include <postprof/snapshot.h>
#include <posts/api_server.h>
#include <posts/cache.h>
#include <posts/model.h>
#include <posts/pipeline.h>
#include <posts/preprocess.h>
#include <posts/serve.h>

#include "internal.h"
#include "serve_lru.h"

#define GRID_PER_DECADE 20
#define GRID_N (9 * GRID_PER_DECADE + 1) /* 1e-7 s .. 1e2 s */
#define MAX_OPS 96
#define MAX_RING 64
#define MAX_FOUND 128
#define NAME_MAX_ PP_REPORT_NAME_MAX

static double grid_ns(size_t i)
{
    return 100.0 * pow(10.0, (double)i / GRID_PER_DECADE);
}

typedef struct op_cum {
    char name[NAME_MAX_];
    int root, async;
    uint64_t count, cpu_samples, mem_calls;
    double total_ns, cpu_ns, cpu_wall_ns, alloc_bytes;
    uint64_t cdf[GRID_N];
} op_cum;

typedef struct sample {
    uint64_t t_ns;
    size_t n;
    op_cum *ops;
    posts_cache_stats cache;
    int shared_ok;
    uint64_t shared_hits, shared_misses;
    uint64_t local_hits, local_misses; /* the node-local LRU estimate (serve_lru.h) */
} sample;

typedef struct found {
    char op[NAME_MAX_];
    int kind;
    uint64_t windows;
    double value, threshold;
    char unit[16];
    char message[PP_REPORT_TEXT_MAX];
    pp_series *counter;
} found;

/* Shared with the registry's render hook, which may outlive the service. */
typedef struct hook_ctx {
    pthread_mutex_t mu;
    posts_service *svc;
    pp_series *hits, *misses, *errors, *posts, *refresh_ok, *refresh_failed;
    pp_series *local_hits, *local_misses; /* NULL without the local LRU estimate */
} hook_ctx;

/* Batch means of the shared cache's gain over a node-local LRU: one batch per
 * detector tick, n lookups and g = shared hits - local LRU hits in it. */
typedef struct gain_sums {
    uint64_t k;
    double n, g, nn, gg, gn;
} gain_sums;

struct posts_service {
    posts_service_opts o;
    posts_model *model, *rmodel;
    uint32_t version;
    posts_cache *cache;
    posts_preprocessor *pre;
    posts_api_server *api;
    posts_config scfg; /* o.cfg with the API URL filled in */

    pthread_rwlock_t lock;
    posts_feature_batch *feats;
    uint64_t gen;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stopping, started, joined;
    atomic_int ready;
    pthread_t worker, refresher, detector;
    uint64_t t_start, t_stop;

    _Atomic uint64_t requests, request_errors, refreshes, refresh_errors, nposts;
    /* what a node-local LRU of cfg.cache_entries would have hit (worker only; NULL: none) */
    posts__key_lru *local;
    _Atomic uint64_t local_hits, local_misses;

    /* detector (its thread; read under mu by stats/report) */
    sample ring[MAX_RING];
    size_t ring_n, ring_head, ring_cap;
    sample first; /* the first sample: whole-run figures are last - first */
    int have_first;
    double win_ratio, shared_ratio, local_ratio;
    gain_sums gain;
    /* the shared Redis over the run: its counters summed tick to tick, so a
     * Redis restart (counters from 0 again) does not lose the run */
    int shared_prev_ok, shared_run_ok;
    uint64_t shared_prev_hits, shared_prev_misses, shared_run_hits, shared_run_misses;
    uint64_t windows, nfindings;
    found found[MAX_FOUND];
    size_t nfound;
    redisContext *rc;
    char rhost[256];
    int rport;

    pp_metric *ratio_m, *shared_m; /* their series are created at the first window */
    pp_series *hit_ratio, *shared_ratio_s;
    pp_metric *bottleneck;
    hook_ctx *hook;
};

void posts_service_opts_init(posts_service_opts *o)
{
    memset(o, 0, sizeof *o);
    posts_config_init(&o->cfg);
    o->refresh_s = 30;
    o->window_s = 60;
    o->detect_every_s = 10;
    pp_config c;
    pp_config_defaults(&c);
    o->thresholds = c.thresholds;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Wait on s->cv until the monotonic deadline or stop; returns 1 when stopping. */
static int wait_until(posts_service *s, uint64_t deadline)
{
    pthread_mutex_lock(&s->mu);
    while (!s->stopping) {
        uint64_t t = now_ns();
        if (t >= deadline)
            break;
        struct timespec ts = {(time_t)(deadline / 1000000000ull), (long)(deadline % 1000000000ull)};
        int rc = pthread_cond_timedwait(&s->cv, &s->mu, &ts);
        if (rc != 0 && rc != ETIMEDOUT && rc != EINTR)
            break;
    }
    int stop = s->stopping;
    pthread_mutex_unlock(&s->mu);
    return stop;
}

static int stopping(posts_service *s)
{
    pthread_mutex_lock(&s->mu);
    int v = s->stopping;
    pthread_mutex_unlock(&s->mu);
    return v;
}

/* ---- loading ------------------------------------------------------------------ */

typedef struct load_ctx {
    posts_service *s;
    posts_model *m;
    posts_feature_batch *fb;
    float *scores;
    int initial;
} load_ctx;

static int load_consume(void *user, posts_batch *b, posts_err *err)
{
    load_ctx *c = user;
    if (!c->initial && stopping(c->s)) {
        posts_err_set(err, "reload abandoned: the service is stopping");
        return PP_ESTATE;
    }
    size_t first = c->fb->n;
    int rc = posts_preprocess_batch(c->s->pre, b, c->fb, NULL);
    if (rc != PP_OK) {
        posts_err_set(err, "preprocess: %s", pp_strerror(rc));
        return rc;
    }
    if ((rc = posts__infer_batch(c->m, c->fb, first, b->n, c->scores)) != PP_OK)
        posts_err_set(err, "inference: %s", pp_strerror(rc));
    return rc;
}

/* Every source, preprocessed and scored in bulk, into a new batch *out. */
static int load_all(posts_service *s, posts_model *m, int initial, posts_feature_batch **out,
                    posts_err *err)
{
    PP_SCOPE("posts.serve.reload");
    const posts_config *cfg = &s->scfg;
    unsigned order[3] = {POSTS_SRC_DATABASE, POSTS_SRC_FILE, POSTS_SRC_API};
    posts_source *src[3] = {0};
    unsigned np = 0;
    posts__loader *l = NULL;
    load_ctx c = {s, m, calloc(1, sizeof *c.fb), malloc(cfg->batch_size * sizeof(float)), initial};
    int rc = c.fb && c.scores ? PP_OK : PP_ENOMEM;
    for (int i = 0; rc == PP_OK && i < 3; i++) {
        if (!(cfg->sources & order[i]))
            continue;
        if ((rc = posts_open_source(cfg, order[i], NULL, NULL, &src[np], err)) == PP_OK)
            np++;
    }
    if (rc == PP_OK)
        rc = posts__loader_new(src, np, &l);
    if (rc == PP_OK) {
        posts__load_run run = {.concurrent = cfg->concurrent_load,
                               .batch = cfg->batch_size,
                               .per_source = cfg->limit_per_source,
                               .limit = cfg->limit};
        rc = posts__loader_run(l, &run, load_consume, &c, err);
    }
    if (rc == PP_OK && c.fb->n == 0) {
        posts_err_set(err, "the sources gave no posts");
        rc = PP_EFORMAT;
    }
    posts__loader_free(l);
    for (unsigned i = 0; i < np; i++)
        posts_source_close(src[i]);
    free(c.scores);
    if (rc != PP_OK) {
        if (rc == PP_ENOMEM && !err->msg[0])
            posts_err_set(err, "out of memory");
        posts_feature_batch_release(c.fb);
        free(c.fb);
        return rc;
    }
    *out = c.fb;
    return PP_OK;
}

static void free_feats(posts_feature_batch *fb)
{
    if (fb) {
        posts_feature_batch_release(fb);
        free(fb);
    }
}

/* ---- threads ------------------------------------------------------------------- */

/* Replay one served request's lookups into the node-local LRU estimate as the
 * cache saw them: every key looked up first, then the misses filled (caller
 * holds s->lock for reading). */
static void local_replay(posts_service *s, const size_t *cand, size_t nc, uint8_t *hit)
{
    uint64_t h = 0;
    for (size_t i = 0; i < nc; i++) {
        hit[i] = (uint8_t)posts__key_lru_get(s->local, s->feats->f[cand[i]].post_id);
        h += hit[i];
    }
    for (size_t i = 0; i < nc; i++)
        if (!hit[i])
            posts__key_lru_put(s->local, s->feats->f[cand[i]].post_id);
    atomic_fetch_add(&s->local_hits, h);
    atomic_fetch_add(&s->local_misses, nc - h);
}

static void *worker_main(void *arg)
{
    posts_service *s = arg;
    const posts_config *cfg = &s->scfg;
    posts__server *srv = NULL;
    posts__feed *feed = NULL;
    uint64_t fgen = 0;
    size_t nc = cfg->candidates;
    size_t *cand = malloc(nc * sizeof *cand);
    uint8_t *lhit = malloc(nc);
    if (!cand || !lhit || posts__server_new(nc, cfg->top_k, &srv) != PP_OK) {
        pp_log(PP_LOG_ERROR, "posts.serve", "worker_failed", "why", "out of memory", NULL);
        goto out;
    }
    double period = s->o.rate > 0 ? 1e9 / s->o.rate : 0;
    double next = (double)now_ns();
    for (;;) {
        if (period > 0) {
            if (wait_until(s, (uint64_t)next))
                break;
            next += period;
            double t = (double)now_ns();
            if (next < t - 1e9) /* more than a second behind: no burst to catch up */
                next = t;
        } else if (stopping(s)) {
            break;
        }
        posts_err err = {{0}};
        pthread_rwlock_rdlock(&s->lock);
        int rc = PP_OK;
        if (!feed || fgen != s->gen) {
            posts__feed_free(feed);
            feed = NULL;
            /* the same seed after a reload: the same posts stay popular (as they
             * do on every node sharing a cache) */
            rc = posts__feed_new(s->feats->n, cfg->zipf_s, cfg->seed, &feed);
            fgen = rc == PP_OK ? s->gen : 0;
        }
        if (rc == PP_OK) {
            for (size_t i = 0; i < nc; i++)
                cand[i] = posts__feed_next(feed);
            posts__request rq;
            rc = posts__serve_request(srv, s->cache, s->model, s->version, s->feats, cand, nc, &rq,
                                      &err);
            if (rc == PP_OK && s->local)
                local_replay(s, cand, nc, lhit);
        }
        pthread_rwlock_unlock(&s->lock);
        if (rc == PP_OK) {
            atomic_fetch_add(&s->requests, 1);
        } else {
            if (atomic_fetch_add(&s->request_errors, 1) == 0)
                pp_log(PP_LOG_ERROR, "posts.serve", "request_failed", "why",
                       err.msg[0] ? err.msg : pp_strerror(rc), NULL);
            if (rc == PP_ENOMEM && wait_until(s, now_ns() + 100000000ull))
                break;
        }
    }
out:
    posts__feed_free(feed);
    posts__server_free(srv);
    free(cand);
    free(lhit);
    return NULL;
}

static void *refresher_main(void *arg)
{
    posts_service *s = arg;
    uint64_t period = (uint64_t)(s->o.refresh_s * 1e9);
    uint64_t next = now_ns() + period;
    while (!wait_until(s, next)) {
        next += period;
        posts_err err = {{0}};
        posts_feature_batch *fb = NULL;
        int rc = load_all(s, s->rmodel, 0, &fb, &err);
        if (rc != PP_OK) {
            if (!stopping(s)) {
                atomic_fetch_add(&s->refresh_errors, 1);
                pp_log(PP_LOG_WARN, "posts.serve", "reload_failed", "why", err.msg, NULL);
            }
            continue;
        }
        pthread_rwlock_wrlock(&s->lock);
        posts_feature_batch *old = s->feats;
        s->feats = fb;
        s->gen++;
        pthread_rwlock_unlock(&s->lock);
        atomic_store(&s->nposts, fb->n);
        atomic_fetch_add(&s->refreshes, 1);
        free_feats(old);
        uint64_t t = now_ns();
        if (next < t)
            next = t + period;
    }
    return NULL;
}

/* ---- the detector ---------------------------------------------------------------- */

static void shared_read(posts_service *s, sample *out)
{
    out->shared_ok = 0;
    if (s->o.cfg.cache_kind != POSTS_CACHE_REDIS)
        return;
    if (!s->rc) {
        struct timeval tv = {0, 500000};
        s->rc = redisConnectWithTimeout(s->rhost, s->rport, tv);
        if (!s->rc || s->rc->err) {
            if (s->rc)
                redisFree(s->rc);
            s->rc = NULL;
            return;
        }
        (void)redisSetTimeout(s->rc, tv);
    }
    redisReply *r = redisCommand(s->rc, "INFO stats");
    if (!r || r->type != REDIS_REPLY_STRING) {
        if (r)
            freeReplyObject(r);
        redisFree(s->rc);
        s->rc = NULL;
        return;
    }
    const char *h = strstr(r->str, "keyspace_hits:"), *m = strstr(r->str, "keyspace_misses:");
    if (h && m) {
        out->shared_hits = strtoull(h + 14, NULL, 10);
        out->shared_misses = strtoull(m + 16, NULL, 10);
        out->shared_ok = 1;
    }
    freeReplyObject(r);
}

static op_cum *op_find(sample *x, const char *name)
{
    for (size_t i = 0; i < x->n; i++)
        if (strcmp(x->ops[i].name, name) == 0)
            return &x->ops[i];
    return NULL;
}

/* The instruments' cumulative figures now, merged by operation name. */
static int take_sample(posts_service *s, sample *x)
{
    pp_snapshot *snap = NULL;
    x->t_ns = now_ns();
    x->n = 0;
    if (!x->ops && !(x->ops = calloc(MAX_OPS, sizeof *x->ops)))
        return PP_ENOMEM;
    int rc = pp_snapshot_take(&snap);
    if (rc != PP_OK)
        return rc;
    size_t n = pp_snapshot_count(snap);
    for (size_t i = 0; i < n; i++) {
        const pp_site_stats *st = pp_snapshot_site(snap, i);
        if (!st || !st->name || !st->count)
            continue;
        op_cum *o = op_find(x, st->name);
        if (!o) {
            if (x->n == MAX_OPS)
                continue;
            o = &x->ops[x->n++];
            memset(o, 0, sizeof *o);
            snprintf(o->name, sizeof o->name, "%s", st->name);
        }
        /* a root anywhere (the reloads after the first, which ran inside the start) */
        if (!st->parent_id)
            o->root = 1;
        o->async |= (st->flags & PP_SITE_ASYNC) != 0;
        o->count += st->count;
        o->total_ns += st->total_ns;
        o->cpu_samples += st->cpu_samples;
        o->cpu_ns += st->cpu_ns;
        o->cpu_wall_ns += st->cpu_wall_ns;
        o->mem_calls += st->mem_calls;
        o->alloc_bytes += (double)st->mem_alloc_bytes;
        for (size_t g = 0; st->hist && g < GRID_N; g++)
            o->cdf[g] += pp_histogram_count_le(st->hist, grid_ns(g));
    }
    pp_snapshot_free(snap);
    posts_cache_stats_get(s->cache, &x->cache);
    x->local_hits = atomic_load(&s->local_hits);
    x->local_misses = atomic_load(&s->local_misses);
    shared_read(s, x);
    return PP_OK;
}

/* The q-quantile (ns) of the calls counted in dcdf (total calls). */
static double quantile(const uint64_t *dcdf, uint64_t total, double q)
{
    if (!total)
        return 0;
    double rank = q * (double)total;
    if (rank < 1)
        rank = 1;
    for (size_t g = 0; g < GRID_N; g++) {
        if ((double)dcdf[g] >= rank) {
            if (g == 0)
                return grid_ns(0);
            double lo = (double)dcdf[g - 1], hi = (double)dcdf[g];
            double f = hi > lo ? (rank - lo) / (hi - lo) : 1.0;
            return grid_ns(g - 1) + f * (grid_ns(g) - grid_ns(g - 1));
        }
    }
    return grid_ns(GRID_N - 1);
}

/* The figures of one operation between samples a (older, may lack it) and b. */
static void window_op(const op_cum *a, const op_cum *b, double wall_ns, pp_perf_op *op,
                      uint64_t *dcdf)
{
    memset(op, 0, sizeof *op);
    snprintf(op->name, sizeof op->name, "%s", b->name);
    op->parent = b->root ? -1 : 0;
    op->count = b->count - (a ? a->count : 0);
    op->total_ns = b->total_ns - (a ? a->total_ns : 0);
    op->self_ns = op->total_ns;
    op->mean_ns = op->count ? op->total_ns / (double)op->count : 0;
    for (size_t g = 0; g < GRID_N; g++)
        dcdf[g] = b->cdf[g] - (a ? a->cdf[g] : 0);
    op->p50_ns = quantile(dcdf, op->count, 0.50);
    op->p95_ns = quantile(dcdf, op->count, 0.95);
    op->p99_ns = quantile(dcdf, op->count, 0.99);
    op->max_ns = op->p99_ns;
    op->cpu_calls = b->cpu_samples - (a ? a->cpu_samples : 0);
    if (op->cpu_calls) {
        op->cpu_ns = b->cpu_ns - (a ? a->cpu_ns : 0);
        op->cpu_wall_ns = b->cpu_wall_ns - (a ? a->cpu_wall_ns : 0);
        op->cpu_measured = op->cpu_wall_ns > 0;
    }
    if (b->mem_calls > (a ? a->mem_calls : 0)) {
        op->alloc_bytes = b->alloc_bytes - (a ? a->alloc_bytes : 0);
        op->alloc_measured = 1;
    }
    op->share = wall_ns > 0 ? op->total_ns / wall_ns : 0;
    op->async = b->async;
}

static void count_finding(posts_service *s, const pp_finding *f)
{
    found *x = NULL;
    for (size_t i = 0; i < s->nfound; i++)
        if (s->found[i].kind == (int)f->kind && strcmp(s->found[i].op, f->operation) == 0)
            x = &s->found[i];
    if (!x && s->nfound < MAX_FOUND) {
        x = &s->found[s->nfound++];
        memset(x, 0, sizeof *x);
        snprintf(x->op, sizeof x->op, "%s", f->operation);
        x->kind = (int)f->kind;
        const char *values[] = {x->op, pp_finding_kind_name(f->kind)};
        if (s->bottleneck && pp_metric_series(s->bottleneck, values, &x->counter) != PP_OK)
            x->counter = NULL;
    }
    if (!x)
        return;
    x->windows++;
    x->value = f->value;
    x->threshold = f->threshold;
    snprintf(x->unit, sizeof x->unit, "%s", f->unit);
    snprintf(x->message, sizeof x->message, "%s", f->message);
    pp_series_inc(x->counter);
    s->nfindings++;
}

static double ratio_of(uint64_t hits, uint64_t misses)
{
    return hits + misses ? (double)hits / (double)(hits + misses) : -1.0;
}

/* Judge the window from a to b (caller holds s->mu). */
static void judge(posts_service *s, const sample *a, sample *b)
{
    double wall = (double)(b->t_ns - a->t_ns);
    uint64_t *dcdf = malloc(GRID_N * sizeof *dcdf);
    if (!dcdf)
        return;
    for (size_t i = 0; i < b->n; i++) {
        const op_cum *ao = op_find((sample *)a, b->ops[i].name);
        pp_perf_op op;
        window_op(ao, &b->ops[i], wall, &op, dcdf);
        if (!op.count)
            continue;
        pp_finding f[8];
        size_t nf = pp_bottleneck_check_op(&op, &s->o.thresholds, f, 8);
        for (size_t k = 0; k < nf && k < 8; k++) {
            /* a root operation is the service's own loop (the requests, a
             * reload): its share of the time is the service's busy time */
            if (op.parent < 0 && f[k].kind == PP_FIND_SHARE)
                continue;
            count_finding(s, &f[k]);
        }
    }
    free(dcdf);
    double r = ratio_of(b->cache.hits - a->cache.hits, b->cache.misses - a->cache.misses);
    if (r >= 0) { /* a window without lookups keeps the previous ratio */
        s->win_ratio = r;
        if (!s->hit_ratio && pp_metric_series(s->ratio_m, NULL, &s->hit_ratio) != PP_OK)
            s->hit_ratio = NULL;
        pp_series_set(s->hit_ratio, r);
        if (r < s->o.thresholds.cache_hit_ratio) {
            pp_finding f = {.kind = PP_FIND_CACHE_HIT,
                            .severity = r < s->o.thresholds.cache_hit_ratio / 2 ? PP_SEV_HIGH
                                                                                : PP_SEV_MODERATE,
                            .value = r,
                            .threshold = s->o.thresholds.cache_hit_ratio};
            snprintf(f.operation, sizeof f.operation, "cache");
            snprintf(f.unit, sizeof f.unit, "ratio");
            snprintf(f.message, sizeof f.message,
                     "Cache hit ratio %.1f%% under the %.1f%% target over the last %.0f s", r * 100,
                     s->o.thresholds.cache_hit_ratio * 100, wall / 1e9);
            count_finding(s, &f);
        }
    }
    double lr = ratio_of(b->local_hits - a->local_hits, b->local_misses - a->local_misses);
    if (lr >= 0)
        s->local_ratio = lr;
    if (a->shared_ok && b->shared_ok && b->shared_hits >= a->shared_hits &&
        b->shared_misses >= a->shared_misses) {
        double sr = ratio_of(b->shared_hits - a->shared_hits, b->shared_misses - a->shared_misses);
        if (sr >= 0) {
            s->shared_ratio = sr;
            if (!s->shared_ratio_s && s->shared_m &&
                pp_metric_series(s->shared_m, NULL, &s->shared_ratio_s) != PP_OK)
                s->shared_ratio_s = NULL;
            pp_series_set(s->shared_ratio_s, sr);
        }
    }
    s->windows++;
}

/* One tick: a new sample into the ring, the window ending at it judged. */
static void tick(posts_service *s)
{
    sample *b = &s->ring[s->ring_head];
    op_cum *keep = b->ops;
    sample fresh = {.ops = keep};
    if (take_sample(s, &fresh) != PP_OK)
        return;
    pthread_mutex_lock(&s->mu);
    *b = fresh;
    if (!s->have_first) {
        s->first = fresh;
        s->first.ops = malloc(MAX_OPS * sizeof *fresh.ops);
        if (s->first.ops) {
            memcpy(s->first.ops, fresh.ops, fresh.n * sizeof *fresh.ops);
            s->have_first = 1;
        }
    }
    if (s->local && s->ring_n) { /* one batch: the lookups since the previous tick */
        const sample *p = &s->ring[(s->ring_head + s->ring_cap - 1) % s->ring_cap];
        double n = (double)(b->local_hits + b->local_misses - p->local_hits - p->local_misses);
        double g =
            (double)(b->cache.hits - p->cache.hits) - (double)(b->local_hits - p->local_hits);
        if (n > 0) {
            gain_sums *G = &s->gain;
            G->k++;
            G->n += n;
            G->g += g;
            G->nn += n * n;
            G->gg += g * g;
            G->gn += g * n;
        }
    }
    if (fresh.shared_ok) {
        if (s->shared_prev_ok) { /* lower than before: Redis restarted, counting from 0 */
            s->shared_run_hits += fresh.shared_hits >= s->shared_prev_hits
                                      ? fresh.shared_hits - s->shared_prev_hits
                                      : fresh.shared_hits;
            s->shared_run_misses += fresh.shared_misses >= s->shared_prev_misses
                                        ? fresh.shared_misses - s->shared_prev_misses
                                        : fresh.shared_misses;
            s->shared_run_ok = 1;
        }
        s->shared_prev_ok = 1;
        s->shared_prev_hits = fresh.shared_hits;
        s->shared_prev_misses = fresh.shared_misses;
    }
    if (s->ring_n < s->ring_cap)
        s->ring_n++;
    /* the oldest sample no older than the window (at least the previous one) */
    const sample *a = NULL;
    for (size_t k = 1; k < s->ring_n; k++) {
        const sample *c = &s->ring[(s->ring_head + s->ring_cap - k) % s->ring_cap];
        if (a && (double)(b->t_ns - c->t_ns) > s->o.window_s * 1e9 * 1.001)
            break;
        a = c;
    }
    if (a)
        judge(s, a, b);
    s->ring_head = (s->ring_head + 1) % s->ring_cap;
    pthread_mutex_unlock(&s->mu);
}

static void *detector_main(void *arg)
{
    posts_service *s = arg;
    uint64_t period = (uint64_t)(s->o.detect_every_s * 1e9);
    uint64_t next = now_ns() + period; /* the first sample was taken by start */
    for (;;) {
        if (wait_until(s, next))
            break; /* the last window is judged by stop, after the worker's last request */
        tick(s);
        next += period;
        uint64_t t = now_ns();
        if (next < t)
            next = t + period;
    }
    return NULL; /* the Redis connection is reused by stop's last sample, freed by free */
}

/* ---- metrics ----------------------------------------------------------------------- */

static void render_hook(pp_registry *r, void *arg)
{
    (void)r;
    hook_ctx *h = arg;
    pthread_mutex_lock(&h->mu);
    posts_service *s = h->svc;
    if (s) {
        posts_cache_stats cs;
        posts_cache_stats_get(s->cache, &cs);
        pp_series_mirror_counter(h->hits, (double)cs.hits);
        pp_series_mirror_counter(h->misses, (double)cs.misses);
        pp_series_mirror_counter(h->errors, (double)cs.errors);
        pp_series_set(h->posts, (double)atomic_load(&s->nposts));
        pp_series_mirror_counter(h->refresh_ok, (double)atomic_load(&s->refreshes));
        pp_series_mirror_counter(h->refresh_failed, (double)atomic_load(&s->refresh_errors));
        if (h->local_hits) {
            pp_series_mirror_counter(h->local_hits, (double)atomic_load(&s->local_hits));
            pp_series_mirror_counter(h->local_misses, (double)atomic_load(&s->local_misses));
        }
    }
    pthread_mutex_unlock(&h->mu);
}

static void hook_release(void *arg)
{
    hook_ctx *h = arg;
    if (h) {
        pthread_mutex_destroy(&h->mu);
        free(h);
    }
}

static int series_of(pp_registry *r, int counter, const char *name, const char *help,
                     const char *label, const char *value, pp_series **out)
{
    pp_metric *m;
    const char *labels[] = {label};
    const char *values[] = {value};
    int rc = counter ? pp_registry_counter(r, name, help, label ? 1 : 0, label ? labels : NULL, &m)
                     : pp_registry_gauge(r, name, help, label ? 1 : 0, label ? labels : NULL, &m);
    return rc == PP_OK ? pp_metric_series(m, label ? values : NULL, out) : rc;
}

static int register_metrics(posts_service *s, posts_err *err)
{
    pp_registry *r = s->o.registry;
    s->ratio_m = pp_registry_find(r, "cache_hit_ratio");
    s->bottleneck = pp_registry_find(r, "bottleneck_detected_total");
    if (!s->ratio_m || !s->bottleneck) {
        posts_err_set(err, "the metrics registry lacks the standard metrics");
        return PP_EINVAL;
    }
    int rc = PP_OK;
    hook_ctx *h = calloc(1, sizeof *h);
    if (rc == PP_OK && !h)
        rc = PP_ENOMEM;
    if (rc == PP_OK) {
        pthread_mutex_init(&h->mu, NULL);
        const char *lk = "postprof_cache_lookups_total";
        const char *lh = "Score cache lookups of this node's feed requests, by result.";
        const char *rf = "postprof_service_reloads_total";
        const char *rh = "Reloads of the sources by the service, by result.";
        const char *lo = "postprof_cache_local_lru_lookups_total";
        const char *loh = "This node's cache lookups replayed into an LRU of its own "
                          "--cache-entries, by result: what it would hit without the shared "
                          "cache.";
        if (s->o.cfg.cache_kind == POSTS_CACHE_REDIS)
            rc = pp_registry_gauge(r, "postprof_shared_cache_hit_ratio",
                                   "Hit ratio of the shared Redis cache over the last detection "
                                   "window, every node's lookups (Redis INFO keyspace_hits / "
                                   "misses).",
                                   0, NULL, &s->shared_m);
        if (rc == PP_OK && (rc = series_of(r, 1, lk, lh, "result", "hit", &h->hits)) == PP_OK &&
            (rc = series_of(r, 1, lk, lh, "result", "miss", &h->misses)) == PP_OK &&
            (rc = series_of(r, 1, "postprof_cache_errors_total",
                            "Failed cache commands (Redis down or slow): each counted as a miss "
                            "or a dropped put.",
                            NULL, NULL, &h->errors)) == PP_OK &&
            (rc = series_of(r, 0, "postprof_service_posts", "Posts the service serves now.", NULL,
                            NULL, &h->posts)) == PP_OK &&
            (rc = series_of(r, 1, rf, rh, "result", "ok", &h->refresh_ok)) == PP_OK &&
            (rc = series_of(r, 1, rf, rh, "result", "failed", &h->refresh_failed)) == PP_OK &&
            (!s->local ||
             ((rc = series_of(r, 1, lo, loh, "result", "hit", &h->local_hits)) == PP_OK &&
              (rc = series_of(r, 1, lo, loh, "result", "miss", &h->local_misses)) == PP_OK))) {
            h->svc = s;
            s->hook = h;
            rc = pp_registry_add_hook(r, render_hook, h, hook_release);
            if (rc != PP_OK)
                s->hook = NULL; /* released by the registry */
        } else {
            hook_release(h);
        }
    }
    if (rc != PP_OK)
        posts_err_set(err, "registering the service's metrics: %s", pp_strerror(rc));
    return rc;
}

/* ---- lifecycle ------------------------------------------------------------------------ */

static int load_model(const posts_config *cfg, posts_model **out, posts_err *err)
{
    char path[POSTS_PATH_MAX + 32];
    if (posts__join_path(path, sizeof path, cfg->data_dir, posts_model_file(cfg->model))) {
        posts_err_set(err, "data directory path too long");
        return PP_EINVAL;
    }
    int rc = posts_model_load(path, out, err);
    if (rc != PP_OK || !cfg->quantized)
        return rc;
    posts_model *q;
    if ((rc = posts_model_quantize(*out, &q)) != PP_OK) {
        posts_err_set(err, "quantizing %s: %s", path, pp_strerror(rc));
        return rc;
    }
    posts_model_free(*out);
    *out = q;
    return PP_OK;
}

static int check_opts(const posts_service_opts *o, posts_err *err)
{
    if (!(o->rate >= 0 && o->rate <= 1e6)) {
        posts_err_set(err, "rate %g out of range 0..1000000 requests/s", o->rate);
        return PP_EINVAL;
    }
    if (!(o->refresh_s == 0 || (o->refresh_s >= 0.1 && o->refresh_s <= 86400))) {
        posts_err_set(err, "reload interval %g s out of range 0.1..86400 (0 = never)",
                      o->refresh_s);
        return PP_EINVAL;
    }
    if (!(o->detect_every_s >= 0.05 && o->detect_every_s <= 3600) ||
        !(o->window_s >= o->detect_every_s && o->window_s <= 86400) ||
        o->window_s / o->detect_every_s > MAX_RING - 2) {
        posts_err_set(err,
                      "window %g s every %g s: need 0.05 <= every <= window <= 86400 and at "
                      "most %d judgements per window",
                      o->window_s, o->detect_every_s, MAX_RING - 2);
        return PP_EINVAL;
    }
    if (!o->registry) {
        posts_err_set(err, "no metrics registry");
        return PP_EINVAL;
    }
    if (o->cfg.candidates < 1 || o->cfg.batch_size < 1 || o->cfg.batch_size > POSTS_MAX_BATCH) {
        posts_err_set(err, "candidates and batch size must be at least 1 (batch at most %u)",
                      POSTS_MAX_BATCH);
        return PP_EINVAL;
    }
    return PP_OK;
}

int posts_service_new(const posts_service_opts *o, posts_service **out, posts_err *err)
{
    PP_SCOPE_MEM("posts.serve.start");
    *out = NULL;
    int rc = check_opts(o, err);
    if (rc != PP_OK)
        return rc;
    posts_service *s = calloc(1, sizeof *s);
    if (!s)
        return PP_ENOMEM;
    s->o = *o;
    s->scfg = o->cfg;
    s->win_ratio = -1;
    s->shared_ratio = -1;
    s->local_ratio = -1;
    s->ring_cap = (size_t)ceil(o->window_s / o->detect_every_s) + 2;
    pthread_rwlock_init(&s->lock, NULL);
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    const posts_config *cfg = &o->cfg;
    if (cfg->cache_kind == POSTS_CACHE_REDIS) {
        const char *hp = cfg->redis_url + 8, *colon = strrchr(hp, ':');
        size_t hl = colon ? (size_t)(colon - hp) : strlen(hp);
        s->rport = colon ? atoi(colon + 1) : 6379;
        snprintf(s->rhost, sizeof s->rhost, "%.*s", (int)(hl < 255 ? hl : 255), hp);
    }
    if ((rc = load_model(cfg, &s->model, err)) != PP_OK ||
        (rc = load_model(cfg, &s->rmodel, err)) != PP_OK)
        goto out;
    posts_model_info info;
    posts_model_info_get(s->model, &info);
    s->version = info.version;
    switch (cfg->cache_kind) {
    case POSTS_CACHE_NONE:
        rc = posts_cache_new_none(&s->cache);
        break;
    case POSTS_CACHE_REDIS: {
        posts_redis_opts ro = {.pool = cfg->redis_pool,
                               .pipeline = cfg->redis_pipeline,
                               .timeout_ms = cfg->redis_timeout_ms};
        rc = posts_cache_new_redis(cfg->redis_url, &ro, &s->cache, err);
        break;
    }
    default:
        rc = posts_cache_new_lru(cfg->cache_entries, cfg->cache_bytes, 16, &s->cache);
        if (rc == PP_EINVAL)
            posts_err_set(err, "cache capacity: set cache_entries or cache_bytes");
    }
    if (rc != PP_OK)
        goto out;
    /* beside a shared cache: what this node's own LRU of cache_entries would hit */
    if (cfg->cache_kind == POSTS_CACHE_REDIS && cfg->cache_entries >= 1 &&
        cfg->cache_entries <= ((size_t)1 << 24) &&
        (rc = posts__key_lru_new(cfg->cache_entries, &s->local)) != PP_OK)
        goto out;
    if ((rc = posts_preprocessor_new(cfg->preprocess_threads, cfg->arena, &s->pre)) != PP_OK) {
        posts_err_set(err, "preprocessor: %s", pp_strerror(rc));
        goto out;
    }
    if ((cfg->sources & POSTS_SRC_API) && !cfg->api_url[0]) {
        char path[POSTS_PATH_MAX + 32];
        if (posts__join_path(path, sizeof path, cfg->data_dir, "posts.db")) {
            rc = PP_EINVAL;
            goto out;
        }
        if ((rc = posts_api_server_start(path, "127.0.0.1", 0, 4, &s->api, err)) != PP_OK)
            goto out;
        snprintf(s->scfg.api_url, sizeof s->scfg.api_url, "http://127.0.0.1:%u",
                 (unsigned)posts_api_server_port(s->api));
    }
    if ((rc = register_metrics(s, err)) != PP_OK)
        goto out;
    if ((rc = load_all(s, s->model, 1, &s->feats, err)) != PP_OK)
        goto out;
    atomic_store(&s->nposts, s->feats->n);
    *out = s;
    s = NULL;
out:
    if (rc == PP_ENOMEM && !err->msg[0])
        posts_err_set(err, "out of memory");
    posts_service_free(s);
    return rc;
}

int posts_service_start(posts_service *s)
{
    pthread_mutex_lock(&s->mu);
    int already = s->started;
    s->started = 1;
    pthread_mutex_unlock(&s->mu);
    if (already)
        return PP_ESTATE;
    pthread_mutex_lock(&s->mu);
    s->t_start = now_ns();
    pthread_mutex_unlock(&s->mu);
    tick(s); /* the whole run's first sample, before any request */
    int ok = pthread_create(&s->detector, NULL, detector_main, s) == 0;
    int ok_w = ok && pthread_create(&s->worker, NULL, worker_main, s) == 0;
    int ok_r = ok_w &&
               (s->o.refresh_s <= 0 || pthread_create(&s->refresher, NULL, refresher_main, s) == 0);
    if (!ok_r) {
        pthread_mutex_lock(&s->mu);
        s->stopping = 1;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        if (ok)
            pthread_join(s->detector, NULL);
        if (ok_w)
            pthread_join(s->worker, NULL);
        s->joined = 1;
        return PP_EIO;
    }
    atomic_store(&s->ready, 1);
    return PP_OK;
}

int posts_service_ready(posts_service *s)
{
    return atomic_load(&s->ready);
}

void posts_service_stop(posts_service *s)
{
    if (!s)
        return;
    atomic_store(&s->ready, 0);
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_broadcast(&s->cv);
    int join = s->started && !s->joined;
    s->joined = 1;
    pthread_mutex_unlock(&s->mu);
    if (!join)
        return;
    pthread_join(s->worker, NULL);
    if (s->o.refresh_s > 0)
        pthread_join(s->refresher, NULL);
    pthread_join(s->detector, NULL);
    tick(s); /* the last window: every request served is in it */
    pthread_mutex_lock(&s->mu);
    s->t_stop = now_ns();
    pthread_mutex_unlock(&s->mu);
}

/* Two-sided 95 % Student t quantile for dof degrees of freedom (table to 30,
 * then the Cornish-Fisher expansion, within 0.001). */
static double t95(uint64_t dof)
{
    static const double tab[30] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306,
                                   2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
                                   2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
                                   2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
    if (dof >= 1 && dof <= 30)
        return tab[dof - 1];
    double z = 1.959964, v = (double)dof;
    return z + (z * z * z + z) / (4 * v) + (5 * pow(z, 5) + 16 * z * z * z + 3 * z) / (96 * v * v);
}

/* The shared cache's gain over the local LRU (hit ratio points) with its 95 %
 * interval by batch means (a ratio estimator over the ticks; caller holds s->mu). */
static void gain_estimate(const posts_service *s, posts_service_stats *out)
{
    const gain_sums *G = &s->gain;
    out->gain_batches = G->k;
    if (G->k < 3 || G->n <= 0)
        return;
    double d = G->g / G->n;
    double ss = G->gg - 2 * d * G->gn + d * d * G->nn; /* sum of (g_k - d n_k)^2 */
    double var = ss > 0 ? ss * (double)G->k / (double)(G->k - 1) / (G->n * G->n) : 0;
    double half = t95(G->k - 1) * sqrt(var);
    out->gain_known = 1;
    out->gain = d;
    out->gain_lo = d - half;
    out->gain_hi = d + half;
}

const char *posts_service_gain_verdict(const posts_service_stats *st)
{
    if (!st->gain_known)
        return NULL;
    if (st->gain_lo > 0)
        return "the shared cache pays";
    if (st->gain_hi < 0)
        return "a node-local LRU would hit more";
    return "no significant change";
}

void posts_service_stats_get(posts_service *s, posts_service_stats *out)
{
    memset(out, 0, sizeof *out);
    out->requests = atomic_load(&s->requests);
    out->request_errors = atomic_load(&s->request_errors);
    out->refreshes = atomic_load(&s->refreshes);
    out->refresh_errors = atomic_load(&s->refresh_errors);
    out->posts = atomic_load(&s->nposts);
    posts_cache_stats cs;
    posts_cache_stats_get(s->cache, &cs);
    out->cache_hits = cs.hits;
    out->cache_misses = cs.misses;
    out->cache_errors = cs.errors;
    out->local_lru = s->local != NULL;
    out->local_lru_entries = s->local ? s->o.cfg.cache_entries : 0;
    out->local_lru_hits = atomic_load(&s->local_hits);
    out->local_lru_misses = atomic_load(&s->local_misses);
    pthread_mutex_lock(&s->mu);
    out->local_lru_window_hit_ratio = s->local_ratio;
    gain_estimate(s, out);
    out->window_hit_ratio = s->win_ratio;
    out->shared_window_hit_ratio = s->shared_ratio;
    out->windows = s->windows;
    out->findings = s->nfindings;
    uint64_t end = s->t_stop ? s->t_stop : now_ns();
    out->uptime_s = s->t_start ? (double)(end - s->t_start) / 1e9 : 0;
    pthread_mutex_unlock(&s->mu);
}

/* ---- the report --------------------------------------------------------------------------- */

static json_t *ratio_json(double r)
{
    return r >= 0 ? json_real(r) : json_null();
}

/* a cache's lookups over the run and its latest window, into o */
static void lookups_json(json_t *o, uint64_t hits, uint64_t misses, double window_ratio)
{
    json_object_set_new(o, "hits", json_integer((json_int_t)hits));
    json_object_set_new(o, "misses", json_integer((json_int_t)misses));
    json_object_set_new(o, "hit_ratio", ratio_json(ratio_of(hits, misses)));
    json_object_set_new(o, "window_hit_ratio", ratio_json(window_ratio));
}

int posts_service_report_json(posts_service *s, const char *node, char **out)
{
    *out = NULL;
    posts_service_stats st;
    posts_service_stats_get(s, &st);
    json_t *doc = json_object(), *ops = json_array(), *found_a = json_array();
    if (!doc || !ops || !found_a) {
        json_decref(doc);
        json_decref(ops);
        json_decref(found_a);
        return PP_ENOMEM;
    }
    const posts_config *cfg = &s->o.cfg;
    json_object_set_new(doc, "node", json_string(node ? node : ""));
    json_object_set_new(doc, "uptime_s", json_real(st.uptime_s));
    json_object_set_new(doc, "requests", json_integer((json_int_t)st.requests));
    json_object_set_new(doc, "request_errors", json_integer((json_int_t)st.request_errors));
    json_object_set_new(doc, "requests_per_s",
                        json_real(st.uptime_s > 0 ? (double)st.requests / st.uptime_s : 0));
    json_object_set_new(doc, "reloads", json_integer((json_int_t)st.refreshes));
    json_object_set_new(doc, "reload_errors", json_integer((json_int_t)st.refresh_errors));
    json_object_set_new(doc, "posts", json_integer((json_int_t)st.posts));
    json_t *set = json_object();
    json_object_set_new(set, "rate", json_real(s->o.rate));
    json_object_set_new(set, "reload_s", json_real(s->o.refresh_s));
    json_object_set_new(set, "window_s", json_real(s->o.window_s));
    json_object_set_new(set, "every_s", json_real(s->o.detect_every_s));
    json_object_set_new(set, "cache", json_string(posts_cache_kind(s->cache)));
    json_object_set_new(set, "model", json_string(posts_model_name(cfg->model)));
    json_object_set_new(set, "candidates", json_integer((json_int_t)cfg->candidates));
    json_object_set_new(doc, "settings", set);

    pthread_mutex_lock(&s->mu);
    /* whole run: the newest sample against the first one */
    const sample *last =
        s->ring_n ? &s->ring[(s->ring_head + s->ring_cap - 1) % s->ring_cap] : NULL;
    uint64_t *dcdf = malloc(GRID_N * sizeof *dcdf);
    int rc = dcdf ? PP_OK : PP_ENOMEM;
    for (size_t i = 0; rc == PP_OK && last && s->have_first && i < last->n; i++) {
        pp_perf_op op;
        double wall = (double)(last->t_ns - s->first.t_ns);
        window_op(op_find(&s->first, last->ops[i].name), &last->ops[i], wall, &op, dcdf);
        if (!op.count)
            continue;
        json_t *o = json_object();
        json_object_set_new(o, "operation", json_string(op.name));
        json_object_set_new(o, "count", json_integer((json_int_t)op.count));
        json_object_set_new(o, "mean_s", json_real(op.mean_ns / 1e9));
        json_object_set_new(o, "p50_s", json_real(op.p50_ns / 1e9));
        json_object_set_new(o, "p99_s", json_real(op.p99_ns / 1e9));
        json_array_append_new(ops, o);
    }
    free(dcdf);
    json_t *cache = json_object();
    json_object_set_new(cache, "kind", json_string(posts_cache_kind(s->cache)));
    lookups_json(cache, st.cache_hits, st.cache_misses, s->win_ratio);
    json_object_set_new(cache, "errors", json_integer((json_int_t)st.cache_errors));
    if (s->shared_run_ok) {
        json_t *sh = json_object();
        lookups_json(sh, s->shared_run_hits, s->shared_run_misses, s->shared_ratio);
        json_object_set_new(sh, "what",
                            json_string("every node's lookups in the shared Redis while this "
                                        "node ran (INFO keyspace_hits / keyspace_misses, "
                                        "summed across Redis restarts)"));
        json_object_set_new(cache, "shared", sh);
    }
    if (st.local_lru) {
        json_t *ll = json_object();
        json_object_set_new(ll, "entries", json_integer((json_int_t)st.local_lru_entries));
        lookups_json(ll, st.local_lru_hits, st.local_lru_misses, st.local_lru_window_hit_ratio);
        json_object_set_new(ll, "what",
                            json_string("this node's lookups replayed into an LRU of its own "
                                        "cache_entries: what it would hit without the shared "
                                        "cache"));
        json_object_set_new(cache, "local_lru", ll);
        if (st.gain_known) {
            json_t *g = json_object();
            json_object_set_new(g, "hit_ratio_points", json_real(st.gain));
            json_object_set_new(g, "ci95_low", json_real(st.gain_lo));
            json_object_set_new(g, "ci95_high", json_real(st.gain_hi));
            json_object_set_new(g, "batches", json_integer((json_int_t)st.gain_batches));
            json_object_set_new(g, "verdict", json_string(posts_service_gain_verdict(&st)));
            json_object_set_new(g, "what",
                                json_string("hit ratio on the shared cache minus the local "
                                            "LRU's, on the same lookups; 95 % interval by batch "
                                            "means over the detector's ticks"));
            json_object_set_new(cache, "shared_gain", g);
        }
    }
    json_object_set_new(doc, "cache", cache);
    json_t *bn = json_object();
    json_object_set_new(bn, "windows", json_integer((json_int_t)s->windows));
    json_object_set_new(bn, "window_s", json_real(s->o.window_s));
    json_object_set_new(bn, "every_s", json_real(s->o.detect_every_s));
    for (size_t i = 0; i < s->nfound; i++) {
        const found *f = &s->found[i];
        json_t *o = json_object();
        json_object_set_new(o, "operation", json_string(f->op));
        json_object_set_new(o, "kind", json_string(pp_finding_kind_name(f->kind)));
        json_object_set_new(o, "windows", json_integer((json_int_t)f->windows));
        json_object_set_new(o, "last_value", json_real(f->value));
        json_object_set_new(o, "threshold", json_real(f->threshold));
        json_object_set_new(o, "unit", json_string(f->unit));
        json_object_set_new(o, "message", json_string(f->message));
        json_array_append_new(found_a, o);
    }
    pthread_mutex_unlock(&s->mu);
    json_object_set_new(bn, "found", found_a);
    json_object_set_new(doc, "bottlenecks", bn);
    json_object_set_new(doc, "operations", ops);
    if (rc == PP_OK) {
        *out = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
        rc = *out ? PP_OK : PP_ENOMEM;
    }
    json_decref(doc);
    return rc;
}

void posts_service_free(posts_service *s)
{
    if (!s)
        return;
    posts_service_stop(s);
    if (s->hook) {
        pthread_mutex_lock(&s->hook->mu);
        s->hook->svc = NULL;
        pthread_mutex_unlock(&s->hook->mu);
    }
    for (size_t i = 0; i < MAX_RING; i++)
        free(s->ring[i].ops);
    free(s->first.ops);
    posts__key_lru_free(s->local);
    if (s->rc)
        redisFree(s->rc);
    free_feats(s->feats);
    posts_api_server_stop(s->api);
    posts_preprocessor_free(s->pre);
    posts_cache_free(s->cache);
    posts_model_free(s->model);
    posts_model_free(s->rmodel);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    pthread_rwlock_destroy(&s->lock);
    free(s);
}
