/*
 * sysinfo.c - The report's system figures read from /proc: memory, this
 * process's RSS and peak, its disk I/O, CPU count. Missing files leave 0.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <postprof/profilers.h>

/* Value (kB) of "key:" in a /proc status-like file, -1 when absent. */
static double kb_field(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[256];
    size_t kl = strlen(key);
    double v = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
            if (sscanf(line + kl + 1, "%lf", &v) != 1)
                v = -1;
            break;
        }
    fclose(f);
    return v;
}

void pp_system_stats_read(pp_system_stats *out)
{
    memset(out, 0, sizeof *out);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    out->n_cpus = n > 0 ? (int)n : 1;
    double total = kb_field("/proc/meminfo", "MemTotal");
    double avail = kb_field("/proc/meminfo", "MemAvailable");
    if (total > 0 && avail >= 0) {
        out->memory_percent = (total - avail) / total * 100.0;
        out->memory_available_gb = avail / (1024.0 * 1024.0);
    }
    double rss = kb_field("/proc/self/status", "VmRSS");
    double hwm = kb_field("/proc/self/status", "VmHWM");
    out->rss_bytes = rss > 0 ? rss * 1024.0 : 0;
    out->peak_rss_bytes = hwm > 0 ? hwm * 1024.0 : 0;
    FILE *f = fopen("/proc/self/io", "r");
    if (f) {
        char line[128];
        unsigned long long v;
        while (fgets(line, sizeof line, f)) {
            if (sscanf(line, "read_bytes: %llu", &v) == 1)
                out->disk_read_bytes = (double)v;
            else if (sscanf(line, "write_bytes: %llu", &v) == 1)
                out->disk_write_bytes = (double)v;
        }
        fclose(f);
    }
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) == 0) /* a date for the report, not an interval */
        out->timestamp = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
