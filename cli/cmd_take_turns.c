/*
 * cmd_take_turns.c - `postprof take-turns CMD1... -- CMD2...`: run two
 * `postprof run` processes (e.g. the baseline and the candidate build of a
 * CI gate) side by side so that their timed end-to-end passes alternate,
 * one process's pass, then the other's, and never overlap. Whatever else
 * the machine does then falls on both builds' passes alike, tens of
 * milliseconds apart instead of a whole run apart (docs/ci-gate.md).
 *
 * The protocol: each command gets one end of a socket pair, its descriptor
 * number in the environment variable PP_TAKE_TURNS. At each turn point
 * (before each timed pass, cli_turns_before_pass) the command sends one
 * byte ("waiting") and blocks until it receives one byte ("go"). This
 * command first waits until both are waiting (both have started up), then
 * gives the turn to the first command, waits until it is waiting again (its
 * pass is over) or gone (exited), gives it to the other, and so on. A
 * command keeps its turn between turn points, so after its last pass it
 * runs the rest of its run alone, and the other's last pass waits for its
 * exit. A command that has lost its partner goes on alone.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

#define TURNS_ENV "PP_TAKE_TURNS"

static const char *usage_text =
    "usage: postprof take-turns [--cpu N] [--] COMMAND [ARG]... -- COMMAND [ARG]...\n"
    "                           [-- COMMAND [ARG]...]...\n"
    "\n"
    "Runs the commands (each a `postprof run`, e.g. the baseline and the candidate\n"
    "build of a performance gate) at the same time, taking turns: their timed\n"
    "end-to-end passes go round in the order given and never overlap, and\n"
    "everything else a run times (the percentiles of loading and inference) runs\n"
    "while the others wait. Whatever the machine does meanwhile (another job, a\n"
    "noisy neighbour) then falls on every command's passes alike, tens of\n"
    "milliseconds apart, so `postprof compare --paired` over many such pairs sees\n"
    "the difference between the builds, not the drift of the machine\n"
    "(docs/ci-gate.md).\n"
    "\n"
    "  --cpu N   run every command (all its threads) on CPU N only: the time of a\n"
    "            pass then no longer depends on how the scheduler spread its\n"
    "            threads over the CPUs (on a 2-core machine that moved a pass's CPU\n"
    "            time by about 20 % from run to run)\n"
    "\n"
    "Exit status: 0 when every command exited 0 and took turns; 2 when a command\n"
    "failed, could not be started, or never waited for its turn (a postprof from\n"
    "before take-turns, or a command that is not `postprof run`): its passes did\n"
    "not alternate with the others'.\n";

#define TURNS_MAX 8

/* ---- the side of `postprof run` ---- */

static int child_fd = -1;
static unsigned child_turns;

int cli_turns_join(char *err, size_t cap)
{
    const char *v = getenv(TURNS_ENV);
    if (!v || !*v)
        return 0;
    char *end;
    errno = 0;
    long fd = strtol(v, &end, 10);
    if (errno || *end || fd < 0 || fd > 65535) {
        snprintf(err, cap, "%s=%s: not a descriptor number", TURNS_ENV, v);
        return -1;
    }
    int type = 0;
    socklen_t len = sizeof type;
    if (getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) {
        snprintf(err, cap,
                 "%s=%ld: not a socket from postprof take-turns (run take-turns, do not set %s)",
                 TURNS_ENV, fd, TURNS_ENV);
        return -1;
    }
    child_fd = (int)fd;
    return 1;
}

void cli_turns_before_pass(void *ctx)
{
    (void)ctx;
    if (child_fd < 0)
        return;
    char c = 'w';
    ssize_t n;
    do
        n = send(child_fd, &c, 1, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n == 1) {
        do
            n = recv(child_fd, &c, 1, 0);
        while (n < 0 && errno == EINTR);
    }
    if (n != 1) { /* take-turns is gone: go on alone */
        close(child_fd);
        child_fd = -1;
        return;
    }
    child_turns++;
}

unsigned cli_turns_taken(void)
{
    return child_turns;
}

/* ---- the command ---- */

typedef struct {
    char **argv;
    pid_t pid;
    int fd; /* our end of its socket pair; -1 once it is gone */
    unsigned turns;
    int waited; /* it sent "waiting" at least once */
} side;

static int start(side *s, int cpu)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(sv[0]);
        close(sv[1]);
        errno = e;
        return -1;
    }
    if (pid == 0) {
        /* the child's end survives exec; ours (and the other sides') do not */
        char num[16];
        int fd = dup(sv[1]); /* without FD_CLOEXEC */
        snprintf(num, sizeof num, "%d", fd);
        if (fd < 0 || setenv(TURNS_ENV, num, 1) != 0)
            _exit(127);
        if (cpu >= 0) {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(cpu, &set);
            if (sched_setaffinity(0, sizeof set, &set) != 0) {
                fprintf(stderr, "postprof take-turns: cannot run on CPU %d: %s\n", cpu,
                        strerror(errno));
                _exit(127);
            }
        }
        execvp(s->argv[0], s->argv);
        fprintf(stderr, "postprof take-turns: cannot run %s: %s\n", s->argv[0], strerror(errno));
        _exit(127);
    }
    close(sv[1]);
    s->pid = pid;
    s->fd = sv[0];
    return 0;
}

