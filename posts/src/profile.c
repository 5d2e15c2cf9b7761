/*
 * profile.c - The LinkedIn-posts pipeline behind postprof's pp_workload
 * interface: each stage callable on its own with the knobs as they are now,
 * and whole end-to-end passes through the real pipeline. Every stage runs
 * the pipeline's own code (pipeline.c's loader, batch loads, inference and
 * feed requests; internal.h), so the experiments time what `postprof
 * pipeline` runs and hit the same scopes. Everything a stage needs (sources,
 * models, a feature pool, the cache trace) is prepared in posts_prof_new so
 * the timed calls do only the stage's own work.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/postprof.h>
#include <posts/posts.h>
#include <posts/profile.h>

#include "internal.h"

#define NSRC 3
#define NMODELS 3
#define POOL_POSTS 512

static const unsigned src_bits[NSRC] = {POSTS_SRC_DATABASE, POSTS_SRC_FILE, POSTS_SRC_API};

struct posts_prof {
    posts_prof_opts o;
    posts_config cfg; /* current knobs */
    int load_batch;
    pp_workload w;
    posts_api_server *api;
    posts_source *src[NSRC];
    /* the API source pages with the batch size of its first call: one open
     * source per load_batch an experiment alternates between */
    posts_source *api_alt;
    int api_alt_batch;
    posts__loader *loader; /* the pipeline's loader over src[], for PP_STAGE_LOAD_ALL */
    posts_batch load_buf[NSRC];
    posts_batch sample;      /* posts preprocessed by PP_STAGE_PREPROCESS */
    posts_preprocessor *pre; /* for the current threads/arena */
    int pre_threads, pre_arena;
    posts_feature_batch pre_out; /* reused output of PP_STAGE_PREPROCESS */
    posts_feature_batch pool;    /* features inference runs on */
    size_t pool_cursor;
    posts_model *model[NMODELS][2]; /* [size][quantized] */
    float *scores;
    uint64_t *trace;    /* post ids, in access order */
    size_t *trace_slot; /* the same accesses as slots of universe (id - 1) */
    size_t trace_n;
    /* every post id 1..n_posts as features (a pool post's, rows shared with pool):
     * what the feed requests of the cache replay score */
    posts_feature_batch universe;
    posts__server *server; /* feed requests of the cache replay */
    size_t server_nc;
    size_t n_posts; /* ids 1..n_posts exist */
};

void posts_prof_opts_init(posts_prof_opts *o)
{
    memset(o, 0, sizeof *o);
    posts_config_init(&o->base);
    o->pass_posts_per_source = 1500; /* a pass of ~0.1-0.5 s: many short pairs beat few long ones */
    o->pass_requests = 1000;
    o->trace_accesses = 0; /* the pass's: pass_requests x candidates */
    o->trace_keys = 0;     /* 0: the pass's own access stream */
    o->preprocess_posts = 256;
    o->load_batch = 32;
}

static void phase(posts_prof *p, const char *what)
{
    if (p->o.on_phase)
        p->o.on_phase(p->o.user, what);
}

/* ---- sources ---- */

static int open_src(posts_prof *p, unsigned i, posts_err *err)
{
    posts_source_close(p->src[i]);
    p->src[i] = NULL;
    return posts_open_source(&p->cfg, src_bits[i], NULL, NULL, &p->src[i], err);
}

