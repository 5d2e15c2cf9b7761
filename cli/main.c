/*
 * main.c - The postprof command: dispatch to a subcommand (commands.def),
 * --version, --help, and what the subcommands share: usage and output
 * errors, finding the libraries loaded into a target, how the long-running
 * commands stop.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <postprof/crash.h>
#include <postprof/postprof.h>

#include "cli.h"

typedef struct {
    const char *name;
    const char *summary;
    int (*fn)(int, char **);
} command;

static const command commands[] = {
#define PP_CMD(fn_, name_, summary_) {name_, summary_, cmd_##fn_},
#include "commands.def"
#undef PP_CMD
};

static void usage(FILE *f)
{
    fprintf(f, "usage: postprof [--version] [--help] [--log-format json|text] [--log-level LEVEL]\n"
               "                <command> [<args>]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nRun 'postprof <command> --help' for a command's options.\n"
               "--log-format and --log-level (debug|info|warn|error|off) may appear anywhere\n"
               "before '--'; POSTPROF_LOG_FORMAT and POSTPROF_LOG_LEVEL set the defaults.\n"
               "A crash of postprof writes crash-PID-TID.txt into POSTPROF_CRASH_DIR (default .);\n"
               "'postprof crash-report FILE' symbolizes it.\n"
               "\nExit status: 0 done; 1 the work failed (compare: a regression); 2 bad command\n"
               "line, config or output path; 125 the output could not be written (a file or\n"
               "standard output: missing directory, read-only file system, disk full, closed\n"
               "pipe). record exits with its target's status otherwise.\n"
               "An output FILE of '-' or a device or FIFO is written as it is, never replaced;\n"
               "a regular file is replaced atomically and keeps its mode and owner.\n");
}

int cli_output_error(const char *cmd, const char *msg)
{
    fprintf(stderr, "postprof %s: %s\n", cmd, msg);
    return PP_EXIT_OUTPUT;
}

/*
 * Everything printed must have reached standard output: flush and close it,
 * and turn a failure (a full disk, a closed pipe) into a message and
 * PP_EXIT_OUTPUT instead of a silent success. Returns the exit code.
 */
static int finish_stdout(const char *cmd, int rc)
{
    errno = 0;
    int bad = fflush(stdout) != 0;
    int e = errno;
    bad |= ferror(stdout) != 0;
    if (fclose(stdout) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (!bad || rc == PP_EXIT_OUTPUT) /* the command has said so already */
        return rc;
    return cli_stdout_error(cmd, e);
}

int cli_stdout_error(const char *cmd, int e)
{
    const char *why = e == ENOSPC  ? "no space left on the device (the disk is full)"
                      : e == EPIPE ? "the reading end was closed (broken pipe)"
                      : e          ? strerror(e)
                                   : "a write failed";
    fprintf(stderr, "postprof%s%s: cannot write to standard output: %s\n", cmd ? " " : "",
            cmd ? cmd : "", why);
    return PP_EXIT_OUTPUT;
}

int cli_parse_count(const char *s, size_t *out)
{
    char *end;
    if (!s || !*s || *s == '-')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || v == 0 || v > 100000000ull)
        return -1;
    *out = (size_t)v;
    return 0;
}

int cli_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

int cli_find_library(const char *env, const char *file, char *out, size_t cap)
{
    const char *path = getenv(env);
    if (path && *path) {
        snprintf(out, cap, "%s", path);
        return access(out, R_OK) == 0 ? 0 : -1;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash)
        return -1;
    *slash = 0;
    /* the build tree (cli/ beside src/), then installed layouts */
    static const char *const dirs[] = {"/../src/", "/", "/../lib/", "/../lib/x86_64-linux-gnu/",
                                       "/../lib64/"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        char cand[PATH_MAX + 256];
        snprintf(cand, sizeof cand, "%s%s%s", exe, dirs[i], file);
        char *real = realpath(cand, NULL);
        int ok = real && access(real, R_OK) == 0 && strlen(real) < cap;
        if (ok)
            snprintf(out, cap, "%s", real);
        free(real);
        if (ok)
            return 0;
    }
    return -1;
}

/* How the long-running commands (serve, pipeline --serve) stop: SIGINT and
 * SIGTERM blocked before any thread starts, then taken by the main thread
 * alone, or the end of a --duration. A library may have started threads of
 * its own before main (OpenBLAS's pool does, in its constructor): those do
 * not block the signals, so a handler stands in for the default action,
 * which would end the whole process from such a thread. Until the command
 * stops, the handler hands the signal to the main thread (where it waits for
 * cli_stop_wait()); once it drains (cli_stop_draining()), a second signal
 * prints a note and a third exits at once. */
static pthread_t stop_main;
static atomic_int stop_draining; /* 0 until cli_stop_draining() */
static atomic_int stop_more;     /* signals taken while draining */
static char stop_cmd[32];
static char stop_note[1024];

static void stop_say(const char *a, const char *b, const char *c)
{
    const char *parts[] = {"postprof ", stop_cmd, ": ", a, b, c};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        if (write(STDERR_FILENO, parts[i], strlen(parts[i])) < 0)
            return; /* nothing more to do from a signal handler */
}

