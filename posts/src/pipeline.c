/*
 * pipeline.c - The LinkedIn-posts pipeline: sources -> preprocess -> bulk
 * inference, then Zipf feed requests scored cache-aside and ranked. Every
 * stage is a PP_SCOPE / PP_SCOPE_MEM; source loads and requests are async
 * spans. Never prints: results go to the caller, problems to pp_log.
 */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/log.h>
#include <postprof/scope.h>
#include <posts/api_server.h>
#include <posts/pipeline.h>

#include "internal.h"

#define QUEUE_CAP 8
#define MAX_SOURCES 3

struct posts_pipeline {
    posts_config cfg;
    posts_model *model;
    posts_cache *cache;
    posts_preprocessor *pre;
    posts_feature_batch feats; /* every loaded post, in load order */
    posts_feature_batch scratch;
    posts_api_server *api;
    char api_url[POSTS_PATH_MAX];
    uint32_t version;
    posts_request_hook hook;
    void *hook_user;
};

/* ---- Zipf sampler ------------------------------------------------------------ */

struct posts_zipf {
    size_t n;
    double *cdf;
    posts__rng r;
};

int posts_zipf_new(size_t n, double s, uint64_t seed, posts_zipf **out)
{
    *out = NULL;
    if (n == 0 || !(s >= 0))
        return PP_EINVAL;
    posts_zipf *z = calloc(1, sizeof *z);
    if (!z)
        return PP_ENOMEM;
    z->cdf = malloc(n * sizeof *z->cdf);
    if (!z->cdf) {
        free(z);
        return PP_ENOMEM;
    }
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        sum += 1.0 / pow((double)(i + 1), s);
        z->cdf[i] = sum;
    }
    for (size_t i = 0; i < n; i++)
        z->cdf[i] /= sum;
    z->n = n;
    z->r.s = posts__mix64(seed ^ 0x7a697066ull);
    *out = z;
    return PP_OK;
}

size_t posts_zipf_next(posts_zipf *z)
{
    double u = posts__rng_unit(&z->r);
    size_t lo = 0, hi = z->n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void posts_zipf_free(posts_zipf *z)
{
    if (!z)
        return;
    free(z->cdf);
    free(z);
}

size_t posts_cache_key(uint32_t version, int64_t id, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "s:%" PRIu32 ":%" PRId64, version, id);
    return n < 0 ? 0 : (size_t)n;
}

/* ---- sources ------------------------------------------------------------------ */

int posts_open_source(const posts_config *cfg, unsigned which, posts_reject_fn on_reject,
                      void *user, posts_source **out, posts_err *err)
{
    char path[POSTS_PATH_MAX + 32];
    int rc;
    *out = NULL;
    switch (which) {
    case POSTS_SRC_DATABASE:
        if (cfg->postgres_url[0]) {
            rc = posts_source_open_pg(cfg->postgres_url, out, err);
            break;
        }
        if (posts__join_path(path, sizeof path, cfg->data_dir, "posts.db"))
            return PP_EINVAL;
        rc = posts_source_open_sqlite(path, out, err);
        break;
    case POSTS_SRC_FILE:
        if (posts__join_path(path, sizeof path, cfg->data_dir, "posts.jsonl"))
            return PP_EINVAL;
        rc = posts_source_open_jsonl(path, cfg->max_line, out, err);
        break;
    case POSTS_SRC_API: {
        if (!cfg->api_url[0]) {
            posts_err_set(err, "api source: no api_url");
            return PP_EINVAL;
        }
        posts_api_opts o = {.keep_alive = cfg->keep_alive, .concurrency = cfg->api_concurrency};
        rc = posts_source_open_api(cfg->api_url, &o, out, err);
        break;
    }
    default:
        posts_err_set(err, "unknown source %u", which);
        return PP_EINVAL;
    }
    if (rc == PP_OK)
        posts_source_on_reject(*out, on_reject, user);
    return rc;
}

/* ---- construction ---------------------------------------------------------------- */

