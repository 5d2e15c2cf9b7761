/*
 * procfs.h - Parsers for the /proc texts the system stats collector reads.
 * Each takes the file's text (NUL-terminated, any content: it is outside
 * input) and fills only the fields it found; none allocates or does I/O.
 */
#ifndef PP_PROCFS_H
#define PP_PROCFS_H

#include <stddef.h>
#include <stdint.h>

typedef struct pp__proc_self_stat {
    uint64_t utime_ticks, stime_ticks, starttime_ticks;
    uint64_t minflt, majflt, num_threads;
    uint64_t vsize_bytes, rss_pages;
} pp__proc_self_stat;

typedef struct pp__proc_stat {
    uint64_t busy_ticks, total_ticks; /* "cpu " line: all but idle+iowait, and all */
    uint64_t ctxt, btime;
    unsigned ncpus; /* cpuN lines */
} pp__proc_stat;

/* Returns 0 when the fields were found, -1 otherwise. */
int pp__procfs_self_stat(const char *text, pp__proc_self_stat *out);
int pp__procfs_stat(const char *text, pp__proc_stat *out);

/* "Key: value [kB]" files (/proc/meminfo, /proc/self/status, /proc/self/io):
 * the value of key (kB converted to bytes); -1 when absent. */
int pp__procfs_keyval(const char *text, const char *key, uint64_t *out);

/* /proc/diskstats: bytes read and written summed over the devices
 * is_disk(name) accepts (NULL: all). Returns the number of devices summed. */
int pp__procfs_diskstats(const char *text, int (*is_disk)(const char *name), uint64_t *out_read,
                         uint64_t *out_written);

/* /proc/net/dev: bytes received and sent over every interface but lo. */
int pp__procfs_netdev(const char *text, uint64_t *out_rx, uint64_t *out_tx);

/* /proc/loadavg: the three load averages. */
int pp__procfs_loadavg(const char *text, double *out1, double *out5, double *out15);

#endif
