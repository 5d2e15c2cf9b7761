/*
 * cmd_record.c - `postprof record -- CMD`: runs CMD with
 * libpostprof_preload.so preloaded (CPU or wall-clock sampling, or allocation
 * profiling), then symbolizes what it left and writes folded, speedscope,
 * pprof or Chrome trace output. CMD's stdout/stderr pass through untouched
 * and its exit status becomes ours (128+N when it died of signal N).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <postprof/file.h>
#include <postprof/postprof.h>

#include "cli.h"

static const char record_usage[] =
    "usage: postprof record [options] -- CMD [ARGS...]\n"
    "       postprof record -p PID [-F HZ] [--duration S] [--format FMT] [-o FILE]\n"
    "  -F, --freq HZ         samples per second of CPU time per thread (default 99)\n"
    "  --wall                sample all threads on wall-clock time; waiting shows as [off-cpu]\n"
    "  --mem                 profile allocations instead (sampled, mean 512 KiB)\n"
    "  --mem-rate BYTES      mean bytes between allocation samples (implies --mem)\n"
    "  --mem-all             record every allocation (implies --mem; exact)\n"
    "  --format FMT          folded | speedscope | pprof | chrome (default: from -o, else "
    "pprof)\n"
    "  -o, --output FILE     where to write (default profile.pb.gz, profile.folded, ...);\n"
    "                        '-', a device or a FIFO is written as it is, never replaced\n"
    "  --follow-forks        profile forked children too, each into FILE with .PID added\n"
    "  --timer perf|posix    sampling timer (default perf, falling back to posix)\n"
    "  --unwind fp|libunwind stack walking in the handler (default fp: frame pointers)\n"
    "  -p, --pid PID         profile a running process instead (CPU only; until it exits,\n"
    "                        --duration passes, or Ctrl-C; needs its user or root)\n"
    "  --duration S          with -p: stop after S seconds\n"
    "  -q, --quiet           no summary on stderr\n"
    "Exit status: the target's (128+N when it died of signal N); 125 when the output\n"
    "could not be written (missing directory, read-only file system, disk full), said\n"
    "before the target starts when it can be; 1 when it exited 0 but left no profile.\n";

static const char *const default_names[] = {"profile.folded", "profile.speedscope.json",
                                            "profile.pb.gz", "profile.trace.json"};
static const char *const suffixes[] = {".folded", ".speedscope.json", ".pb.gz", ".trace.json"};

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

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int format_from_name(const char *path)
{
    if (ends_with(path, ".folded") || ends_with(path, ".txt"))
        return PP_FORMAT_FOLDED;
    if (ends_with(path, ".speedscope.json") || ends_with(path, ".speedscope"))
        return PP_FORMAT_SPEEDSCOPE;
    if (ends_with(path, ".trace.json") || ends_with(path, ".chrome.json"))
        return PP_FORMAT_CHROME;
    return PP_FORMAT_PPROF;
}

static int find_preload(char *out, size_t cap)
{
    const char *env = getenv("POSTPROF_PRELOAD");
    if (env && *env) {
        snprintf(out, cap, "%s", env);
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
    static const char *const rel[] = {"/../src/libpostprof_preload.so", "/libpostprof_preload.so",
                                      "/../lib/libpostprof_preload.so",
                                      "/../lib/x86_64-linux-gnu/libpostprof_preload.so",
                                      "/../lib64/libpostprof_preload.so"};
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        char cand[PATH_MAX + 64];
        snprintf(cand, sizeof cand, "%s%s", exe, rel[i]);
        char *real = realpath(cand, NULL);
        if (real && access(real, R_OK) == 0) {
            snprintf(out, cap, "%s", real);
            free(real);
            return 0;
        }
        free(real);
    }
    return -1;
}

typedef struct {
    long pid;
    long seq;
    char name[256];
} raw_file;

static int cmp_raw(const void *a, const void *b)
{
    const raw_file *x = a, *y = b;
    if (x->pid != y->pid)
        return x->pid < y->pid ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static void output_for_pid(char *out, size_t cap, const char *base, int fmt, long pid, int root)
{
    if (root) {
        snprintf(out, cap, "%s", base);
        return;
    }
    const char *suf = suffixes[fmt];
    if (ends_with(base, suf))
        snprintf(out, cap, "%.*s.%ld%s", (int)(strlen(base) - strlen(suf)), base, pid, suf);
    else
        snprintf(out, cap, "%s.%ld", base, pid);
}

static void report(const char *out, const pp_profile *p, long pid, int root)
{
    int64_t samples = pp_profile_stat(p, "samples");
    if (pp_profile_kind_of(p) == PP_PROFILE_MEM)
        fprintf(stderr,
                "postprof record: %s%ld: %lld bytes allocated (%s), %lld in use at exit, "
                "peak %lld -> %s\n",
                root ? "pid " : "child pid ", pid, (long long)pp_profile_value_total(p, 1),
                pp_profile_stat(p, "mem_rate") == 0 ? "every allocation" : "sampled",
                (long long)pp_profile_value_total(p, 3), (long long)pp_profile_stat(p, "heap_peak"),
                out);
    else
        fprintf(stderr, "postprof record: %s%ld: %lld samples, %lld thread%s -> %s\n",
                root ? "pid " : "child pid ", pid, (long long)samples,
                (long long)pp_profile_stat(p, "threads"),
                pp_profile_stat(p, "threads") == 1 ? "" : "s", out);
    if (pp_profile_kind_of(p) == PP_PROFILE_CPU && samples == 0 && pp_profile_stat(p, "attached"))
        fprintf(stderr,
                "postprof record: note: pid %ld used no CPU while attached (waiting "
                "shows only with --wall, which needs the target started by postprof)\n",
                pid);
    if (pp_profile_kind_of(p) == PP_PROFILE_CPU && !pp_profile_stat(p, "timer_perf") && samples > 0)
        fprintf(stderr, "postprof record: note: sampled with timer_create (perf_event_open "
                        "unavailable or --timer posix): rates are capped at the kernel's HZ\n");
    if (pp_profile_stat(p, "sigprof_taken"))
        fprintf(stderr, "postprof record: warning: the target installed its own SIGPROF "
                        "handler; sampling stopped there and the profile covers the time "
                        "before\n");
    if (pp_profile_stat(p, "sigprof_blocked"))
        fprintf(stderr,
                "postprof record: warning: the target blocked SIGPROF %lld times; ticks "
                "while blocked were merged or lost\n",
                (long long)pp_profile_stat(p, "sigprof_blocked"));
    if (pp_profile_stat(p, "sigprof_foreign"))
        fprintf(stderr, "postprof record: warning: %lld SIGPROF signals from elsewhere ignored\n",
                (long long)pp_profile_stat(p, "sigprof_foreign"));
    if (pp_profile_stat(p, "ring_dropped") || pp_profile_stat(p, "table_full"))
        fprintf(stderr,
                "postprof record: warning: %lld samples dropped (ring full), %lld (stack "
                "table full)\n",
                (long long)pp_profile_stat(p, "ring_dropped"),
                (long long)pp_profile_stat(p, "table_full"));
    if (pp_profile_stat(p, "live_table_full"))
        fprintf(stderr, "postprof record: warning: %lld allocations not tracked to their free\n",
                (long long)pp_profile_stat(p, "live_table_full"));
    if (pp_profile_stat(p, "exit_signal"))
        fprintf(stderr,
                "postprof record: the target died of signal %lld; profile written up "
                "to that point\n",
                (long long)pp_profile_stat(p, "exit_signal"));
    if (pp_profile_stat(p, "threads_unprofiled"))
        fprintf(stderr,
                "postprof record: warning: %lld threads over the limit of 1024 live "
                "threads were not profiled\n",
                (long long)pp_profile_stat(p, "threads_unprofiled"));
    if (pp_profile_stat(p, "rings_undrained"))
        fprintf(stderr, "postprof record: warning: the profiler's collector did not stop within "
                        "10 s at the end; the last samples were left out\n");
    if (pp_profile_stat(p, "timers_rearmed"))
        fprintf(stderr,
                "postprof record: note: the target closed the profiler's sampling descriptors "
                "(e.g. closing every descriptor at start); sampling was re-armed %lld times, "
                "the CPU in between counted at the next sample\n",
                (long long)pp_profile_stat(p, "timers_rearmed"));
    if (pp_profile_stat(p, "timer_failures"))
        fprintf(stderr, "postprof record: warning: no sampling timer for %lld threads\n",
                (long long)pp_profile_stat(p, "timer_failures"));
    if (pp_profile_stat(p, "build_id_mismatch"))
        fprintf(stderr,
                "postprof record: warning: %lld modules changed on disk since the run; "
                "their symbols may be wrong\n",
                (long long)pp_profile_stat(p, "build_id_mismatch"));
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < (int)sizeof path)
            unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

#define TMP_PREFIX "postprof-record-"

/* The temporary directories of runs that were killed (kill -9 leaves the
 * target's raw profiles behind): each run holds an flock on DIR/lock for its
 * whole life, so a directory whose lock can be taken is no one's. */
