/*
 * crash.h - export/crash/: crash reports. The signal handler that writes one
 * and the text symbolizer (crash.c), and the Sentry event writer and upload
 * (crash_sentry.c). Declared here: a crash report read back (header fields,
 * symbolized frames, the last log lines), shared by the two.
 */
#ifndef PP_EXPORT_CRASH_H
#define PP_EXPORT_CRASH_H

#include <stdint.h>

#define PP__CRASH_MAX_FRAMES 64

typedef struct {
    uint64_t addr;
    char *function, *file, *module; /* NULL when unknown */
    int line;
} pp__crash_frame;

typedef struct {
    char *keys[32], *values[32]; /* "signal" -> "11 (SIGSEGV)", in file order */
    int nheaders;
    pp__crash_frame frames[PP__CRASH_MAX_FRAMES]; /* innermost first */
    int nframes;
    char *log;    /* the report's last log lines, '\n'-separated */
    int complete; /* the report ends with "end" */
} pp__crash_doc;

/*
 * pp__crash_doc_read() - Read the report at path. Every text in *d is safe to
 * print (pp__safe_text). Returns PP_OK (a report cut short too: info->truncated),
 * PP_EIO (unreadable), PP_ENOMEM, or PP_EFORMAT with info->line, err saying
 * where and why. info must not be NULL; err may be.
 */
struct pp_crash_read_info;
int pp__crash_doc_read(const char *path, pp__crash_doc *d, struct pp_crash_read_info *info,
                       char *err, size_t errcap);
void pp__crash_doc_free(pp__crash_doc *d);
const char *pp__crash_doc_get(const pp__crash_doc *d, const char *key);

#endif
