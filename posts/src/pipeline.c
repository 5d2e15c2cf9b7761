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
#include <time.h>

#include <postprof/causal.h>
#include <postprof/log.h>
#include <postprof/scope.h>
#include <posts/api_server.h>
#include <posts/pipeline.h>

#include "internal.h"

#define QUEUE_CAP 8
#define MAX_SOURCES 3
#define SLOW_MAX 16

/* A test and benchmark aid (docs/causal.md, Accuracy): POSTS_SLOW_PREPROCESS,
 * POSTS_SLOW_INFER or POSTS_SLOW_LOAD = K makes every batch's preprocess
 * (inference, load) really run K times, the extra results discarded (an extra
 * load reads the same rows from a second copy of the source, opened at every
 * pass of a list with a factor above 1, and frees them inside its own
 * posts.load.batch scope: all its work is the scope's), so that K = 2
 * -> 1 is a real 50 % speedup of that stage scope. A list K0,K1,... gives this pipeline's load
 * pass i the factor K[i % n], for interleaved measurements in one process.
 * Unset: 1, nothing changes. */
typedef struct slow_factor {
    unsigned k[SLOW_MAX];
    unsigned n;
} slow_factor;

/* The largest factor of a list (1 when unset). */
static unsigned slow_max(const slow_factor *f)
{
    unsigned m = 1;
    for (unsigned i = 0; i < f->n; i++)
        if (f->k[i] > m)
            m = f->k[i];
    return m;
}

struct posts_pipeline {
    posts_config cfg;
    posts_model *model;
    posts_cache *cache;
    posts_preprocessor *pre;
    posts_feature_batch feats; /* every loaded post, in load order */
    posts_api_server *api;
    char api_url[POSTS_PATH_MAX];
    uint32_t version;
    posts_request_hook hook;
    void *hook_user;
    double cpu0;    /* extra_work: process CPU time when the pipeline was made */
    int extra_done; /* extra_work: done (once per pipeline) */
    slow_factor slow_pre, slow_infer, slow_load; /* POSTS_SLOW_PREPROCESS, _INFER, _LOAD */
    unsigned k_pre, k_infer, k_load;             /* this load pass's factors */
    uint64_t passes;                             /* load passes begun */
    posts_feature_batch slow_feats;              /* the extra preprocess results, discarded */
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

static void slow_parse(const char *name, slow_factor *f)
{
    const char *v = getenv(name);
    f->n = 0;
    while (v && *v && f->n < SLOW_MAX) {
        char *end;
        unsigned long k = strtoul(v, &end, 10);
        if (end == v || k < 1 || k > 100 || (*end && *end != ','))
            break;
        f->k[f->n++] = (unsigned)k;
        v = *end ? end + 1 : end;
    }
    if (!f->n)
        f->k[f->n++] = 1;
}

static double process_cpu_s(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0)
        return 0;
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The extra_work test knob, once, at the end of the pipeline's work (the end
 * of serving, or of loading when nothing is served): compute on until the
 * process has used (1 + fraction) times the CPU time it used since the
 * pipeline was made, so the run costs that fraction more, whatever this
 * machine's load did to the pipeline's own work. */
static void extra_work(posts_pipeline *pl)
{
    if (!(pl->cfg.extra_work > 0) || pl->extra_done)
        return;
    pl->extra_done = 1;
    PP_SCOPE("posts.pipeline.extra_work");
    double target = pl->cpu0 + (process_cpu_s() - pl->cpu0) * (1.0 + pl->cfg.extra_work);
    volatile uint64_t sink = 0;
    uint64_t h = 0x9e3779b97f4a7c15u;
    while (process_cpu_s() < target) {
        for (int i = 0; i < 4096; i++) { /* ~10 us of mixing between clock reads */
            h = h * 6364136223846793005u + 1442695040888963407u;
            h ^= h >> 29;
        }
        sink = h;
    }
    (void)sink;
}

