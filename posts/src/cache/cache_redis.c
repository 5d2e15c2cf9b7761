/*
 * cache_redis.c - Redis cache through hiredis: a pool of connections with
 * connect/command timeouts, pipelined batch get/put, and graceful
 * degradation: when Redis fails, operations count an error and miss, the
 * failure is logged once per outage, and reconnects are rate-limited.
 */
#include <errno.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include <postprof/log.h>

#include "cache_impl.h"
#include "internal.h"

#define MAX_POOL 64

typedef struct rconn {
    redisContext *c;
    int busy;
    sigset_t oldmask; /* the holder's signal mask before acquire */
    int pipe_pending; /* a SIGPIPE was already pending then */
} rconn;

typedef struct rcache {
    posts_cache base;
    posts_redis_opts o;
    char host[256];
    int port;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    rconn pool[MAX_POOL];
    uint64_t last_fail_ns; /* under mu */
    int down;              /* an outage is being reported */
    _Atomic uint64_t round_trips;
} rcache;

static redisContext *dial(rcache *r, char *why, size_t whylen)
{
    struct timeval tv = {r->o.timeout_ms / 1000, (r->o.timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(r->host, r->port, tv);
    if (!c || c->err) {
        snprintf(why, whylen, "%s", c ? c->errstr : "out of memory");
        redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    return c;
}

/*
 * A write to a connection Redis has closed raises SIGPIPE, which would kill
 * the process: while a thread holds a connection SIGPIPE is blocked for that
 * thread, and one raised meanwhile is consumed before unblocking (as libcurl
 * does). The process's signal dispositions are left alone.
 */
static void pipe_block(sigset_t *old, int *was_pending)
{
    sigset_t set, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    sigpending(&pending);
    *was_pending = sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, old);
}

static void pipe_restore(const sigset_t *old, int was_pending)
{
    if (!was_pending) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        struct timespec zero = {0, 0};
        while (sigtimedwait(&set, NULL, &zero) > 0) {
        }
    }
    pthread_sigmask(SIG_SETMASK, old, NULL);
}

static rconn *acquire_locked(rcache *r);

/* Take a connection (blocking while all are busy); NULL when Redis is unreachable. */
static rconn *acquire(rcache *r)
{
    sigset_t old;
    int was;
    pipe_block(&old, &was);
    rconn *s = acquire_locked(r);
    if (!s) {
        pipe_restore(&old, was);
        return NULL;
    }
    s->oldmask = old;
    s->pipe_pending = was;
    return s;
}

static rconn *acquire_locked(rcache *r)
{
    pthread_mutex_lock(&r->mu);
    rconn *slot = NULL;
    for (;;) {
        for (int i = 0; i < r->o.pool; i++)
            if (!r->pool[i].busy) {
                slot = &r->pool[i];
                break;
            }
        if (slot)
            break;
        pthread_cond_wait(&r->cv, &r->mu);
    }
    slot->busy = 1;
    if (!slot->c) {
        uint64_t now = posts__now_ns();
        if (r->down && now - r->last_fail_ns < (uint64_t)r->o.retry_ms * 1000000u) {
            slot->busy = 0;
            pthread_mutex_unlock(&r->mu);
            return NULL; /* still inside the back-off window: fail fast */
        }
        pthread_mutex_unlock(&r->mu);
        char why[128];
        redisContext *c = dial(r, why, sizeof why);
        pthread_mutex_lock(&r->mu);
        if (!c) {
            r->last_fail_ns = posts__now_ns();
            if (!r->down) {
                char addr[300];
                snprintf(addr, sizeof addr, "%s:%d", r->host, r->port);
                pp_log(PP_LOG_ERROR, "posts.cache.redis", "unreachable", "addr", addr, "error", why,
                       "effect", "cache misses until it is back", NULL);
            }
            r->down = 1;
            slot->busy = 0;
            pthread_cond_signal(&r->cv);
            pthread_mutex_unlock(&r->mu);
            return NULL;
        }
        if (r->down) {
            char addr[300];
            snprintf(addr, sizeof addr, "%s:%d", r->host, r->port);
            pp_log(PP_LOG_WARN, "posts.cache.redis", "reconnected", "addr", addr, NULL);
        }
        r->down = 0;
        slot->c = c;
    }
    pthread_mutex_unlock(&r->mu);
    return slot;
}

/* Give a connection back; failed != 0 drops it (reconnect on next use). */
static void release(rcache *r, rconn *s, int failed, const char *what)
{
    sigset_t old = s->oldmask;
    int was = s->pipe_pending;
    pthread_mutex_lock(&r->mu);
    if (failed) {
        if (!r->down) {
            char addr[300];
            snprintf(addr, sizeof addr, "%s:%d", r->host, r->port);
            pp_log(PP_LOG_ERROR, "posts.cache.redis", "command_failed", "addr", addr, "error",
                   s->c && s->c->err ? s->c->errstr : what, "effect",
                   "cache misses until it is back", NULL);
        }
        r->down = 1;
        r->last_fail_ns = posts__now_ns();
        redisFree(s->c);
        s->c = NULL;
    }
    s->busy = 0;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pipe_restore(&old, was);
}

static int r_get(posts_cache *c, const char *key, size_t klen, uint64_t h, void *val, size_t cap,
                 size_t *len)
{
    (void)h;
    rcache *r = (rcache *)c;
    *len = 0;
    rconn *s = acquire(r);
    if (!s)
        return -1;
    redisReply *rep = redisCommand(s->c, "GET %b", key, klen);
    atomic_fetch_add(&r->round_trips, 1);
    if (!rep || rep->type == REDIS_REPLY_ERROR) {
        release(r, s, !rep, rep ? rep->str : "GET failed");
        freeReplyObject(rep);
        return -1;
    }
    int hit = 0;
    if (rep->type == REDIS_REPLY_STRING && rep->len <= cap) {
        memcpy(val, rep->str, rep->len);
        *len = rep->len;
        hit = 1;
    }
    freeReplyObject(rep);
    release(r, s, 0, NULL);
    return hit;
}

static int r_put(posts_cache *c, const char *key, size_t klen, uint64_t h, const void *val,
                 size_t vlen)
{
    (void)h;
    rcache *r = (rcache *)c;
    rconn *s = acquire(r);
    if (!s)
        return PP_ENET;
    redisReply *rep = r->o.ttl_s > 0
                          ? redisCommand(s->c, "SET %b %b EX %d", key, klen, val, vlen, r->o.ttl_s)
                          : redisCommand(s->c, "SET %b %b", key, klen, val, vlen);
    atomic_fetch_add(&r->round_trips, 1);
    int ok = rep && rep->type != REDIS_REPLY_ERROR;
    release(r, s, !rep, rep ? rep->str : "SET failed");
    freeReplyObject(rep);
    return ok ? PP_OK : PP_ENET;
}

static int r_invalidate(posts_cache *c, const char *key, size_t klen, uint64_t h)
{
    (void)h;
    rcache *r = (rcache *)c;
    rconn *s = acquire(r);
    if (!s)
        return PP_ENET;
    redisReply *rep = redisCommand(s->c, "DEL %b", key, klen);
    atomic_fetch_add(&r->round_trips, 1);
    int res = rep && rep->type == REDIS_REPLY_INTEGER ? (rep->integer > 0) : PP_ENET;
    release(r, s, !rep, "DEL failed");
    freeReplyObject(rep);
    return res;
}

/* A batch of GETs (vals, hit) or SETs (cvals), sent `pipeline` per round trip. */
typedef struct batch {
    const char *const *keys;
    size_t n, val_size;
    void *vals;        /* GET: values out */
    uint8_t *hit;      /* GET: 1 per hit */
    const void *cvals; /* SET: values in */
    size_t good;       /* GET: hits; SET: stored */
} batch;

static int append_one(rcache *r, redisContext *c, const batch *b, size_t i)
{
    if (!b->cvals)
        return redisAppendCommand(c, "GET %s", b->keys[i]);
    const char *v = (const char *)b->cvals + i * b->val_size;
    return r->o.ttl_s > 0
               ? redisAppendCommand(c, "SET %s %b EX %d", b->keys[i], v, b->val_size, r->o.ttl_s)
               : redisAppendCommand(c, "SET %s %b", b->keys[i], v, b->val_size);
}

static void take_reply(batch *b, size_t i, const redisReply *rep, uint64_t *errors)
{
    if (rep->type == REDIS_REPLY_ERROR) {
        (*errors)++;
    } else if (b->cvals) {
        b->good++;
    } else if (rep->type == REDIS_REPLY_STRING && rep->len == b->val_size) {
        memcpy((char *)b->vals + i * b->val_size, rep->str, b->val_size);
        b->hit[i] = 1;
        b->good++;
    }
}

/* Run the batch; a failed round trip drops the connection and counts the rest as errors. */
static void run_batch(rcache *r, batch *b, uint64_t *errors)
{
    for (size_t i = 0; i < b->n;) {
        size_t chunk = b->n - i < (size_t)r->o.pipeline ? b->n - i : (size_t)r->o.pipeline;
        rconn *s = acquire(r);
        if (!s) {
            *errors += b->n - i;
            return;
        }
        int failed = 0;
        for (size_t k = 0; k < chunk; k++)
            if (append_one(r, s->c, b, i + k) != REDIS_OK)
                failed = 1;
        atomic_fetch_add(&r->round_trips, 1);
        for (size_t k = 0; k < chunk && !failed; k++) {
            redisReply *rep = NULL;
            if (redisGetReply(s->c, (void **)&rep) != REDIS_OK || !rep) {
                failed = 1;
                break;
            }
            take_reply(b, i + k, rep, errors);
            freeReplyObject(rep);
        }
        release(r, s, failed, b->cvals ? "pipelined SET failed" : "pipelined GET failed");
        if (failed) {
            *errors += b->n - i;
            return;
        }
        i += chunk;
    }
}

static size_t r_get_many(posts_cache *c, const char *const *keys, size_t n, void *vals,
                         size_t val_size, uint8_t *hit, uint64_t *errors)
{
    memset(hit, 0, n);
    batch b = {.keys = keys, .n = n, .val_size = val_size, .vals = vals, .hit = hit};
    run_batch((rcache *)c, &b, errors);
    return b.good;
}

static size_t r_put_many(posts_cache *c, const char *const *keys, size_t n, const void *vals,
                         size_t val_size, uint64_t *errors)
{
    batch b = {.keys = keys, .n = n, .val_size = val_size, .cvals = vals};
    run_batch((rcache *)c, &b, errors);
    return b.good;
}

static void r_stats(posts_cache *c, posts_cache_stats *out)
{
    out->round_trips = atomic_load(&((rcache *)c)->round_trips);
}

static void r_free(posts_cache *c)
{
    rcache *r = (rcache *)c;
    for (int i = 0; i < MAX_POOL; i++)
        redisFree(r->pool[i].c);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r);
}