/* One batch of load_batch rows from source i; wraps around at the end. */
static int load_one(posts_prof *p, unsigned i, posts_batch *b, pp_stage_result *out)
{
    posts_err err = {{0}};
    int rc;
    if (!p->src[i] && (rc = open_src(p, i, &err)) != PP_OK)
        return rc;
    posts_source_stats before, after;
    posts_source_stats_get(p->src[i], &before);
    posts_batch_clear(b);
    long n = posts__load_batch(p->src[i], b, (size_t)p->load_batch, &err);
    if (n == 0) { /* exhausted: start again from the first row */
        if ((rc = open_src(p, i, &err)) != PP_OK)
            return rc;
        posts_source_stats_get(p->src[i], &before);
        n = posts__load_batch(p->src[i], b, (size_t)p->load_batch, &err);
    }
    if (n < 0) {
        pp_log(PP_LOG_WARN, "posts.profile", "load_failed", "source", p->w.source_names[i], "error",
               err.msg, NULL);
        return (int)n;
    }
    posts_source_stats_get(p->src[i], &after);
    if (out) {
        out->items += (uint64_t)n;
        out->bytes += after.bytes - before.bytes;
#define FIG(name_, v_)                                                                             \
    do {                                                                                           \
        if (out->n_figures < PP_STAGE_MAX_FIGURES)                                                 \
            out->figures[out->n_figures++] = (pp_figure){(name_), (double)(v_)};                   \
    } while (0)
        FIG("rows_rejected", after.rows_rejected - before.rows_rejected);
        if (i == 0 && !p->cfg.postgres_url[0]) {
            /* query profiling: SQLite's own statistics of the source's statement */
            FIG("fullscan_steps", after.db_fullscan_steps - before.db_fullscan_steps);
            FIG("sorts", after.db_sorts - before.db_sorts);
            FIG("autoindex_rows", after.db_autoindex - before.db_autoindex);
            FIG("vm_steps", after.db_vm_steps - before.db_vm_steps);
        } else if (i == 2) {
            /* network profiling: libcurl's breakdown and connection reuse */
            FIG("http_requests", after.requests - before.requests);
            FIG("connect_s", (after.http_connect_ns - before.http_connect_ns) / 1e9);
            FIG("ttfb_s", (after.http_ttfb_ns - before.http_ttfb_ns) / 1e9);
            FIG("transfer_s", ((after.http_total_ns - before.http_total_ns) -
                               (after.http_ttfb_ns - before.http_ttfb_ns)) /
                                  1e9);
            FIG("connections_opened", after.connections_opened - before.connections_opened);
            FIG("connections_reused", after.connections_reused - before.connections_reused);
            FIG("io_wait_s", (after.wait_ns - before.wait_ns) / 1e9);
        }
#undef FIG
    }
    return PP_OK;
}

/* The loader's consumer: rows counted, nothing kept. */
static int count_rows(void *user, posts_batch *b, posts_err *err)
{
    (void)err;
    *(uint64_t *)user += b->n;
    return PP_OK;
}

/*
 * One batch from every source through the pipeline's loader: in turn, or
 * each source by its producer thread (started at the first concurrent call
 * and kept, as a pass's producers live through its whole load) into the
 * queue this thread consumes.
 */
static int load_all(posts_prof *p, pp_stage_result *out)
{
    posts_err err = {{0}};
    int rc;
    for (unsigned i = 0; i < NSRC; i++)
        if (!p->src[i] && (rc = open_src(p, i, &err)) != PP_OK)
            return rc;
    if (!p->loader && (rc = posts__loader_new(p->src, NSRC, &p->loader)) != PP_OK)
        return rc;
    posts_source_stats before[NSRC], after;
    for (unsigned i = 0; i < NSRC; i++)
        posts_source_stats_get(p->src[i], &before[i]);
    posts__load_run run = {.concurrent = p->cfg.concurrent_load,
                           .batch = (size_t)p->load_batch,
                           .per_source = (uint64_t)p->load_batch};
    uint64_t rows = 0;
    if ((rc = posts__loader_run(p->loader, &run, count_rows, &rows, &err)) != PP_OK) {
        pp_log(PP_LOG_WARN, "posts.profile", "load_failed", "error", err.msg, NULL);
        return rc;
    }
    for (unsigned i = 0; i < NSRC; i++) {
        posts_source_stats_get(p->src[i], &after);
        out->bytes += after.bytes - before[i].bytes;
        /* exhausted: the next call starts again from the first row */
        if (run.rows[i] < (uint64_t)p->load_batch && (rc = open_src(p, i, &err)) != PP_OK)
            return rc;
    }
    out->items += rows;
    return PP_OK;
}

/* ---- preprocessing and inference ---- */

