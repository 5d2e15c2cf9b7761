/*
 * formats.h - export/formats/: the files postprof writes and reads back.
 * The profile formats, one file each (folded.c, speedscope.c, pprof.c,
 * chrome_trace.c, dispatched by profile_io.c) and the report JSON
 * (report_json.c writes, report_read.c reads). This header: render a
 * pp_profile into a buffer, and parse the formats `postprof top` reads back. Parsers take untrusted
 * input: bounded, and errors say where and why in msg.
 */
#ifndef PP_EXPORT_FORMATS_H
#define PP_EXPORT_FORMATS_H

#include <stddef.h>

#include "aggregate/profile_impl.h"
#include "common/strbuf.h"

/* Most bytes one rendered profile file may have. */
#define PP__FORMAT_MAX_BYTES (1024u * 1024 * 1024)

void pp__folded_render(const pp_profile *p, pp__strbuf *b);
void pp__speedscope_render(const pp_profile *p, pp__strbuf *b);
void pp__chrome_render(const pp_profile *p, pp__strbuf *b);
/* pprof: gzipped protobuf into b; returns PP_OK or an error code */
int pp__pprof_render(const pp_profile *p, pp__strbuf *b);

/* causal.json's text (causal_json.c); json_flags: PP__JSON_HTML inside a page */
struct pp_causal_result;
void pp__causal_json_render(const struct pp_causal_result *r, pp__strbuf *b, int json_flags);

/* Parsers: PP_OK and *out, or PP_EFORMAT / PP_ENOMEM / PP_ERANGE with msg. */
int pp__folded_parse(const char *data, size_t len, pp_profile **out, char *msg, size_t cap);
int pp__speedscope_parse(const char *data, size_t len, pp_profile **out, char *msg, size_t cap);
int pp__pprof_parse(const unsigned char *data, size_t len, pp_profile **out, char *msg, size_t cap);

#endif
