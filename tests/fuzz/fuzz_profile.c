/*
 * fuzz_profile.c - libFuzzer harness for the profile readers behind
 * `postprof top` (folded, speedscope JSON, pprof gzipped or not): any input
 * must give a profile or a clean error, and a parsed profile must survive
 * top-N and re-rendering in every format.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <postprof/postprof.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pp_profile *p = NULL;
    char msg[256];
    if (pp_profile_parse(data, size, &p, msg, sizeof msg) != PP_OK)
        return 0;
    pp_profile_row rows[8];
    size_t n;
    int64_t sum;
    if (pp_profile_top(p, rows, 8, &n, &sum) == PP_OK) {
        for (size_t i = 0; i < n; i++)
            if (!rows[i].function || !rows[i].file)
                __builtin_trap();
    }
    char path[] = "/tmp/fuzz-profile-XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0) {
        close(fd);
        for (int f = 0; f < 4; f++)
            if (pp_profile_write(p, (pp_profile_format)f, path, NULL, 0) != PP_OK)
                __builtin_trap(); /* a parsed profile must always render */
        unlink(path);
    }
    pp_profile_free(p);
    return 0;
}