int posts_pipeline_new(const posts_config *cfg, posts_pipeline **out, posts_err *err)
{
    PP_SCOPE_MEM("posts.pipeline.new");
    *out = NULL;
    int rc = PP_ENOMEM;
    posts_pipeline *pl = calloc(1, sizeof *pl);
    if (!pl)
        return PP_ENOMEM;
    pl->cpu0 = cfg->extra_work > 0 ? process_cpu_s() : 0;
    pl->cfg = *cfg;
    slow_parse("POSTS_SLOW_PREPROCESS", &pl->slow_pre);
    slow_parse("POSTS_SLOW_INFER", &pl->slow_infer);
    slow_parse("POSTS_SLOW_LOAD", &pl->slow_load);
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
    posts_feature_batch_release(&pl->slow_feats);
    free(pl);
}

/* ---- stage 1-3: load, preprocess, bulk inference ------------------------------------- */

/* The one "posts.load.batch" scope; discard: the rows freed inside it (an
 * extra load of POSTS_SLOW_LOAD, all of whose work is the scope's). */
static long load_scoped(posts_source *src, posts_batch *b, size_t want, posts_err *err, int discard)
{
    PP_SCOPE("posts.load.batch");
    long n = posts_source_next(src, b, want, err);
    if (discard)
        posts_batch_clear(b);
    return n;
}

long posts__load_batch(posts_source *src, posts_batch *b, size_t want, posts_err *err)
{
    return load_scoped(src, b, want, err, 0);
}

int posts__infer_batch(posts_model *m, const posts_feature_batch *fb, size_t first, size_t n,
                       float *scores)
{
    PP_SCOPE("posts.infer.batch");
    return posts_model_predict(m, fb, first, n, scores);
}

/*
 * The loader: the sources read in turn, or each by its own producer thread
 * into a bounded queue the calling thread consumes from. The producer threads
 * start at the first concurrent run and wait between runs, so a caller that
 * loads in many runs (profile.c, one batch per source per run) pays their
 * start once, as a pass does.
 */
typedef struct producer {
    unsigned i;
    uint64_t next_ns; /* time in posts_source_next this run */
    uint64_t rows;
    int rc;
    posts_err err;
    pp_span span;
} producer;

struct posts__loader {
    posts_source *const *src; /* the caller's array, read at each run */
    unsigned n;
    posts_source *const *twin; /* POSTS_SLOW_LOAD: second copies of the sources, or NULL */
    unsigned k_load;           /* ... each batch loaded k_load times, the extra ones discarded */
    pthread_t th[POSTS__LOAD_MAX_SOURCES];
    unsigned n_started;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* queue: items or space, producers done, stop */
    pthread_cond_t go; /* a new run (gen) or quit */
    unsigned gen;
    int quit;
    /* this run */
    size_t batch;
    uint64_t per_source;
    posts_batch items[QUEUE_CAP];
    size_t head, qn;
    int live; /* producers still running */
    int stop;
    producer prod[POSTS__LOAD_MAX_SOURCES];
};

int posts__loader_new(posts_source *const *src, unsigned n, posts__loader **out)
{
    *out = NULL;
    if (n > POSTS__LOAD_MAX_SOURCES)
        return PP_EINVAL;
    posts__loader *l = calloc(1, sizeof *l);
    if (!l)
        return PP_ENOMEM;
    l->src = src;
    l->n = n;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    pthread_cond_init(&l->go, NULL);
    *out = l;
    return PP_OK;
}

void posts__loader_free(posts__loader *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    l->quit = 1;
    pthread_cond_broadcast(&l->go);
    pthread_mutex_unlock(&l->mu);
    for (unsigned i = 0; i < l->n_started; i++)
        pthread_join(l->th[i], NULL);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    pthread_cond_destroy(&l->go);
    free(l);
}

/* Rows to ask a source for next: a batch, or what its per-source limit leaves. */
static size_t per_source_want(size_t batch, uint64_t per_source, uint64_t from_this_source)
{
    if (!per_source)
        return batch;
    if (from_this_source >= per_source)
        return 0;
    uint64_t left = per_source - from_this_source;
    return left < batch ? (size_t)left : batch;
}

