/*
 * dump.c - Writes the raw profile (DIR/PID.SEQ.raw, a line format read by
 * src/aggregate/rawprof.c) at exit, _exit, exec and on fatal signals.
 * Runs in signal handlers: open/read/write/close only, no malloc, no stdio.
 * Also the exec and _exit interposers, which dump before the image goes away.
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdarg.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <postprof/raw_format.h>

#include "../common/elf_note.h"
#include "preload.h"
#include "writer.h"

static void kv(pp_pl_writer *w, const char *key, uint64_t v)
{
    pp__pl_w_str(w, "x ");
    pp__pl_w_str(w, key);
    pp__pl_w_str(w, " ");
    pp__pl_w_u64(w, v);
    pp__pl_w_str(w, "\n");
}

/* copy the file-backed lines of /proc/self/maps as "map LINE" */
static void write_maps(pp_pl_writer *w)
{
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    char chunk[4096], line[1024];
    size_t ln = 0;
    int too_long = 0;
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof chunk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        for (ssize_t i = 0; i < r; i++) {
            char c = chunk[i];
            if (c != '\n') {
                if (ln < sizeof line - 1)
                    line[ln++] = c;
                else
                    too_long = 1;
                continue;
            }
            line[ln] = 0;
            if (!too_long && strstr(line, " /")) {
                pp__pl_w_str(w, "map ");
                pp__pl_w_mem(w, line, ln);
                pp__pl_w_str(w, "\n");
            }
            ln = 0;
            too_long = 0;
        }
    }
    close(fd);
}

/* "vdso ADDR SIZE BUILDID": where the vDSO sits in the target and which one it
 * is, so the reader can symbolize its frames (it has no file to open) */
static void write_vdso(pp_pl_writer *w)
{
    struct dl_phdr_info info;
    size_t size;
    char hex[129];
    if (!pp__elf_vdso(&info, &size) || pp__elf_build_id_hex(&info, hex, sizeof hex) == 0)
        return;
    pp__pl_w_str(w, "vdso ");
    pp__pl_w_hex(w, (uint64_t)getauxval(AT_SYSINFO_EHDR));
    pp__pl_w_str(w, " ");
    pp__pl_w_u64(w, size);
    pp__pl_w_str(w, " ");
    pp__pl_w_str(w, hex);
    pp__pl_w_str(w, "\n");
}

static int note_build_id(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    pp_pl_writer *w = arg;
    char hex[129];
    if (pp__elf_build_id_hex(info, hex, sizeof hex) == 0)
        return 0;
    char path[512];
    const char *obj = info->dlpi_name;
    if (!obj || !obj[0]) {
        ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
        path[n > 0 ? n : 0] = 0;
        obj = path;
    }
    if (obj[0] == '/') {
        pp__pl_w_str(w, "b ");
        pp__pl_w_str(w, hex);
        pp__pl_w_str(w, " ");
        pp__pl_w_str(w, obj);
        pp__pl_w_str(w, "\n");
    }
    return 0;
}