static void remove_stale_tmpdirs(const char *tmp)
{
    DIR *d = opendir(tmp);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strncmp(e->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) != 0)
            continue;
        char path[PATH_MAX], lock[PATH_MAX + 8];
        struct stat st;
        if (snprintf(path, sizeof path, "%s/%s", tmp, e->d_name) >= (int)sizeof path ||
            lstat(path, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
            continue;
        snprintf(lock, sizeof lock, "%s/lock", path);
        int fd = open(lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) /* not ours, or a run of a version without the lock */
            continue;
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            remove_dir(path);
        close(fd);
    }
    if (d)
        closedir(d);
}

/* DIR for the raw profiles, with its lock held (*lock_fd) until the run
 * ends; stale directories of killed runs are removed first */
static int make_tmpdir(char *dir, size_t cap, int *lock_fd)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    remove_stale_tmpdirs(tmp);
    snprintf(dir, cap, "%s/" TMP_PREFIX "XXXXXX", tmp);
    if (!mkdtemp(dir))
        return -1;
    /* locked before it gets its name, so no cleaner ever sees it unlocked */
    char fresh[PATH_MAX + 16], lock[PATH_MAX + 16];
    snprintf(fresh, sizeof fresh, "%s/lock.new", dir);
    snprintf(lock, sizeof lock, "%s/lock", dir);
    *lock_fd = open(fresh, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (*lock_fd < 0 || flock(*lock_fd, LOCK_EX) != 0 || rename(fresh, lock) != 0) {
        int saved = errno;
        if (*lock_fd >= 0)
            close(*lock_fd);
        *lock_fd = -1;
        remove_dir(dir);
        errno = saved;
        return -1;
    }
    return 0;
}

