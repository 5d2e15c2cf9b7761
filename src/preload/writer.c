/*
 * writer.c - Async-signal-safe buffered output for the raw profile: only
 * write(2), no locale, no allocation (see writer.h).
 */
#include <errno.h>
#include <unistd.h>

#include "writer.h"

void pp__pl_w_flush(pp_pl_writer *w)
{
    size_t off = 0;
    while (off < w->n && !w->err) {
        ssize_t r = write(w->fd, w->buf + off, w->n - off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            w->err = 1;
            break;
        }
        off += (size_t)r;
    }
    w->n = 0;
}

void pp__pl_w_mem(pp_pl_writer *w, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (w->n == sizeof w->buf)
            pp__pl_w_flush(w);
        w->buf[w->n++] = s[i];
    }
}

void pp__pl_w_str(pp_pl_writer *w, const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    pp__pl_w_mem(w, s, n);
}

void pp__pl_w_u64(pp_pl_writer *w, uint64_t v)
{
    char tmp[24];
    int i = (int)sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    pp__pl_w_mem(w, tmp + i, sizeof tmp - (size_t)i);
}

void pp__pl_w_i64(pp_pl_writer *w, int64_t v)
{
    if (v < 0) {
        pp__pl_w_mem(w, "-", 1);
        pp__pl_w_u64(w, (uint64_t)0 - (uint64_t)v);
    } else {
        pp__pl_w_u64(w, (uint64_t)v);
    }
}

void pp__pl_w_hex(pp_pl_writer *w, uint64_t v)
{
    char tmp[16];
    int i = (int)sizeof tmp;
    do {
        tmp[--i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    pp__pl_w_mem(w, tmp + i, sizeof tmp - (size_t)i);
}
