/*
 * sysinfo.c - The report's system figures: memory, this process's RSS and
 * peak, its storage I/O, CPU count, all from pp_sysstats_read(). Missing
 * files leave 0.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <postprof/profilers.h>
#include <postprof/sysstats.h>

void pp_sysstats_summary_read(pp_sysstats_summary *out)
{
    memset(out, 0, sizeof *out);
    pp_sysstats_sample *s = calloc(1, sizeof *s);
    if (s) {
        /* figures it cannot read stay 0; PP_EIO only means /proc/self/stat is missing */
        int rc = pp_sysstats_read(NULL, NULL, s);
        (void)rc;
        out->memory_percent = s->memory_used_percent;
        out->memory_available_gb = (double)s->memory_available_bytes / (1024.0 * 1024.0 * 1024.0);
        out->rss_bytes = (double)s->resident_bytes;
        out->disk_read_bytes = (double)s->io_read_bytes;
        out->disk_write_bytes = (double)s->io_write_bytes;
        out->n_cpus = (int)s->ncpus;
        out->peak_rss_bytes = (double)s->peak_resident_bytes;
        free(s);
    }
    if (out->n_cpus < 1) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        out->n_cpus = n > 0 ? (int)n : 1;
    }
    if (out->peak_rss_bytes <= 0)
        out->peak_rss_bytes = out->rss_bytes;
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) == 0) /* a date for the report, not an interval */
        out->timestamp = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