static void end_tmpdir(const char *dir, int lock_fd)
{
    remove_dir(dir);
    if (lock_fd >= 0)
        close(lock_fd);
}

#define COLLECT_OUTPUT_FAILED 2 /* collect(): an output could not be written */

/* exit code for collect()'s result: the output's own code before the target's */
static int collect_exit(int failed, int code)
{
    if (failed & COLLECT_OUTPUT_FAILED)
        return PP_EXIT_OUTPUT;
    return failed && code == 0 ? PP_EXIT_FAIL : code;
}

/* "-", /dev/..., a device or FIFO: one stream, not a name to derive others from */
static int special_output(const char *out)
{
    struct stat st;
    return strcmp(out, "-") == 0 || strncmp(out, "/dev/", 5) == 0 ||
           strncmp(out, "/proc/", 6) == 0 || (stat(out, &st) == 0 && !S_ISREG(st.st_mode));
}

/* a missing directory or read-only file system is said before the target runs */
static int output_unwritable(const char *out)
{
    char err[1024];
    if (pp_file_out_check(out, 0, err, sizeof err) == PP_OK)
        return 0;
    cli_output_error("record", err);
    return 1;
}

/*
 * load and write every pid's raw files; returns 0 when all were written, else
 * COLLECT_OUTPUT_FAILED when an output could not be written, and/or 1
 */
static int collect(const char *dir, long root_pid, int fmt, const char *out, int quiet, int follow,
                   int mem_all)
{
    raw_file *files = NULL;
    size_t n = 0, cap = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    int failed = 0;
    while (d && (e = readdir(d))) {
        long pid, seq;
        char tail[8];
        if (sscanf(e->d_name, "%ld.%ld.%3s", &pid, &seq, tail) != 3 || strcmp(tail, "raw") != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            raw_file *q = realloc(files, cap * sizeof *q);
            if (!q)
                break;
            files = q;
        }
        files[n].pid = pid;
        files[n].seq = seq;
        snprintf(files[n].name, sizeof files[n].name, "%s", e->d_name);
        n++;
    }
    if (d)
        closedir(d);
    if (n > 1)
        qsort(files, n, sizeof *files, cmp_raw);
    int root_seen = 0;
    for (size_t i = 0; i < n;) {
        long pid = files[i].pid;
        pp_profile *p = NULL;
        size_t j = i;
        for (; j < n && files[j].pid == pid; j++) {
            char path[PATH_MAX + 300], msg[512] = "";
            snprintf(path, sizeof path, "%s/%s", dir, files[j].name);
            int rc = pp_profile_load_raw(path, &p, msg, sizeof msg);
            if (rc != PP_OK) {
                cli_error("record", "cannot read the recorded profile: %s (%s)", msg,
                          pp_strerror(rc));
                failed = 1;
            }
        }
        if (p) { /* a target linking libpostprof left its scopes beside the samples */
            char spath[PATH_MAX + 300], msg[512] = "";
            snprintf(spath, sizeof spath, "%s/%ld.scopes", dir, pid);
            if (access(spath, R_OK) == 0 &&
                pp_profile_load_scopes(p, spath, msg, sizeof msg) != PP_OK)
                fprintf(stderr, "postprof record: ignoring scope events: %s\n", msg);
        }
        int root = pid == root_pid;
        if (p && (root || follow)) {
            char path[PATH_MAX];
            output_for_pid(path, sizeof path, out, fmt, pid, root);
            char werr[1024];
            int rc = pp_profile_write(p, (pp_profile_format)fmt, path, werr, sizeof werr);
            if (rc != PP_OK) {
                cli_output_error("record", werr[0] ? werr : pp_strerror(rc));
                failed |= COLLECT_OUTPUT_FAILED;
            } else if (!quiet) {
                (void)mem_all;
                report(path, p, pid, root);
            }
            root_seen |= root;
        }
        pp_profile_free(p);
        i = j;
    }
    free(files);
    if (!root_seen) {
        cli_error("record", "the target left no profile (it may not be dynamically linked, or "
                            "was killed with SIGKILL)");
        failed = 1;
    }
    return failed;
}