int posts_pipeline_new(const posts_config *cfg, posts_pipeline **out, posts_err *err)
{
    PP_SCOPE_MEM("posts.pipeline.new");
    *out = NULL;
    int rc = PP_ENOMEM;
    posts_pipeline *pl = calloc(1, sizeof *pl);
    if (!pl)
        return PP_ENOMEM;
    pl->cfg = *cfg;
    if (cfg->batch_size < 1 || cfg->batch_size > POSTS_MAX_BATCH) {
        posts_err_set(err, "batch size %zu out of range 1..%u", cfg->batch_size, POSTS_MAX_BATCH);
        rc = PP_EINVAL;
        goto out;
    }
    char path[POSTS_PATH_MAX + 32];
    if (posts__join_path(path, sizeof path, cfg->data_dir, posts_model_file(cfg->model))) {
        posts_err_set(err, "data directory path too long");
        rc = PP_EINVAL;
        goto out;
    }
    if ((rc = posts_model_load(path, &pl->model, err)) != PP_OK)
        goto out;
    if (cfg->quantized) {
        posts_model *q;
        if ((rc = posts_model_quantize(pl->model, &q)) != PP_OK) {
            posts_err_set(err, "quantizing %s: %s", path, pp_strerror(rc));
            goto out;
        }
        posts_model_free(pl->model);
        pl->model = q;
    }
    posts_model_info info;
    posts_model_info_get(pl->model, &info);
    pl->version = info.version;
    switch (cfg->cache_kind) {
    case POSTS_CACHE_NONE:
        rc = posts_cache_new_none(&pl->cache);
        break;
    case POSTS_CACHE_REDIS: {
        posts_redis_opts ro = {.pool = cfg->redis_pool,
                               .pipeline = cfg->redis_pipeline,
                               .timeout_ms = cfg->redis_timeout_ms};
        rc = posts_cache_new_redis(cfg->redis_url, &ro, &pl->cache, err);
        break;
    }
    default:
        rc = posts_cache_new_lru(cfg->cache_entries, cfg->cache_bytes, 16, &pl->cache);
        if (rc == PP_EINVAL)
            posts_err_set(err, "cache capacity: set cache_entries or cache_bytes");
    }
    if (rc != PP_OK)
        goto out;
    if (cfg->trace_capacity &&
        (rc = posts_cache_trace_enable(pl->cache, cfg->trace_capacity, cfg->trace_sample)) != PP_OK)
        goto out;
    if ((rc = posts_preprocessor_new(cfg->preprocess_threads, cfg->arena, &pl->pre)) != PP_OK) {
        posts_err_set(err, "preprocessor: %s", pp_strerror(rc));
        goto out;
    }
    if ((cfg->sources & POSTS_SRC_API) && !cfg->api_url[0]) {
        if (posts__join_path(path, sizeof path, cfg->data_dir, "posts.db")) {
            rc = PP_EINVAL;
            goto out;
        }
        if ((rc = posts_api_server_start(path, "127.0.0.1", 0, 4, &pl->api, err)) != PP_OK)
            goto out;
        snprintf(pl->cfg.api_url, sizeof pl->cfg.api_url, "http://127.0.0.1:%u",
                 (unsigned)posts_api_server_port(pl->api));
    }
    *out = pl;
    pl = NULL;
    rc = PP_OK;
out:
    if (rc == PP_ENOMEM && err && !err->msg[0])
        posts_err_set(err, "out of memory");
    posts_pipeline_free(pl);
    return rc;
}

void posts_pipeline_set_hook(posts_pipeline *pl, posts_request_hook fn, void *user)
{
    pl->hook = fn;
    pl->hook_user = user;
}

posts_cache *posts_pipeline_cache(posts_pipeline *pl)
{
    return pl->cache;
}

posts_model *posts_pipeline_model(posts_pipeline *pl)
{
    return pl->model;
}

posts_feature_batch *posts_pipeline_features(posts_pipeline *pl)
{
    return &pl->feats;
}

void posts_pipeline_free(posts_pipeline *pl)
{
    if (!pl)
        return;
    posts_api_server_stop(pl->api);
    posts_preprocessor_free(pl->pre);
    posts_cache_free(pl->cache);
    posts_model_free(pl->model);
    posts_feature_batch_release(&pl->feats);
    posts_feature_batch_release(&pl->scratch);
    free(pl);
}

/* ---- stage 1-3: load, preprocess, bulk inference ------------------------------------- */

typedef struct producer producer;