static int preprocessor(posts_prof *p, posts_preprocessor **out)
{
    if (!p->pre || p->pre_threads != p->cfg.preprocess_threads || p->pre_arena != p->cfg.arena) {
        posts_preprocessor_free(p->pre);
        p->pre = NULL;
        int rc = posts_preprocessor_new(p->cfg.preprocess_threads, p->cfg.arena, &p->pre);
        if (rc != PP_OK)
            return rc;
        p->pre_threads = p->cfg.preprocess_threads;
        p->pre_arena = p->cfg.arena;
    }
    *out = p->pre;
    return PP_OK;
}

static int get_model(posts_prof *p, unsigned size, int quantized, posts_model **out)
{
    posts_model **slot = &p->model[size][quantized ? 1 : 0];
    if (!*slot) {
        int rc;
        if (quantized) {
            posts_model *fp;
            if ((rc = get_model(p, size, 0, &fp)) != PP_OK)
                return rc;
            if ((rc = posts_model_quantize(fp, slot)) != PP_OK)
                return rc;
        } else {
            char path[POSTS_PATH_MAX + 32];
            posts_err err = {{0}};
            if (posts__join_path(path, sizeof path, p->cfg.data_dir, posts_model_file((int)size)))
                return PP_ERANGE;
            if ((rc = posts_model_load(path, slot, &err)) != PP_OK) {
                pp_log(PP_LOG_ERROR, "posts.profile", "model_load_failed", "error", err.msg, NULL);
                return rc;
            }
        }
    }
    *out = *slot;
    return PP_OK;
}

static int infer(posts_prof *p, unsigned size, pp_stage_result *out)
{
    posts_model *m;
    int rc = get_model(p, size, p->cfg.quantized, &m);
    if (rc != PP_OK)
        return rc;
    size_t count = p->cfg.batch_size;
    if (count > p->pool.n)
        count = p->pool.n;
    if (p->pool_cursor + count > p->pool.n)
        p->pool_cursor = 0;
    rc = posts__infer_batch(m, &p->pool, p->pool_cursor, count, p->scores);
    p->pool_cursor += count;
    out->items = count;
    return rc;
}

/* ---- the cache: replay the trace on an empty cache of the current capacity ---- */

static int cache_replay(posts_prof *p, pp_stage_result *out)
{
    posts_cache *c = NULL;
    posts_model *m;
    posts_model_info info;
    int rc = get_model(p, (unsigned)p->cfg.model, p->cfg.quantized, &m);
    if (rc != PP_OK)
        return rc;
    posts_model_info_get(m, &info);
    size_t cap = p->cfg.cache_entries ? p->cfg.cache_entries : p->n_posts;
    if (p->cfg.cache_kind == POSTS_CACHE_REDIS) {
        posts_err err = {{0}};
        posts_redis_opts ro = {.pool = p->cfg.redis_pool,
                               .pipeline = p->cfg.redis_pipeline,
                               .timeout_ms = p->cfg.redis_timeout_ms};
        rc = posts_cache_new_redis(p->cfg.redis_url, &ro, &c, &err);
        if (rc == PP_OK) { /* start empty: forget this model version's scores */
            uint64_t t0 = pp_clock_now_ns();
            for (size_t i = 0; i < p->trace_n; i++) {
                char key[48];
                size_t kl = posts_cache_key(info.version, (int64_t)p->trace[i], key, sizeof key);
                (void)posts_cache_invalidate(c, key, kl);
            }
            /* one round trip per key: not the replay's work (a report had
             * Redis's replay 10x its requests' sum) */
            if (out->n_figures < PP_STAGE_MAX_FIGURES)
                out->figures[out->n_figures++] =
                    (pp_figure){"setup_s", (double)(pp_clock_now_ns() - t0) / 1e9};
        }
    } else if (p->cfg.cache_kind == POSTS_CACHE_NONE) {
        rc = posts_cache_new_none(&c);
    } else {
        rc = posts_cache_new_lru(cap, 0, 16, &c);
    }
    if (rc != PP_OK)
        return rc;
    /* the trace as the pass's feed requests make it: `candidates` accesses a
     * request, each request the pipeline's own (cache reads, misses scored
     * and stored, ranking); op_latency gets one value per request */
    size_t nc = p->cfg.candidates ? p->cfg.candidates : 1;
    if (!p->server || p->server_nc != nc) {
        posts__server_free(p->server);
        p->server = NULL;
        if ((rc = posts__server_new(nc, p->cfg.top_k, &p->server)) != PP_OK) {
            posts_cache_free(c);
            return rc;
        }
        p->server_nc = nc;
    }
    posts_cache_stats before;
    posts_cache_stats_get(c, &before);
    for (size_t off = 0; off < p->trace_n; off += nc) {
        uint64_t t0 = pp_clock_now_ns();
        size_t n = p->trace_n - off < nc ? p->trace_n - off : nc;
        posts__request rq;
        posts_err err = {{0}};
        if ((rc = posts__serve_request(p->server, c, m, info.version, &p->universe,
                                       p->trace_slot + off, n, &rq, &err)) != PP_OK)
            break;
        if (out->op_latency)
            pp_histogram_record(out->op_latency, pp_clock_now_ns() - t0);
    }
    posts_cache_stats st;
    posts_cache_stats_get(c, &st);
    out->items = p->trace_n;
    out->hits = st.hits - before.hits;
    out->misses = st.misses - before.misses;
    out->evictions = st.evictions - before.evictions;
    posts_cache_free(c);
    return rc;
}

