/*
 * safe_text.h - Text from outside (a crash report, a file name, a symbol)
 * made safe to print on a terminal: control characters never reach it.
 */
#ifndef PP_SAFE_TEXT_H
#define PP_SAFE_TEXT_H

#include <stddef.h>

/*
 * pp__safe_text() - A malloc'd, NUL-terminated copy of the n bytes at s in
 * which every byte a terminal could act on is written as "\xNN": C0 controls
 * (below 0x20) except tab (and newline when keep_newline), DEL (0x7f), the
 * C1 controls U+0080..U+009F (raw bytes or UTF-8), and every byte that is not
 * part of valid UTF-8. Valid UTF-8 otherwise passes unchanged; a backslash
 * is not escaped. Returns NULL when out of memory. Pure; thread-safe.
 */
char *pp__safe_text(const char *s, size_t n, int keep_newline);

/* pp__safe_text_needed() - 1 when pp__safe_text() would change s, else 0. */
int pp__safe_text_needed(const char *s, size_t n, int keep_newline);

#endif
