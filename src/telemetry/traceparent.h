/*
 * traceparent.h - W3C Trace Context (traceparent, tracestate): strict parser
 * and formatter of outside input. Pure: no allocation, no I/O, never prints.
 */
#ifndef PP_TELEMETRY_TRACEPARENT_H
#define PP_TELEMETRY_TRACEPARENT_H

#include <stddef.h>
#include <stdint.h>

#define PP__TRACEPARENT_LEN 55 /* "00-" 32 "-" 16 "-" 2 */
#define PP__TRACESTATE_MAX 512 /* longer lists are not passed on */
#define PP__TRACESTATE_MAX_MEMBERS 32

typedef struct pp__trace_ctx {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t flags; /* bit 0: sampled; other bits as received from version 00 */
} pp__trace_ctx;

/*
 * pp__traceparent_parse() - Parse a traceparent header value (s, n bytes;
 * blanks around it allowed). Version 00: exactly 2-32-16-2 lowercase hex
 * digits with dashes. A later version (01..fe): the same first 55 characters,
 * then nothing or a '-' and more (ignored), and only the sampled flag kept.
 * Version ff, uppercase hex, an all-zero trace id or parent id: invalid.
 * Returns 0 with *out set, or PP_EFORMAT (then *out is zeroed).
 */
int pp__traceparent_parse(const char *s, size_t n, pp__trace_ctx *out);

/* pp__traceparent_format() - "00-<trace>-<span>-<flags>" into out (cap >= 56),
 * NUL-ended; returns 55, or 0 when cap is too small or an id is all zero. */
size_t pp__traceparent_format(const pp__trace_ctx *c, char *out, size_t cap);

/*
 * pp__tracestate_valid() - 1 when s (n bytes) is a valid tracestate list:
 * at most 32 comma-separated members key=value (optional blanks around
 * members, empty members allowed), keys lowercase per the W3C grammar (with
 * an optional tenant@system form), values printable ASCII without ',' and
 * '=' ending in a non-space, no key twice, at most 512 bytes in all.
 */
int pp__tracestate_valid(const char *s, size_t n);

#endif
