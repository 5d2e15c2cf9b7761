/*
 * cache_lru.c - In-process LRU cache: O(1) get/put/invalidate with a chained
 * hash table and a doubly-linked recency list per shard, one mutex per shard,
 * capacity in entries and in bytes (keys + values) split evenly over shards.
 */
#include <stdlib.h>
#include <string.h>

#include "cache_impl.h"

typedef struct entry {
    struct entry *hnext, *prev, *next;
    uint64_t hash;
    uint32_t klen, vlen;
    char data[]; /* key then value */
} entry;

typedef struct shard {
    pthread_mutex_t mu;
    entry **buckets;
    size_t nbuckets;    /* power of two */
    entry *head, *tail; /* head = most recent */
    size_t count, bytes;
    size_t max_entries, max_bytes; /* 0 = unlimited */
    uint64_t evictions;
} shard;

typedef struct lru {
    posts_cache base;
    unsigned nshards;
    shard *shards;
} lru;

static shard *shard_of(lru *l, uint64_t h)
{
    return &l->shards[(h >> 48) % l->nshards];
}

static entry **slot_of(shard *s, const char *key, size_t klen, uint64_t h)
{
    entry **e = &s->buckets[h & (s->nbuckets - 1)];
    while (*e && !((*e)->hash == h && (*e)->klen == klen && memcmp((*e)->data, key, klen) == 0))
        e = &(*e)->hnext;
    return e;
}

static void list_unlink(shard *s, entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        s->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        s->tail = e->prev;
    e->prev = e->next = NULL;
}

static void list_push_front(shard *s, entry *e)
{
    e->prev = NULL;
    e->next = s->head;
    if (s->head)
        s->head->prev = e;
    s->head = e;
    if (!s->tail)
        s->tail = e;
}

static void remove_entry(shard *s, entry *e)
{
    entry **p = slot_of(s, e->data, e->klen, e->hash);
    *p = e->hnext;
    list_unlink(s, e);
    s->count--;
    s->bytes -= (size_t)e->klen + e->vlen;
    free(e);
}

static void grow_table(shard *s)
{
    size_t nb = s->nbuckets * 2;
    entry **b = calloc(nb, sizeof *b);
    if (!b)
        return; /* keep the old table: longer chains, still correct */
    for (size_t i = 0; i < s->nbuckets; i++) {
        entry *e = s->buckets[i];
        while (e) {
            entry *n = e->hnext;
            entry **d = &b[e->hash & (nb - 1)];
            e->hnext = *d;
            *d = e;
            e = n;
        }
    }
    free(s->buckets);
    s->buckets = b;
    s->nbuckets = nb;
}

static int lru_get(posts_cache *c, const char *key, size_t klen, uint64_t h, void *val, size_t cap,
                   size_t *len)
{
    lru *l = (lru *)c;
    shard *s = shard_of(l, h);
    int hit = 0;
    pthread_mutex_lock(&s->mu);
    entry *e = *slot_of(s, key, klen, h);
    if (e && e->vlen <= cap) {
        memcpy(val, e->data + e->klen, e->vlen);
        *len = e->vlen;
        list_unlink(s, e);
        list_push_front(s, e);
        hit = 1;
    }
    pthread_mutex_unlock(&s->mu);
    if (!hit)
        *len = 0;
    return hit;
}

static int lru_put(posts_cache *c, const char *key, size_t klen, uint64_t h, const void *val,
                   size_t vlen)
{
    lru *l = (lru *)c;
    shard *s = shard_of(l, h);
    size_t need = klen + vlen;
    if (s->max_bytes && need > s->max_bytes)
        return PP_ERANGE;
    entry *n = malloc(sizeof *n + need);
    if (!n)
        return PP_ENOMEM;
    n->hash = h;
    n->klen = (uint32_t)klen;
    n->vlen = (uint32_t)vlen;
    memcpy(n->data, key, klen);
    memcpy(n->data + klen, val, vlen);
    pthread_mutex_lock(&s->mu);
    entry *old = *slot_of(s, key, klen, h);
    if (old)
        remove_entry(s, old);
    while (s->tail && ((s->max_entries && s->count + 1 > s->max_entries) ||
                       (s->max_bytes && s->bytes + need > s->max_bytes))) {
        remove_entry(s, s->tail);
        s->evictions++;
    }
    entry **slot = &s->buckets[h & (s->nbuckets - 1)];
    n->hnext = *slot;
    *slot = n;
    list_push_front(s, n);
    s->count++;
    s->bytes += need;
    if (s->count > s->nbuckets)
        grow_table(s);
    pthread_mutex_unlock(&s->mu);
    return PP_OK;
}

static int lru_invalidate(posts_cache *c, const char *key, size_t klen, uint64_t h)
{
    lru *l = (lru *)c;
    shard *s = shard_of(l, h);
    pthread_mutex_lock(&s->mu);
    entry *e = *slot_of(s, key, klen, h);
    if (e)
        remove_entry(s, e);
    pthread_mutex_unlock(&s->mu);
    return e != NULL;
}

static void lru_stats(posts_cache *c, posts_cache_stats *out)
{
    lru *l = (lru *)c;
    for (unsigned i = 0; i < l->nshards; i++) {
        shard *s = &l->shards[i];
        pthread_mutex_lock(&s->mu);
        out->entries += s->count;
        out->bytes += s->bytes;
        out->evictions += s->evictions;
        pthread_mutex_unlock(&s->mu);
    }
}

static void lru_free(posts_cache *c)
{
    lru *l = (lru *)c;
    for (unsigned i = 0; l->shards && i < l->nshards; i++) {
        shard *s = &l->shards[i];
        entry *e = s->head;
        while (e) {
            entry *n = e->next;
            free(e);
            e = n;
        }
        free(s->buckets);
        pthread_mutex_destroy(&s->mu);
    }
    free(l->shards);
    free(l);
}

static const posts_cache_ops lru_ops = {"lru", lru_get, lru_put,   lru_invalidate,
                                        NULL,  NULL,    lru_stats, lru_free};

int posts_cache_new_lru(size_t max_entries, size_t max_bytes, unsigned shards, posts_cache **out)
{
    *out = NULL;
    if ((max_entries == 0 && max_bytes == 0) || shards < 1 || shards > 256)
        return PP_EINVAL;
    if (max_entries && shards > max_entries)
        shards = (unsigned)max_entries;
    lru *l = calloc(1, sizeof *l);
    if (!l)
        return PP_ENOMEM;
    posts__cache_init(&l->base, &lru_ops);
    l->shards = calloc(shards, sizeof *l->shards);
    if (!l->shards) {
        free(l);
        return PP_ENOMEM;
    }
    l->nshards = shards;
    for (unsigned i = 0; i < shards; i++) {
        shard *s = &l->shards[i];
        pthread_mutex_init(&s->mu, NULL);
        /* split capacity; the first shards take the remainder */
        s->max_entries = max_entries ? max_entries / shards + (i < max_entries % shards) : 0;
        s->max_bytes = max_bytes ? max_bytes / shards + (i < max_bytes % shards) : 0;
        s->nbuckets = 64;
        s->buckets = calloc(s->nbuckets, sizeof *s->buckets);
        if (!s->buckets) {
            l->nshards = i + 1;
            lru_free(&l->base);
            return PP_ENOMEM;
        }
    }
    *out = &l->base;
    return PP_OK;
}
