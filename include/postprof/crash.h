/*
 * postprof/crash.h - Crash reports, and their upload to a Sentry-compatible server.
 *
 * On SIGSEGV, SIGBUS, SIGFPE, SIGILL or SIGABRT the handler writes
 * DIR/crash-<pid>-<tid>.txt with only async-signal-safe calls: signal, code,
 * fault address, a frame-pointer backtrace (raw addresses), the build id,
 * /proc/self/maps and the last log lines; then it restores the default
 * action and re-raises the signal, so the process still dies of it.
 * `postprof crash-report FILE` symbolizes the backtrace afterwards, and with
 * --sentry DSN sends it to a Sentry-compatible server as an event.
 *
 * postprof itself installs it; a program linking libpostprof opts in by
 * calling pp_crash_install() or by setting POSTPROF_CRASH_DIR.
 */
#ifndef POSTPROF_CRASH_H
#define POSTPROF_CRASH_H

#include <stdio.h>
#include <postprof/export.h>

/*
 * pp_crash_install() - Install the crash handlers, reports going to dir.
 *
 * Returns PP_OK; PP_EINVAL when dir is NULL or longer than 3 KiB (nothing
 * installed); PP_EIO when sigaction fails. Calling it again changes the
 * directory. Not thread-safe against a concurrent crash.
 */
PP_EXPORT PP_NODISCARD int pp_crash_install(const char *dir);

/* pp_crash_uninstall() - Restore the handlers that were there before. */
PP_EXPORT void pp_crash_uninstall(void);

/*
 * What reading a crash report found about the file itself. A report is
 * outside input: every text taken from it (fields, log lines, file and
 * function names) has its control characters written as \xNN (C0 but tab,
 * DEL, C1, bytes that are not UTF-8) before it is printed or sent.
 */
typedef struct pp_crash_read_info {
    int line;            /* PP_EFORMAT: the first line that is not part of a crash report */
    int truncated;       /* 1: the report stops before its end marker (the handler was
                            killed while writing, the disk filled, the file was cut) */
    int last_line;       /* truncated: the line it stops at (complete or cut) */
    char stopped_in[24]; /* truncated: the section it stops in ("header", "backtrace",
                            "memory map", "log") */
} pp_crash_read_info;

/*
 * pp_crash_symbolize() - Read a crash report and write it to out with each
 * backtrace frame resolved to function and file:line where debug info allows
 * (libdw, using the report's memory map). A truncated report is written as
 * far as it goes, then a line "truncated: ..." saying where it stops, and
 * out_info->truncated is set. Returns PP_OK, PP_EIO when the file cannot be
 * read, PP_EFORMAT (out_info->line set) when it is not a crash report, with
 * err saying where and why ("FILE:LINE: not a postprof crash report").
 * out_info and err may be NULL.
 */
PP_EXPORT PP_NODISCARD int pp_crash_symbolize(const char *path, FILE *out,
                                              pp_crash_read_info *out_info, char *err,
                                              size_t errcap);

/*
 * pp_sentry_dsn_parse() - From a DSN, "http[s]://KEY[:SECRET]@HOST[:PORT]/
 * [PATH/]PROJECT", the store endpoint ("http[s]://HOST[:PORT]/[PATH/]api/
 * PROJECT/store/") into out_store_url and the X-Sentry-Auth header value
 * (protocol 7) into out_auth. Returns PP_OK, or PP_EINVAL for anything else
 * (other schemes, a query, empty parts, odd characters, results over the caps).
 */
PP_EXPORT PP_NODISCARD int pp_sentry_dsn_parse(const char *dsn, char *out_store_url, size_t url_cap,
                                               char *out_auth, size_t auth_cap);

/*
 * pp_crash_sentry_event() - The report at path, symbolized, as a Sentry
 * event (JSON): a fatal exception named after the signal, its mechanism
 * "signalhandler" with the signal's number and code, the backtrace oldest
 * frame first, the report's fields under "extra", its log lines as
 * breadcrumbs, a fresh event_id; a truncated report (out_info->truncated)
 * is tagged report_truncated "yes", with extra.report_stops_in. *out_json
 * is malloc'd (free() it). Returns PP_OK, or pp_crash_symbolize()'s errors
 * with err saying why. out_info and err may be NULL.
 */
PP_EXPORT PP_NODISCARD int pp_crash_sentry_event(const char *path, char **out_json,
                                                 pp_crash_read_info *out_info, char *err,
                                                 size_t errcap);

/*
 * pp_crash_upload_sentry() - POST that event to the DSN's store endpoint
 * (libcurl; 10 s to connect, 30 s in all; http and https only, no
 * redirects). On PP_OK, out_event_id holds the event's id. PP_EINVAL: not
 * a DSN; PP_EIO/PP_EFORMAT: the report cannot be read; PP_EIO: the server
 * cannot be reached or did not answer 200. err says why.
 */
PP_EXPORT PP_NODISCARD int pp_crash_upload_sentry(const char *path, const char *dsn,
                                                  char out_event_id[33], char *err, size_t errcap);

#endif