typedef struct loadq {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    posts_batch items[QUEUE_CAP];
    size_t head, n;
    int live; /* producers still running */
    int stop;
    uint64_t taken; /* posts handed to the consumer (limit) */
} loadq;

struct producer {
    posts_pipeline *pl;
    loadq *q;
    unsigned which;
    posts_source *src;
    posts_source_stats st;
    uint64_t next_ns;
    int rc;
    posts_err err;
    pthread_t thread;
    pp_span span;
};

/* Consume one batch: preprocess and score it. */
static int consume(posts_pipeline *pl, posts_batch *b, posts_pipeline_result *res,
                   double *score_sum, float *scores, posts_err *err)
{
    size_t first = pl->feats.n;
    uint64_t t0 = posts__now_ns();
    posts_preprocess_stats ps = {0};
    int rc = posts_preprocess_batch(pl->pre, b, &pl->feats, &ps);
    uint64_t t1 = posts__now_ns();
    res->preprocess_ns += t1 - t0;
    res->invalid_utf8 += ps.invalid_utf8;
    res->tokens += ps.tokens;
    if (rc != PP_OK) {
        posts_err_set(err, "preprocess: %s", pp_strerror(rc));
        return rc;
    }
    for (size_t i = 0; i < b->n; i++)
        res->posts_checksum += posts_post_hash(&b->posts[i]);
    res->posts_loaded += b->n;
    {
        PP_SCOPE("posts.infer.batch");
        if ((rc = posts_model_predict(pl->model, &pl->feats, first, b->n, scores)) != PP_OK) {
            posts_err_set(err, "inference: %s", pp_strerror(rc));
            return rc;
        }
    }
    res->infer_ns += posts__now_ns() - t1;
    for (size_t i = 0; i < b->n; i++)
        *score_sum += scores[i];
    return PP_OK;
}

/* Posts to ask a source for next: a batch, or what its per-source limit leaves. */
static size_t per_source_want(const posts_config *cfg, uint64_t from_this_source)
{
    if (!cfg->limit_per_source)
        return cfg->batch_size;
    if (from_this_source >= cfg->limit_per_source)
        return 0;
    uint64_t left = cfg->limit_per_source - from_this_source;
    return left < cfg->batch_size ? (size_t)left : cfg->batch_size;
}

static void *produce(void *arg)
{
    producer *p = arg;
    loadq *q = p->q;
    const posts_config *cfg = &p->pl->cfg;
    posts_batch b = {0};
    uint64_t from_here = 0;
    for (;;) {
        size_t want = per_source_want(cfg, from_here);
        if (want == 0)
            break;
        pthread_mutex_lock(&q->mu);
        int stop = q->stop;
        pthread_mutex_unlock(&q->mu);
        if (stop)
            break;
        uint64_t t0 = posts__now_ns();
        long n;
        {
            PP_SCOPE("posts.load.batch");
            n = posts_source_next(p->src, &b, want, &p->err);
        }
        p->next_ns += posts__now_ns() - t0;
        if (n < 0) {
            p->rc = (int)n;
            break;
        }
        if (n == 0)
            break;
        from_here += (uint64_t)n;
        pthread_mutex_lock(&q->mu);
        while (q->n == QUEUE_CAP && !q->stop)
            pthread_cond_wait(&q->cv, &q->mu);
        if (q->stop) {
            pthread_mutex_unlock(&q->mu);
            break;
        }
        q->items[(q->head + q->n) % QUEUE_CAP] = b;
        q->n++;
        memset(&b, 0, sizeof b);
        pthread_cond_broadcast(&q->cv);
        pthread_mutex_unlock(&q->mu);
    }
    posts_batch_release(&b);
    pthread_mutex_lock(&q->mu);
    q->live--;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    if (p->rc)
        PP_ASYNC_END_FAILED(p->span);
    else
        PP_ASYNC_END(p->span);
    return NULL;
}

static size_t cap_batch(posts_batch *b, const posts_config *cfg, uint64_t loaded)
{
    if (cfg->limit && loaded + b->n > cfg->limit) {
        size_t keep = (size_t)(cfg->limit - loaded);
        for (size_t i = keep; i < b->n; i++)
            free(b->posts[i].text);
        b->n = keep;
    }
    return b->n;
}