static int parse_u64(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || v > max || s[0] == '-')
        return -1;
    *out = v;
    return 0;
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
static int record_pid(long pid, unsigned long long hz, double duration, int fmt, const char *out,
                      int quiet)
{
    char dir[PATH_MAX];
    int lock_fd;
    if (make_tmpdir(dir, sizeof dir, &lock_fd) != 0)
        return cli_error("record", "cannot create a temporary directory: %s", strerror(errno));
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = request_detach;
    detach_requested = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    pp_record_attach_opts o = {.pid = pid,
                               .hz = hz,
                               .duration_s = duration,
                               .should_stop = detach_asked,
                               .on_attached = quiet ? NULL : say_attached};
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
        rc = collect_exit(collect(dir, pid, fmt, out, quiet, 0, 0), 0);
    }
    end_tmpdir(dir, lock_fd);
    return rc;
}

int cmd_record(int argc, char **argv)
{
    unsigned long long hz = 99, mem_rate = 512 * 1024;
    int wall = 0, mem = 0, mem_all = 0, follow = 0, quiet = 0, fmt = -1, force_posix = 0;
    int libunwind = 0, timer_given = 0, unwind_given = 0;
    long attach_pid = 0;
    double duration = 0;
    const char *out = NULL;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (cli_is_help(a)) {
            fputs(record_usage, stdout);
            return PP_EXIT_OK;
        } else if (strcmp(a, "-F") == 0 || strcmp(a, "--freq") == 0) {
            if (!val || parse_u64(val, 100000, &hz) != 0 || hz == 0)
                return cli_usage_error("record", record_usage, "%s needs a rate in Hz (1-100000)",
                                       a);
            i++;
        } else if (strcmp(a, "--wall") == 0) {
            wall = 1;
        } else if (strcmp(a, "--mem") == 0) {
            mem = 1;
        } else if (strcmp(a, "--mem-all") == 0) {
            mem = mem_all = 1;
        } else if (strcmp(a, "--mem-rate") == 0) {
            if (!val || parse_u64(val, 1ull << 40, &mem_rate) != 0 || mem_rate == 0)
                return cli_usage_error("record", record_usage,
                                       "--mem-rate needs a positive number of bytes");
            mem = 1;
            i++;
        } else if (strcmp(a, "--format") == 0) {
            fmt = val ? pp_profile_format_parse(val) : -1;
            if (fmt < 0)
                return cli_usage_error("record", record_usage,
                                       "--format must be folded, speedscope, pprof or chrome");
            i++;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            if (!val)
                return cli_usage_error("record", record_usage, "%s needs a file name", a);
            out = val;
            i++;
        } else if (strcmp(a, "--follow-forks") == 0) {
            follow = 1;
        } else if (strcmp(a, "--timer") == 0) {
            if (!val || (strcmp(val, "perf") != 0 && strcmp(val, "posix") != 0))
                return cli_usage_error("record", record_usage, "--timer must be perf or posix");
            force_posix = strcmp(val, "posix") == 0;
            timer_given = 1;
            i++;
        } else if (strcmp(a, "--unwind") == 0) {
            if (!val || (strcmp(val, "fp") != 0 && strcmp(val, "libunwind") != 0))
                return cli_usage_error("record", record_usage, "--unwind must be fp or libunwind");
            libunwind = strcmp(val, "libunwind") == 0;
            unwind_given = 1;
            i++;
        } else if (strcmp(a, "-p") == 0 || strcmp(a, "--pid") == 0) {
            unsigned long long v;
            if (!val || parse_u64(val, 0x7fffffff, &v) != 0 || v == 0)
                return cli_usage_error("record", record_usage, "%s needs a process id", a);
            attach_pid = (long)v;
            i++;
        } else if (strcmp(a, "--duration") == 0) {
            char *end;
            duration = val ? strtod(val, &end) : -1;
            if (!val || *end || end == val || !(duration > 0) || duration > 1e7)
                return cli_usage_error("record", record_usage,
                                       "--duration needs a positive number of seconds");
            i++;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            quiet = 1;
        } else if (a[0] == '-') {
            return cli_usage_error("record", record_usage, "unknown option '%s'", a);
        } else {
            break;
        }
    }
    if (fmt < 0)
        fmt = out ? format_from_name(out) : PP_FORMAT_PPROF;
    if (!out)
        out = default_names[fmt];
    if (follow && special_output(out))
        return cli_usage_error("record", record_usage,
                               "--follow-forks writes a file per process: -o must name a file, "
                               "not '%s'",
                               out);
    if (attach_pid) {
        if (i < argc)
            return cli_usage_error("record", record_usage,
                                   "give either -p PID or a command, not both");
        if (wall || mem || follow || timer_given || unwind_given)
            return cli_usage_error("record", record_usage,
                                   "-p samples CPU time by perf events only: --wall, --mem, "
                                   "--follow-forks, --timer and --unwind need the target "
                                   "started by postprof");
        return output_unwritable(out) ? PP_EXIT_OUTPUT
                                      : record_pid(attach_pid, hz, duration, fmt, out, quiet);
    }
    if (duration > 0)
        return cli_usage_error("record", record_usage, "--duration goes with -p PID");
    if (i >= argc)
        return cli_usage_error("record", record_usage, "missing the command to profile");
    if (wall && mem)
        return cli_usage_error("record", record_usage, "--wall and --mem cannot be combined");
    if (output_unwritable(out))
        return PP_EXIT_OUTPUT;
    char preload[PATH_MAX];
    if (find_preload(preload, sizeof preload) != 0)
        return cli_error("record", "libpostprof_preload.so not found (set POSTPROF_PRELOAD)");
    char dir[PATH_MAX];
    int lock_fd;
    if (make_tmpdir(dir, sizeof dir, &lock_fd) != 0)
        return cli_error("record", "cannot create a temporary directory: %s", strerror(errno));

    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int saved = errno;
        end_tmpdir(dir, lock_fd);
        return cli_error("record", "fork: %s", strerror(saved));
    }
    if (pid == 0) {
        /* killed with SIGKILL, record can pass nothing on: the kernel ends
         * the target with it rather than leave it running unobserved */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(126);
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
        snprintf(buf, sizeof buf, "%llu", hz);
        setenv(PP_RAW_ENV_HZ, buf, 1);
        setenv(PP_RAW_ENV_WALL, wall ? "1" : "0", 1);
        setenv(PP_RAW_ENV_MEM, mem ? "1" : "0", 1);
        snprintf(buf, sizeof buf, "%llu", mem_all ? 0ull : mem_rate);
        setenv(PP_RAW_ENV_MEM_RATE, buf, 1);
        setenv(PP_RAW_ENV_FOLLOW_FORKS, follow ? "1" : "0", 1);
        setenv(PP_RAW_ENV_FORCE_TIMER, force_posix ? "1" : "0", 1);
        setenv(PP_RAW_ENV_UNWIND, libunwind ? "libunwind" : "fp", 1);
        execvp(argv[i], argv + i);
        fprintf(stderr, "postprof record: cannot run '%s': %s\n", argv[i], strerror(errno));
        _exit(errno == ENOENT ? 127 : 126);
    }
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
    int code = WIFEXITED(status)     ? WEXITSTATUS(status)
               : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                     : 1;
    if (WIFEXITED(status) && (code == 126 || code == 127) && !quiet) {
        /* the command may not have started: then there is no profile to report */
        DIR *d = opendir(dir);
        int any = 0;
        struct dirent *e;
        while (d && (e = readdir(d)))
            any |= e->d_name[0] != '.' && strcmp(e->d_name, "lock") != 0;
        if (d)
            closedir(d);
        if (!any) {
            end_tmpdir(dir, lock_fd);
            return code;
        }
    }
    int failed = collect(dir, (long)pid, fmt, out, quiet, follow, mem_all);
    end_tmpdir(dir, lock_fd);
    return collect_exit(failed, code);
}
