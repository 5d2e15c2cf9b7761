/*
 * report.h - export/report/: the optimization report as a person reads it,
 * in the console (report_console.c) and as one HTML file (report_html.c).
 * Declared here: folded stacks ("a;b;c 123" lines) turned into the JSON the
 * HTML report's flame graph draws (flame_folded.c). Library-internal; pure
 * (no I/O). diff_html.c: `postprof diff --html`, the differential flame graph page;
 * causal_html.c: `postprof report --causal`. html_page.c: the step all three
 * pages end with.
 */
#ifndef PP_EXPORT_REPORT_H
#define PP_EXPORT_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "common/strbuf.h"
#include "export/serve/web_assets.h"

/*
 * pp__flame_folded_json() - Parse folded stacks from data[0..len) and append
 * {"source":NAME,"unit":UNIT,"stacks":[["a;b;c",123],...],"samples":N}
 * to out, every string escaped for JSON inside an HTML <script> element.
 * Blank lines and lines starting with '#' are skipped; a trailing '\r' is
 * dropped. name labels the input in messages and in the JSON; unit (NULL:
 * "samples") names what the counts count.
 *
 * Returns PP_OK; PP_EFORMAT (err: "NAME:LINE: why") for a line without a
 * stack or a count, a count that is not a decimal integer, a NUL byte, or
 * no samples at all; PP_ERANGE past max_stacks lines; out's sticky error.
 */
int pp__flame_folded_json(const char *data, size_t len, const char *name, const char *unit,
                          size_t max_stacks, pp__strbuf *out, char *err, size_t errcap);

/*
 * pp__html_page() - Web asset tmpl with vars expanded, as one string in
 * *out_html (free() it) of *out_len bytes (out_len may be NULL); max caps
 * its size. Returns PP_OK, or pp__web_expand()'s error or PP_ENOMEM with err
 * saying why (err must be writable).
 */
int pp__html_page(const char *tmpl, const pp__web_var *vars, size_t nvars, size_t max,
                  char **out_html, size_t *out_len, char *err, size_t errcap);

/*
 * pp__html_page_write() - The page html (len bytes; rendered with result rc)
 * written atomically to path, and freed. Returns rc when rendering failed,
 * PP_EINVAL without a path ("no output path" in err, which may be NULL), or
 * pp_file_write()'s result.
 */
int pp__html_page_write(const char *path, int rc, char *html, size_t len, char *err, size_t errcap);

/*
 * pp__console_causal() - The console report's causal section (report_causal_console.c);
 * nothing when the run had no causal phase. color: ANSI bold titles.
 */
struct pp_report;
void pp__console_causal(FILE *f, int color, const struct pp_report *r);

#endif
