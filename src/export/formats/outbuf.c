/*
 * outbuf.c - Bounded growable output buffer shared by the profile writers
 * (see outbuf.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <postprof/error.h>

#include "export/formats/outbuf.h"

static int reserve(pp__outbuf *b, size_t more)
{
    if (b->err)
        return -1;
    if (b->len + more + 1 <= b->cap)
        return 0;
    if (b->len + more + 1 > PP__OB_MAX) {
        b->err = PP_ERANGE;
        return -1;
    }
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *q = realloc(b->data, cap);
    if (!q) {
        b->err = PP_ENOMEM;
        return -1;
    }
    b->data = q;
    b->cap = cap;
    return 0;
}

void pp__ob_mem(pp__outbuf *b, const void *s, size_t n)
{
    if (reserve(b, n) != 0)
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
}

void pp__ob_str(pp__outbuf *b, const char *s)
{
    pp__ob_mem(b, s, strlen(s));
}

void pp__ob_printf(pp__outbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || reserve(b, (size_t)n) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void pp__ob_json_str(pp__outbuf *b, const char *s)
{
    pp__ob_mem(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            char esc[2] = {'\\', (char)*p};
            pp__ob_mem(b, esc, 2);
        } else if (*p < 0x20) {
            pp__ob_printf(b, "\\u%04x", *p);
        } else {
            pp__ob_mem(b, p, 1);
        }
    }
    pp__ob_mem(b, "\"", 1);
}

void pp__ob_release(pp__outbuf *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
