/*
 * safe_text.c - Escaping of terminal-active bytes in outside text (see
 * safe_text.h). Never allocates more than 4 bytes per input byte.
 */
#include <stdint.h>
#include <stdlib.h>

#include "common/safe_text.h"

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 if none starts there. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    if (len == 2 && cp <= 0x9f) /* U+0080..U+009F: C1 controls, as UTF-8 */
        return 0;
    return len;
}

/* Bytes to copy as they are at s (0: escape s[0]). */
static size_t plain(const unsigned char *s, size_t n, int keep_newline)
{
    unsigned c = s[0];
    if (c == '\t' || (c == '\n' && keep_newline))
        return 1;
    if (c < 0x20 || c == 0x7f)
        return 0;
    return utf8_len(s, n); /* 0 for invalid UTF-8 and UTF-8 C1: escaped byte by byte */
}

int pp__safe_text_needed(const char *s, size_t n, int keep_newline)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t k = plain(u + i, n - i, keep_newline);
        if (k == 0)
            return 1;
        i += k;
    }
    return 0;
}

char *pp__safe_text(const char *s, size_t n, int keep_newline)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    if (n > (SIZE_MAX - 1) / 4)
        return NULL;
    char *out = malloc(n * 4 + 1);
    if (!out)
        return NULL;
    size_t w = 0;
    for (size_t i = 0; i < n;) {
        size_t k = plain(u + i, n - i, keep_newline);
        if (k == 0) {
            out[w++] = '\\';
            out[w++] = 'x';
            out[w++] = hex[u[i] >> 4];
            out[w++] = hex[u[i] & 15];
            i++;
            continue;
        }
        for (size_t j = 0; j < k; j++)
            out[w++] = (char)u[i + j];
        i += k;
    }
    out[w] = '\0';
    return out;
}
