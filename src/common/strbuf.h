/*
 * strbuf.h - A growable byte buffer with a hard maximum, for rendering text
 * (exposition, JSON, the profile files built whole before their atomic
 * write). An append that would pass the maximum, or fails to allocate, sets
 * a sticky error and leaves the buffer as it was. Also the one JSON string
 * escaper.
 */
#ifndef PP_STRBUF_H
#define PP_STRBUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct pp__strbuf {
    char *data;
    size_t len, cap, max;
    int err; /* 0, or the first PP_E* code */
} pp__strbuf;

/* pp__strbuf_init() - Empty buffer that will never hold more than max bytes. */
void pp__strbuf_init(pp__strbuf *b, size_t max);

/* pp__strbuf_release() - Free the data; the buffer is empty again. NULL is a no-op. */
void pp__strbuf_release(pp__strbuf *b);

/* pp__strbuf_reserve() - Make room for n more bytes (plus a NUL). 0 or the sticky error. */
int pp__strbuf_reserve(pp__strbuf *b, size_t n);

/* pp__strbuf_add() / _adds() / _addc() - Append bytes, a C string, a char. */
void pp__strbuf_add(pp__strbuf *b, const void *p, size_t n);
void pp__strbuf_adds(pp__strbuf *b, const char *s);
void pp__strbuf_addc(pp__strbuf *b, char c);

/* pp__strbuf_printf() - Append printf-style formatted text. */
void pp__strbuf_printf(pp__strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* pp__strbuf_addu() - Append an unsigned integer in decimal. */
void pp__strbuf_addu(pp__strbuf *b, uint64_t v);

/* pp__strbuf_addd() - Append a double so that it reads back exactly
 * (integers as integers; NaN, +Inf, -Inf spelled as Prometheus does). */
void pp__strbuf_addd(pp__strbuf *b, double v);

/* pp__format_double() - Write v as pp__strbuf_addd() does into out (cap >= 32);
 * returns the length. */
size_t pp__format_double(char *out, size_t cap, double v);

/* Flags of the JSON string escaper. */
enum {
    PP__JSON_HTML = 1 /* also '<', '>', '&' as \u escapes: safe inside an HTML <script> */
};

/*
 * pp__json_escape_byte() - How a byte is written inside a JSON string:
 * returns 0 when as itself, else the length of its escape written to
 * out[0..7) ('"' and '\\' backslashed; \n, \r, \t; other control bytes
 * and DEL as \u00XX; with PP__JSON_HTML '<', '>', '&' too). The one rule every
 * JSON writer of the library follows.
 */
size_t pp__json_escape_byte(unsigned char c, int flags, char out[7]);

/* pp__strbuf_json_str() - Append s[0..len) as a JSON string literal, quotes
 * included, escaped by pp__json_escape_byte(). */
void pp__strbuf_json_str(pp__strbuf *b, const char *s, size_t len, int flags);

/* pp__strbuf_json_strz() - pp__strbuf_json_str() of a NUL-terminated string. */
static inline void pp__strbuf_json_strz(pp__strbuf *b, const char *s, int flags)
{
    pp__strbuf_json_str(b, s, strlen(s), flags);
}

/* pp__set_err() - printf into a caller's err[0..errcap) (both may be
 * NULL/0: nothing is written). */
void pp__set_err(char *err, size_t errcap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* pp__strbuf_detach() - Hand over the NUL-terminated data (caller frees);
 * the buffer is empty again. Returns NULL when the sticky error is set. */
char *pp__strbuf_detach(pp__strbuf *b, size_t *out_len);

#endif
