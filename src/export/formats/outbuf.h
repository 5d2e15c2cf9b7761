/*
 * outbuf.h - A growable output buffer with a hard cap, used by the profile
 * writers to build a whole file in memory before the atomic write.
 * Errors stick (err != 0) and later appends do nothing.
 */
#ifndef PP_EXPORT_OUTBUF_H
#define PP_EXPORT_OUTBUF_H

#include <stddef.h>
#include <stdint.h>

#define PP__OB_MAX (1024u * 1024 * 1024)

typedef struct {
    char *data;
    size_t len, cap;
    int err; /* PP_ENOMEM or PP_ERANGE once something failed */
} pp__outbuf;

void pp__ob_mem(pp__outbuf *b, const void *s, size_t n);
void pp__ob_str(pp__outbuf *b, const char *s);
void pp__ob_printf(pp__outbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s as a JSON string literal, quotes included */
void pp__ob_json_str(pp__outbuf *b, const char *s);
void pp__ob_release(pp__outbuf *b);

#endif