static const posts_cache_ops redis_ops = {"redis",    r_get,      r_put,   r_invalidate,
                                          r_get_many, r_put_many, r_stats, r_free};

int posts_cache_new_redis(const char *url, const posts_redis_opts *opts, posts_cache **out,
                          posts_err *err)
{
    *out = NULL;
    if (!url || strncmp(url, "redis://", 8) != 0) {
        posts_err_set(err, "redis: URL must look like redis://HOST:PORT, got '%s'", url ? url : "");
        return PP_EINVAL;
    }
    rcache *r = calloc(1, sizeof *r);
    if (!r)
        return PP_ENOMEM;
    posts__cache_init(&r->base, &redis_ops);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    if (opts)
        r->o = *opts;
    if (r->o.pool < 1 || r->o.pool > MAX_POOL)
        r->o.pool = 4;
    if (r->o.pipeline < 1 || r->o.pipeline > 1024)
        r->o.pipeline = 32;
    if (r->o.timeout_ms < 1)
        r->o.timeout_ms = 200;
    if (r->o.retry_ms < 1)
        r->o.retry_ms = 500;
    const char *hp = url + 8;
    const char *colon = strrchr(hp, ':');
    size_t hl = colon ? (size_t)(colon - hp) : strcspn(hp, "/");
    r->port = colon ? atoi(colon + 1) : 6379;
    if (hl == 0 || hl >= sizeof r->host || r->port <= 0 || r->port > 65535) {
        posts_err_set(err, "redis: bad address in '%s'", url);
        r_free(&r->base);
        return PP_EINVAL;
    }
    memcpy(r->host, hp, hl);
    char why[128];
    r->pool[0].c = dial(r, why, sizeof why);
    if (!r->pool[0].c) {
        posts_err_set(err, "redis %s:%d: %s", r->host, r->port, why);
        r_free(&r->base);
        return PP_ENET;
    }
    *out = &r->base;
    return PP_OK;
}
