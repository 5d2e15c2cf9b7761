/*
 * posts/post.h - One LinkedIn-style post, a batch of them, and the error
 * text every posts_* function can fill in. Shared by every pipeline stage;
 * no I/O here.
 */
#ifndef POSTS_POST_H
#define POSTS_POST_H

#include <stddef.h>
#include <stdint.h>
#include <postprof/error.h>
#include <postprof/export.h>

#define POSTS_ERR_MAX 256

/* Error detail: a human-readable "where and why" filled by a failing call. */
typedef struct posts_err {
    char msg[POSTS_ERR_MAX];
} posts_err;

/* Media attached to a post. */
enum posts_media {
    POSTS_MEDIA_NONE = 0,
    POSTS_MEDIA_IMAGE,
    POSTS_MEDIA_VIDEO,
    POSTS_MEDIA_ARTICLE,
    POSTS_MEDIA_POLL,
    POSTS_MEDIA_COUNT
};

typedef struct posts_post {
    int64_t id;               /* > 0, unique */
    int64_t author_id;        /* > 0 */
    int64_t author_followers; /* >= 0 */
    int64_t created_at;       /* Unix seconds, UTC */
    char lang[4];             /* "en" or "es" (any 1-3 letter code is accepted) */
    int media;                /* enum posts_media */
    int64_t reactions, comments, shares;
    char *text; /* UTF-8 as stored (may be invalid when read from a file); owned */
    size_t text_len;
} posts_post;

/* A batch of posts; owns each post's text. */
typedef struct posts_batch {
    posts_post *posts;
    size_t n, cap;
} posts_batch;

/* posts_media_name() / posts_media_parse() - "none|image|video|article|poll"; parse returns -1 if
 * unknown. */
PP_EXPORT const char *posts_media_name(int media);
PP_EXPORT int posts_media_parse(const char *s);

/*
 * posts_batch_push() - Append a copy of p (text copied) to b.
 * Returns PP_OK or PP_ENOMEM (b unchanged). Not thread-safe on one batch.
 */
PP_EXPORT PP_NODISCARD int posts_batch_push(posts_batch *b, const posts_post *p);

/* posts_batch_clear() - Free the texts, keep the array for reuse (n = 0). NULL is a no-op. */
PP_EXPORT void posts_batch_clear(posts_batch *b);

/* posts_batch_release() - Free everything; b is an empty batch afterwards. NULL is a no-op. */
PP_EXPORT void posts_batch_release(posts_batch *b);

/* posts_batch_take() - Move src's posts to the end of dst (src left empty). PP_OK or PP_ENOMEM. */
PP_EXPORT PP_NODISCARD int posts_batch_take(posts_batch *dst, posts_batch *src);

/*
 * posts_post_hash() - 64-bit content hash of every field of p (text bytes included).
 * Equal posts give equal hashes whatever source they came from. Pure.
 */
PP_EXPORT uint64_t posts_post_hash(const posts_post *p);

/*
 * posts_post_label() - The engagement label the models predict: 1 when
 * (reactions + 2*comments + 3*shares) / (followers + 50) is above the
 * planted threshold (docs/pipeline.md), else 0. Pure.
 */
PP_EXPORT int posts_post_label(const posts_post *p);

/*
 * posts_post_to_json() - p as one JSON object (no newline) into a malloc'd
 * NUL-terminated string (*out, caller frees). Invalid UTF-8 in the text is
 * written with U+FFFD replacements. PP_OK or PP_ENOMEM.
 */
PP_EXPORT PP_NODISCARD int posts_post_to_json(const posts_post *p, char **out, size_t *out_len);

/*
 * posts_post_from_json() - Parse one JSON object (len bytes, need not be NUL
 * terminated) into *out (text malloc'd, owned by *out; free with
 * posts_post_release). Returns PP_OK, or PP_EFORMAT with err->msg saying why
 * (not JSON / truncated, invalid UTF-8, not an object, missing field, wrong
 * type, value out of range); *out is zeroed on error. Thread-safe.
 */
PP_EXPORT PP_NODISCARD int posts_post_from_json(const char *json, size_t len, posts_post *out,
                                                posts_err *err);

/* posts_post_release() - Free p's text and zero it. NULL is a no-op. */
PP_EXPORT void posts_post_release(posts_post *p);

/* posts_err_set() - printf into err->msg (err may be NULL). Internal use by posts_* code too. */
PP_EXPORT void posts_err_set(posts_err *err, const char *fmt, ...) PP_PRINTF(2, 3);

#endif
