/*
 * cache.c - The cache interface: dispatch, counters, latency and the access
 * trace (key hash, hit/miss, latency) that miss-ratio curves are built from.
 * Thread-safe; the trace takes a mutex only when it is enabled.
 */
#include <stdlib.h>
#include <string.h>

#include <postprof/scope.h>

#include "cache_impl.h"
#include "internal.h"

#define SAMPLE_BITS 24

uint64_t posts_cache_key_hash(const char *key, size_t len)
{
    return posts__mix64(posts__fnv1a(key, len, POSTS__FNV_BASIS));
}

void posts__cache_init(posts_cache *c, const posts_cache_ops *ops)
{
    c->ops = ops;
    pthread_mutex_init(&c->trace_mu, NULL);
}

static void trace(posts_cache *c, const char *key, size_t klen, uint64_t hash, int hit, int op,
                  uint64_t ns)
{
    if (!atomic_load_explicit(&c->tracing, memory_order_acquire))
        return;
    if ((hash & ((1u << SAMPLE_BITS) - 1)) >= c->trace_threshold)
        return;
    pthread_mutex_lock(&c->trace_mu);
    if (c->trace_n < c->trace_cap) {
        posts_cache_access *a = &c->trace[c->trace_n++];
        a->key_hash = hash;
        a->latency_ns = ns;
        a->hit = (uint8_t)hit;
        a->op = (uint8_t)op;
        size_t n = klen < sizeof a->key - 1 ? klen : sizeof a->key - 1;
        memcpy(a->key, key, n);
        a->key[n] = '\0';
    } else {
        c->trace_dropped++;
    }
    pthread_mutex_unlock(&c->trace_mu);
}

int posts_cache_get(posts_cache *c, const char *key, size_t klen, void *val, size_t cap,
                    size_t *val_len)
{
    PP_SCOPE("posts.cache.get");
    uint64_t t0 = posts__now_ns();
    uint64_t h = posts_cache_key_hash(key, klen);
    int r = klen <= POSTS_CACHE_KEY_MAX ? c->ops->get(c, key, klen, h, val, cap, val_len) : 0;
    atomic_fetch_add_explicit(&c->gets, 1, memory_order_relaxed);
    if (r < 0)
        atomic_fetch_add_explicit(&c->errors, 1, memory_order_relaxed);
    int hit = r > 0;
    atomic_fetch_add_explicit(hit ? &c->hits : &c->misses, 1, memory_order_relaxed);
    trace(c, key, klen, h, hit, 0, posts__now_ns() - t0);
    return hit;
}

int posts_cache_put(posts_cache *c, const char *key, size_t klen, const void *val, size_t vlen)
{
    PP_SCOPE("posts.cache.put");
    if (klen == 0 || klen > POSTS_CACHE_KEY_MAX || vlen > POSTS_CACHE_VAL_MAX)
        return PP_ERANGE;
    uint64_t t0 = posts__now_ns();
    uint64_t h = posts_cache_key_hash(key, klen);
    int r = c->ops->put(c, key, klen, h, val, vlen);
    atomic_fetch_add_explicit(&c->puts, 1, memory_order_relaxed);
    if (r == PP_ENET)
        atomic_fetch_add_explicit(&c->errors, 1, memory_order_relaxed);
    trace(c, key, klen, h, 0, 1, posts__now_ns() - t0);
    return r;
}

int posts_cache_invalidate(posts_cache *c, const char *key, size_t klen)
{
    if (klen == 0 || klen > POSTS_CACHE_KEY_MAX)
        return 0;
    int r = c->ops->invalidate(c, key, klen, posts_cache_key_hash(key, klen));
    if (r < 0)
        atomic_fetch_add_explicit(&c->errors, 1, memory_order_relaxed);
    if (r > 0)
        atomic_fetch_add_explicit(&c->invalidations, 1, memory_order_relaxed);
    return r;
}

size_t posts_cache_get_many(posts_cache *c, const char *const *keys, size_t n, void *vals,
                            size_t val_size, uint8_t *hit)
{
    PP_SCOPE("posts.cache.get_many");
    if (!c->ops->get_many) {
        size_t hits = 0;
        for (size_t i = 0; i < n; i++) {
            size_t len;
            hit[i] = (uint8_t)posts_cache_get(c, keys[i], strlen(keys[i]),
                                              (char *)vals + i * val_size, val_size, &len);
            hit[i] = hit[i] && len == val_size;
            hits += hit[i];
        }
        return hits;
    }
    uint64_t t0 = posts__now_ns(), errors = 0;
    size_t hits = c->ops->get_many(c, keys, n, vals, val_size, hit, &errors);
    uint64_t per = n ? (posts__now_ns() - t0) / n : 0;
    atomic_fetch_add_explicit(&c->gets, n, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->hits, hits, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->misses, n - hits, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->errors, errors, memory_order_relaxed);
    if (atomic_load_explicit(&c->tracing, memory_order_relaxed))
        for (size_t i = 0; i < n; i++) {
            size_t kl = strlen(keys[i]);
            trace(c, keys[i], kl, posts_cache_key_hash(keys[i], kl), hit[i], 0, per);
        }
    return hits;
}

