/*
 * fuzz_procfs.c - The /proc text parsers of the system stats collector
 * (/proc/self/stat, /proc/stat, meminfo-style files, diskstats, net/dev,
 * loadavg) on arbitrary text: no crash, no read past the end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capture/procfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    pp__proc_self_stat ps;
    pp__proc_stat st;
    uint64_t a, b;
    double x, y, z;
    (void)pp__procfs_self_stat(s, &ps);
    (void)pp__procfs_stat(s, &st);
    (void)pp__procfs_keyval(s, "MemAvailable", &a);
    (void)pp__procfs_keyval(s, "read_bytes", &a);
    (void)pp__procfs_diskstats(s, NULL, &a, &b);
    (void)pp__procfs_netdev(s, &a, &b);
    (void)pp__procfs_loadavg(s, &x, &y, &z);
    free(s);
    return 0;
}
