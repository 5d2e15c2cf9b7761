/*
 * record_launch.c - The two ways `postprof record` gets samples: run a
 * command with libpostprof_preload.so preloaded (the raw-profile environment
 * of postprof/raw_format.h; CMD's stdout/stderr pass through untouched, its
 * exit status becomes ours, 128+N when it died of signal N), or attach to a
 * running process with pp_record_attach() until it exits, --duration passes
 * or Ctrl-C detaches.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <postprof/postprof.h>

#include "cli.h"
#include "record/record.h"

static volatile sig_atomic_t child_pid;

static void forward_signal(int sig)
{
    if (child_pid > 0)
        kill((pid_t)child_pid, sig);
}

/* Ctrl-C or Ctrl-\ at a terminal reaches the whole foreground group, the
 * target included (the kernel sends it: SI_KERNEL); one sent to record alone
 * (kill, a supervisor) is passed on, so the target stops and is profiled */
static void forward_unless_terminal(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    if (!si || si->si_code != SI_KERNEL)
        forward_signal(sig);
}

/* In the child: the environment the preload library reads, then CMD. Never returns. */
__attribute__((noreturn)) static void exec_target(const record_opts *o, const char *preload,
                                                  const char *dir)
{
    char buf[64];
    const char *old = getenv("LD_PRELOAD");
    size_t len = strlen(preload) + (old ? strlen(old) + 1 : 0) + 1;
    char *ld = malloc(len);
    if (!ld)
        _exit(127);
    snprintf(ld, len, "%s%s%s", preload, old && *old ? ":" : "", old ? old : "");
    setenv("LD_PRELOAD", ld, 1);
    setenv(PP_RAW_ENV_DIR, dir, 1);
    snprintf(buf, sizeof buf, "%ld", (long)getpid());
    setenv(PP_RAW_ENV_ROOT_PID, buf, 1);
    snprintf(buf, sizeof buf, "%llu", o->hz);
    setenv(PP_RAW_ENV_HZ, buf, 1);
    setenv(PP_RAW_ENV_WALL, o->wall ? "1" : "0", 1);
    setenv(PP_RAW_ENV_MEM, o->mem ? "1" : "0", 1);
    snprintf(buf, sizeof buf, "%llu", o->mem_all ? 0ull : o->mem_rate);
    setenv(PP_RAW_ENV_MEM_RATE, buf, 1);
    setenv(PP_RAW_ENV_FOLLOW_FORKS, o->follow ? "1" : "0", 1);
    setenv(PP_RAW_ENV_FORCE_TIMER, o->force_posix ? "1" : "0", 1);
    setenv(PP_RAW_ENV_UNWIND, o->libunwind ? "libunwind" : "fp", 1);
    execvp(o->cmd[0], o->cmd);
    fprintf(stderr, "postprof record: cannot run '%s': %s\n", o->cmd[0], strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
}

/* Wait for the target, passing signals on; its exit code (128+N for signal N). */
static int wait_target(pid_t pid)
{
    child_pid = pid;
    struct sigaction tty, fwd, old_int, old_quit, old_term, old_hup;
    memset(&tty, 0, sizeof tty);
    tty.sa_sigaction = forward_unless_terminal;
    tty.sa_flags = SA_SIGINFO;
    memset(&fwd, 0, sizeof fwd);
    fwd.sa_handler = forward_signal;
    sigaction(SIGINT, &tty, &old_int);
    sigaction(SIGQUIT, &tty, &old_quit);
    sigaction(SIGTERM, &fwd, &old_term);
    sigaction(SIGHUP, &fwd, &old_hup);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    return WIFEXITED(status)     ? WEXITSTATUS(status)
           : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                 : 1;
}

/* Exit 126/127 with nothing in dir: the command did not start, there is no profile to report. */
static int never_started(const char *dir, int code)
{
    if (code != 126 && code != 127)
        return 0;
    DIR *d = opendir(dir);
    int any = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        any |= e->d_name[0] != '.' && strcmp(e->d_name, "lock") != 0;
    if (d)
        closedir(d);
    return !any;
}

int record_command(const record_opts *o)
{
    char preload[PATH_MAX];
    if (cli_find_library("POSTPROF_PRELOAD", "libpostprof_preload.so", preload, sizeof preload) !=
        0)
        return cli_error("record", "libpostprof_preload.so not found (set POSTPROF_PRELOAD)");
    char dir[PATH_MAX];
    int lock_fd;
    if (record_make_tmpdir(dir, sizeof dir, &lock_fd) != 0)
        return cli_error("record", "cannot create a temporary directory: %s", strerror(errno));
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int saved = errno;
        record_end_tmpdir(dir, lock_fd);
        return cli_error("record", "fork: %s", strerror(saved));
    }
    if (pid == 0) {
        /* killed with SIGKILL, record can pass nothing on: the kernel ends
         * the target with it rather than leave it running unobserved */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(126);
        exec_target(o, preload, dir);
    }
    int code = wait_target(pid);
    if (!o->quiet && never_started(dir, code)) {
        record_end_tmpdir(dir, lock_fd);
        return code;
    }
    int failed = record_collect(dir, (long)pid, o);
    record_end_tmpdir(dir, lock_fd);
    return record_collect_exit(failed, code);
}

static volatile sig_atomic_t detach_requested;

static void request_detach(int sig)
{
    (void)sig;
    detach_requested = 1;
}

static int detach_asked(void *ctx)
{
    (void)ctx;
    return detach_requested != 0;
}

static void say_attached(void *ctx, long pid, size_t threads)
{
    const pp_record_attach_opts *o = ctx;
    fprintf(stderr,
            "postprof record: attached to pid %ld (%zu thread%s) at %llu Hz; Ctrl-C stops%s\n", pid,
            threads, threads == 1 ? "" : "s", o->hz, o->duration_s > 0 ? " (or --duration)" : "");
}

/* `record -p PID`: the library samples (pp_record_attach) until the target
 * exits, --duration passes or SIGINT/SIGTERM asks to detach */
int record_pid(const record_opts *ro)
{
    long pid = ro->attach_pid;
    char dir[PATH_MAX];
    int lock_fd;
    if (record_make_tmpdir(dir, sizeof dir, &lock_fd) != 0)
        return cli_error("record", "cannot create a temporary directory: %s", strerror(errno));
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = request_detach;
    detach_requested = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    pp_record_attach_opts o = {.pid = pid,
                               .hz = ro->hz,
                               .duration_s = ro->duration,
                               .should_stop = detach_asked,
                               .on_attached = ro->quiet ? NULL : say_attached};
    o.ctx = &o;
    pp_record_attach_result res;
    char err[1024];
    int rc = pp_record_attach(&o, dir, &res, err, sizeof err);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (rc != PP_OK) {
        rc = cli_error("record", "%s", err);
    } else {
        if (!res.maps_read)
            fprintf(stderr,
                    "postprof record: warning: the mappings of pid %ld could not be read; "
                    "frames will show as addresses\n",
                    pid);
        if (res.threads_failed)
            fprintf(stderr, "postprof record: warning: %lld threads could not be sampled: %s\n",
                    (long long)res.threads_failed, res.failed_reason);
        rc = record_collect_exit(record_collect(dir, pid, ro), 0);
    }
    record_end_tmpdir(dir, lock_fd);
    return rc;
}
