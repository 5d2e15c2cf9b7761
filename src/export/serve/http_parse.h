/*
 * http_parse.h - Parsers of HTTP header values shared by the HTTP server and
 * the exposition code. Every input is outside input: bounded scans, no
 * allocation, any byte sequence accepted.
 */
#ifndef PP_HTTP_PARSE_H
#define PP_HTTP_PARSE_H

#include <stddef.h>

/* pp__http_parse_q() - A q-value ("0", "0.5", "1.000") in thousandths
 * (0..1000), or -1 when malformed. */
int pp__http_parse_q(const char *p, size_t n);

/* pp__http_token_eq() - 1 when [p, p+n) equals lit, ignoring ASCII case. */
int pp__http_token_eq(const char *p, size_t n, const char *lit);

/* One element of a comma-separated header list: its token and q. */
typedef struct pp__http_elem {
    const char *token;
    size_t token_len;
    int q;              /* thousandths; 1000 when absent, 0 when malformed */
    const char *params; /* after the token: ";a=b;q=..." up to the element end */
    size_t params_len;
} pp__http_elem;

/* pp__http_next_elem() - Parse the element starting at *p (before end) and
 * move *p past it and its comma. Returns 0 at the end of the list. */
int pp__http_next_elem(const char **p, const char *end, pp__http_elem *out);

/* pp__http_param() - The value of parameter key in an element's params
 * (quotes removed) as [*out_v, *out_v + *out_n). Returns 1 when found. */
int pp__http_param(const pp__http_elem *e, const char *key, const char **out_v, size_t *out_n);

#endif
