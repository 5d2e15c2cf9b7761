/*
 * posts/preprocess.h - Text to features: UTF-8 validation (invalid sequences
 * replaced by U+FFFD and counted), NFC + case folding (utf8proc), tokens,
 * hashtags, mentions, URLs, emoji, and feature hashing into a fixed-width
 * sparse vector plus a few numeric features of the post.
 */
#ifndef POSTS_PREPROCESS_H
#define POSTS_PREPROCESS_H

#include <stddef.h>
#include <stdint.h>
#include <posts/post.h>

/* Width of the feature vector every model takes as input. */
#define POSTS_FEAT_DIM 1024u
/* The first POSTS_META_DIM slots hold numeric features (docs/pipeline.md); tokens hash into the
 * rest. */
#define POSTS_META_DIM 16u

/* Token kinds passed to posts_token_fn. */
enum posts_token_kind {
    POSTS_TOK_WORD = 0,
    POSTS_TOK_HASHTAG, /* "#ai", text without the '#' */
    POSTS_TOK_MENTION, /* "@ana", text without the '@' */
    POSTS_TOK_URL,     /* the whole URL as written (after folding) */
    POSTS_TOK_EMOJI,   /* one emoji code point, UTF-8 */
    POSTS_TOK_KINDS
};

/* Features of one post; idx/val live in the owning posts_feature_batch at [off, off+nnz). */
typedef struct posts_features {
    int64_t post_id;
    uint32_t off, nnz; /* idx ascending, all < POSTS_FEAT_DIM, no duplicates */
    uint32_t tokens;   /* tokens of every kind */
    uint32_t hashtags, mentions, urls, emoji;
    uint32_t invalid_utf8; /* invalid sequences replaced */
    uint32_t text_bytes;   /* input text length */
} posts_features;

/* Features of many posts, stored contiguously; grows by appending. */
typedef struct posts_feature_batch {
    posts_features *f;
    size_t n, cap;
    uint32_t *idx;
    float *val;
    size_t nnz, nnz_cap;
} posts_feature_batch;

typedef struct posts_preprocess_stats {
    uint64_t posts, bytes, tokens, invalid_utf8;
    uint64_t allocs; /* token allocations: one per token with malloc, one per arena block with the
                        arena */
} posts_preprocess_stats;

typedef struct posts_preprocessor posts_preprocessor;

/* Called for each token of a text; tok is not NUL-terminated and valid only during the call. */
typedef void (*posts_token_fn)(void *user, int kind, const char *tok, size_t len);

/*
 * posts_preprocessor_new() - threads worker threads (1..64; 1 = the calling
 * thread only), arena != 0 for a per-batch arena, 0 for malloc per token.
 * PP_OK, PP_EINVAL, PP_ENOMEM; *out NULL on error.
 */
PP_EXPORT PP_NODISCARD int posts_preprocessor_new(int threads, int arena, posts_preprocessor **out);

/*
 * posts_preprocess_batch() - Append the features of every post of in to out,
 * in order. Splits the batch across the worker threads. Returns PP_OK or
 * PP_ENOMEM (out keeps the posts appended before the failure). Adds to *stats
 * when non-NULL. One call at a time per preprocessor.
 */
PP_EXPORT PP_NODISCARD int posts_preprocess_batch(posts_preprocessor *pp, const posts_batch *in,
                                                  posts_feature_batch *out,
                                                  posts_preprocess_stats *stats);

/* posts_preprocessor_free() - Stop the workers and free. NULL is a no-op. */
PP_EXPORT void posts_preprocessor_free(posts_preprocessor *pp);

/*
 * posts_text_tokens() - Normalize text (len bytes, any bytes) and call cb for
 * every token. Returns the number of invalid UTF-8 sequences replaced, or a
 * negative status (PP_ENOMEM). Thread-safe.
 */
PP_EXPORT long posts_text_tokens(const char *text, size_t len, posts_token_fn cb, void *user);

/* posts_feature_batch_clear() / _release() - Empty (keep memory) / free. NULL is a no-op. */
PP_EXPORT void posts_feature_batch_clear(posts_feature_batch *fb);
PP_EXPORT void posts_feature_batch_release(posts_feature_batch *fb);

/*
 * posts_feature_batch_densify() - Write posts [first, first+count) of fb as
 * dense rows of POSTS_FEAT_DIM floats into out (count * POSTS_FEAT_DIM floats).
 */
PP_EXPORT void posts_feature_batch_densify(const posts_feature_batch *fb, size_t first,
                                           size_t count, float *out);

#endif