int posts_pipeline_load(posts_pipeline *pl, posts_pipeline_result *res, posts_err *err)
{
    PP_SCOPE_MEM("posts.pipeline.load");
    const posts_config *cfg = &pl->cfg;
    producer prod[MAX_SOURCES];
    unsigned order[MAX_SOURCES] = {POSTS_SRC_DATABASE, POSTS_SRC_FILE, POSTS_SRC_API};
    int np = 0, rc = PP_OK;
    char err_first[200] = "";
    double score_sum = 0;
    float *scores = malloc(cfg->batch_size * sizeof *scores);
    posts_batch b = {0};
    loadq q;
    memset(&q, 0, sizeof q);
    memset(prod, 0, sizeof prod);
    pthread_mutex_init(&q.mu, NULL);
    pthread_cond_init(&q.cv, NULL);
    uint64_t t_start = posts__now_ns();
    if (!scores) {
        rc = PP_ENOMEM;
        goto out;
    }
    for (int i = 0; i < MAX_SOURCES; i++) {
        if (!(cfg->sources & order[i]))
            continue;
        producer *p = &prod[np];
        p->pl = pl;
        p->q = &q;
        p->which = order[i];
        if ((rc = posts_open_source(cfg, order[i], NULL, NULL, &p->src, err)) != PP_OK)
            goto out;
        np++;
    }
    if (!cfg->concurrent_load) {
        for (int i = 0; i < np && rc == PP_OK; i++) {
            producer *p = &prod[i];
            PP_SCOPE("posts.load.source");
            uint64_t from_here = 0;
            for (;;) {
                if (cfg->limit && res->posts_loaded >= cfg->limit)
                    break;
                size_t want = per_source_want(cfg, from_here);
                if (want == 0)
                    break;
                uint64_t t0 = posts__now_ns();
                long n;
                {
                    PP_SCOPE("posts.load.batch");
                    n = posts_source_next(p->src, &b, want, err);
                }
                if (n > 0)
                    from_here += (uint64_t)n;
                res->load_ns += posts__now_ns() - t0;
                if (n < 0) {
                    rc = (int)n;
                    break;
                }
                if (n == 0)
                    break;
                if (cap_batch(&b, cfg, res->posts_loaded) &&
                    (rc = consume(pl, &b, res, &score_sum, scores, err)) != PP_OK)
                    break;
                posts_batch_clear(&b);
            }
        }
    } else {
        q.live = np;
        for (int i = 0; i < np; i++) {
            PP_ASYNC_BEGIN(prod[i].span, "posts.load.source_async");
            if (pthread_create(&prod[i].thread, NULL, produce, &prod[i]) != 0) {
                PP_ASYNC_END_FAILED(prod[i].span);
                pthread_mutex_lock(&q.mu);
                q.live--;
                pthread_mutex_unlock(&q.mu);
                prod[i].rc = PP_ENOMEM;
                prod[i].thread = 0;
            }
        }
        for (;;) {
            pthread_mutex_lock(&q.mu);
            while (q.n == 0 && q.live > 0)
                pthread_cond_wait(&q.cv, &q.mu);
            if (q.n == 0) {
                pthread_mutex_unlock(&q.mu);
                break;
            }
            posts_batch item = q.items[q.head];
            q.head = (q.head + 1) % QUEUE_CAP;
            q.n--;
            pthread_cond_broadcast(&q.cv);
            pthread_mutex_unlock(&q.mu);
            int full = 0;
            if (cap_batch(&item, cfg, res->posts_loaded) && rc == PP_OK)
                rc = consume(pl, &item, res, &score_sum, scores, err);
            full = cfg->limit && res->posts_loaded >= cfg->limit;
            posts_batch_release(&item);
            if (rc != PP_OK || full) {
                pthread_mutex_lock(&q.mu);
                q.stop = 1;
                pthread_cond_broadcast(&q.cv);
                pthread_mutex_unlock(&q.mu);
            }
        }
        for (int i = 0; i < np; i++) {
            if (prod[i].thread)
                pthread_join(prod[i].thread, NULL);
            if (prod[i].next_ns > res->load_ns)
                res->load_ns = prod[i].next_ns; /* the critical path */
            if (prod[i].rc && rc == PP_OK) {
                rc = prod[i].rc;
                if (err)
                    *err = prod[i].err;
            }
        }
        while (q.n) {
            posts_batch_release(&q.items[q.head]);
            q.head = (q.head + 1) % QUEUE_CAP;
            q.n--;
        }
    }
    for (int i = 0; i < np; i++) {
        posts_source_stats st;
        posts_source_stats_get(prod[i].src, &st);
        if (rc == PP_OK && st.rows_rejected && !st.posts)
            pp_log(PP_LOG_WARN, "posts.pipeline", "every_row_rejected", "source",
                   posts_source_name(prod[i].src), "first", st.first_reject, NULL);
        if (rc == PP_OK && st.rows_rejected && !res->posts_loaded && !err_first[0])
            snprintf(err_first, sizeof err_first, "%s %s", posts_source_name(prod[i].src),
                     st.first_reject);
        res->rows_rejected += st.rows_rejected;
        res->duplicate_ids += st.duplicate_ids;
        res->bytes_loaded += st.bytes;
        res->db_fullscan_steps += st.db_fullscan_steps;
        res->connections_opened += st.connections_opened;
        res->connections_reused += st.connections_reused;
    }
    if (res->posts_loaded)
        res->mean_score = score_sum / (double)res->posts_loaded;
    if (rc == PP_OK && !res->posts_loaded && res->rows_rejected) {
        /* nothing usable: a run over no posts would look like success */
        posts_err_set(err, "every row was rejected (%" PRIu64 "; first: %s)", res->rows_rejected,
                      err_first);
        rc = PP_EFORMAT;
    }
out:
    res->total_ns += posts__now_ns() - t_start;
    if (rc == PP_ENOMEM && err && !err->msg[0])
        posts_err_set(err, "out of memory");
    for (int i = 0; i < np; i++)
        posts_source_close(prod[i].src);
    posts_batch_release(&b);
    pthread_mutex_destroy(&q.mu);
    pthread_cond_destroy(&q.cv);
    free(scores);
    return rc;
}

