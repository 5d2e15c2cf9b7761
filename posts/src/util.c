/*
 * util.c - Small helpers shared by the posts library's files: growing arrays,
 * a bounded-by-memory string builder, refusing special files, decimal text.
 * No global state; thread-safe.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

static int regular_mode(mode_t mode, const char *what, const char *path, posts_err *err)
{
    if (S_ISREG(mode))
        return PP_OK;
    const char *kind = S_ISFIFO(mode)   ? "a FIFO"
                       : S_ISCHR(mode)  ? "a character device"
                       : S_ISBLK(mode)  ? "a block device"
                       : S_ISDIR(mode)  ? "a directory"
                       : S_ISSOCK(mode) ? "a socket"
                                        : "a special file";
    posts_err_set(err,
                  "%s %s: %s, not a regular file: refused (reading it could block or never end)",
                  what, path, kind);
    return PP_EIO;
}

int posts__regular_fd(int fd, const char *what, const char *path, posts_err *err)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        posts_err_set(err, "%s %s: %s", what, path, strerror(errno));
        return PP_EIO;
    }
    return regular_mode(st.st_mode, what, path, err);
}

int posts__check_regular(const char *what, const char *path, posts_err *err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        int e = errno;
        posts_err_set(err, "%s %s: %s", what, path, strerror(e));
        return e == ENOENT ? PP_ENOTFOUND : PP_EIO;
    }
    return regular_mode(st.st_mode, what, path, err);
}

int posts__parse_decimal(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    if (len && s[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i == len)
        return -1;
    uint64_t v = 0;
    const uint64_t limit = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (limit - d) / 10u)
            return -1;
        v = v * 10u + d;
    }
    *out = neg ? (v == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    return 0;
}
