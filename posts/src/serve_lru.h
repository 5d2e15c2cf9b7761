/*
 * serve_lru.h - What a node-local LRU would have hit (internal to serve.c).
 * A node that reads and fills a shared Redis also replays its lookups into a
 * key-only LRU of its own --cache-entries: the hit ratio that LRU reaches is
 * the one the node would have had without the shared cache, measured on the
 * same requests. Keys are post ids. One thread uses it; not thread-safe.
 */
#ifndef POSTS_SERVE_LRU_H
#define POSTS_SERVE_LRU_H

#include <stddef.h>
#include <stdint.h>

typedef struct posts__key_lru posts__key_lru;

/* posts__key_lru_new() - capacity 1 .. 2^24 keys. PP_OK, PP_EINVAL, PP_ENOMEM. */
int posts__key_lru_new(size_t capacity, posts__key_lru **out);

/* posts__key_lru_get() - 1 when key is held (it becomes the most recent), 0 when not. */
int posts__key_lru_get(posts__key_lru *l, int64_t key);

/* posts__key_lru_put() - Hold key as the most recent, evicting the least recent when full. */
void posts__key_lru_put(posts__key_lru *l, int64_t key);

/* posts__key_lru_size() - Keys held now. */
size_t posts__key_lru_size(const posts__key_lru *l);

/* posts__key_lru_free() - NULL is a no-op. */
void posts__key_lru_free(posts__key_lru *l);

#endif
