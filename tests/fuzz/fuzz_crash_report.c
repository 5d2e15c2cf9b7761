/*
 * fuzz_crash_report.c - The crash report reader behind `postprof crash-report`.
 */
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
    unlink(path);
    return 0;
}