static int open_output(void)
{
    char path[640];
    for (unsigned seq = 0; seq < 1000; seq++) {
        pp_pl_writer w;
        w.fd = -1;
        w.n = 0;
        w.err = 0;
        pp__pl_w_str(&w, pp__pl.dir);
        pp__pl_w_str(&w, "/");
        pp__pl_w_u64(&w, (uint64_t)getpid());
        pp__pl_w_str(&w, ".");
        pp__pl_w_u64(&w, seq);
        pp__pl_w_str(&w, ".raw");
        if (w.n >= sizeof path)
            return -1;
        memcpy(path, w.buf, w.n);
        path[w.n] = 0;
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

void pp__pl_dump(const char *reason, int crash)
{
    int expect = 0;
    /* a vfork child shares our memory but has its own pid: leave the parent's
     * profile alone (it exec's or _exit's right away) */
    if ((pid_t)syscall(SYS_getpid) != pp__pl.pid)
        return;
    if (!atomic_load(&pp__pl.active) ||
        !atomic_compare_exchange_strong(&pp__pl.dumping, &expect, 1))
        return;
    atomic_store(&pp__pl.sampling, 0);
    pp__pl_threads_stop_timers();
    /* a collector that never paused, or a crash inside an inline drain: its
     * rings are not ours to drain (their records would count twice) */
    int paused = pp__pl_collector_pause();
    if (paused && !pp__pl_collector_inline_busy())
        pp__pl_collector_drain_all();
    else
        atomic_store(&pp__pl.undrained, 1);
    int fd = open_output();
    if (fd < 0)
        goto out;
    pp_pl_writer w;
    w.fd = fd;
    w.n = 0;
    w.err = 0;
    pp__pl_w_str(&w, PP_RAW_HEADER "pid ");
    pp__pl_w_u64(&w, (uint64_t)getpid());
    pp__pl_w_str(&w, "\nreason ");
    pp__pl_w_str(&w, reason);
    pp__pl_w_str(&w, "\nmode ");
    pp__pl_w_str(&w, pp__pl.mem_on ? "mem" : pp__pl.wall ? "wall" : "cpu");
    pp__pl_w_str(&w, "\nperiod_ns ");
    pp__pl_w_u64(&w, pp__pl.period_ns);
    pp__pl_w_str(&w, "\nmem_rate ");
    pp__pl_w_u64(&w, pp__pl.mem_rate);
    pp__pl_w_str(&w, "\ntimer ");
    pp__pl_w_str(&w, pp__pl.timer_kind ? pp__pl.timer_kind : "none");
    pp__pl_w_str(&w, "\nunwind ");
    pp__pl_w_str(&w, pp__pl.use_libunwind ? "libunwind" : "frame-pointer");
    pp__pl_w_str(&w, "\nstart_unix_ns ");
    pp__pl_w_u64(&w, pp__pl.start_unix_ns);
    pp__pl_w_str(&w, "\nstart_mono_ns ");
    pp__pl_w_u64(&w, pp__pl.start_ns);
    pp__pl_w_str(&w, "\nduration_ns ");
    pp__pl_w_u64(&w, pp__pl_now_ns() - pp__pl.start_ns);
    pp__pl_w_str(&w, "\n");
    kv(&w, "samples", atomic_load(&pp__pl.samples));
    kv(&w, "overrun_ticks", atomic_load(&pp__pl.overrun_ticks));
    kv(&w, "sigprof_blocked", atomic_load(&pp__pl.sigprof_blocked));
    kv(&w, "sigprof_foreign", atomic_load(&pp__pl.sigprof_foreign));
    kv(&w, "sigprof_taken", (uint64_t)atomic_load(&pp__pl.sigprof_taken));
    kv(&w, "timer_failures", atomic_load(&pp__pl.timer_failures));
    kv(&w, "timer_perf", pp__pl.timer_kind && pp__pl.timer_kind[0] == 'p');
    kv(&w, "threads", atomic_load(&pp__pl.threads_seen));
    kv(&w, "threads_unprofiled", atomic_load(&pp__pl.threads_unprofiled));
    kv(&w, "unregistered_allocs", atomic_load(&pp__pl.unregistered_allocs));
    kv(&w, "live_table_full", atomic_load(&pp__pl.live_full));
    kv(&w, "mem_waits", atomic_load(&pp__pl.mem_waits));
    kv(&w, "rings_undrained", atomic_load(&pp__pl.undrained));
    kv(&w, "timers_rearmed", atomic_load(&pp__pl.timers_rearmed));
    kv(&w, "thread_exit_ticks", atomic_load(&pp__pl.exit_ticks));
    write_maps(&w);
    write_vdso(&w);
    if (!crash)
        dl_iterate_phdr(note_build_id, &w);
    pp__pl_collector_write(&w);
    pp__pl_w_str(&w, "end\n");
    pp__pl_w_flush(&w);
    close(fd);
out:
    atomic_store(&pp__pl.active, 0);
}

/* ---- fatal signals: dump, then die the way the target would have ---- */

static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE,  SIGILL, SIGABRT,
                                    SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGTRAP};

static void on_fatal(int sig, siginfo_t *si, void *uc)
{
    (void)si;
    (void)uc;
    int saved = errno;
    char reason[32] = "signal:";
    size_t n = strlen(reason);
    if (sig >= 10)
        reason[n++] = (char)('0' + sig / 10);
    reason[n++] = (char)('0' + sig % 10);
    reason[n] = 0;
    pp__pl_dump(reason, 1);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    pp__pl_real_sigaction(sig, &dfl, NULL);
    errno = saved;
    raise(sig); /* pending until we return; then the default action */
}

static char altstack[65536] __attribute__((aligned(16)));

void pp__pl_crash_handlers_install(void)
{
    stack_t ss, old;
    memset(&ss, 0, sizeof ss);
    ss.ss_sp = altstack;
    ss.ss_size = sizeof altstack;
    if (sigaltstack(NULL, &old) == 0 && (old.ss_flags & SS_DISABLE))
        sigaltstack(&ss, NULL);
    for (size_t i = 0; i < sizeof fatal_signals / sizeof fatal_signals[0]; i++) {
        struct sigaction cur;
        if (pp__pl_real_sigaction(fatal_signals[i], NULL, &cur) != 0 || cur.sa_handler != SIG_DFL)
            continue; /* the target's own disposition wins */
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_fatal;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
        sigemptyset(&sa.sa_mask);
        pp__pl_real_sigaction(fatal_signals[i], &sa, NULL);
    }
}

/* ---- exec and _exit ---- */

typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*execv_fn)(const char *, char *const[]);
typedef int (*fexecve_fn)(int, char *const[], char *const[]);
static execve_fn real_execve, real_execvpe;
static execv_fn real_execv, real_execvp;
static fexecve_fn real_fexecve;

