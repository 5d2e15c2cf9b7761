/*
 * internal.h - Helpers shared by the posts library's files (not installed):
 * deterministic RNG, hashing, time, small string utilities. Nothing here does I/O.
 */
#ifndef POSTS_INTERNAL_H
#define POSTS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <postprof/clock.h>

/* splitmix64: the generator of every random choice in datagen and the pipeline. */
typedef struct posts__rng {
    uint64_t s;
} posts__rng;

static inline uint64_t posts__rng_next(posts__rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* uniform in [0, n) (n > 0) */
static inline uint64_t posts__rng_below(posts__rng *r, uint64_t n)
{
    return posts__rng_next(r) % n;
}

/* uniform double in [0, 1) */
static inline double posts__rng_unit(posts__rng *r)
{
    return (double)(posts__rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static inline uint64_t posts__fnv1a(const void *data, size_t len, uint64_t h)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}
#define POSTS__FNV_BASIS 0xcbf29ce484222325ull

static inline uint64_t posts__mix64(uint64_t z)
{
    z = (z ^ (z >> 33)) * 0xff51afd7ed558ccdull;
    z = (z ^ (z >> 33)) * 0xc4ceb9fe1a85ec53ull;
    return z ^ (z >> 33);
}

static inline uint64_t posts__now_ns(void)
{
    return pp_clock_now_ns();
}

/* posts__join_path() - dir + "/" + name into buf; 0, or -1 if it does not fit. */
int posts__join_path(char *buf, size_t cap, const char *dir, const char *name);

/* posts__sanitize_utf8() - Copy s with invalid sequences replaced by U+FFFD into a malloc'd
 * NUL-terminated string; *out_len its length; returns the number replaced or -1 (ENOMEM). */
long posts__sanitize_utf8(const char *s, size_t len, char **out, size_t *out_len);

/* posts__grow() - Make *p hold at least need elements of elem bytes (capacity doubles,
 * starting at first). PP_OK or PP_ENOMEM (*p unchanged). */
int posts__grow(void **p, size_t *cap, size_t need, size_t elem, size_t first);

/* A growing NUL-terminated string; oom sticks once an allocation failed. */
typedef struct posts__sbuf {
    char *p;
    size_t n, cap;
    int oom;
} posts__sbuf;

void posts__sbuf_add(posts__sbuf *s, const char *t, size_t len);

/* posts__fb_reserve() - Room for posts more features and nnz more entries. PP_OK / PP_ENOMEM. */
struct posts_feature_batch;
int posts__fb_reserve(struct posts_feature_batch *fb, size_t posts, size_t nnz);

/* posts__parse_decimal() - Text "-"? [0-9]+ that fits in int64 (nothing else: no sign '+',
 * no spaces). 0 and *out, or -1. */
int posts__parse_decimal(const char *s, size_t len, int64_t *out);

/* posts__json_parse() - One JSON value (strict: duplicate keys refused), or NULL with err->msg
 * saying why (invalid UTF-8, truncated, invalid JSON at byte N). json_decref the result. */
struct json_t;
struct posts_err;
struct json_t *posts__json_parse(const char *json, size_t len, struct posts_err *err);

/* posts__json_row() - The fields of JSON object o as typed values (texts point into o).
 * PP_OK, or PP_EFORMAT when o is not an object. */
struct posts_row;
int posts__json_row(struct json_t *o, struct posts_row *row);

/* posts__sqlite_row() - The current row of a "SELECT " POSTS__COLUMNS statement as typed
 * values (texts point into the statement: valid until the next step). */
struct sqlite3_stmt;
struct posts_row;
void posts__sqlite_row(struct sqlite3_stmt *st, struct posts_row *row);

/* posts__regular_fd() - fd is a regular file, else PP_EIO with err->msg "WHAT PATH: a FIFO
 * (a character device, ...), not a regular file: refused ...". PP_OK or PP_EIO. */
int posts__regular_fd(int fd, const char *what, const char *path, struct posts_err *err);

/* posts__check_regular() - The same by path (stat, never opens it): PP_OK, PP_ENOTFOUND or
 * PP_EIO with err->msg. */
int posts__check_regular(const char *what, const char *path, struct posts_err *err);

/* posts__pg_load() - Create the posts table at url and COPY n posts generated from seed
 * into it (datagen_pg.c). PP_OK, or PP_EDB with the server's message in err. */
struct posts_err;
int posts__pg_load(const char *url, uint64_t seed, size_t n, struct posts_err *err);

/* POSTS__COLUMNS - Columns shared by every source, in this order. */
#define POSTS__COLUMNS                                                                             \
    "id, author_id, author_followers, created_at, lang, text, media, reactions, comments, shares"

#endif
