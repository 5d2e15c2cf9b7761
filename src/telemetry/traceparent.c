/*
 * traceparent.c - W3C Trace Context parser and formatter (see traceparent.h).
 * Outside input: every byte is checked, nothing is allocated; fuzzed by
 * tests/fuzz/fuzz_traceparent.c.
 */
#include "telemetry/traceparent.h"

#include <string.h>

#include <postprof/error.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; /* uppercase is invalid in traceparent */
}

static int read_hex(const char *s, uint8_t *out, size_t nbytes)
{
    int nonzero = 0;
    for (size_t i = 0; i < nbytes; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
        nonzero |= out[i];
    }
    return nonzero ? 1 : 0;
}

int pp__traceparent_parse(const char *s, size_t n, pp__trace_ctx *out)
{
    memset(out, 0, sizeof *out);
    if (!s)
        return PP_EFORMAT;
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n < PP__TRACEPARENT_LEN)
        goto bad;
    uint8_t version;
    if (read_hex(s, &version, 1) < 0 || version == 0xff)
        goto bad;
    if (version == 0 && n != PP__TRACEPARENT_LEN)
        goto bad;
    if (version != 0 && n > PP__TRACEPARENT_LEN && s[PP__TRACEPARENT_LEN] != '-')
        goto bad;
    if (s[2] != '-' || s[35] != '-' || s[52] != '-')
        goto bad;
    pp__trace_ctx c;
    if (read_hex(s + 3, c.trace_id, 16) != 1 || read_hex(s + 36, c.span_id, 8) != 1 ||
        read_hex(s + 53, &c.flags, 1) < 0)
        goto bad;
    if (version != 0)
        c.flags &= 0x01; /* only the flags this version of the spec defines */
    *out = c;
    return PP_OK;
bad:
    memset(out, 0, sizeof *out);
    return PP_EFORMAT;
}

static void put_hex(char *o, const uint8_t *b, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        o[2 * i] = digits[b[i] >> 4];
        o[2 * i + 1] = digits[b[i] & 15];
    }
}

static int all_zero(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

size_t pp__traceparent_format(const pp__trace_ctx *c, char *out, size_t cap)
{
    if (cap < PP__TRACEPARENT_LEN + 1 || all_zero(c->trace_id, 16) || all_zero(c->span_id, 8)) {
        if (cap)
            out[0] = '\0';
        return 0;
    }
    out[0] = '0';
    out[1] = '0';
    out[2] = '-';
    put_hex(out + 3, c->trace_id, 16);
    out[35] = '-';
    put_hex(out + 36, c->span_id, 8);
    out[52] = '-';
    put_hex(out + 53, &c->flags, 1);
    out[PP__TRACEPARENT_LEN] = '\0';
    return PP__TRACEPARENT_LEN;
}

static int lcalpha(char c)
{
    return c >= 'a' && c <= 'z';
}

static int key_char(char c)
{
    return lcalpha(c) || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '*' || c == '/';
}

/* key = simple-key / multi-tenant-key (tenant-id "@" system-id) */
static int key_valid(const char *k, size_t n)
{
    const char *at = memchr(k, '@', n);
    if (!at) {
        if (n < 1 || n > 256 || !lcalpha(k[0]))
            return 0;
        for (size_t i = 1; i < n; i++)
            if (!key_char(k[i]))
                return 0;
        return 1;
    }
    size_t tn = (size_t)(at - k), sn = n - tn - 1;
    if (tn < 1 || tn > 241 || sn < 1 || sn > 14 || !lcalpha(at[1]))
        return 0;
    if (!lcalpha(k[0]) && !(k[0] >= '0' && k[0] <= '9'))
        return 0;
    for (size_t i = 1; i < tn; i++)
        if (!key_char(k[i]))
            return 0;
    for (size_t i = 2; i < sn + 1; i++)
        if (!key_char(at[i]))
            return 0;
    return 1;
}

static int value_valid(const char *v, size_t n)
{
    if (n < 1 || n > 256 || v[n - 1] == ' ')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x20 || c > 0x7e || c == ',' || c == '=')
            return 0;
    }
    return 1;
}

int pp__tracestate_valid(const char *s, size_t n)
{
    if (!s || n > PP__TRACESTATE_MAX)
        return 0;
    const char *keys[PP__TRACESTATE_MAX_MEMBERS];
    size_t klen[PP__TRACESTATE_MAX_MEMBERS];
    size_t members = 0, pos = 0;
    while (pos <= n) {
        size_t end = pos;
        while (end < n && s[end] != ',')
            end++;
        size_t a = pos, b = end;
        while (a < b && (s[a] == ' ' || s[a] == '\t'))
            a++;
        while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
            b--;
        if (b > a) { /* empty members are allowed and ignored */
            const char *eq = memchr(s + a, '=', b - a);
            if (!eq)
                return 0;
            size_t kn = (size_t)(eq - (s + a));
            if (!key_valid(s + a, kn) || !value_valid(eq + 1, b - a - kn - 1))
                return 0;
            if (members == PP__TRACESTATE_MAX_MEMBERS)
                return 0;
            for (size_t i = 0; i < members; i++)
                if (klen[i] == kn && memcmp(keys[i], s + a, kn) == 0)
                    return 0;
            keys[members] = s + a;
            klen[members] = kn;
            members++;
        }
        pos = end + 1;
    }
    return 1;
}
