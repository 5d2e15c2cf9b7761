/*
 * posts/datagen.h - The deterministic data generator behind `postprof datagen`:
 * posts with a planted engagement function, written to SQLite and JSONL (and
 * optionally PostgreSQL), and the three trained models.
 */
#ifndef POSTS_DATAGEN_H
#define POSTS_DATAGEN_H

#include <stddef.h>
#include <stdint.h>
#include <posts/post.h>

typedef struct posts_datagen_opts {
    size_t posts;             /* number of posts (default 100000) */
    uint64_t seed;            /* same seed, byte-identical files (default 42) */
    const char *out_dir;      /* created if missing */
    const char *postgres_url; /* NULL: no PostgreSQL; else table posts is (re)created there */
    int train;                /* 1: train and write the models (default) */
    /* progress(user, stage, done, total): called now and then from the calling thread */
    void (*progress)(void *user, const char *stage, size_t done, size_t total);
    void *user;
} posts_datagen_opts;

typedef struct posts_datagen_result {
    double auc[3];      /* held-out AUC of small, medium, large (when trained) */
    size_t train_posts; /* train split size; the rest is held out */
    uint64_t ns_generate, ns_sqlite, ns_jsonl, ns_train, ns_postgres;
} posts_datagen_result;

/* posts_datagen_opts_init() - Defaults above (out_dir "data"). */
PP_EXPORT void posts_datagen_opts_init(posts_datagen_opts *o);

/*
 * posts_datagen_run() - Generate everything into out_dir. Each file is written
 * to a temporary name and renamed into place. PP_OK, or PP_EIO / PP_EDB /
 * PP_ENOMEM with err->msg naming the file or the server; files already renamed
 * into place stay.
 */
PP_EXPORT PP_NODISCARD int posts_datagen_run(const posts_datagen_opts *o, posts_datagen_result *out,
                                             posts_err *err);

/*
 * posts_datagen_post() - Post number i (1-based id) of the stream for seed, into
 * *out (text malloc'd; free with posts_post_release). Independent of every other
 * post, so tests and fuzzers can build any post. PP_OK / PP_ENOMEM.
 */
PP_EXPORT PP_NODISCARD int posts_datagen_post(uint64_t seed, int64_t id, posts_post *out);

#endif
