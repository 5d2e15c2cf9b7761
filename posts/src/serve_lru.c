/*
 * serve_lru.c - A key-only LRU (serve_lru.h): a chained hash table of slot
 * indices over one array of slots, each on a doubly linked recency list.
 */
#include <stdlib.h>

#include <postprof/error.h>

#include "serve_lru.h"

#define NIL UINT32_MAX

typedef struct slot {
    int64_t key;
    uint32_t prev, next; /* recency list: prev is more recent */
    uint32_t chain;      /* next slot in the same bucket */
} slot;

struct posts__key_lru {
    slot *slots;
    uint32_t *bucket;
    uint32_t cap, n, mask;
    uint32_t head, tail; /* most and least recent */
};

static uint32_t bucket_of(const posts__key_lru *l, int64_t key)
{
    uint64_t h = (uint64_t)key * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> 32) & l->mask;
}

int posts__key_lru_new(size_t capacity, posts__key_lru **out)
{
    *out = NULL;
    if (capacity < 1 || capacity > ((size_t)1 << 24))
        return PP_EINVAL;
    posts__key_lru *l = calloc(1, sizeof *l);
    if (!l)
        return PP_ENOMEM;
    uint32_t nb = 1;
    while (nb < 2 * capacity)
        nb <<= 1;
    l->slots = malloc(capacity * sizeof *l->slots);
    l->bucket = malloc(nb * sizeof *l->bucket);
    if (!l->slots || !l->bucket) {
        posts__key_lru_free(l);
        return PP_ENOMEM;
    }
    for (uint32_t i = 0; i < nb; i++)
        l->bucket[i] = NIL;
    l->cap = (uint32_t)capacity;
    l->mask = nb - 1;
    l->head = l->tail = NIL;
    *out = l;
    return PP_OK;
}

static void unlink_recency(posts__key_lru *l, uint32_t i)
{
    slot *s = &l->slots[i];
    if (s->prev != NIL)
        l->slots[s->prev].next = s->next;
    else
        l->head = s->next;
    if (s->next != NIL)
        l->slots[s->next].prev = s->prev;
    else
        l->tail = s->prev;
}

static void push_front(posts__key_lru *l, uint32_t i)
{
    slot *s = &l->slots[i];
    s->prev = NIL;
    s->next = l->head;
    if (l->head != NIL)
        l->slots[l->head].prev = i;
    l->head = i;
    if (l->tail == NIL)
        l->tail = i;
}

static uint32_t find(const posts__key_lru *l, int64_t key)
{
    for (uint32_t i = l->bucket[bucket_of(l, key)]; i != NIL; i = l->slots[i].chain)
        if (l->slots[i].key == key)
            return i;
    return NIL;
}

int posts__key_lru_get(posts__key_lru *l, int64_t key)
{
    uint32_t i = find(l, key);
    if (i == NIL)
        return 0;
    if (l->head != i) {
        unlink_recency(l, i);
        push_front(l, i);
    }
    return 1;
}

void posts__key_lru_put(posts__key_lru *l, int64_t key)
{
    if (posts__key_lru_get(l, key))
        return;
    uint32_t i;
    if (l->n < l->cap) {
        i = l->n++;
    } else { /* evict the least recent: off its bucket's chain and the list */
        i = l->tail;
        uint32_t *p = &l->bucket[bucket_of(l, l->slots[i].key)];
        while (*p != i)
            p = &l->slots[*p].chain;
        *p = l->slots[i].chain;
        unlink_recency(l, i);
    }
    uint32_t b = bucket_of(l, key);
    l->slots[i].key = key;
    l->slots[i].chain = l->bucket[b];
    l->bucket[b] = i;
    push_front(l, i);
}

size_t posts__key_lru_size(const posts__key_lru *l)
{
    return l->n;
}

void posts__key_lru_free(posts__key_lru *l)
{
    if (!l)
        return;
    free(l->slots);
    free(l->bucket);
    free(l);
}
