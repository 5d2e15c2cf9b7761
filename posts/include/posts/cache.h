/*
 * posts/cache.h - The score cache: get / put / invalidate of byte values by
 * byte keys, in-process LRU (sharded locks, entry and byte capacity) or Redis
 * (hiredis, connection pool, pipelining, timeouts, degrades to misses when
 * Redis is gone), with an optional access trace for miss-ratio curves.
 * Every function is thread-safe.
 */
#ifndef POSTS_CACHE_H
#define POSTS_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <posts/post.h>

typedef struct posts_cache posts_cache;

/* Longest key and value accepted (bytes). */
#define POSTS_CACHE_KEY_MAX 128u
#define POSTS_CACHE_VAL_MAX 4096u

typedef struct posts_cache_stats {
    uint64_t gets, hits, misses, puts, evictions, invalidations;
    uint64_t errors;      /* Redis: failed commands (each counted as a miss or dropped put) */
    uint64_t entries;     /* now */
    uint64_t bytes;       /* now: keys + values */
    uint64_t round_trips; /* Redis: network round trips */
} posts_cache_stats;

/* One traced access (see posts_cache_trace_enable). */
typedef struct posts_cache_access {
    uint64_t key_hash; /* 64-bit FNV-1a of the key */
    uint64_t latency_ns;
    uint8_t hit;  /* 1 hit, 0 miss */
    uint8_t op;   /* 0 get, 1 put */
    char key[46]; /* the key, truncated and NUL-terminated */
} posts_cache_access;

typedef struct posts_redis_opts {
    int pool;       /* connections, 1..64 (default 4) */
    int pipeline;   /* commands per round trip in get_many/put_many, 1..1024 (default 32) */
    int timeout_ms; /* connect and command timeout (default 200) */
    int ttl_s;      /* expiry of stored values, 0 = none */
    int retry_ms;   /* after a failure, reconnect at most this often (default 500) */
} posts_redis_opts;

/* posts_cache_new_lru() - max_entries and max_bytes (0 = unlimited, not both), shards 1..256. */
PP_EXPORT PP_NODISCARD int posts_cache_new_lru(size_t max_entries, size_t max_bytes,
                                               unsigned shards, posts_cache **out);

/* posts_cache_new_none() - A cache that stores nothing: every get misses. */
PP_EXPORT PP_NODISCARD int posts_cache_new_none(posts_cache **out);

/*
 * posts_cache_new_redis() - Connect to redis://HOST:PORT (opts may be NULL).
 * Fails with PP_ENET and err->msg when no connection can be made at start;
 * later failures degrade to misses, are logged (component "posts.cache.redis")
 * and counted in errors.
 */
PP_EXPORT PP_NODISCARD int posts_cache_new_redis(const char *url, const posts_redis_opts *opts,
                                                 posts_cache **out, posts_err *err);

/*
 * posts_cache_get() - Copy the value of key into val (cap bytes) and its length
 * to *val_len. Returns 1 on a hit, 0 on a miss (also when the value does not
 * fit cap, or Redis failed). LRU: a hit makes the entry most recent.
 */
PP_EXPORT int posts_cache_get(posts_cache *c, const char *key, size_t key_len, void *val,
                              size_t cap, size_t *val_len);

/*
 * posts_cache_put() - Store a copy of val under key (replacing any value),
 * evicting least recently used entries to stay within capacity. Returns PP_OK,
 * PP_ERANGE (key or value too long, or larger than the byte capacity), PP_ENOMEM,
 * PP_ENET (Redis failed; counted and logged).
 */
PP_EXPORT int posts_cache_put(posts_cache *c, const char *key, size_t key_len, const void *val,
                              size_t val_len);

/* posts_cache_invalidate() - Remove key. Returns 1 if it was there, 0 if not, <0 on error. */
PP_EXPORT int posts_cache_invalidate(posts_cache *c, const char *key, size_t key_len);

/*
 * posts_cache_get_many() - n gets at once (Redis: pipelined, `pipeline` per
 * round trip). keys[i] is NUL-terminated; values are fixed-size slots of
 * val_size bytes; hit[i] = 1 on a hit. Returns the number of hits.
 */
PP_EXPORT size_t posts_cache_get_many(posts_cache *c, const char *const *keys, size_t n, void *vals,
                                      size_t val_size, uint8_t *hit);

/* posts_cache_put_many() - n puts at once (pipelined). Returns the number stored. */
PP_EXPORT size_t posts_cache_put_many(posts_cache *c, const char *const *keys, size_t n,
                                      const void *vals, size_t val_size);

/* posts_cache_stats_get() - Copy the counters. */
PP_EXPORT void posts_cache_stats_get(posts_cache *c, posts_cache_stats *out);

/* posts_cache_kind() - "lru", "none" or "redis". */
PP_EXPORT const char *posts_cache_kind(const posts_cache *c);

/*
 * posts_cache_trace_enable() - Record up to capacity accesses (then stop
 * recording, counting the rest as dropped); sample in (0,1]: the fraction of
 * keys traced, chosen by key hash. capacity 0 turns tracing off. PP_OK / PP_ENOMEM.
 */
PP_EXPORT PP_NODISCARD int posts_cache_trace_enable(posts_cache *c, size_t capacity, double sample);

/*
 * posts_cache_trace_read() - Copy up to cap recorded accesses (in order) into
 * out; returns how many. *dropped (may be NULL) gets the accesses not recorded
 * because the trace was full.
 */
PP_EXPORT size_t posts_cache_trace_read(posts_cache *c, posts_cache_access *out, size_t cap,
                                        uint64_t *dropped);

/* posts_cache_free() - NULL is a no-op. */
PP_EXPORT void posts_cache_free(posts_cache *c);

/* posts_cache_key_hash() - The hash used for sharding and trace sampling. */
PP_EXPORT uint64_t posts_cache_key_hash(const char *key, size_t len);

#endif