/* ---- one end-to-end pass through the real pipeline ---- */

static int pass(posts_prof *p)
{
    posts_config cfg = p->cfg;
    cfg.sources = POSTS_SRC_DATABASE | POSTS_SRC_FILE | POSTS_SRC_API;
    cfg.limit_per_source = p->o.pass_posts_per_source;
    cfg.limit = 0;
    cfg.requests = p->o.pass_requests;
    cfg.trace_capacity = 0;
    posts_pipeline_result res;
    posts_err err = {{0}};
    memset(&res, 0, sizeof res);
    int rc = posts_pipeline_run(&cfg, &res, &err);
    if (rc != PP_OK)
        pp_log(PP_LOG_ERROR, "posts.profile", "pass_failed", "error", err.msg, NULL);
    return rc;
}

/* ---- the pp_workload callbacks ---- */

static int run_stage(void *ctx, pp_stage stage, unsigned index, pp_stage_result *out)
{
    posts_prof *p = ctx;
    switch (stage) {
    case PP_STAGE_LOAD:
        if (index >= NSRC)
            return PP_EINVAL;
        return load_one(p, index, &p->load_buf[index], out);
    case PP_STAGE_LOAD_ALL:
        return load_all(p, out);
    case PP_STAGE_PREPROCESS: {
        posts_preprocessor *pre;
        int rc = preprocessor(p, &pre);
        if (rc != PP_OK)
            return rc;
        /* as the pipeline does it: one call per batch of batch_size posts */
        posts_feature_batch_clear(&p->pre_out);
        size_t step = p->cfg.batch_size ? p->cfg.batch_size : p->sample.n;
        for (size_t off = 0; rc == PP_OK && off < p->sample.n; off += step) {
            posts_batch chunk = p->sample;
            chunk.posts += off;
            chunk.n = p->sample.n - off < step ? p->sample.n - off : step;
            chunk.cap = chunk.n;
            posts_preprocess_stats st = {0};
            rc = posts_preprocess_batch(pre, &chunk, &p->pre_out, &st);
            out->bytes += st.bytes;
        }
        out->items = p->sample.n;
        return rc;
    }
    case PP_STAGE_MODEL_LOAD: {
        if (index >= NMODELS)
            return PP_EINVAL;
        char path[POSTS_PATH_MAX + 32];
        posts_err err = {{0}};
        posts_model *m = NULL;
        if (posts__join_path(path, sizeof path, p->cfg.data_dir, posts_model_file((int)index)))
            return PP_ERANGE;
        int rc = posts_model_load(path, &m, &err);
        posts_model_free(m);
        return rc;
    }
    case PP_STAGE_INFER:
        if (index >= NMODELS)
            return PP_EINVAL;
        return infer(p, index, out);
    case PP_STAGE_CACHE:
        return cache_replay(p, out);
    case PP_STAGE_PASS:
        return pass(p);
    default:
        return PP_EINVAL;
    }
}

