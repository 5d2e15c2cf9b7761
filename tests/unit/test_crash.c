/*
 * test_crash.c - Crash reports: a child that crashes writes a report with the
 * signal, fault address, backtrace, build id and recent log lines, dies of the
 * same signal, and the report symbolizes afterwards to the crashing function.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pp_test.h"
#include <postprof/crash.h>
#include <postprof/postprof.h>

static char dir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/pp_crash_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    if (getenv("PP_KEEP_CRASH_DIR"))
        return 0;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

__attribute__((noinline)) void pp_test_crash_here(volatile int *p);
__attribute__((noinline)) void pp_test_crash_here(volatile int *p)
{
    *p = 42;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static pid_t crash_child(int how)
{
    pid_t pid = fork();
    if (pid == 0) {
        pp_log_set_level(PP_LOG_INFO);
        pp_log_set_stream(fopen("/dev/null", "w"));
        pp_log(PP_LOG_INFO, "test", "about_to_crash", "marker", "xyzzy-123", NULL);
        if (pp_crash_install(dir) != PP_OK)
            _exit(3);
        if (how == SIGSEGV)
            pp_test_crash_here(
                (volatile int *)(uintptr_t)16); /* not NULL: UBSan would stop it first */
        else
            abort();
        _exit(4);
    }
    return pid;
}

static void segv_writes_report_and_reraises(void **state)
{
    (void)state;
    pid_t pid = crash_child(SIGSEGV);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGSEGV);
    char path[512];
    snprintf(path, sizeof path, "%s/crash-%d-%d.txt", dir, (int)pid, (int)pid);
    char *r = read_all(path);
    assert_non_null(r);
    assert_non_null(strstr(r, "signal: 11 (SIGSEGV)"));
    assert_non_null(strstr(r, "fault_address: 0x10\n"));
    assert_non_null(strstr(r, "  #1 0x"));
    assert_null(strstr(r, "build_id: unknown"));
    assert_non_null(strstr(r, "xyzzy-123")); /* the last log lines */
    assert_non_null(strstr(r, "maps:\n"));
    free(r);

    char out_path[512];
    snprintf(out_path, sizeof out_path, "%s/symbolized.txt", dir);
    FILE *out = fopen(out_path, "w");
    int line = -1;
    assert_int_equal(pp_crash_symbolize(path, out, &line), PP_OK);
    fclose(out);
    r = read_all(out_path);
    assert_non_null(strstr(r, "#0 0x"));
    assert_non_null(strstr(r, "pp_test_crash_here")); /* frame 0, resolved afterwards */
    assert_non_null(strstr(r, "crash_child"));        /* its caller, via the frame pointer */
    assert_non_null(strstr(r, "test_crash.c:"));
    free(r);
}

static void abort_writes_report(void **state)
{
    (void)state;
    pid_t pid = crash_child(SIGABRT);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
    char path[512];
    snprintf(path, sizeof path, "%s/crash-%d-%d.txt", dir, (int)pid, (int)pid);
    char *r = read_all(path);
    assert_non_null(r);
    assert_non_null(strstr(r, "signal: 6 (SIGABRT)"));
    free(r);
}

static void not_a_report_is_an_error(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/bogus.txt", dir);
    FILE *f = fopen(path, "w");
    fputs("hello\nworld\n", f);
    fclose(f);
    int line = 0;
    FILE *out = fopen("/dev/null", "w");
    assert_int_equal(pp_crash_symbolize(path, out, &line), PP_EFORMAT);
    assert_int_equal(line, 1);
    assert_int_equal(pp_crash_symbolize("/nonexistent/x", out, &line), PP_EIO);
    fclose(out);
    assert_int_equal(pp_crash_install(NULL), PP_EINVAL);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(segv_writes_report_and_reraises, setup, teardown),
    cmocka_unit_test_setup_teardown(abort_writes_report, setup, teardown),
    cmocka_unit_test_setup_teardown(not_a_report_is_an_error, setup, teardown),
};
PP_TEST_MAIN(tests)
