/*
 * strbuf.c - Bounded growable text buffer (see strbuf.h). Never grows past
 * its maximum; errors are sticky so callers check once at the end.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/error.h>
#include <postprof/json.h>

#include "common/strbuf.h"

void pp__strbuf_init(pp__strbuf *b, size_t max)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->max = max;
    b->err = 0;
}

void pp__strbuf_release(pp__strbuf *b)
{
    if (!b)
        return;
    free(b->data);
    pp__strbuf_init(b, b->max);
}

int pp__strbuf_reserve(pp__strbuf *b, size_t n)
{
    if (b->err)
        return b->err;
    if (n > b->max || b->len > b->max - n) {
        b->err = PP_ERANGE;
        return b->err;
    }
    if (b->len + n + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
        cap *= 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->err = PP_ENOMEM;
        return b->err;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

void pp__strbuf_add(pp__strbuf *b, const void *p, size_t n)
{
    if (n == 0 || pp__strbuf_reserve(b, n) != 0)
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void pp__strbuf_adds(pp__strbuf *b, const char *s)
{
    pp__strbuf_add(b, s, strlen(s));
}

void pp__strbuf_addc(pp__strbuf *b, char c)
{
    pp__strbuf_add(b, &c, 1);
}

void pp__strbuf_addu(pp__strbuf *b, uint64_t v)
{
    char tmp[24];
    char *p = tmp + sizeof tmp;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    pp__strbuf_add(b, p, (size_t)(tmp + sizeof tmp - p));
}

void pp__strbuf_printf(pp__strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0 || pp__strbuf_reserve(b, (size_t)n) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void pp__set_err(char *err, size_t errcap, const char *fmt, ...)
{
    if (!err || !errcap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errcap, fmt, ap);
    va_end(ap);
}

size_t pp__json_escape_byte(unsigned char c, int flags, char out[7])
{
    static const char hex[] = "0123456789abcdef";
    char two = 0;
    switch (c) {
    case '"':
    case '\\':
        two = (char)c;
        break;
    case '\n':
        two = 'n';
        break;
    case '\r':
        two = 'r';
        break;
    case '\t':
        two = 't';
        break;
    case '<':
    case '>':
    case '&':
        if (!(flags & PP__JSON_HTML))
            return 0;
        break;
    default:
        if (c >= 0x20 && c != 0x7f)
            return 0;
    }
    out[0] = '\\';
    if (two) {
        out[1] = two;
        return 2;
    }
    out[1] = 'u';
    out[2] = '0';
    out[3] = '0';
    out[4] = hex[c >> 4];
    out[5] = hex[c & 15];
    return 6;
}

void pp__strbuf_json_str(pp__strbuf *b, const char *s, size_t len, int flags)
{
    char esc[7];
    size_t start = 0;
    pp__strbuf_addc(b, '"');
    for (size_t i = 0; i < len; i++) {
        size_t n = pp__json_escape_byte((unsigned char)s[i], flags, esc);
        if (n == 0)
            continue;
        pp__strbuf_add(b, s + start, i - start);
        pp__strbuf_add(b, esc, n);
        start = i + 1;
    }
    pp__strbuf_add(b, s + start, len - start);
    pp__strbuf_addc(b, '"');
}

void pp_json_write_string(FILE *f, const char *s)
{
    if (!s) {
        fputs("null", f);
        return;
    }
    char esc[7];
    fputc('"', f);
    for (; *s; s++) {
        size_t n = pp__json_escape_byte((unsigned char)*s, 0, esc);
        if (n)
            fwrite(esc, 1, n, f);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

size_t pp__format_double(char *out, size_t cap, double v)
{
    if (isnan(v))
        return (size_t)snprintf(out, cap, "NaN");
    if (isinf(v))
        return (size_t)snprintf(out, cap, v > 0 ? "+Inf" : "-Inf");
    if (v == floor(v) && fabs(v) < 9007199254740992.0)
        return (size_t)snprintf(out, cap, "%.0f", v == 0 ? 0.0 : v);
    int n = snprintf(out, cap, "%.15g", v);
    if (strtod(out, NULL) != v)
        n = snprintf(out, cap, "%.17g", v);
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

void pp__strbuf_addd(pp__strbuf *b, double v)
{
    if (v == floor(v) && fabs(v) < 9007199254740992.0) {
        if (v < 0) {
            pp__strbuf_addc(b, '-');
            v = -v;
        }
        pp__strbuf_addu(b, (uint64_t)v);
        return;
    }
    char tmp[40];
    pp__strbuf_add(b, tmp, pp__format_double(tmp, sizeof tmp, v));
}

char *pp__strbuf_detach(pp__strbuf *b, size_t *out_len)
{
    char *p = NULL;
    size_t n = 0;
    if (!b->err && pp__strbuf_reserve(b, 0) == 0) {
        p = b->data;
        p[b->len] = '\0';
        n = b->len;
        b->data = NULL;
    }
    pp__strbuf_release(b);
    if (out_len)
        *out_len = n;
    return p;
}