static int set_knob(void *ctx, pp_knob knob, int64_t v)
{
    posts_prof *p = ctx;
    switch (knob) {
    case PP_KNOB_BATCH_SIZE:
        if (v < 1 || v > 4096)
            return PP_EINVAL;
        p->cfg.batch_size = (size_t)v;
        return PP_OK;
    case PP_KNOB_LOAD_BATCH:
        if (v < 1 || v > 4096)
            return PP_EINVAL;
        if (p->load_batch != (int)v) {
            posts_source *keep = p->src[2];
            int keep_batch = p->load_batch;
            p->src[2] = NULL;
            if (p->api_alt && p->api_alt_batch == (int)v) {
                p->src[2] = p->api_alt;
                p->api_alt = NULL;
            }
            posts_source_close(p->api_alt);
            p->api_alt = keep;
            p->api_alt_batch = keep_batch;
            p->load_batch = (int)v;
        }
        return PP_OK;
    case PP_KNOB_CONCURRENCY:
        if (v < 1)
            return PP_EINVAL;
        p->cfg.concurrent_load = v > 1;
        return PP_OK;
    case PP_KNOB_KEEP_ALIVE:
        if (v != 0 && v != 1)
            return PP_EINVAL;
        if (p->cfg.keep_alive != (int)v) {
            p->cfg.keep_alive = (int)v;
            posts_source_close(p->src[2]); /* reopened with the new setting */
            p->src[2] = NULL;
            posts_source_close(p->api_alt);
            p->api_alt = NULL;
        }
        return PP_OK;
    case PP_KNOB_CACHE_CAPACITY:
        if (v < 1)
            return PP_EINVAL;
        p->cfg.cache_entries = (size_t)v;
        return PP_OK;
    case PP_KNOB_THREADS:
        if (v < 1 || v > 64)
            return PP_EINVAL;
        p->cfg.preprocess_threads = (int)v;
        return PP_OK;
    case PP_KNOB_ARENA:
        if (v != 0 && v != 1)
            return PP_EINVAL;
        p->cfg.arena = (int)v;
        return PP_OK;
    case PP_KNOB_MODEL:
        if (v < 0 || v >= NMODELS)
            return PP_EINVAL;
        p->cfg.model = (int)v;
        return PP_OK;
    case PP_KNOB_QUANTIZED:
        if (v != 0 && v != 1)
            return PP_EINVAL;
        p->cfg.quantized = (int)v;
        return PP_OK;
    case PP_KNOB_CACHE_BACKEND:
        if (!p->o.base.redis_url[0])
            return PP_EUNAVAIL;
        if (v != 0 && v != 1)
            return PP_EINVAL;
        p->cfg.cache_kind = v ? POSTS_CACHE_REDIS : POSTS_CACHE_LRU;
        return PP_OK;
    default:
        return PP_EUNAVAIL;
    }
}

static int get_knob(void *ctx, pp_knob knob, int64_t *v)
{
    posts_prof *p = ctx;
    switch (knob) {
    case PP_KNOB_BATCH_SIZE:
        *v = (int64_t)p->cfg.batch_size;
        return PP_OK;
    case PP_KNOB_LOAD_BATCH:
        *v = p->load_batch;
        return PP_OK;
    case PP_KNOB_CONCURRENCY:
        *v = p->cfg.concurrent_load ? NSRC : 1;
        return PP_OK;
    case PP_KNOB_KEEP_ALIVE:
        *v = p->cfg.keep_alive;
        return PP_OK;
    case PP_KNOB_CACHE_CAPACITY:
        *v = (int64_t)(p->cfg.cache_entries ? p->cfg.cache_entries : p->n_posts);
        return PP_OK;
    case PP_KNOB_THREADS:
        *v = p->cfg.preprocess_threads;
        return PP_OK;
    case PP_KNOB_ARENA:
        *v = p->cfg.arena;
        return PP_OK;
    case PP_KNOB_MODEL:
        *v = p->cfg.model;
        return PP_OK;
    case PP_KNOB_QUANTIZED:
        *v = p->cfg.quantized;
        return PP_OK;
    case PP_KNOB_CACHE_BACKEND:
        if (!p->o.base.redis_url[0])
            return PP_EUNAVAIL;
        *v = p->cfg.cache_kind == POSTS_CACHE_REDIS;
        return PP_OK;
    default:
        return PP_EUNAVAIL;
    }
}

