/*
 * compare.h - Shared by cmd_compare.c (arguments, inputs, comparability) and
 * compare_out.c (the four output formats of `postprof compare`).
 */
#ifndef PP_CLI_COMPARE_H
#define PP_CLI_COMPARE_H

#include <stdio.h>

#include <postprof/postprof.h>

typedef enum { CMP_CONSOLE, CMP_JSON, CMP_MARKDOWN, CMP_GITHUB } cmp_format;

/* One side of the comparison: the argument and the reports found under it. */
typedef struct cmp_side {
    const char *arg;
    size_t n;
    char *files[PP_COMPARE_MAX_RUNS];
    pp_report *reports[PP_COMPARE_MAX_RUNS];
} cmp_side;

/*
 * cmp_print() - Write res in format to f; forced: the reports were not
 * comparable and --force was given (the mismatches are printed with it).
 * Returns 0, or -1 when f reported a write error.
 */
int cmp_print(FILE *f, cmp_format format, const pp_compare_result *res, const cmp_side *base,
              const cmp_side *cand, const pp_compare_mismatch *mm, size_t n_mm, int exit_code);

#endif