/* A batch from source i, loaded again k_load - 1 times from its twin and
 * discarded (POSTS_SLOW_LOAD): each load its own posts.load.batch scope,
 * its rows freed inside it, so that all the extra work is the scope's. */
static long load_batch(posts__loader *l, unsigned i, posts_batch *b, size_t want, posts_err *err)
{
    long n = posts__load_batch(l->src[i], b, want, err);
    if (n > 0 && l->twin && l->twin[i] && l->k_load > 1) {
        posts_batch extra = {0};
        posts_err ignored = {{0}};
        for (unsigned k = 1; k < l->k_load; k++)
            (void)load_scoped(l->twin[i], &extra, want, &ignored, 1);
        posts_batch_release(&extra);
    }
    return n;
}

/* One producer's run: its source's batches into the queue until done or stopped. */
static void produce(posts__loader *l, producer *p)
{
    posts_batch b = {0};
    uint64_t from_here = 0;
    for (;;) {
        size_t want = per_source_want(l->batch, l->per_source, from_here);
        if (want == 0)
            break;
        pthread_mutex_lock(&l->mu);
        int stop = l->stop;
        pthread_mutex_unlock(&l->mu);
        if (stop)
            break;
        uint64_t t0 = posts__now_ns();
        long n = load_batch(l, p->i, &b, want, &p->err);
        p->next_ns += posts__now_ns() - t0;
        if (n < 0) {
            p->rc = (int)n;
            break;
        }
        if (n == 0)
            break;
        from_here += (uint64_t)n;
        p->rows += (uint64_t)n;
        pthread_mutex_lock(&l->mu);
        while (l->qn == QUEUE_CAP && !l->stop)
            pthread_cond_wait(&l->cv, &l->mu);
        if (l->stop) {
            pthread_mutex_unlock(&l->mu);
            break;
        }
        l->items[(l->head + l->qn) % QUEUE_CAP] = b;
        l->qn++;
        memset(&b, 0, sizeof b);
        pthread_cond_broadcast(&l->cv);
        pthread_mutex_unlock(&l->mu);
    }
    posts_batch_release(&b);
    pp_span span = p->span;
    int failed = p->rc != PP_OK;
    pthread_mutex_lock(&l->mu);
    l->live--;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    if (failed)
        PP_ASYNC_END_FAILED(span);
    else
        PP_ASYNC_END(span);
}

typedef struct {
    posts__loader *l;
    unsigned i;
    unsigned seen; /* the run generation when the thread was started */
} producer_arg;