/* ---- stage 4: feed requests ---------------------------------------------------------- */

typedef struct ranked {
    float score;
    int64_t id;
} ranked;

static int cmp_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    return (x->id > y->id) - (x->id < y->id);
}

static int gather(posts_feature_batch *dst, const posts_feature_batch *src, const size_t *which,
                  size_t n)
{
    posts_feature_batch_clear(dst);
    size_t nnz = 0;
    for (size_t i = 0; i < n; i++)
        nnz += src->f[which[i]].nnz;
    if (posts__fb_reserve(dst, n, nnz) != PP_OK)
        return PP_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const posts_features *f = &src->f[which[i]];
        memcpy(dst->idx + dst->nnz, src->idx + f->off, f->nnz * sizeof *dst->idx);
        memcpy(dst->val + dst->nnz, src->val + f->off, f->nnz * sizeof *dst->val);
        dst->f[i] = *f;
        dst->f[i].off = (uint32_t)dst->nnz;
        dst->nnz += f->nnz;
    }
    dst->n = n;
    return PP_OK;
}

int posts_pipeline_serve(posts_pipeline *pl, posts_pipeline_result *res, posts_err *err)
{
    PP_SCOPE_MEM("posts.pipeline.serve");
    const posts_config *cfg = &pl->cfg;
    size_t n = pl->feats.n;
    if (n == 0) {
        posts_err_set(err, "serve: no posts loaded");
        return PP_ESTATE;
    }
    size_t nc = cfg->candidates, k = cfg->top_k < nc ? cfg->top_k : nc;
    int rc = PP_ENOMEM;
    posts_zipf *z = NULL;
    size_t *perm = malloc(n * sizeof *perm), *cand = malloc(nc * sizeof *cand),
           *miss = malloc(nc * sizeof *miss);
    char *keybuf = malloc(nc * 48);
    const char **keys = malloc(nc * sizeof *keys);
    float *vals = malloc(nc * sizeof *vals), *mscores = malloc(nc * sizeof *mscores);
    float *mvals = malloc(nc * sizeof *mvals);
    const char **mkeys = malloc(nc * sizeof *mkeys);
    uint8_t *hit = malloc(nc);
    ranked *rk = malloc(nc * sizeof *rk);
    uint64_t t0 = posts__now_ns();
    double feed_sum = 0;
    posts_cache_stats before, after;
    posts_cache_stats_get(pl->cache, &before);
    if (!perm || !cand || !miss || !keybuf || !keys || !vals || !mscores || !mvals || !mkeys ||
        !hit || !rk)
        goto out;
    if ((rc = posts_zipf_new(n, cfg->zipf_s, cfg->seed, &z)) != PP_OK)
        goto out;
    /* popularity rank -> post: a fixed shuffle, so popular posts are spread over ids */
    posts__rng r = {posts__mix64(cfg->seed + 17)};
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)posts__rng_below(&r, i + 1), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (size_t req = 0; req < cfg->requests; req++) {
        PP_SCOPE("posts.serve.request");
        pp_span span;
        PP_ASYNC_BEGIN(span, "posts.serve.request_async");
        for (size_t i = 0; i < nc; i++) {
            cand[i] = perm[posts_zipf_next(z)];
            keys[i] = keybuf + i * 48;
            posts_cache_key(pl->version, pl->feats.f[cand[i]].post_id, keybuf + i * 48, 48);
        }
        posts_cache_get_many(pl->cache, keys, nc, vals, sizeof(float), hit);
        size_t nm = 0;
        for (size_t i = 0; i < nc; i++)
            if (!hit[i])
                miss[nm++] = cand[i];
        if (nm) {
            PP_SCOPE("posts.serve.infer_misses");
            if ((rc = gather(&pl->scratch, &pl->feats, miss, nm)) != PP_OK ||
                (rc = posts_model_predict(pl->model, &pl->scratch, 0, nm, mscores)) != PP_OK) {
                PP_ASYNC_END_FAILED(span);
                posts_err_set(err, "serve: inference: %s", pp_strerror(rc));
                goto out;
            }
            size_t m = 0;
            for (size_t i = 0; i < nc; i++)
                if (!hit[i]) {
                    vals[i] = mscores[m];
                    mvals[m] = mscores[m];
                    mkeys[m] = keys[i];
                    m++;
                }
            posts_cache_put_many(pl->cache, mkeys, nm, mvals, sizeof(float));
        }
        for (size_t i = 0; i < nc; i++)
            rk[i] = (ranked){vals[i], pl->feats.f[cand[i]].post_id};
        qsort(rk, nc, sizeof *rk, cmp_ranked);
        if (req == 0)
            res->first_feed_top = rk[0].id;
        double top = 0;
        for (size_t i = 0; i < k; i++)
            top += rk[i].score;
        feed_sum += top / (double)k;
        res->scored += nc;
        res->requests++;
        PP_ASYNC_END(span);
        if (pl->hook)
            pl->hook(pl->hook_user, req);
    }
    rc = PP_OK;
