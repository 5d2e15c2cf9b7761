/*
 * posts/pipeline.h - The LinkedIn-posts pipeline: load (sources) ->
 * preprocess -> infer (cache-aside, keyed by post id + model version) ->
 * rank feeds for Zipf-distributed requests. Each stage is instrumented
 * (PP_SCOPE "posts.<stage>", PP_SCOPE_MEM, async spans for loads and requests)
 * and can also be run on its own through the stage functions below.
 */
#ifndef POSTS_PIPELINE_H
#define POSTS_PIPELINE_H

#include <stddef.h>
#include <stdint.h>
#include <posts/cache.h>
#include <posts/config.h>
#include <posts/model.h>
#include <posts/preprocess.h>
#include <posts/source.h>

typedef struct posts_pipeline posts_pipeline;

typedef struct posts_pipeline_result {
    uint64_t posts_loaded;   /* posts read from every chosen source */
    uint64_t rows_rejected;  /* rows (JSONL lines) every source rejected (posts_reject_fn) */
    uint64_t duplicate_ids;  /* of those: ids a source had already returned */
    uint64_t posts_checksum; /* sum of posts_post_hash over loaded posts (order-free) */
    uint64_t bytes_loaded;
    uint64_t db_fullscan_steps;  /* SQLite source: sqlite3_stmt_status full-scan steps */
    uint64_t connections_opened; /* API source: new connections vs kept-alive ones */
    uint64_t connections_reused;
    uint64_t load_ns, preprocess_ns, infer_ns, serve_ns, total_ns; /* wall time per stage */
    uint64_t invalid_utf8; /* sequences replaced while preprocessing */
    uint64_t tokens;
    uint64_t requests, scored; /* feed requests served; candidate scores returned */
    uint64_t cache_hits, cache_misses, cache_errors;
    double mean_score;      /* of the bulk inference pass */
    int64_t first_feed_top; /* id ranked first by the first request (for golden tests) */
    double feed_mean_score; /* mean score of the top_k posts shown, over every request */
} posts_pipeline_result;

/* Called after each served request (i from 0); a test uses it to kill a peer mid-run. */
typedef void (*posts_request_hook)(void *user, uint64_t i);

/*
 * posts_pipeline_new() - Load the model (DATA/<model>.model, quantized if
 * asked), create the cache and the preprocessor. Nothing is read yet.
 * PP_OK, or the failing step's status with err->msg; *out NULL on error.
 */
PP_EXPORT PP_NODISCARD int posts_pipeline_new(const posts_config *cfg, posts_pipeline **out,
                                              posts_err *err);

/* posts_pipeline_set_hook() - Install a request hook (NULL removes it). */
PP_EXPORT void posts_pipeline_set_hook(posts_pipeline *pl, posts_request_hook fn, void *user);

/*
 * posts_pipeline_load() - Stage 1-3 for every chosen source: load batches,
 * preprocess them, score them in bulk (no cache). Sequential or concurrent
 * per cfg. Fills the load/preprocess/infer fields of *res. PP_OK or the first
 * source error with err->msg (source, position, cause); PP_EFORMAT when rows
 * were read but every one was rejected (err->msg: how many, the first reason).
 * A source whose rows were all rejected while others loaded is logged
 * (every_row_rejected), not an error.
 */
PP_EXPORT PP_NODISCARD int posts_pipeline_load(posts_pipeline *pl, posts_pipeline_result *res,
                                               posts_err *err);

/*
 * posts_pipeline_serve() - Serve cfg->requests feed requests over the loaded
 * posts: candidates by Zipf popularity, cache-aside scoring (misses scored in
 * one batch and put back), top-K ranking. Cache failures count as misses.
 * PP_OK, PP_ESTATE when nothing was loaded.
 */
PP_EXPORT PP_NODISCARD int posts_pipeline_serve(posts_pipeline *pl, posts_pipeline_result *res,
                                                posts_err *err);

/* posts_pipeline_run() - new + load + serve + free: one full run. */
PP_EXPORT PP_NODISCARD int posts_pipeline_run(const posts_config *cfg, posts_pipeline_result *res,
                                              posts_err *err);

/* Accessors for profilers driving stages by hand (owned by the pipeline). */
PP_EXPORT posts_cache *posts_pipeline_cache(posts_pipeline *pl);
PP_EXPORT posts_model *posts_pipeline_model(posts_pipeline *pl);
PP_EXPORT posts_feature_batch *posts_pipeline_features(posts_pipeline *pl);

/* posts_pipeline_free() - NULL is a no-op. */
PP_EXPORT void posts_pipeline_free(posts_pipeline *pl);

/*
 * posts_open_source() - Open one source (POSTS_SRC_* bit) as cfg describes it:
 * database = SQLite DATA/posts.db or cfg->postgres_url, file = DATA/posts.jsonl,
 * api = cfg->api_url (must be set here). For profilers timing a source alone.
 */
PP_EXPORT PP_NODISCARD int posts_open_source(const posts_config *cfg, unsigned which,
                                             posts_reject_fn on_reject, void *user,
                                             posts_source **out, posts_err *err);

/*
 * posts_cache_key() - The cache key of a post's score: "s:<model version>:<id>".
 * Returns its length (< cap), writing at most cap bytes.
 */
PP_EXPORT size_t posts_cache_key(uint32_t model_version, int64_t post_id, char *buf, size_t cap);

/*
 * posts_zipf_* - Zipf(s) sampler over ranks 0..n-1 (rank 0 most popular),
 * deterministic for a seed. new: PP_OK / PP_ENOMEM / PP_EINVAL.
 */
typedef struct posts_zipf posts_zipf;
PP_EXPORT PP_NODISCARD int posts_zipf_new(size_t n, double s, uint64_t seed, posts_zipf **out);
PP_EXPORT size_t posts_zipf_next(posts_zipf *z);
PP_EXPORT void posts_zipf_free(posts_zipf *z);

#endif
