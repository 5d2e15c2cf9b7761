/*
 * postprof/crash.h - Crash reports (the seed's Sentry, for a C program).
 *
 * On SIGSEGV, SIGBUS, SIGFPE, SIGILL or SIGABRT the handler writes
 * DIR/crash-<pid>-<tid>.txt with only async-signal-safe calls: signal, code,
 * fault address, a frame-pointer backtrace (raw addresses), the build id,
 * /proc/self/maps and the last log lines; then it restores the default
 * action and re-raises the signal, so the process still dies of it.
 * `postprof crash-report FILE` symbolizes the backtrace afterwards.
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
PP_EXPORT int pp_crash_install(const char *dir);

/* pp_crash_uninstall() - Restore the handlers that were there before. */
PP_EXPORT void pp_crash_uninstall(void);

/*
 * pp_crash_symbolize() - Read a crash report and write it to out with each
 * backtrace frame resolved to function and file:line where debug info allows
 * (libdw, using the report's memory map). Returns PP_OK, PP_EIO when the
 * file cannot be read, PP_EFORMAT (with *out_line set) when it is not a
 * crash report.
 */
PP_EXPORT int pp_crash_symbolize(const char *path, FILE *out, int *out_line);

#endif
