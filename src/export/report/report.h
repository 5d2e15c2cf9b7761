/*
 * report.h - export/report/: the optimization report as a person reads it,
 * in the console (report_console.c) and as one HTML file (report_html.c).
 * Declared here: folded stacks ("a;b;c 123" lines) turned into the JSON the
 * HTML report's flame graph draws (flame_folded.c). Library-internal; pure
 * (no I/O). diff_html.c: `postprof diff --html`, the differential flame graph page.
 */
#ifndef PP_EXPORT_REPORT_H
#define PP_EXPORT_REPORT_H

#include <stddef.h>

#include "common/strbuf.h"

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

#endif
