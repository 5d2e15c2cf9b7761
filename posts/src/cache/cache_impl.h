/*
 * cache_impl.h - What each cache implementation provides (internal). The
 * common layer (cache.c) counts, times and traces; implementations store.
 */
#ifndef POSTS_CACHE_IMPL_H
#define POSTS_CACHE_IMPL_H

#include <pthread.h>
#include <stdatomic.h>

#include <posts/cache.h>

typedef struct posts_cache_ops {
    const char *kind;
    /* 1 hit, 0 miss, <0 error (counted as a miss) */
    int (*get)(posts_cache *c, const char *key, size_t klen, uint64_t hash, void *val, size_t cap,
               size_t *len);
    int (*put)(posts_cache *c, const char *key, size_t klen, uint64_t hash, const void *val,
               size_t vlen);
    int (*invalidate)(posts_cache *c, const char *key, size_t klen, uint64_t hash);
    /* optional batched forms; hit[i] = 1 hit, 0 miss; return errors seen */
    size_t (*get_many)(posts_cache *c, const char *const *keys, size_t n, void *vals,
                       size_t val_size, uint8_t *hit, uint64_t *errors);
    size_t (*put_many)(posts_cache *c, const char *const *keys, size_t n, const void *vals,
                       size_t val_size, uint64_t *errors);
    void (*stats)(posts_cache *c,
                  posts_cache_stats *out); /* entries, bytes, evictions, round_trips */
    void (*free)(posts_cache *c);
} posts_cache_ops;

struct posts_cache {
    const posts_cache_ops *ops;
    _Atomic uint64_t gets, hits, misses, puts, invalidations, errors;
    /* trace */
    pthread_mutex_t trace_mu;
    posts_cache_access *trace;
    size_t trace_cap, trace_n;
    uint64_t trace_dropped;
    uint64_t trace_threshold; /* key traced when hash % 2^24 < threshold */
    _Atomic int tracing;
};

/* posts__cache_init() - Set up the common part of a freshly calloc'd cache. */
void posts__cache_init(posts_cache *c, const posts_cache_ops *ops);

#endif