out:
    if (res->requests)
        res->feed_mean_score = feed_sum / (double)res->requests;
    posts_cache_stats_get(pl->cache, &after);
    res->cache_hits += after.hits - before.hits;
    res->cache_misses += after.misses - before.misses;
    res->cache_errors += after.errors - before.errors;
    uint64_t dt = posts__now_ns() - t0;
    res->serve_ns += dt;
    res->total_ns += dt;
    if (rc == PP_ENOMEM && err && !err->msg[0])
        posts_err_set(err, "serve: out of memory");
    posts_zipf_free(z);
    free(perm);
    free(cand);
    free(miss);
    free(keybuf);
    free(keys);
    free(vals);
    free(mscores);
    free(mvals);
    free(mkeys);
    free(hit);
    free(rk);
    return rc;
}

int posts_pipeline_run(const posts_config *cfg, posts_pipeline_result *res, posts_err *err)
{
    PP_SCOPE_MEM("posts.pipeline.run");
    posts_pipeline *pl = NULL;
    memset(res, 0, sizeof *res);
    int rc = posts_pipeline_new(cfg, &pl, err);
    if (rc != PP_OK)
        return rc;
    rc = posts_pipeline_load(pl, res, err);
    if (rc == PP_OK && cfg->requests && res->posts_loaded)
        rc = posts_pipeline_serve(pl, res, err);
    posts_pipeline_free(pl);
    return rc;
}