static int cache_trace(void *ctx, const uint64_t **keys, size_t *n)
{
    posts_prof *p = ctx;
    *keys = p->trace;
    *n = p->trace_n;
    return PP_OK;
}

static void on_phase(void *ctx, const char *what)
{
    phase(ctx, what);
}

/* ---- set-up ---- */

/* Read n posts from the file source into b (the sample every stage works on). */
static int read_sample(posts_prof *p, size_t n, posts_batch *b, posts_err *err)
{
    posts_source *s = NULL;
    posts_source_stats st = {0};
    int rc = posts_open_source(&p->cfg, POSTS_SRC_FILE, NULL, NULL, &s, err);
    while (rc == PP_OK && b->n < n) {
        long got = posts_source_next(s, b, n - b->n, err);
        if (got < 0)
            rc = (int)got;
        else if (got == 0)
            break;
    }
    if (s)
        posts_source_stats_get(s, &st);
    posts_source_close(s);
    if (rc == PP_OK && b->n == 0 && st.rows_rejected) {
        posts_err_set(err,
                      "no valid posts in %s/posts.jsonl: every line was rejected (%llu; first: %s)",
                      p->cfg.data_dir, (unsigned long long)st.rows_rejected, st.first_reject);
        rc = PP_EFORMAT;
    } else if (rc == PP_OK && b->n == 0) {
        posts_err_set(err, "%s/posts.jsonl holds no posts", p->cfg.data_dir);
        rc = PP_ENOTFOUND;
    }
    return rc;
}

/* Count the valid posts (ids are dense from 1, as datagen writes them); *st: the source's
 * counters (its rejections). */
static size_t count_posts(posts_prof *p, posts_source_stats *st)
{
    posts_source *s = NULL;
    posts_err err = {{0}};
    posts_batch b = {0};
    size_t n = 0;
    memset(st, 0, sizeof *st);
    if (posts_open_source(&p->cfg, POSTS_SRC_DATABASE, NULL, NULL, &s, &err) != PP_OK)
        return 0;
    long got;
    while ((got = posts_source_next(s, &b, 4096, &err)) > 0) {
        n += (size_t)got;
        posts_batch_clear(&b);
    }
    posts_source_stats_get(s, st);
    posts_batch_release(&b);
    posts_source_close(s);
    return n;
}

/*
 * The trace a pass's feed requests make: candidates drawn by Zipf popularity
 * over the slots of the posts loaded in the pass (each source's first
 * pass_posts_per_source rows, so the same ids from every source), by the
 * pipeline's own candidate draw (posts__feed); then the miss-ratio curve and
 * the replay describe the cache the pass uses.
 */
static int build_pass_trace(posts_prof *p)
{
    size_t per = p->o.pass_posts_per_source ? p->o.pass_posts_per_source : p->n_posts;
    if (per > p->n_posts)
        per = p->n_posts;
    size_t slots = per * NSRC;
    size_t n = p->o.trace_accesses ? p->o.trace_accesses : p->o.pass_requests * p->cfg.candidates;
    if (n == 0)
        n = 1;
    posts__feed *feed = NULL;
    p->trace = malloc(n * sizeof *p->trace);
    int rc = p->trace ? posts__feed_new(slots, p->cfg.zipf_s, p->cfg.seed, &feed) : PP_ENOMEM;
    if (rc != PP_OK)
        return rc;
    /* the pass's slots hold each source's rows 1..per in turn */
    for (size_t i = 0; i < n; i++)
        p->trace[i] = 1 + posts__feed_next(feed) % per;
    p->trace_n = n;
    posts__feed_free(feed);
    return PP_OK;
}