static void *producer_main(void *arg)
{
    producer_arg a = *(producer_arg *)arg;
    free(arg);
    posts__loader *l = a.l;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (l->gen == a.seen && !l->quit)
            pthread_cond_wait(&l->go, &l->mu);
        if (l->quit)
            break;
        a.seen = l->gen;
        pthread_mutex_unlock(&l->mu);
        produce(l, &l->prod[a.i]);
        pthread_mutex_lock(&l->mu);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

static int start_producers(posts__loader *l)
{
    while (l->n_started < l->n) {
        producer_arg *a = malloc(sizeof *a);
        if (!a)
            return PP_ENOMEM;
        *a = (producer_arg){l, l->n_started, l->gen};
        if (pthread_create(&l->th[l->n_started], NULL, producer_main, a) != 0) {
            free(a);
            return PP_ENOMEM;
        }
        l->n_started++;
    }
    return PP_OK;
}

/* Trim b so that loaded + b->n stays within limit (0: none); the rows kept. */
static size_t cap_batch(posts_batch *b, uint64_t limit, uint64_t loaded)
{
    if (limit && loaded + b->n > limit) {
        size_t keep = loaded < limit ? (size_t)(limit - loaded) : 0;
        for (size_t i = keep; i < b->n; i++)
            free(b->posts[i].text);
        b->n = keep;
    }
    return b->n;
}

static int run_sequential(posts__loader *l, posts__load_run *run, posts__consume_fn fn, void *user,
                          posts_err *err)
{
    posts_batch b = {0};
    int rc = PP_OK;
    for (unsigned i = 0; i < l->n && rc == PP_OK; i++) {
        PP_SCOPE("posts.load.source");
        uint64_t from_here = 0;
        for (;;) {
            if (run->limit && run->loaded >= run->limit)
                break;
            size_t want = per_source_want(run->batch, run->per_source, from_here);
            if (want == 0)
                break;
            uint64_t t0 = posts__now_ns();
            long n = load_batch(l, i, &b, want, err);
            run->load_ns += posts__now_ns() - t0;
            if (n < 0) {
                rc = (int)n;
                break;
            }
            if (n == 0)
                break;
            from_here += (uint64_t)n;
            run->rows[i] += (uint64_t)n;
            if (cap_batch(&b, run->limit, run->loaded)) {
                if ((rc = fn(user, &b, err)) != PP_OK)
                    break;
                run->loaded += b.n;
            }
            posts_batch_clear(&b);
        }
    }
    posts_batch_release(&b);
    return rc;
}

static int run_concurrent(posts__loader *l, posts__load_run *run, posts__consume_fn fn, void *user,
                          posts_err *err)
{
    int rc = start_producers(l);
    if (rc != PP_OK)
        return rc;
    pthread_mutex_lock(&l->mu);
    l->batch = run->batch;
    l->per_source = run->per_source;
    l->head = l->qn = 0;
    l->stop = 0;
    l->live = (int)l->n;
    for (unsigned i = 0; i < l->n; i++) {
        memset(&l->prod[i], 0, sizeof l->prod[i]);
        l->prod[i].i = i;
        PP_ASYNC_BEGIN(l->prod[i].span, "posts.load.source_async");
    }
    l->gen++;
    pthread_cond_broadcast(&l->go);
    for (;;) {
        while (l->qn == 0 && l->live > 0)
            pthread_cond_wait(&l->cv, &l->mu);
        if (l->qn == 0)
            break;
        posts_batch item = l->items[l->head];
        l->head = (l->head + 1) % QUEUE_CAP;
        l->qn--;
        pthread_cond_broadcast(&l->cv);
        pthread_mutex_unlock(&l->mu);
        if (cap_batch(&item, run->limit, run->loaded) && rc == PP_OK) {
            rc = fn(user, &item, err);
            if (rc == PP_OK)
                run->loaded += item.n;
        }
        int full = run->limit && run->loaded >= run->limit;
        posts_batch_release(&item);
        pthread_mutex_lock(&l->mu);
        if (rc != PP_OK || full) {
            l->stop = 1;
            pthread_cond_broadcast(&l->cv);
        }
    }
    pthread_mutex_unlock(&l->mu);
    /* every producer is done with this run: its figures are ours to read */
    for (unsigned i = 0; i < l->n; i++) {
        producer *p = &l->prod[i];
        if (p->next_ns > run->load_ns)
            run->load_ns = p->next_ns; /* the critical path */
        run->rows[i] += p->rows;
        if (p->rc != PP_OK && rc == PP_OK) {
            rc = p->rc;
            if (err)
                *err = p->err;
        }
    }
    return rc;
}

int posts__loader_run(posts__loader *l, posts__load_run *run, posts__consume_fn fn, void *user,
                      posts_err *err)
{
    run->loaded = 0;
    run->load_ns = 0;
    memset(run->rows, 0, sizeof run->rows);
    if (run->batch == 0)
        return PP_EINVAL;
    return run->concurrent ? run_concurrent(l, run, fn, user, err)
                           : run_sequential(l, run, fn, user, err);
}

typedef struct consume_ctx {
    posts_pipeline *pl;
    posts_pipeline_result *res;
    double score_sum;
    float *scores;
} consume_ctx;

/* Consume one batch: preprocess and score it. */
static int consume(void *user, posts_batch *b, posts_err *err)
{
    consume_ctx *c = user;
    posts_pipeline *pl = c->pl;
    posts_pipeline_result *res = c->res;
    size_t first = pl->feats.n;
    uint64_t t0 = posts__now_ns();
    posts_preprocess_stats ps = {0};
    int rc = posts_preprocess_batch(pl->pre, b, &pl->feats, &ps);
    for (unsigned k = 1; k < pl->k_pre && rc == PP_OK; k++) {
        posts_feature_batch_clear(&pl->slow_feats); /* POSTS_SLOW_PREPROCESS: again, discarded */
        rc = posts_preprocess_batch(pl->pre, b, &pl->slow_feats, NULL);
    }
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
    for (unsigned k = 0; k < pl->k_infer; k++) /* POSTS_SLOW_INFER: the same scores again */
        if ((rc = posts__infer_batch(pl->model, &pl->feats, first, b->n, c->scores)) != PP_OK) {
            posts_err_set(err, "inference: %s", pp_strerror(rc));
            return rc;
        }
    res->infer_ns += posts__now_ns() - t1;
    for (size_t i = 0; i < b->n; i++)
        c->score_sum += c->scores[i];
    /* one batch of posts loaded, preprocessed and scored: the unit of work of
     * the loading phase, for `postprof causal` and run's causal phase */
    PP_PROGRESS("posts.batch_scored");
    return PP_OK;
}

int posts_pipeline_load(posts_pipeline *pl, posts_pipeline_result *res, posts_err *err)
{
    PP_SCOPE_MEM("posts.pipeline.load");
    const posts_config *cfg = &pl->cfg;
    posts_source *src[MAX_SOURCES] = {0}, *twin[MAX_SOURCES] = {0};
    unsigned order[MAX_SOURCES] = {POSTS_SRC_DATABASE, POSTS_SRC_FILE, POSTS_SRC_API};
    unsigned np = 0;
    int rc = PP_OK;
    char err_first[200] = "";
    posts__loader *l = NULL;
    consume_ctx c = {pl, res, 0, malloc(cfg->batch_size * sizeof(float))};
    uint64_t t_start = posts__now_ns();
    pl->k_pre = pl->slow_pre.k[pl->passes % pl->slow_pre.n];
    pl->k_infer = pl->slow_infer.k[pl->passes % pl->slow_infer.n];
    pl->k_load = pl->slow_load.k[pl->passes % pl->slow_load.n];
    pl->passes++;
    if (!c.scores) {
        rc = PP_ENOMEM;
        goto out;
    }
    for (int i = 0; i < MAX_SOURCES; i++) {
        if (!(cfg->sources & order[i]))
            continue;
        if ((rc = posts_open_source(cfg, order[i], NULL, NULL, &src[np], err)) != PP_OK)
            goto out;
        /* twins for every pass of a list with a factor above 1, its passes
         * at 1 included: opening them is work outside posts.load.batch,
         * the same at every factor, not part of the stage's slowdown */
        if (slow_max(&pl->slow_load) > 1 &&
            (rc = posts_open_source(cfg, order[i], NULL, NULL, &twin[np], err)) != PP_OK) {
            np++;
            goto out;
        }
        np++;
    }
    if ((rc = posts__loader_new(src, np, &l)) != PP_OK)
        goto out;
    if (slow_max(&pl->slow_load) > 1) {
        l->twin = twin;
        l->k_load = pl->k_load;
    }
    posts__load_run run = {.concurrent = cfg->concurrent_load,
                           .batch = cfg->batch_size,
                           .per_source = cfg->limit_per_source,
                           .limit = cfg->limit};
    rc = posts__loader_run(l, &run, consume, &c, err);
    res->load_ns += run.load_ns;
    for (unsigned i = 0; i < np; i++) {
        posts_source_stats st;
        posts_source_stats_get(src[i], &st);
        if (rc == PP_OK && st.rows_rejected && !st.posts)
            pp_log(PP_LOG_WARN, "posts.pipeline", "every_row_rejected", "source",
                   posts_source_name(src[i]), "first", st.first_reject, NULL);
        if (rc == PP_OK && st.rows_rejected && !res->posts_loaded && !err_first[0])
            snprintf(err_first, sizeof err_first, "%s %s", posts_source_name(src[i]),
                     st.first_reject);
        res->rows_rejected += st.rows_rejected;
        res->duplicate_ids += st.duplicate_ids;
        res->bytes_loaded += st.bytes;
        res->db_fullscan_steps += st.db_fullscan_steps;
        res->connections_opened += st.connections_opened;
        res->connections_reused += st.connections_reused;
    }
    if (res->posts_loaded)
        res->mean_score = c.score_sum / (double)res->posts_loaded;
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
    posts__loader_free(l);
    for (unsigned i = 0; i < np; i++) {
        posts_source_close(src[i]);
        posts_source_close(twin[i]);
    }
    free(c.scores);
    return rc;
}

/* ---- stage 4: feed requests ---------------------------------------------------------- */

/* Candidates: Zipf popularity over slots, popularity rank -> slot by a fixed
 * shuffle, so popular posts are spread over ids. */
struct posts__feed {
    posts_zipf *z;
    size_t *perm;
};

int posts__feed_new(size_t n, double zipf_s, uint64_t seed, posts__feed **out)
{
    *out = NULL;
    if (n == 0)
        return PP_EINVAL;
    posts__feed *f = calloc(1, sizeof *f);
    if (!f)
        return PP_ENOMEM;
    f->perm = malloc(n * sizeof *f->perm);
    int rc = f->perm ? posts_zipf_new(n, zipf_s, seed, &f->z) : PP_ENOMEM;
    if (rc != PP_OK) {
        posts__feed_free(f);
        return rc;
    }
    posts__rng r = {posts__mix64(seed + 17)};
    for (size_t i = 0; i < n; i++)
        f->perm[i] = i;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)posts__rng_below(&r, i + 1), t = f->perm[i];
        f->perm[i] = f->perm[j];
        f->perm[j] = t;
    }
    *out = f;
    return PP_OK;
}