static void stop_handler(int sig)
{
    int saved = errno;
    const char *name = sig == SIGINT ? "SIGINT" : "SIGTERM";
    if (!atomic_load(&stop_draining)) {
        pthread_kill(stop_main, sig); /* pending there until cli_stop_wait() takes it */
    } else if (atomic_fetch_add(&stop_more, 1) == 0) {
        stop_say(name, " again: still stopping: ", stop_note);
    } else {
        stop_say(name, " a third time: exiting at once", ", without finishing\n");
        _exit(128 + sig);
    }
    errno = saved;
}

void cli_stop_block(sigset_t *out_set)
{
    sigemptyset(out_set);
    sigaddset(out_set, SIGINT);
    sigaddset(out_set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, out_set, NULL);
    stop_main = pthread_self();
    struct sigaction sa = {0};
    sa.sa_handler = stop_handler;
    sa.sa_mask = *out_set;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

void cli_stop_draining(const sigset_t *set, const char *cmd, const char *what)
{
    snprintf(stop_cmd, sizeof stop_cmd, "%s", cmd);
    snprintf(stop_note, sizeof stop_note, "%s (a third signal exits at once, without finishing)\n",
             what);
    atomic_store(&stop_draining, 1);
    pthread_sigmask(SIG_UNBLOCK, set, NULL);
}

const char *cli_stop_wait(const sigset_t *set, double duration_s)
{
    uint64_t end = duration_s > 0 ? pp_clock_now_ns() + (uint64_t)(duration_s * 1e9) : 0;
    for (;;) {
        int sig;
        if (!end) {
            if (sigwait(set, &sig) == 0)
                return sig == SIGINT ? "SIGINT" : "SIGTERM";
            continue;
        }
        uint64_t t = pp_clock_now_ns();
        if (t >= end)
            return "duration";
        uint64_t left = end - t;
        struct timespec ts = {(time_t)(left / 1000000000ull), (long)(left % 1000000000ull)};
        sig = sigtimedwait(set, NULL, &ts);
        if (sig == SIGINT || sig == SIGTERM)
            return sig == SIGINT ? "SIGINT" : "SIGTERM";
    }
}

int cli_usage_error(const char *cmd, const char *usage_text, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "postprof %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n%s", usage_text ? usage_text : "");
    return PP_EXIT_USAGE;
}

int cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "postprof %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return PP_EXIT_FAIL;
}

static int set_log_format(const char *v)
{
    if (strcmp(v, "json") == 0)
        pp_log_set_format(PP_LOG_JSON);
    else if (strcmp(v, "text") == 0)
        pp_log_set_format(PP_LOG_TEXT);
    else
        return -1;
    return 0;
}

static int set_log_level(const char *v)
{
    int lv = pp_log_parse_level(v);
    if (lv < 0)
        return -1;
    pp_log_set_level(lv);
    return 0;
}

/* Take the logging options out of argv (anywhere before "--"); 0 or an exit code. */
static int take_global_options(int *argc, char **argv)
{
    const char *env = getenv("POSTPROF_LOG_FORMAT");
    if (env && set_log_format(env) != 0)
        fprintf(stderr, "postprof: ignoring POSTPROF_LOG_FORMAT='%s' (json or text)\n", env);
    env = getenv("POSTPROF_LOG_LEVEL");
    if (env && set_log_level(env) != 0)
        fprintf(stderr, "postprof: ignoring POSTPROF_LOG_LEVEL='%s'\n", env);
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            while (i < *argc)
                argv[out++] = argv[i++];
            break;
        }
        int fmt = strncmp(a, "--log-format", 12) == 0 && (a[12] == '\0' || a[12] == '=');
        int lvl = strncmp(a, "--log-level", 11) == 0 && (a[11] == '\0' || a[11] == '=');
        if (!fmt && !lvl) {
            argv[out++] = argv[i];
            continue;
        }
        const char *eq = strchr(a, '=');
        const char *v = eq ? eq + 1 : (i + 1 < *argc ? argv[++i] : NULL);
        if (!v || (fmt ? set_log_format(v) : set_log_level(v)) != 0) {
            fprintf(stderr, "postprof: %s needs %s\n", fmt ? "--log-format" : "--log-level",
                    fmt ? "json or text" : "one of debug, info, warn, error, off");
            usage(stderr);
            return PP_EXIT_USAGE;
        }
    }
    *argc = out;
    argv[out] = NULL;
    return 0;
}

static int run_command(int argc, char **argv, const char **out_cmd)
{
    int rc = take_global_options(&argc, argv);
    if (rc)
        return rc;
    const char *crash_dir = getenv("POSTPROF_CRASH_DIR");
    /* crash reports are a help, not a condition: a directory too long runs without them */
    int crash_rc = pp_crash_install(crash_dir && *crash_dir ? crash_dir : ".");
    (void)crash_rc;
    if (argc < 2) {
        fprintf(stderr, "postprof: missing command\n");
        usage(stderr);
        return PP_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        printf("postprof %s\n", pp_version());
        return PP_EXIT_OK;
    }
    if (cli_is_help(name) || strcmp(name, "help") == 0) {
        usage(stdout);
        return PP_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0) {
            *out_cmd = commands[i].name;
            return commands[i].fn(argc - 1, argv + 1);
        }
    if (name[0] == '-')
        fprintf(stderr, "postprof: unknown option '%s'\n", name);
    else
        fprintf(stderr, "postprof: unknown command '%s'\n", name);
    usage(stderr);
    return PP_EXIT_USAGE;
}

int main(int argc, char **argv)
{
    const char *cmd = NULL;
    int rc = run_command(argc, argv, &cmd);
    return finish_stdout(cmd, rc);
}
