/*
 * crasher.c - Installs the crash handler with reports in argv[1], logs a
 * marker line, and dies of SIGSEGV in crasher_fault(): the crash report the
 * `postprof crash-report` CLI tests read back and send to Sentry.
 */
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include <postprof/crash.h>
#include <postprof/postprof.h>

void crasher_fault(volatile int *p);

__attribute__((noinline)) void crasher_fault(volatile int *p)
{
    if (getpid() > 0) /* not a leaf: it keeps its frame pointer */
        *p = 7;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    pp_log_set_stream(fopen("/dev/null", "w"));
    pp_log(PP_LOG_WARN, "crasher", "about_to_fail", "marker", "plugh-42", NULL);
    if (pp_crash_install(argv[1]) != PP_OK)
        return 3;
    crasher_fault((volatile int *)(uintptr_t)24);
    return 4;
}