size_t posts__feed_next(posts__feed *f)
{
    return f->perm[posts_zipf_next(f->z)];
}

void posts__feed_free(posts__feed *f)
{
    if (!f)
        return;
    posts_zipf_free(f->z);
    free(f->perm);
    free(f);
}

typedef struct ranked {
    float score;
    int64_t id;
} ranked;

/* A feed request's buffers, sized for `candidates` once. */
struct posts__server {
    size_t nc, k;
    size_t *miss;
    char *keybuf;
    const char **keys, **mkeys;
    float *vals, *mscores, *mvals;
    uint8_t *hit;
    ranked *rk;
    posts_feature_batch scratch; /* the misses' features, gathered */
};

int posts__server_new(size_t candidates, size_t top_k, posts__server **out)
{
    *out = NULL;
    if (candidates == 0)
        return PP_EINVAL;
    posts__server *s = calloc(1, sizeof *s);
    if (!s)
        return PP_ENOMEM;
    size_t nc = candidates;
    s->nc = nc;
    s->k = top_k;
    s->miss = malloc(nc * sizeof *s->miss);
    s->keybuf = malloc(nc * 48);
    s->keys = malloc(nc * sizeof *s->keys);
    s->mkeys = malloc(nc * sizeof *s->mkeys);
    s->vals = malloc(nc * sizeof *s->vals);
    s->mscores = malloc(nc * sizeof *s->mscores);
    s->mvals = malloc(nc * sizeof *s->mvals);
    s->hit = malloc(nc);
    s->rk = malloc(nc * sizeof *s->rk);
    if (!s->miss || !s->keybuf || !s->keys || !s->mkeys || !s->vals || !s->mscores || !s->mvals ||
        !s->hit || !s->rk) {
        posts__server_free(s);
        return PP_ENOMEM;
    }
    *out = s;
    return PP_OK;
}

