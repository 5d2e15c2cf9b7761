/*
 * crash.c - Crash reports: a fatal-signal handler that writes signal, fault
 * address, a frame-pointer backtrace, build id, memory map and recent log
 * lines, then re-raises; and the after-the-fact symbolizer.
 * The handler runs in a signal handler: only async-signal-safe calls there
 * (open, write, read, close, sigaction, raise, getpid, syscall).
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <postprof/crash.h>
#include <postprof/error.h>
#include <postprof/version.h>

#include "common/elf_note.h"
#include "aggregate/symbols.h"
#include "common/log_impl.h"
#include "common/safe_text.h"
#include "common/strbuf.h"
#include "export/crash/crash.h"

#define MAX_DIR 3072
#define MAX_FRAMES 64
#define ALTSTACK_BYTES (64 * 1024)

static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
#define NSIG_FATAL (sizeof fatal_signals / sizeof fatal_signals[0])

static char crash_dir[MAX_DIR];
static char exe_path[1024];
static char build_id[128];
static struct sigaction previous[NSIG_FATAL];
static int installed;
static volatile sig_atomic_t in_handler;
static char altstack[ALTSTACK_BYTES];
static char log_copy[8192];

/* ---- async-signal-safe output ---- */

static void put(int fd, const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w <= 0) {
            if (w < 0 && errno == EINTR)
                continue;
            return;
        }
        s += w;
        n -= (size_t)w;
    }
}

static void fmt_u(char *out, uint64_t v, unsigned base)
{
    char tmp[32];
    int n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    int i = 0;
    if (base == 16) {
        out[i++] = '0';
        out[i++] = 'x';
    }
    while (n)
        out[i++] = tmp[--n];
    out[i] = '\0';
}

static void put_u(int fd, uint64_t v, unsigned base)
{
    char b[40];
    fmt_u(b, v, base);
    put(fd, b);
}

static const char *signame(int sig)
{
    switch (sig) {
    case SIGSEGV:
        return "SIGSEGV";
    case SIGBUS:
        return "SIGBUS";
    case SIGFPE:
        return "SIGFPE";
    case SIGILL:
        return "SIGILL";
    case SIGABRT:
        return "SIGABRT";
    }
    return "?";
}

static void copy_file(int out, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf - 1)) > 0) {
        buf[n] = '\0';
        put(out, buf);
    }
    close(fd);
}

static void handler(int sig, siginfo_t *si, void *ucv)
{
    if (in_handler)
        goto reraise;
    in_handler = 1;
    char path[MAX_DIR + 64];
    char num[40];
    size_t dl = strlen(crash_dir);
    memcpy(path, crash_dir, dl);
    memcpy(path + dl, "/crash-", 8);
    fmt_u(num, (uint64_t)getpid(), 10);
    strcat(path, num);
    strcat(path, "-");
    fmt_u(num, (uint64_t)syscall(SYS_gettid), 10);
    strcat(path, num);
    strcat(path, ".txt");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        goto reraise;
    put(fd, "postprof crash report\nsignal: ");
    put_u(fd, (uint64_t)sig, 10);
    put(fd, " (");
    put(fd, signame(sig));
    put(fd, ")\ncode: ");
    put_u(fd, (uint64_t)(unsigned)si->si_code, 10);
    put(fd, "\nfault_address: ");
    put_u(fd, (uint64_t)(uintptr_t)si->si_addr, 16);
    put(fd, "\npid: ");
    put_u(fd, (uint64_t)getpid(), 10);
    put(fd, "\ntid: ");
    put_u(fd, (uint64_t)syscall(SYS_gettid), 10);
    put(fd, "\nprogram: ");
    put(fd, exe_path);
    put(fd, "\nbuild_id: ");
    put(fd, build_id[0] ? build_id : "unknown");
    put(fd, "\npostprof_version: " PP_VERSION_STRING "\nbacktrace:\n");
#if defined(__x86_64__)
    ucontext_t *uc = ucv;
    uintptr_t ip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    uintptr_t bp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
    uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
    uintptr_t limit = sp + (8u << 20);
    for (int i = 0; i < MAX_FRAMES && ip; i++) {
        put(fd, "  #");
        put_u(fd, (uint64_t)i, 10);
        put(fd, " ");
        put_u(fd, ip, 16);
        put(fd, "\n");
        /* next frame: only through a frame pointer that lies on this stack */
        if (bp < sp || bp >= limit || (bp & 7u))
            break;
        uintptr_t next = ((uintptr_t *)bp)[0];
        ip = ((uintptr_t *)bp)[1];
        sp = bp;
        /* a caller without a frame pointer (a library built without them)
         * leaves a bp that is not a frame: its return address above is
         * still good, the walk ends after it */
        bp = next > bp ? next : 0;
    }
#else
    (void)ucv;
#endif
    put(fd, "maps:\n");
    copy_file(fd, "/proc/self/maps");
    put(fd, "log:\n");
    pp__log_recent_unlocked(log_copy, sizeof log_copy);
    put(fd, log_copy);
    put(fd, "end\n");
    close(fd);
reraise:;
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    raise(sig);
}

