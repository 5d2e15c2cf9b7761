/*
 * util.c - Small helpers shared by the posts library's files: growing arrays,
 * a bounded-by-memory string builder.
 * No global state; thread-safe.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <posts/post.h>

#include "internal.h"

int posts__grow(void **p, size_t *cap, size_t need, size_t elem, size_t first)
{
    if (need <= *cap)
        return PP_OK;
    size_t c = *cap ? *cap : first;
    while (c < need)
        c *= 2;
    if (c > SIZE_MAX / elem)
        return PP_ENOMEM;
    void *n = realloc(*p, c * elem);
    if (!n)
        return PP_ENOMEM;
    *p = n;
    *cap = c;
    return PP_OK;
}

void posts__sbuf_add(posts__sbuf *s, const char *t, size_t len)
{
    if (s->oom)
        return;
    if (posts__grow((void **)&s->p, &s->cap, s->n + len + 1, 1, 256) != PP_OK) {
        s->oom = 1;
        return;
    }
    memcpy(s->p + s->n, t, len);
    s->n += len;
    s->p[s->n] = '\0';
}
