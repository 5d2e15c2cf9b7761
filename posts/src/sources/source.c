/*
 * source.c - The posts_source interface: dispatch to the database, file and
 * API implementations, shared counters. Implementations live in source_*.c.
 */
#include <stdlib.h>

#include "source_impl.h"

long posts_source_next(posts_source *src, posts_batch *batch, size_t max, posts_err *err)
{
    if (!src || !batch || max == 0) {
        posts_err_set(err, "posts_source_next: invalid argument");
        return PP_EINVAL;
    }
    size_t before = batch->n;
    long n = src->ops->next(src, batch, max, err);
    if (n > 0) {
        src->st.posts += (uint64_t)n;
        src->st.batches++;
    } else if (n < 0 && batch->n > before) {
        src->st.posts += batch->n - before;
    }
    return n;
}

void posts_source_on_reject(posts_source *src, posts_reject_fn fn, void *user)
{
    if (!src)
        return;
    src->in.on_reject = fn;
    src->in.user = user;
}

const char *posts_source_name(const posts_source *src)
{
    return src ? src->ops->name : "none";
}

void posts_source_stats_get(const posts_source *src, posts_source_stats *out)
{
    *out = src->st;
}

void posts_source_close(posts_source *src)
{
    if (!src)
        return;
    posts__intake_release(&src->in);
    src->ops->close(src);
}