static int find_build_id(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    /* the first object is the executable */
    pp__elf_build_id_hex(info, build_id, sizeof build_id);
    return 1;
}

int pp_crash_install(const char *dir)
{
    if (!dir || strlen(dir) >= MAX_DIR)
        return PP_EINVAL;
    snprintf(crash_dir, sizeof crash_dir, "%s", dir);
    if (installed)
        return PP_OK;
    ssize_t n = readlink("/proc/self/exe", exe_path, sizeof exe_path - 1);
    exe_path[n > 0 ? n : 0] = '\0';
    dl_iterate_phdr(find_build_id, NULL);
    stack_t ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_sp = altstack;
    ss.ss_size = sizeof altstack;
    sigaltstack(&ss, NULL); /* this thread: survives a stack overflow */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < NSIG_FATAL; i++) {
        if (sigaction(fatal_signals[i], &sa, &previous[i]) != 0)
            return PP_EIO;
    }
    installed = 1;
    return PP_OK;
}

void pp_crash_uninstall(void)
{
    if (!installed)
        return;
    for (size_t i = 0; i < NSIG_FATAL; i++)
        sigaction(fatal_signals[i], &previous[i], NULL);
    installed = 0;
}

static void __attribute__((constructor)) crash_from_env(void)
{
    const char *dir = getenv("POSTPROF_CRASH_DIR");
    if (dir && *dir) {
        int rc = pp_crash_install(dir); /* a constructor has no one to tell: run without */
        (void)rc;
    }
}

/* ---- after the fact: read and symbolize a report ---- */

typedef struct {
    uint64_t start, end, offset;
    char path[512];
} map_entry;

#define MAX_MAPS 4096
#define MAX_HEADERS 32
#define MAX_LOG_BYTES (64 * 1024)

static void set_line(pp_crash_read_info *info, int line)
{
    if (info)
        info->line = line;
}

void pp__crash_doc_free(pp__crash_doc *d)
{
    if (!d)
        return;
    for (int i = 0; i < d->nheaders; i++) {
        free(d->keys[i]);
        free(d->values[i]);
    }
    for (int i = 0; i < d->nframes; i++) {
        free(d->frames[i].function);
        free(d->frames[i].file);
        free(d->frames[i].module);
    }
    free(d->log);
    memset(d, 0, sizeof *d);
}

const char *pp__crash_doc_get(const pp__crash_doc *d, const char *key)
{
    for (int i = 0; i < d->nheaders; i++)
        if (strcmp(d->keys[i], key) == 0)
            return d->values[i];
    return NULL;
}

/* A copy of s safe to print (control characters as \xNN); NULL for NULL or no memory. */
static char *dup_str(const char *s)
{
    return s ? pp__safe_text(s, strlen(s), 0) : NULL;
}

