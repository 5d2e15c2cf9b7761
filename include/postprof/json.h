/*
 * postprof/json.h - JSON strings as postprof writes them, for programs (the
 * postprof command among them) that write JSON of their own: the same
 * escaping as every JSON file and response of the library.
 */
#ifndef POSTPROF_JSON_H
#define POSTPROF_JSON_H

#include <stdio.h>

#include <postprof/export.h>

/*
 * pp_json_write_string() - Write s to f as a JSON string literal, quotes
 * included: '"' and '\\' backslashed, \n \r \t, other control bytes and DEL
 * as \u00XX; other bytes as they are (UTF-8 passes through). A NULL s is
 * written as null. Write errors show in ferror(f). Thread-safe as stdio is.
 */
PP_EXPORT void pp_json_write_string(FILE *f, const char *s);

#endif
