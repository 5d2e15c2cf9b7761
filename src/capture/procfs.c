/*
 * procfs.c - Parsers of /proc texts (see procfs.h). Pure functions over a
 * string: bounded scans, no allocation, no I/O; malformed text yields -1
 * or the fields that could be read, never a crash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/procfs.h"

/* Parse an unsigned decimal at *p; advance past it. 0 when none. */
static int read_u64(const char **p, uint64_t *out)
{
    const char *s = *p;
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s < '0' || *s > '9')
        return 0;
    uint64_t v = 0;
    while (*s >= '0' && *s <= '9') {
        uint64_t d = (uint64_t)(*s - '0');
        v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
        s++;
    }
    *out = v;
    *p = s;
    return 1;
}

/* Skip one whitespace-separated field. */
static int skip_field(const char **p)
{
    const char *s = *p;
    while (*s == ' ' || *s == '\t')
        s++;
    if (!*s || *s == '\n')
        return 0;
    while (*s && *s != ' ' && *s != '\t' && *s != '\n')
        s++;
    *p = s;
    return 1;
}

int pp__procfs_self_stat(const char *text, pp__proc_self_stat *out)
{
    /* comm may hold spaces and parentheses: fields resume after the last ')' */
    const char *p = strrchr(text, ')');
    if (!p)
        return -1;
    p++;
    uint64_t f[25];
    /* fields 3 (state) .. 24 (rss): state is a letter */
    if (!skip_field(&p))
        return -1;
    for (int i = 4; i <= 24; i++)
        if (!read_u64(&p, &f[i])) {
            /* some fields may be negative (priority, nice): skip them */
            if (!skip_field(&p))
                return -1;
            f[i] = 0;
        }
    out->minflt = f[10];
    out->majflt = f[12];
    out->utime_ticks = f[14];
    out->stime_ticks = f[15];
    out->num_threads = f[20];
    out->starttime_ticks = f[22];
    out->vsize_bytes = f[23];
    out->rss_pages = f[24];
    return 0;
}

int pp__procfs_stat(const char *text, pp__proc_stat *out)
{
    int found = 0;
    out->ncpus = 0;
    for (const char *line = text; line && *line;) {
        const char *p = line;
        if (strncmp(line, "cpu ", 4) == 0) {
            p += 4;
            uint64_t v, total = 0, idle = 0;
            for (int i = 0; i < 10 && read_u64(&p, &v); i++) {
                /* guest and guest_nice (8, 9) are already in user and nice */
                if (i < 8)
                    total += v;
                if (i == 3 || i == 4)
                    idle += v;
            }
            out->total_ticks = total;
            out->busy_ticks = total - idle;
            found = 1;
        } else if (strncmp(line, "cpu", 3) == 0 && line[3] >= '0' && line[3] <= '9') {
            out->ncpus++;
        } else if (strncmp(line, "ctxt ", 5) == 0) {
            p += 5;
            read_u64(&p, &out->ctxt);
        } else if (strncmp(line, "btime ", 6) == 0) {
            p += 6;
            read_u64(&p, &out->btime);
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return found ? 0 : -1;
}

int pp__procfs_keyval(const char *text, const char *key, uint64_t *out)
{
    size_t kn = strlen(key);
    for (const char *line = text; line && *line;) {
        if (strncmp(line, key, kn) == 0 && line[kn] == ':') {
            const char *p = line + kn + 1;
            uint64_t v;
            if (!read_u64(&p, &v))
                return -1;
            while (*p == ' ')
                p++;
            if (strncmp(p, "kB", 2) == 0)
                v = v > UINT64_MAX / 1024 ? UINT64_MAX : v * 1024;
            *out = v;
            return 0;
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return -1;
}

int pp__procfs_diskstats(const char *text, int (*is_disk)(const char *name), uint64_t *out_read,
                         uint64_t *out_written)
{
    int n = 0;
    uint64_t rd = 0, wr = 0;
    for (const char *line = text; line && *line;) {
        const char *p = line;
        uint64_t major, minor, f[8];
        char name[64];
        if (read_u64(&p, &major) && read_u64(&p, &minor)) {
            while (*p == ' ')
                p++;
            size_t len = strcspn(p, " \t\n");
            if (len > 0 && len < sizeof name) {
                memcpy(name, p, len);
                name[len] = '\0';
                p += len;
                int ok = 1;
                for (int i = 0; i < 7 && ok; i++)
                    ok = read_u64(&p, &f[i]);
                /* fields: reads, merged, sectors read, ms, writes, merged, sectors written */
                if (ok && (!is_disk || is_disk(name))) {
                    rd += f[2] * 512;
                    wr += f[6] * 512;
                    n++;
                }
            }
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    *out_read = rd;
    *out_written = wr;
    return n;
}

int pp__procfs_netdev(const char *text, uint64_t *out_rx, uint64_t *out_tx)
{
    int n = 0;
    uint64_t rx = 0, tx = 0;
    for (const char *line = text; line && *line;) {
        const char *colon = strchr(line, ':'), *nl = strchr(line, '\n');
        if (colon && (!nl || colon < nl)) {
            const char *name = line;
            while (*name == ' ')
                name++;
            int lo = (colon - name == 2 && strncmp(name, "lo", 2) == 0);
            const char *p = colon + 1;
            uint64_t f[9];
            int ok = 1;
            for (int i = 0; i < 9 && ok; i++)
                ok = read_u64(&p, &f[i]);
            if (ok && !lo) {
                rx += f[0];
                tx += f[8];
                n++;
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    *out_rx = rx;
    *out_tx = tx;
    return n;
}

int pp__procfs_loadavg(const char *text, double *out1, double *out5, double *out15)
{
    double a, b, c;
    if (sscanf(text, "%lf %lf %lf", &a, &b, &c) != 3)
        return -1;
    *out1 = a;
    *out5 = b;
    *out15 = c;
    return 0;
}
