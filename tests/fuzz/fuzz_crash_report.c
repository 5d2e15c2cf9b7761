/*
 * fuzz_crash_report.c - The crash report reader behind `postprof crash-report`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <postprof/crash.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[] = "/tmp/pp_fuzz_crash_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        unlink(path);
        return 0;
    }
    close(fd);
    FILE *out = fopen("/dev/null", "w");
    int line = 0;
    if (out) {
        (void)pp_crash_symbolize(path, out, &line);
        fclose(out);
    }
    unlink(path);
    return 0;
}
