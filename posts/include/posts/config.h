/*
 * posts/config.h - Every knob of the LinkedIn-posts pipeline in one struct,
 * settable by field or by name (so a profiler can sweep "batch_size" or
 * "cache_entries" without knowing the struct). Plain data; no I/O.
 */
#ifndef POSTS_CONFIG_H
#define POSTS_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <posts/post.h>

/* Source bits for posts_config.sources. */
#define POSTS_SRC_DATABASE 0x1u /* SQLite DATA/posts.db, or PostgreSQL when postgres_url is set */
#define POSTS_SRC_FILE 0x2u     /* DATA/posts.jsonl */
#define POSTS_SRC_API 0x4u      /* the HTTP API (api_url, or an in-process server over DATA) */

enum posts_model_size { POSTS_MODEL_SMALL = 0, POSTS_MODEL_MEDIUM, POSTS_MODEL_LARGE };
enum posts_cache_kind { POSTS_CACHE_LRU = 0, POSTS_CACHE_NONE, POSTS_CACHE_REDIS };

#define POSTS_PATH_MAX 512

typedef struct posts_config {
    /* data_dir: directory holding posts.db, posts.jsonl and the *.model files
     * written by `postprof datagen` (knob "data", default "data"). */
    char data_dir[POSTS_PATH_MAX];
    /* sources: POSTS_SRC_* bits, read in the order database, file, api
     * (knob "sources": comma list "database,file,api"; default database). */
    unsigned sources;
    /* postgres_url: when non-empty the database source is PostgreSQL at this
     * libpq URL instead of SQLite (knob "postgres", default empty). */
    char postgres_url[POSTS_PATH_MAX];
    /* api_url: base URL of a running `postprof api-server`, e.g.
     * http://127.0.0.1:8080; empty: the pipeline starts its own server on
     * 127.0.0.1 over data_dir for the run (knob "api_url"). */
    char api_url[POSTS_PATH_MAX];
    /* batch_size: posts per batch for loading, preprocessing and inference,
     * 1..4096 (knob "batch_size", default 256). */
    size_t batch_size;
    /* concurrent_load: 0 reads the sources one after another, 1 reads them
     * at the same time, one thread each (knob "concurrent_load", default 0). */
    int concurrent_load;
    /* keep_alive: API client reuses HTTP connections (1) or opens one per
     * request (0) (knob "keep_alive", default 1). */
    int keep_alive;
    /* api_concurrency: API requests in flight at once, 1..64 (knob
     * "api_concurrency", default 4). */
    int api_concurrency;
    /* max_line: longest JSONL line accepted, bytes; longer lines are
     * rejected and counted (knob "max_line", default 1 MiB). */
    size_t max_line;
    /* preprocess_threads: worker threads for preprocessing, 1..64 (knob
     * "preprocess_threads", default 1). */
    int preprocess_threads;
    /* arena: 1 = token strings come from one arena per batch, 0 = one
     * malloc per token (knob "arena", default 1). */
    int arena;
    /* model: enum posts_model_size, file DATA/<small|medium|large>.model
     * (knob "model", default medium). */
    int model;
    /* quantized: 1 runs the int8 per-channel quantized variant of the model
     * (knob "quantized", default 0). */
    int quantized;
    /* cache_kind: enum posts_cache_kind (knob "cache": lru | none |
     * redis://HOST:PORT, default lru). */
    int cache_kind;
    /* redis_url: redis://HOST:PORT when cache_kind is POSTS_CACHE_REDIS. */
    char redis_url[POSTS_PATH_MAX];
    /* cache_entries / cache_bytes: LRU capacity, in entries and in bytes of
     * keys + values; whichever is reached first evicts (knobs
     * "cache_entries" default 10000, "cache_bytes" default 64 MiB). */
    size_t cache_entries;
    size_t cache_bytes;
    /* redis_pool: connections kept to Redis (default 4); redis_pipeline:
     * commands sent per round trip for batched get/put, 1 = no pipelining
     * (default 32); redis_timeout_ms: connect and command timeout (default
     * 200). Knobs of the same names. */
    int redis_pool;
    int redis_pipeline;
    int redis_timeout_ms;
    /* requests: feed requests served after loading (knob "requests",
     * default 10000); each scores `candidates` posts drawn from a Zipf(s =
     * zipf_s) popularity over the loaded posts (cache-aside) and ranks the
     * top_k (knobs "candidates" default 50, "top_k" default 10, "zipf_s"
     * default 1.0). */
    size_t requests;
    size_t candidates;
    size_t top_k;
    double zipf_s;
    /* limit: stop after this many posts in total, 0 = read every source to its
     * end (knob "limit", default 0). */
    size_t limit;
    /* limit_per_source: read at most this many posts from each source, 0 =
     * no such limit (knob "limit_per_source", default 0); with several
     * sources it makes each contribute, where `limit` stops at the first. */
    size_t limit_per_source;
    /* seed: seed of the request generator (knob "seed", default 1). */
    uint64_t seed;
    /* trace_capacity: cache accesses kept in the trace (0 = no trace);
     * trace_sample: fraction of keys traced, chosen by key hash so a key is
     * always or never traced (SHARDS-style) (knobs of the same names,
     * defaults 0 and 1.0). */
    size_t trace_capacity;
    double trace_sample;
    /* extra_work: a test knob for performance gates (knob "extra_work",
     * default 0): after its own work, the pipeline computes on for this
     * fraction of the process CPU time that work took (0.15: 15 % more CPU
     * time per run), so a gate can be checked against a regression of a
     * known size. Never set it in a deployment. */
    double extra_work;
} posts_config;

/* posts_config_init() - Fill cfg with the defaults documented above. Never fails. */
PP_EXPORT void posts_config_init(posts_config *cfg);

/*
 * posts_config_set() - Set one knob by name (the names above, e.g. "batch_size",
 * "cache"), value as text. Returns PP_OK, PP_ENOTFOUND for an unknown name, or
 * PP_EINVAL for a bad value, with err->msg saying which and why; cfg is
 * unchanged on error.
 */
PP_EXPORT PP_NODISCARD int posts_config_set(posts_config *cfg, const char *name, const char *value,
                                            posts_err *err);

/* posts_config_knobs() - NULL-terminated list of the knob names posts_config_set accepts. */
PP_EXPORT const char *const *posts_config_knobs(void);

/* posts_model_name() - "small" | "medium" | "large"; posts_model_parse(): -1 if unknown. */
PP_EXPORT const char *posts_model_name(int model);
PP_EXPORT int posts_model_parse(const char *s);

#endif
