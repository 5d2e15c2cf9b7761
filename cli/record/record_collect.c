/*
 * record_collect.c - What `postprof record` does around the target: the
 * temporary directory the raw profiles land in (locked for the run's life;
 * those of killed runs removed), the output checks made before the target
 * starts, and collecting every process's raw profiles into the chosen format
 * with a summary and the notes a profile carries (dropped samples, a
 * foreign SIGPROF handler ...).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <postprof/file.h>
#include <postprof/postprof.h>

#include "cli.h"
#include "record/record.h"

static const char *const suffixes[] = {".folded", ".speedscope.json", ".pb.gz", ".trace.json"};

int record_ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
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
    if (record_ends_with(base, suf))
        snprintf(out, cap, "%.*s.%ld%s", (int)(strlen(base) - strlen(suf)), base, pid, suf);
    else
        snprintf(out, cap, "%s.%ld", base, pid);
}

/* What a profile's counters say about how it was taken: the counter, then the
 * text before and after its value (after NULL: the text alone, when nonzero). */
static const struct {
    const char *stat, *before, *after;
} notes[] = {
    {"sigprof_taken",
     "warning: the target installed its own SIGPROF handler; sampling stopped there and the "
     "profile covers the time before",
     NULL},
    {"sigprof_blocked", "warning: the target blocked SIGPROF ",
     " times; ticks while blocked were merged or lost"},
    {"sigprof_foreign", "warning: ", " SIGPROF signals from elsewhere ignored"},
    {"live_table_full", "warning: ", " allocations not tracked to their free"},
    {"exit_signal", "the target died of signal ", "; profile written up to that point"},
    {"threads_unprofiled",
     "warning: ", " threads over the limit of 1024 live threads were not profiled"},
    {"rings_undrained",
     "warning: the profiler's collector did not stop within 10 s at the end; the last samples "
     "were left out",
     NULL},
    {"timers_rearmed",
     "note: the target closed the profiler's sampling descriptors (e.g. closing every "
     "descriptor at start); sampling was re-armed ",
     " times, the CPU in between counted at the next sample"},
    {"timer_failures", "warning: no sampling timer for ", " threads"},
    {"build_id_mismatch",
     "warning: ", " modules changed on disk since the run; their symbols may be wrong"},
};

static void report_profile(const char *out, const pp_profile *p, long pid, int root)
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
    if (pp_profile_stat(p, "ring_dropped") || pp_profile_stat(p, "table_full"))
        fprintf(stderr,
                "postprof record: warning: %lld samples dropped (ring full), %lld (stack "
                "table full)\n",
                (long long)pp_profile_stat(p, "ring_dropped"),
                (long long)pp_profile_stat(p, "table_full"));
    for (size_t i = 0; i < sizeof notes / sizeof notes[0]; i++) {
        int64_t v = pp_profile_stat(p, notes[i].stat);
        if (v && notes[i].after)
            fprintf(stderr, "postprof record: %s%lld%s\n", notes[i].before, (long long)v,
                    notes[i].after);
        else if (v)
            fprintf(stderr, "postprof record: %s\n", notes[i].before);
    }
}

/* --push: the target's profile to Pyroscope, after its file was written */
static int push_profile(const pp_profile *p, const record_opts *o)
{
    pp_push_opts po = {.url = o->push_url,
                       .app = o->push_app,
                       .labels = o->push_labels,
                       .tenant = o->push_tenant,
                       .sample_rate = o->mem ? 0 : (unsigned)o->hz,
                       .timeout_s = o->push_timeout};
    pp_push_result res;
    char err[1024] = "";
    int rc = pp_push_profile(&po, p, 0, 0, &res, err, sizeof err);
    if (rc != PP_OK) {
        cli_error("record", "push failed: %s", err[0] ? err : pp_strerror(rc));
        return COLLECT_PUSH_FAILED;
    }
    if (!o->quiet)
        fprintf(stderr, "postprof record: pushed to %s (HTTP %ld)\n", o->push_url, res.status);
    return 0;
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
int record_make_tmpdir(char *dir, size_t cap, int *lock_fd)
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

void record_end_tmpdir(const char *dir, int lock_fd)
{
    remove_dir(dir);
    if (lock_fd >= 0)
        close(lock_fd);
}

/* exit code for collect()'s result: the output's own code before the target's */
int record_collect_exit(int failed, int code)
{
    if (failed & COLLECT_OUTPUT_FAILED)
        return PP_EXIT_OUTPUT;
    if (failed & COLLECT_PUSH_FAILED)
        return PP_EXIT_PUSH;
    return failed && code == 0 ? PP_EXIT_FAIL : code;
}

/* "-", /dev/..., a device or FIFO: one stream, not a name to derive others from */
int record_special_output(const char *out)
{
    struct stat st;
    return strcmp(out, "-") == 0 || strncmp(out, "/dev/", 5) == 0 ||
           strncmp(out, "/proc/", 6) == 0 || (stat(out, &st) == 0 && !S_ISREG(st.st_mode));
}

/* a missing directory or read-only file system is said before the target runs */
int record_output_unwritable(const char *out)
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
int record_collect(const char *dir, long root_pid, const record_opts *o)
{
    int fmt = o->fmt, quiet = o->quiet, follow = o->follow;
    const char *out = o->out;
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
                report_profile(path, p, pid, root);
            }
            if (root && o->push_url)
                failed |= push_profile(p, o);
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
