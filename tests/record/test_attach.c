/*
 * test_attach.c - pp_record_attach() (postprof/record.h) as a library call:
 * a busy child sampled for a while leaves a raw profile that reads back with
 * the samples the result counted; a target the kernel will not let us sample
 * (not dumpable, and another user's when the test runs as root) is refused
 * with PP_EPERM and a message that names the refusal and what to change; no
 * such process and bad options are told apart.
 */
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pp_test.h"
#include <postprof/postprof.h>

static char dir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/pp_attach_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A child that tells the parent it is ready (after `prepare`), then spins or waits until killed. */
static pid_t start_target(int not_dumpable, int spin)
{
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(ready[0]);
        if (not_dumpable && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
            _exit(1);
        if (write(ready[1], "r", 1) != 1)
            _exit(1);
        close(ready[1]);
        volatile unsigned long x = 0;
        for (;;) {
            if (spin)
                x++;
            else
                pause();
        }
    }
    close(ready[1]);
    char c;
    assert_int_equal(read(ready[0], &c, 1), 1);
    close(ready[0]);
    return pid;
}

static void stop_target(pid_t pid)
{
    kill(pid, SIGKILL);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
}

static int stop_after_two_calls(void *ctx)
{
    int *calls = ctx;
    return ++*calls > 2;
}

static void test_busy_child_is_sampled(void **state)
{
    (void)state;
    pid_t pid = start_target(0, 1);
    int calls = 0;
    pp_record_attach_opts o = {.pid = pid,
                               .hz = 999,
                               .duration_s = 0.5,
                               .should_stop = stop_after_two_calls,
                               .ctx = &calls};
    pp_record_attach_result res;
    char err[1024];
    int rc = pp_record_attach(&o, dir, &res, err, sizeof err);
    if (rc != PP_OK)
        print_error("pp_record_attach: %s\n", err);
    assert_int_equal(rc, PP_OK);
    /* the target still runs: it was detached from, by should_stop or the duration */
    assert_int_equal(kill(pid, 0), 0);
    stop_target(pid);
    assert_int_equal(res.exited, 0);
    assert_true(calls >= 1);
    assert_int_equal(res.threads, 1);
    assert_int_equal(res.threads_failed, 0);
    assert_true(res.maps_read);
    char want[512];
    snprintf(want, sizeof want, "%s/%ld.0.raw", dir, (long)pid);
    assert_string_equal(res.path, want);
    pp_profile *p = NULL;
    char msg[512];
    assert_int_equal(pp_profile_load_raw(res.path, &p, msg, sizeof msg), PP_OK);
    assert_int_equal(pp_profile_stat(p, "samples"), res.samples);
    assert_int_equal(pp_profile_stat(p, "attached"), 1);
    pp_profile_free(p);
    unlink(res.path);
}

/* run in a child (so the test process keeps its credentials): as root, first become nobody */
static void attach_denied_in_child(pid_t target, int out_fd)
{
    if (geteuid() == 0 && (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0))
        _exit(3);
    pp_record_attach_opts o = {.pid = target, .hz = 99, .duration_s = 0.1};
    pp_record_attach_result res;
    char err[1024] = "";
    int rc = pp_record_attach(&o, "/nonexistent-dir-never-written", &res, err, sizeof err);
    char line[1100];
    int n = snprintf(line, sizeof line, "%d %s", rc, err);
    _exit(write(out_fd, line, (size_t)n) == n ? 0 : 4);
}

static void test_refusal_is_explained(void **state)
{
    (void)state;
    pid_t target = start_target(1, 0);
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(p[0]);
        attach_denied_in_child(target, p[1]);
    }
    close(p[1]);
    char line[1100] = "";
    size_t n = 0;
    ssize_t r;
    while (n < sizeof line - 1 && (r = read(p[0], line + n, sizeof line - 1 - n)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        assert_true(r > 0);
        n += (size_t)r;
    }
    line[n] = '\0';
    close(p[0]);
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    stop_target(target);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    int rc = atoi(line);
    if (rc != PP_EPERM)
        print_error("got: %s\n", line);
    assert_int_equal(rc, PP_EPERM);
    assert_non_null(strstr(line, "the kernel refused to sample it"));
    assert_non_null(strstr(line, "perf_event_open for thread"));
    assert_non_null(strstr(line, "kernel.perf_event_paranoid"));
}

static void test_missing_process_and_bad_options(void **state)
{
    (void)state;
    pp_record_attach_result res;
    char err[512];
    pp_record_attach_opts o = {.pid = 2147483647, .hz = 99};
    assert_int_equal(pp_record_attach(&o, dir, &res, err, sizeof err), PP_ENOTFOUND);
    assert_non_null(strstr(err, "no process with pid 2147483647"));
    o.pid = getpid();
    o.hz = 0;
    assert_int_equal(pp_record_attach(&o, dir, &res, err, sizeof err), PP_EINVAL);
    o.hz = 100001;
    assert_int_equal(pp_record_attach(&o, dir, &res, err, sizeof err), PP_EINVAL);
    o.hz = 99;
    o.duration_s = -1;
    assert_int_equal(pp_record_attach(&o, dir, &res, err, sizeof err), PP_EINVAL);
    assert_int_equal(pp_record_attach(NULL, dir, &res, err, sizeof err), PP_EINVAL);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_busy_child_is_sampled, setup, teardown),
    cmocka_unit_test(test_refusal_is_explained),
    cmocka_unit_test_setup_teardown(test_missing_process_and_bad_options, setup, teardown),
};
PP_TEST_MAIN(tests)