static int build_trace(posts_prof *p)
{
    if (p->o.trace_keys == 0)
        return build_pass_trace(p);
    posts_zipf *z = NULL;
    size_t n = p->o.trace_accesses ? p->o.trace_accesses : 1;
    /* feeds draw from the recent posts: popularity over at most trace_keys of them */
    size_t keys = p->o.trace_keys && p->o.trace_keys < p->n_posts ? p->o.trace_keys : p->n_posts;
    int rc = posts_zipf_new(keys, p->cfg.zipf_s, p->cfg.seed, &z);
    if (rc != PP_OK)
        return rc;
    p->trace = malloc(n * sizeof *p->trace);
    if (!p->trace) {
        posts_zipf_free(z);
        return PP_ENOMEM;
    }
    /* popularity rank r maps to a fixed, scattered post id */
    for (size_t i = 0; i < n; i++) {
        size_t r = posts_zipf_next(z);
        p->trace[i] = 1 + posts__mix64((uint64_t)r + 0x51ed) % p->n_posts;
    }
    p->trace_n = n;
    posts_zipf_free(z);
    return PP_OK;
}

/* Every post id as features (a pool post's rows, shared), and the trace as its slots. */
static int build_universe(posts_prof *p)
{
    posts_feature_batch *u = &p->universe;
    u->f = malloc(p->n_posts * sizeof *u->f);
    p->trace_slot = malloc((p->trace_n ? p->trace_n : 1) * sizeof *p->trace_slot);
    if (!u->f || !p->trace_slot)
        return PP_ENOMEM;
    for (size_t i = 0; i < p->n_posts; i++) {
        u->f[i] = p->pool.f[(i + 1) % p->pool.n];
        u->f[i].post_id = (int64_t)(i + 1);
    }
    u->n = u->cap = p->n_posts;
    u->idx = p->pool.idx;
    u->val = p->pool.val;
    u->nnz = u->nnz_cap = p->pool.nnz;
    for (size_t i = 0; i < p->trace_n; i++)
        p->trace_slot[i] = (size_t)(p->trace[i] - 1);
    return PP_OK;
}

