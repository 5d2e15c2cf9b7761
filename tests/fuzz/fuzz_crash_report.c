/*
 * fuzz_crash_report.c - The crash report reader behind `postprof crash-report`,
 * the Sentry event made from it, and the DSN parser (the input's first line).
 */
#include <string.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz/fuzz_tmpfile.h"

#include <postprof/crash.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[32];
    if (pp_fuzz_tmpfile(data, size, path) != 0)
        return 0;
    FILE *out = fopen("/dev/null", "w");
    int line = 0;
    if (out) {
        (void)pp_crash_symbolize(path, out, &line);
        fclose(out);
    }
    char *json = NULL;
    if (pp_crash_sentry_event(path, &json, &line) == 0)
        free(json);
    unlink(path);
    char dsn[1100], url[1200], auth[1300];
    size_t n = size < sizeof dsn - 1 ? size : sizeof dsn - 1;
    const uint8_t *nl = memchr(data, '\n', n);
    if (nl)
        n = (size_t)(nl - data);
    memcpy(dsn, data, n);
    dsn[n] = '\0';
    (void)pp_sentry_dsn_parse(dsn, url, sizeof url, auth, sizeof auth);
    return 0;
}
