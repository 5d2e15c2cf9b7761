/*
 * intake.h - What every source does with a row it read (internal): validate
 * it (posts_row_validate), refuse an id it already returned, and for a
 * rejected row count it, log it, count it in the metrics and tell the
 * caller's callback. One per source, used by one thread at a time.
 */
#ifndef POSTS_INTAKE_H
#define POSTS_INTAKE_H

#include <stddef.h>
#include <stdint.h>
#include <posts/source.h>

struct pp_series;

/* Open-addressing set of the ids returned (ids are >= 1, so 0 marks a free slot). */
typedef struct posts__idset {
    int64_t *slots;
    size_t cap, n;
} posts__idset;

typedef struct posts__intake {
    const char *source; /* static: "sqlite", ... */
    char input[512];    /* file or URL, for messages */
    posts_source_stats *st;
    posts_reject_fn on_reject;
    void *user;
    posts__idset seen;
    struct pp_series *series[POSTS_REJECT_KIND_COUNT]; /* looked up at the first of each kind */
} posts__intake;

/* posts__intake_init() - Set up in for a source whose counters are *st. Never fails. */
void posts__intake_init(posts__intake *in, posts_source_stats *st, const char *source,
                        const char *input);

/* posts__intake_release() - Free the id set. NULL is a no-op. */
void posts__intake_release(posts__intake *in);

/*
 * posts__intake_row() - Validate row (the row-th of the source, 1-based) into
 * *out and check its id was not returned before. Returns 1 (a new valid post:
 * out->text points into row), 0 (rejected: counted, logged, reported), or
 * PP_ENOMEM (the id set cannot grow; nothing counted).
 */
int posts__intake_row(posts__intake *in, const posts_row *row, uint64_t rown, posts_post *out);

/* posts__intake_reject() - Reject the row-th row for reason (id NULL when unknown). */
void posts__intake_reject(posts__intake *in, uint64_t rown, const int64_t *id, int kind,
                          const char *reason);

#endif
