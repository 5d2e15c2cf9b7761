/*
 * fuzz_rawprof.c - libFuzzer harness for the raw-profile loader (the file
 * libpostprof_preload.so writes, read back by `postprof record`): any bytes
 * must load or fail cleanly, without touching memory out of bounds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz/fuzz_tmpfile.h"

#include <postprof/postprof.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[32];
    if (pp_fuzz_tmpfile(data, size, path) != 0)
        return 0;
    pp_profile *p = NULL;
    char msg[256];
    if (pp_profile_load_raw(path, &p, msg, sizeof msg) == PP_OK) {
        pp_profile_row rows[4];
        size_t n;
        int64_t sum;
        if (pp_profile_top(p, rows, 4, &n, &sum) == PP_OK && n > 4)
            __builtin_trap();
        pp_profile_free(p);
    }
    unlink(path);
    return 0;
}
