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

/* ---- the pipeline's own stages (pipeline.c), driven one by one by profile.c ----
 * so that postprof's experiments time the code `postprof pipeline` runs. */
struct posts_err;
struct posts_source;
struct posts_batch;
struct posts_model;
struct posts_cache;
struct posts_feature_batch;

/* posts__load_batch() - Up to want rows of src into b: the "posts.load.batch" scope. */
long posts__load_batch(struct posts_source *src, struct posts_batch *b, size_t want,
                       struct posts_err *err);

/* posts__infer_batch() - Score fb's posts [first, first+n): the "posts.infer.batch" scope. */
int posts__infer_batch(struct posts_model *m, const struct posts_feature_batch *fb, size_t first,
                       size_t n, float *scores);

/*
 * The loader: the pipeline's loading of its sources, in turn ("posts.load.source"
 * scopes) or each by a producer thread into a bounded queue the caller consumes
 * ("posts.load.source_async" spans). Producer threads start at the first
 * concurrent run and wait between runs. src is the caller's array, read at
 * the start of each run (the caller may replace a source between runs).
 */
#define POSTS__LOAD_MAX_SOURCES 3
typedef struct posts__loader posts__loader;
/* Called on the loading thread for each batch (rows capped to the limit); must not keep b. */
typedef int (*posts__consume_fn)(void *user, struct posts_batch *b, struct posts_err *err);
typedef struct posts__load_run {
    int concurrent;      /* one producer thread per source */
    size_t batch;        /* rows per posts_source_next call */
    uint64_t per_source; /* rows per source (0: all) */
    uint64_t limit;      /* rows in all (0: no limit) */
    /* out */
    uint64_t loaded;                        /* rows handed to the consumer */
    uint64_t load_ns;                       /* time in posts_source_next (concurrent: slowest) */
    uint64_t rows[POSTS__LOAD_MAX_SOURCES]; /* rows each source gave */
} posts__load_run;
int posts__loader_new(struct posts_source *const *src, unsigned n, posts__loader **out);
/* One run; PP_OK, the first source's or consumer's error (err says which), PP_ENOMEM. */
int posts__loader_run(posts__loader *l, posts__load_run *run, posts__consume_fn fn, void *user,
                      struct posts_err *err);
void posts__loader_free(posts__loader *l);

/* Feed candidates: slots 0..n-1 drawn by Zipf popularity, rank -> slot by a fixed shuffle. */
typedef struct posts__feed posts__feed;
int posts__feed_new(size_t n, double zipf_s, uint64_t seed, posts__feed **out);
size_t posts__feed_next(posts__feed *f);
void posts__feed_free(posts__feed *f);

/* One feed request ("posts.serve.request"): the candidates' cached scores,
 * the misses scored ("posts.serve.infer_misses") and stored, then ranked. */
typedef struct posts__server posts__server;
typedef struct posts__request {
    int64_t top_id;  /* ranked first */
    double top_mean; /* mean score of the top_k */
} posts__request;
int posts__server_new(size_t candidates, size_t top_k, posts__server **out);
void posts__server_free(posts__server *s);
/* cand: n (1..candidates) slots of feats. PP_OK, PP_EINVAL, or the inference error (err set). */
int posts__serve_request(posts__server *s, struct posts_cache *cache, struct posts_model *model,
                         uint32_t version, const struct posts_feature_batch *feats,
                         const size_t *cand, size_t n, posts__request *out, struct posts_err *err);

#endif
