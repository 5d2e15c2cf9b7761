/*
 * fuzz_cpuinfo.c - The /proc/cpuinfo "model name" parser behind the
 * report's machine.cpu setting, on arbitrary bytes (not NUL-terminated):
 * no crash, no read past the end, the result always terminated.
 */
#include <stdint.h>
#include <string.h>

#include "profilers/settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char out[64];
    if (pp__cpuinfo_model((const char *)data, size, out, sizeof out) == 0 && out[0] == '\0')
        __builtin_trap(); /* success means a non-empty model */
    if (strlen(out) >= sizeof out)
        __builtin_trap();
    char one[1];
    (void)pp__cpuinfo_model((const char *)data, size, one, sizeof one);
    return 0;
}