int pp__pl_exec_init(void)
{
    real_execve = (execve_fn)pp_pl_dlsym("execve");
    real_execvpe = (execve_fn)pp_pl_dlsym("execvpe");
    real_execv = (execv_fn)pp_pl_dlsym("execv");
    real_execvp = (execv_fn)pp_pl_dlsym("execvp");
    real_fexecve = (fexecve_fn)pp_pl_dlsym("fexecve");
    return (real_execve && real_execvpe && real_execv && real_execvp && real_fexecve) ? 0 : -1;
}

/* the exec failed: the profile so far is written; start a fresh one */
static int exec_failed(int rc)
{
    int saved = errno;
    if (atomic_load(&pp__pl.dumping))
        pp__pl_restart_after_failed_exec();
    errno = saved;
    return rc;
}

PP_PL_API int execve(const char *path, char *const argv[], char *const envp[])
{
    pp__pl_dump("exec", 0);
    if (!real_execve)
        pp__pl_exec_init();
    return exec_failed(real_execve ? real_execve(path, argv, envp)
                                   : (int)syscall(SYS_execve, path, argv, envp));
}

PP_PL_API int execv(const char *path, char *const argv[])
{
    pp__pl_dump("exec", 0);
    if (!real_execv)
        pp__pl_exec_init();
    if (!real_execv) {
        errno = ENOSYS;
        return -1;
    }
    return exec_failed(real_execv(path, argv));
}

PP_PL_API int execvp(const char *file, char *const argv[])
{
    pp__pl_dump("exec", 0);
    if (!real_execvp)
        pp__pl_exec_init();
    if (!real_execvp) {
        errno = ENOSYS;
        return -1;
    }
    return exec_failed(real_execvp(file, argv));
}

PP_PL_API int execvpe(const char *file, char *const argv[], char *const envp[])
{
    pp__pl_dump("exec", 0);
    if (!real_execvpe)
        pp__pl_exec_init();
    if (!real_execvpe) {
        errno = ENOSYS;
        return -1;
    }
    return exec_failed(real_execvpe(file, argv, envp));
}

PP_PL_API int fexecve(int fd, char *const argv[], char *const envp[])
{
    pp__pl_dump("exec", 0);
    if (!real_fexecve)
        pp__pl_exec_init();
    if (!real_fexecve) {
        errno = ENOSYS;
        return -1;
    }
    return exec_failed(real_fexecve(fd, argv, envp));
}

#define MAX_L_ARGS 1024

static int collect_args(const char *arg0, va_list ap, char **args, char ***envp)
{
    int n = 0;
    args[n++] = (char *)arg0;
    while (args[n - 1]) {
        if (n == MAX_L_ARGS) {
            errno = E2BIG;
            return -1;
        }
        args[n++] = va_arg(ap, char *);
    }
    if (envp)
        *envp = va_arg(ap, char **);
    return 0;
}

PP_PL_API int execl(const char *path, const char *arg, ...)
{
    char *args[MAX_L_ARGS];
    va_list ap;
    va_start(ap, arg);
    int rc = collect_args(arg, ap, args, NULL);
    va_end(ap);
    return rc ? rc : execv(path, args);
}

PP_PL_API int execlp(const char *file, const char *arg, ...)
{
    char *args[MAX_L_ARGS];
    va_list ap;
    va_start(ap, arg);
    int rc = collect_args(arg, ap, args, NULL);
    va_end(ap);
    return rc ? rc : execvp(file, args);
}

PP_PL_API int execle(const char *path, const char *arg, ...)
{
    char *args[MAX_L_ARGS];
    char **envp = NULL;
    va_list ap;
    va_start(ap, arg);
    int rc = collect_args(arg, ap, args, &envp);
    va_end(ap);
    return rc ? rc : execve(path, args, envp);
}

PP_PL_API void _exit(int status)
{
    pp__pl_dump("_exit", 0);
    for (;;)
        syscall(SYS_exit_group, status);
}

PP_PL_API void _Exit(int status)
{
    pp__pl_dump("_exit", 0);
    for (;;)
        syscall(SYS_exit_group, status);
}