static void symbolize_frames(pp__crash_doc *d, const map_entry *maps, int nmaps)
{
    pp__dw_file *files = calloc((size_t)nmaps + 1, sizeof *files);
    size_t nfiles = 0;
    for (int i = 0; files && i < nmaps; i++) {
        struct stat st;
        if (stat(maps[i].path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (i > 0 && strcmp(maps[i - 1].path, maps[i].path) == 0)
            continue;
        files[nfiles++] = (pp__dw_file){maps[i].path, maps[i].start - maps[i].offset};
    }
    pp__dw *dw = files ? pp__dw_open_files(files, nfiles) : NULL;
    free(files);
    for (int i = 0; i < d->nframes; i++) {
        pp__crash_frame *f = &d->frames[i];
        uint64_t lookup =
            i == 0 ? f->addr : f->addr - 1; /* return addresses point after the call */
        for (int k = 0; k < nmaps; k++)
            if (f->addr >= maps[k].start && f->addr < maps[k].end && !f->module)
                f->module = dup_str(maps[k].path);
        pp__dw_sym sym;
        if (pp__dw_symbol(dw, lookup, &sym)) {
            f->function = dup_str(sym.function);
            if (sym.file) {
                f->file = dup_str(sym.file);
                f->line = sym.line;
            }
        }
    }
    pp__dw_close(dw);
}

/*
 * One line of f into buf (at most cap - 1 bytes, NUL-terminated, NUL bytes
 * kept: *len counts them). Returns 1 for a line ending in '\n', 2 for the
 * first cap - 1 bytes of a longer line (the rest comes as the next "lines"),
 * 0 when the file ends inside a line, -1 at the end of the file.
 */
static int read_line(FILE *f, char *buf, size_t cap, size_t *len)
{
    size_t n = 0;
    int c = EOF;
    while (n + 1 < cap && (c = getc(f)) != EOF) {
        buf[n++] = (char)c;
        if (c == '\n')
            break;
    }
    buf[n] = '\0';
    *len = n;
    if (n && buf[n - 1] == '\n')
        return 1;
    if (n + 1 == cap)
        return 2;
    return n ? 0 : -1;
}

static const char *const section_names[] = {"header", "backtrace", "memory map", "log", "end"};

static int doc_read(const char *path, pp__crash_doc *d, pp_crash_read_info *info)
{
    memset(d, 0, sizeof *d);
    if (info)
        memset(info, 0, sizeof *info);
    FILE *f = fopen(path, "r");
    if (!f)
        return PP_EIO;
    map_entry *maps = calloc(MAX_MAPS, sizeof *maps);
    int nmaps = 0, lineno = 0, section = 0, rc = PP_ENOMEM, cut = 0;
    size_t log_len = 0;
    char line[2048];
    d->log = calloc(1, MAX_LOG_BYTES + 1);
    if (!maps || !d->log)
        goto out;
    rc = PP_EFORMAT;
    size_t len;
    int got;
    while ((got = read_line(f, line, sizeof line, &len)) >= 0) {
        if (got == 0) {
            cut = 1; /* the file ends inside this line: the writer stopped here */
            break;
        }
        lineno++;
        if (lineno == 1) {
            if (strcmp(line, "postprof crash report\n") != 0) {
                set_line(info, 1);
                goto out;
            }
            continue;
        }
        if (strcmp(line, "backtrace:\n") == 0) {
            section = 1;
            continue;
        } else if (strcmp(line, "maps:\n") == 0) {
            section = 2;
            continue;
        } else if (strcmp(line, "log:\n") == 0) {
            section = 3;
            continue;
        } else if (section == 3 && strcmp(line, "end\n") == 0) {
            section = 4;
            d->complete = 1;
            continue;
        }
        if (section == 0) {
            char *colon = strstr(line, ": ");
            if (!colon || d->nheaders >= MAX_HEADERS || got != 1) {
                set_line(info, lineno);
                goto out;
            }
            char *value = colon + 2;
            size_t vlen = len - 1 - (size_t)(value - line); /* NUL bytes and all, no '\n' */
            d->keys[d->nheaders] = pp__safe_text(line, (size_t)(colon - line), 0);
            d->values[d->nheaders] = pp__safe_text(value, vlen, 0);
            if (!d->keys[d->nheaders] || !d->values[d->nheaders]) {
                free(d->keys[d->nheaders]);
                free(d->values[d->nheaders]);
                rc = PP_ENOMEM;
                goto out;
            }
            d->nheaders++;
        } else if (section == 1) {
            unsigned long long a;
            int idx;
            if (sscanf(line, " #%d %llx", &idx, &a) != 2) {
                set_line(info, lineno);
                goto out;
            }
            if (d->nframes < PP__CRASH_MAX_FRAMES)
                d->frames[d->nframes++].addr = a;
        } else if (section == 2 && nmaps < MAX_MAPS) {
            unsigned long long s, e, off;
            char perms[8], p[512];
            p[0] = '\0';
            if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %511s", &s, &e, perms, &off, p) >= 4 &&
                strchr(perms, 'x') && p[0] == '/') {
                maps[nmaps].start = s;
                maps[nmaps].end = e;
                maps[nmaps].offset = off;
                snprintf(maps[nmaps].path, sizeof maps[nmaps].path, "%s", p);
                nmaps++;
            }
        } else if (section == 3) {
            char *safe = pp__safe_text(line, len, 1);
            if (!safe) {
                rc = PP_ENOMEM;
                goto out;
            }
            size_t n = strlen(safe);
            if (log_len + n <= MAX_LOG_BYTES) {
                memcpy(d->log + log_len, safe, n);
                log_len += n;
            }
            free(safe);
        }
    }
    if (ferror(f)) {
        rc = PP_EIO;
        goto out;
    }
    if (lineno == 0) { /* empty, or cut inside the first line: a report if it starts like one */
        static const char magic[] = "postprof crash report\n";
        if (!cut || len >= sizeof magic - 1 || memcmp(line, magic, len) != 0) {
            set_line(info, 1);
            goto out;
        }
    }
    if (info) {
        info->last_line = lineno + cut;
        info->truncated = !d->complete;
        snprintf(info->stopped_in, sizeof info->stopped_in, "%s", section_names[section]);
    }
    symbolize_frames(d, maps, nmaps);
    rc = PP_OK;
out:
    free(maps);
    fclose(f);
    if (rc != PP_OK)
        pp__crash_doc_free(d);
    return rc;
}

int pp__crash_doc_read(const char *path, pp__crash_doc *d, pp_crash_read_info *info, char *err,
                       size_t errcap)
{
    int rc = doc_read(path, d, info);
    if (rc == PP_EFORMAT)
        pp__set_err(err, errcap, "%s:%d: not a postprof crash report", path, info->line);
    else if (rc != PP_OK)
        pp__set_err(err, errcap, "cannot read %s: %s", path, pp_strerror(rc));
    return rc;
}

int pp_crash_symbolize(const char *path, FILE *out, pp_crash_read_info *out_info, char *err,
                       size_t errcap)
{
    pp__crash_doc d;
    pp_crash_read_info local;
    pp_crash_read_info *info = out_info ? out_info : &local;
    if (err && errcap)
        err[0] = '\0';
    int rc = pp__crash_doc_read(path, &d, info, err, errcap);
    if (rc != PP_OK)
        return rc;
    fputs("postprof crash report\n", out);
    for (int i = 0; i < d.nheaders; i++)
        fprintf(out, "%s: %s\n", d.keys[i], d.values[i]);
    fprintf(out, "backtrace (symbolized):\n");
    for (int i = 0; i < d.nframes; i++) {
        const pp__crash_frame *f = &d.frames[i];
        fprintf(out, "  #%d 0x%llx %s", i, (unsigned long long)f->addr,
                f->function ? f->function : "??");
        if (f->file)
            fprintf(out, " (%s:%d)", f->file, f->line);
        if (f->module)
            fprintf(out, " [%s]", f->module);
        fputc('\n', out);
    }
    if (info->truncated)
        fprintf(out,
                "truncated: the report stops at line %d, in its %s, without its end marker"
                " (the writer was stopped, or the file was cut)\n",
                info->last_line, info->stopped_in);
    pp__crash_doc_free(&d);
    return PP_OK;
}