void posts__server_free(posts__server *s)
{
    if (!s)
        return;
    free(s->miss);
    free(s->keybuf);
    free(s->keys);
    free(s->mkeys);
    free(s->vals);
    free(s->mscores);
    free(s->mvals);
    free(s->hit);
    free(s->rk);
    posts_feature_batch_release(&s->scratch);
    free(s);
}

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

int posts__serve_request(posts__server *s, posts_cache *cache, posts_model *model, uint32_t version,
                         const posts_feature_batch *feats, const size_t *cand, size_t nc,
                         posts__request *out, posts_err *err)
{
    PP_SCOPE("posts.serve.request");
    if (nc == 0 || nc > s->nc)
        return PP_EINVAL;
    pp_span span;
    PP_ASYNC_BEGIN(span, "posts.serve.request_async");
    size_t k = s->k < nc ? s->k : nc;
    for (size_t i = 0; i < nc; i++) {
        s->keys[i] = s->keybuf + i * 48;
        posts_cache_key(version, feats->f[cand[i]].post_id, s->keybuf + i * 48, 48);
    }
    posts_cache_get_many(cache, s->keys, nc, s->vals, sizeof(float), s->hit);
    size_t nm = 0;
    for (size_t i = 0; i < nc; i++)
        if (!s->hit[i])
            s->miss[nm++] = cand[i];
    if (nm) {
        PP_SCOPE("posts.serve.infer_misses");
        int rc;
        if ((rc = gather(&s->scratch, feats, s->miss, nm)) != PP_OK ||
            (rc = posts_model_predict(model, &s->scratch, 0, nm, s->mscores)) != PP_OK) {
            PP_ASYNC_END_FAILED(span);
            posts_err_set(err, "serve: inference: %s", pp_strerror(rc));
            return rc;
        }
        size_t m = 0;
        for (size_t i = 0; i < nc; i++)
            if (!s->hit[i]) {
                s->vals[i] = s->mscores[m];
                s->mvals[m] = s->mscores[m];
                s->mkeys[m] = s->keys[i];
                m++;
            }
        posts_cache_put_many(cache, s->mkeys, nm, s->mvals, sizeof(float));
    }
    for (size_t i = 0; i < nc; i++)
        s->rk[i] = (ranked){s->vals[i], feats->f[cand[i]].post_id};
    qsort(s->rk, nc, sizeof *s->rk, cmp_ranked);
    double top = 0;
    for (size_t i = 0; i < k; i++)
        top += s->rk[i].score;
    out->top_id = s->rk[0].id;
    out->top_mean = k ? top / (double)k : 0;
    PP_ASYNC_END(span);
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
    size_t nc = cfg->candidates;
    posts__feed *feed = NULL;
    posts__server *srv = NULL;
    size_t *cand = malloc(nc * sizeof *cand);
    uint64_t t0 = posts__now_ns();
    double feed_sum = 0;
    posts_cache_stats before, after;
    posts_cache_stats_get(pl->cache, &before);
    int rc = cand ? posts__server_new(nc, cfg->top_k, &srv) : PP_ENOMEM;
    if (rc == PP_OK)
        rc = posts__feed_new(n, cfg->zipf_s, cfg->seed, &feed);
    for (size_t req = 0; rc == PP_OK && req < cfg->requests; req++) {
        for (size_t i = 0; i < nc; i++)
            cand[i] = posts__feed_next(feed);
        posts__request rq;
        if ((rc = posts__serve_request(srv, pl->cache, pl->model, pl->version, &pl->feats, cand, nc,
                                       &rq, err)) != PP_OK)
            break;
        PP_PROGRESS("posts.request_served"); /* the unit of work of the serving phase */
        if (req == 0)
            res->first_feed_top = rq.top_id;
        feed_sum += rq.top_mean;
        res->scored += nc;
        res->requests++;
        if (pl->hook)
            pl->hook(pl->hook_user, req);
    }
    if (rc == PP_OK)
        extra_work(pl);
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
    posts__feed_free(feed);
    posts__server_free(srv);
    free(cand);
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
    if (rc == PP_OK)
        extra_work(pl); /* when nothing was served */
    posts_pipeline_free(pl);
    return rc;
}