/* One byte from s: 1 when it is waiting for its turn, 0 when it is gone. */
static int await(side *s)
{
    char c;
    ssize_t n;
    do
        n = recv(s->fd, &c, 1, 0);
    while (n < 0 && errno == EINTR);
    if (n == 1) {
        s->waited = 1;
        return 1;
    }
    close(s->fd);
    s->fd = -1;
    return 0;
}

/* Give s its turn and wait until it waits again or is gone. */
static void turn(side *s)
{
    char c = 'g';
    ssize_t n;
    do
        n = send(s->fd, &c, 1, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n != 1) {
        close(s->fd);
        s->fd = -1;
        return;
    }
    s->turns++;
    await(s);
}

/* --cpu's value: a CPU this process may run on; -1 when it is not one. */
static int parse_cpu(const char *v)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < 0 || n >= CPU_SETSIZE)
        return -1;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0 || !CPU_ISSET((int)n, &set))
        return -1;
    return (int)n;
}

int cmd_take_turns(int argc, char **argv)
{
    int i = 1, cpu = -1;
    if (argc >= 2 && cli_is_help(argv[1])) {
        fputs(usage_text, stdout);
        return PP_EXIT_OK;
    }
    if (i < argc && !strcmp(argv[i], "--cpu")) {
        if (i + 1 >= argc || (cpu = parse_cpu(argv[i + 1])) < 0)
            return cli_usage_error("take-turns", usage_text,
                                   "--cpu needs the number of a CPU this process may run on");
        i += 2;
    }
    if (i < argc && !strcmp(argv[i], "--"))
        i++;
    else if (i < argc && argv[i][0] == '-') /* a command never starts with '-' */
        return cli_usage_error("take-turns", usage_text, "unknown option %s", argv[i]);
    side s[TURNS_MAX];
    int n = 0;
    while (i < argc) { /* one command: up to the next "--" or the end */
        if (n == TURNS_MAX)
            return cli_usage_error("take-turns", usage_text, "at most %d commands", TURNS_MAX);
        int j = i;
        while (j < argc && strcmp(argv[j], "--"))
            j++;
        if (j == i)
            return cli_usage_error("take-turns", usage_text, "an empty command (two -- in a row)");
        s[n++] = (side){.argv = argv + i, .fd = -1};
        if (j < argc)
            argv[j] = NULL; /* ends this command's arguments (argv[argc] ends the last's) */
        i = j + 1;
        if (j == argc - 1)
            return cli_usage_error("take-turns", usage_text, "no command after the last --");
    }
    if (n < 2)
        return cli_usage_error("take-turns", usage_text, "needs two commands separated by --");
    int rc = PP_EXIT_OK, started = 0;
    for (; started < n; started++)
        if (start(&s[started], cpu) != 0) {
            rc = cli_usage_error("take-turns", NULL, "cannot start %s: %s", s[started].argv[0],
                                 strerror(errno));
            break;
        }
    if (rc == PP_EXIT_OK) {
        /* every command started up and waiting (or gone), then turns in the order given */
        for (int k = 0; k < n; k++)
            await(&s[k]);
        for (int live = n; live > 0;) {
            live = 0;
            for (int k = 0; k < n; k++)
                if (s[k].fd >= 0) {
                    turn(&s[k]);
                    live++;
                }
        }
    } else { /* the ones started go on alone */
        for (int k = 0; k < started; k++)
            close(s[k].fd);
    }
    for (int k = 0; k < started; k++) {
        int st = 0;
        while (waitpid(s[k].pid, &st, 0) < 0 && errno == EINTR)
            ;
        if (WIFEXITED(st) && WEXITSTATUS(st) != 0) {
            fprintf(stderr, "postprof take-turns: %s (command %d) exited with status %d\n",
                    s[k].argv[0], k + 1, WEXITSTATUS(st));
            rc = PP_EXIT_USAGE;
        } else if (WIFSIGNALED(st)) {
            fprintf(stderr, "postprof take-turns: %s (command %d) was killed by signal %d\n",
                    s[k].argv[0], k + 1, WTERMSIG(st));
            rc = PP_EXIT_USAGE;
        } else if (!s[k].waited && rc == PP_EXIT_OK) {
            fprintf(stderr,
                    "postprof take-turns: %s (command %d) never waited for its turn (a postprof "
                    "run from before take-turns?): its passes did not alternate with the "
                    "others'\n",
                    s[k].argv[0], k + 1);
            rc = PP_EXIT_USAGE;
        }
    }
    if (rc == PP_EXIT_OK) {
        fprintf(stderr, "postprof take-turns: turns taken:");
        for (int k = 0; k < n; k++)
            fprintf(stderr, " %u", s[k].turns);
        fprintf(stderr, "\n");
    }
    return rc;
}