size_t posts_cache_put_many(posts_cache *c, const char *const *keys, size_t n, const void *vals,
                            size_t val_size)
{
    PP_SCOPE("posts.cache.put_many");
    if (!c->ops->put_many) {
        size_t ok = 0;
        for (size_t i = 0; i < n; i++)
            ok += posts_cache_put(c, keys[i], strlen(keys[i]), (const char *)vals + i * val_size,
                                  val_size) == PP_OK;
        return ok;
    }
    uint64_t t0 = posts__now_ns(), errors = 0;
    size_t ok = c->ops->put_many(c, keys, n, vals, val_size, &errors);
    uint64_t per = n ? (posts__now_ns() - t0) / n : 0;
    atomic_fetch_add_explicit(&c->puts, n, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->errors, errors, memory_order_relaxed);
    if (atomic_load_explicit(&c->tracing, memory_order_relaxed))
        for (size_t i = 0; i < n; i++) {
            size_t kl = strlen(keys[i]);
            trace(c, keys[i], kl, posts_cache_key_hash(keys[i], kl), 0, 1, per);
        }
    return ok;
}

void posts_cache_stats_get(posts_cache *c, posts_cache_stats *out)
{
    memset(out, 0, sizeof *out);
    if (c->ops->stats)
        c->ops->stats(c, out);
    out->gets = atomic_load(&c->gets);
    out->hits = atomic_load(&c->hits);
    out->misses = atomic_load(&c->misses);
    out->puts = atomic_load(&c->puts);
    out->invalidations = atomic_load(&c->invalidations);
    out->errors = atomic_load(&c->errors);
}

const char *posts_cache_kind(const posts_cache *c)
{
    return c->ops->kind;
}

int posts_cache_trace_enable(posts_cache *c, size_t capacity, double sample)
{
    pthread_mutex_lock(&c->trace_mu);
    atomic_store(&c->tracing, 0);
    free(c->trace);
    c->trace = NULL;
    c->trace_cap = c->trace_n = 0;
    c->trace_dropped = 0;
    int rc = PP_OK;
    if (capacity) {
        c->trace = malloc(capacity * sizeof *c->trace);
        if (!c->trace) {
            rc = PP_ENOMEM;
        } else {
            c->trace_cap = capacity;
            if (!(sample > 0) || sample > 1)
                sample = 1;
            c->trace_threshold = (uint64_t)(sample * (double)(1u << SAMPLE_BITS));
            if (c->trace_threshold == 0)
                c->trace_threshold = 1;
            atomic_store(&c->tracing, 1);
        }
    }
    pthread_mutex_unlock(&c->trace_mu);
    return rc;
}

size_t posts_cache_trace_read(posts_cache *c, posts_cache_access *out, size_t cap,
                              uint64_t *dropped)
{
    pthread_mutex_lock(&c->trace_mu);
    size_t n = c->trace_n < cap ? c->trace_n : cap;
    if (n)
        memcpy(out, c->trace, n * sizeof *out);
    if (dropped)
        *dropped = c->trace_dropped;
    pthread_mutex_unlock(&c->trace_mu);
    return n;
}

void posts_cache_free(posts_cache *c)
{
    if (!c)
        return;
    free(c->trace);
    pthread_mutex_destroy(&c->trace_mu);
    c->ops->free(c);
}

/* ---- the "none" cache ---- */

static int none_get(posts_cache *c, const char *k, size_t kl, uint64_t h, void *v, size_t cap,
                    size_t *len)
{
    (void)c, (void)k, (void)kl, (void)h, (void)v, (void)cap;
    *len = 0;
    return 0;
}

static int none_put(posts_cache *c, const char *k, size_t kl, uint64_t h, const void *v, size_t vl)
{
    (void)c, (void)k, (void)kl, (void)h, (void)v, (void)vl;
    return PP_OK;
}

static int none_inv(posts_cache *c, const char *k, size_t kl, uint64_t h)
{
    (void)c, (void)k, (void)kl, (void)h;
    return 0;
}

static void none_free(posts_cache *c)
{
    free(c);
}

static const posts_cache_ops none_ops = {"none", none_get, none_put, none_inv,
                                         NULL,   NULL,     NULL,     none_free};

int posts_cache_new_none(posts_cache **out)
{
    *out = NULL;
    posts_cache *c = calloc(1, sizeof *c);
    if (!c)
        return PP_ENOMEM;
    posts__cache_init(c, &none_ops);
    *out = c;
    return PP_OK;
}
