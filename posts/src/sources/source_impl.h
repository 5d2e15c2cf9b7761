/*
 * source_impl.h - What every source implementation provides (internal).
 * A source struct starts with posts_source base; ops->close frees it all
 * (and calls posts__intake_release on base.in). Every row goes through
 * base.in (intake.h) before it is returned.
 */
#ifndef POSTS_SOURCE_IMPL_H
#define POSTS_SOURCE_IMPL_H

#include <posts/source.h>

#include "intake.h"

typedef struct posts_source_ops {
    const char *name;
    long (*next)(posts_source *src, posts_batch *batch, size_t max, posts_err *err);
    void (*close)(posts_source *src);
} posts_source_ops;

struct posts_source {
    const posts_source_ops *ops;
    posts_source_stats st;
    posts__intake in;
};

#endif