int posts_prof_new(const posts_prof_opts *o, posts_prof **out, posts_err *err)
{
    int rc = PP_ENOMEM;
    posts_prof *p = calloc(1, sizeof *p);
    *out = NULL;
    if (!p)
        goto out;
    p->o = *o;
    p->cfg = o->base;
    p->load_batch = o->load_batch > 0 ? o->load_batch : 32;
    p->cfg.sources = POSTS_SRC_DATABASE | POSTS_SRC_FILE | POSTS_SRC_API;

    phase(p, "setting up the pipeline");
    if (!p->cfg.api_url[0]) {
        char db[POSTS_PATH_MAX + 16];
        if (posts__join_path(db, sizeof db, p->cfg.data_dir, "posts.db")) {
            rc = PP_ERANGE;
            posts_err_set(err, "data directory path too long");
            goto out;
        }
        if ((rc = posts_api_server_start(db, "127.0.0.1", 0, 4, &p->api, err)) != PP_OK)
            goto out;
        snprintf(p->cfg.api_url, sizeof p->cfg.api_url, "http://127.0.0.1:%u",
                 (unsigned)posts_api_server_port(p->api));
    }
    posts_source_stats dbst;
    p->n_posts = count_posts(p, &dbst);
    if (p->n_posts == 0 && dbst.rows_rejected) {
        posts_err_set(err,
                      "no valid posts in %s/posts.db: every row was rejected (%llu; first: %s)",
                      p->cfg.data_dir, (unsigned long long)dbst.rows_rejected, dbst.first_reject);
        rc = PP_EFORMAT;
        goto out;
    }
    if (p->n_posts == 0) {
        posts_err_set(err, "no posts in %s/posts.db (run postprof datagen)", p->cfg.data_dir);
        rc = PP_ENOTFOUND;
        goto out;
    }
    size_t want = o->preprocess_posts ? o->preprocess_posts : 256;
    if ((rc = read_sample(p, want < POOL_POSTS ? POOL_POSTS : want, &p->sample, err)) != PP_OK)
        goto out;
    posts_preprocessor *pre;
    if ((rc = preprocessor(p, &pre)) != PP_OK)
        goto out;
    posts_preprocess_stats st = {0};
    if ((rc = posts_preprocess_batch(pre, &p->sample, &p->pool, &st)) != PP_OK)
        goto out;
    /* PP_STAGE_PREPROCESS works on the first `want` posts */
    while (p->sample.n > want) {
        free(p->sample.posts[p->sample.n - 1].text);
        p->sample.n--;
    }
    p->scores = malloc(POSTS_MAX_BATCH * sizeof *p->scores);
    if (!p->scores) {
        rc = PP_ENOMEM;
        goto out;
    }
    posts_model *m;
    for (unsigned s = 0; s < NMODELS; s++)
        if ((rc = get_model(p, s, 0, &m)) != PP_OK) {
            posts_err_set(err, "cannot load the %s model from %s (run postprof datagen)",
                          posts_model_name((int)s), p->cfg.data_dir);
            goto out;
        }
    if ((rc = build_trace(p)) != PP_OK || (rc = build_universe(p)) != PP_OK)
        goto out;

    pp_workload *w = &p->w;
    w->version = PP_WORKLOAD_VERSION;
    w->name = "linkedin-posts";
    w->ctx = p;
    w->n_sources = NSRC;
    w->source_names[0] = "database";
    w->source_names[1] = "file";
    w->source_names[2] = "api";
    w->network_source = 2;
    w->n_models = NMODELS;
    w->model_names[0] = "small_model";
    w->model_names[1] = "medium_model";
    w->model_names[2] = "large_model";
    if (o->base.redis_url[0]) {
        w->n_cache_backends = 2;
        w->cache_backend_names[0] = "in-process";
        w->cache_backend_names[1] = "redis";
    }
    w->stage_scopes[PP_STAGE_LOAD] = "posts.load.batch";
    w->stage_scopes[PP_STAGE_PREPROCESS] = "posts.preprocess.batch";
    w->stage_scopes[PP_STAGE_INFER] = "posts.infer.batch";
    /* what a cache change saves in a pass: scoring the misses */
    w->stage_scopes[PP_STAGE_CACHE] = "posts.serve.infer_misses";
    w->load_batch_is_batch_size = 1; /* the pipeline reads batch_size rows per load */
    w->run_stage = run_stage;
    w->set_knob = set_knob;
    w->get_knob = get_knob;
    w->cache_trace = cache_trace;
    w->on_phase = on_phase;
    *out = p;
    p = NULL;
    rc = PP_OK;
out:
    posts_prof_free(p);
    return rc;
}

const pp_workload *posts_prof_workload(posts_prof *p)
{
    return &p->w;
}

const posts_config *posts_prof_config(const posts_prof *p)
{
    return &p->cfg;
}

const char *posts_prof_api_url(const posts_prof *p)
{
    return p->cfg.api_url;
}

void posts_prof_free(posts_prof *p)
{
    if (!p)
        return;
    posts__loader_free(p->loader); /* before the sources its producers read */
    posts__server_free(p->server);
    free(p->universe.f); /* its rows are the pool's */
    free(p->trace_slot);
    for (unsigned i = 0; i < NSRC; i++) {
        posts_source_close(p->src[i]);
        posts_batch_release(&p->load_buf[i]);
    }
    posts_source_close(p->api_alt);
    posts_batch_release(&p->sample);
    posts_preprocessor_free(p->pre);
    posts_feature_batch_release(&p->pre_out);
    posts_feature_batch_release(&p->pool);
    for (unsigned s = 0; s < NMODELS; s++) {
        posts_model_free(p->model[s][0]);
        posts_model_free(p->model[s][1]);
    }
    posts_api_server_stop(p->api);
    free(p->scores);
    free(p->trace);
    free(p);
}
