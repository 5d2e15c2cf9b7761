/*
 * http_parse.c - HTTP header value parsing: q-values and element lists
 * (Accept, Accept-Encoding), bearer tokens, listen addresses. Pure and
 * bounded: a header value is read at most PP__HDR_MAX bytes far.
 */
#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <postprof/error.h>
#include <postprof/http.h>

#include "export/serve/http_parse.h"

#define PP__HDR_MAX 8192

int pp__http_token_eq(const char *p, size_t n, const char *lit)
{
    return strlen(lit) == n && strncasecmp(p, lit, n) == 0;
}

int pp__http_parse_q(const char *p, size_t n)
{
    if (n == 0 || (p[0] != '0' && p[0] != '1'))
        return -1;
    int q = (p[0] - '0') * 1000, scale = 100;
    if (n == 1)
        return q;
    if (p[1] != '.' || n > 5)
        return -1;
    for (size_t i = 2; i < n; i++) {
        if (!isdigit((unsigned char)p[i]))
            return -1;
        q += (p[i] - '0') * scale;
        scale /= 10;
    }
    return q > 1000 ? -1 : q;
}

static const char *skip_ows(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

static const char *trim_end(const char *b, const char *e)
{
    while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    return e;
}

int pp__http_param(const pp__http_elem *e, const char *key, const char **out_v, size_t *out_n)
{
    const char *a = e->params, *end = e->params + e->params_len;
    while (a < end) {
        a = memchr(a, ';', (size_t)(end - a));
        if (!a)
            return 0;
        a = skip_ows(a + 1, end);
        const char *pe = memchr(a, ';', (size_t)(end - a));
        if (!pe)
            pe = end;
        const char *eq = memchr(a, '=', (size_t)(pe - a));
        if (eq && pp__http_token_eq(a, (size_t)(trim_end(a, eq) - a), key)) {
            const char *v = skip_ows(eq + 1, pe), *ve = trim_end(v, pe);
            if (ve - v >= 2 && *v == '"' && ve[-1] == '"') {
                v++;
                ve--;
            }
            *out_v = v;
            *out_n = (size_t)(ve - v);
            return 1;
        }
        a = pe;
    }
    return 0;
}

int pp__http_next_elem(const char **pp, const char *end, pp__http_elem *out)
{
    const char *p = *pp;
    while (p < end && (*p == ',' || *p == ' ' || *p == '\t'))
        p++;
    if (p >= end)
        return 0;
    const char *elem_end = memchr(p, ',', (size_t)(end - p));
    if (!elem_end)
        elem_end = end;
    const char *te = p;
    while (te < elem_end && *te != ';' && *te != ' ' && *te != '\t')
        te++;
    out->token = p;
    out->token_len = (size_t)(te - p);
    out->params = te;
    out->params_len = (size_t)(elem_end - te);
    out->q = 1000;
    const char *v;
    size_t n;
    if (pp__http_param(out, "q", &v, &n)) {
        out->q = pp__http_parse_q(v, n);
        if (out->q < 0)
            out->q = 0;
    }
    *pp = elem_end < end ? elem_end + 1 : end;
    return 1;
}

int pp_http_accepts_gzip(const char *value)
{
    if (!value)
        return 0;
    const char *p = value, *end = value + strnlen(value, PP__HDR_MAX);
    int gzip_q = -1, star_q = -1;
    pp__http_elem e;
    while (pp__http_next_elem(&p, end, &e)) {
        if (pp__http_token_eq(e.token, e.token_len, "gzip") ||
            pp__http_token_eq(e.token, e.token_len, "x-gzip"))
            gzip_q = e.q > gzip_q ? e.q : gzip_q;
        else if (pp__http_token_eq(e.token, e.token_len, "*"))
            star_q = e.q;
    }
    return gzip_q > 0 || (gzip_q < 0 && star_q > 0);
}

int pp_http_check_bearer(const char *value, const char *token)
{
    if (!value || !token)
        return 0;
    size_t vn = strnlen(value, PP__HDR_MAX), tn = strlen(token);
    if (vn < 7 || strncasecmp(value, "Bearer ", 7) != 0)
        return 0;
    const char *v = value + 7;
    vn -= 7;
    while (vn && *v == ' ') {
        v++;
        vn--;
    }
    while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
        vn--;
    /* constant time over the presented value: every byte is looked at */
    unsigned diff = (unsigned)(vn != tn);
    for (size_t i = 0; i < vn; i++)
        diff |= (unsigned char)v[i] ^ (unsigned char)(i < tn ? token[i] : 0);
    return diff == 0;
}

int pp_http_parse_listen(const char *listen, char *out_host, size_t host_cap, uint16_t *out_port)
{
    if (!listen || !out_host || !out_port || host_cap == 0)
        return PP_EINVAL;
    size_t n = strnlen(listen, 300);
    if (n == 0 || n >= 300)
        return PP_EINVAL;
    const char *colon = NULL, *host = listen;
    size_t hn;
    if (listen[0] == '[') {
        const char *close = memchr(listen, ']', n);
        if (!close || close[1] != ':')
            return PP_EINVAL;
        host = listen + 1;
        hn = (size_t)(close - host);
        colon = close + 1;
    } else {
        colon = strrchr(listen, ':');
        if (!colon)
            return PP_EINVAL;
        hn = (size_t)(colon - listen);
        if (memchr(listen, ':', hn))
            return PP_EINVAL; /* bare IPv6 needs brackets */
    }
    if (hn == 0 || hn >= host_cap)
        return PP_EINVAL;
    for (size_t i = 0; i < hn; i++) {
        unsigned char c = (unsigned char)host[i];
        if (!isalnum(c) && c != '.' && c != '-' && c != ':' && c != '%' && c != '_')
            return PP_EINVAL;
    }
    const char *ps = colon + 1;
    size_t pn = strlen(ps);
    if (pn == 0 || pn > 5)
        return PP_EINVAL;
    unsigned long port = 0;
    for (size_t i = 0; i < pn; i++) {
        if (!isdigit((unsigned char)ps[i]))
            return PP_EINVAL;
        port = port * 10 + (unsigned long)(ps[i] - '0');
    }
    if (port > 65535)
        return PP_EINVAL;
    memcpy(out_host, host, hn);
    out_host[hn] = '\0';
    *out_port = (uint16_t)port;
    return PP_OK;
}
