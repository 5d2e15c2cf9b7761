/*
 * record_attach.c - pp_record_attach() (postprof/record.h): samples a
 * process that is already running, without touching it. One perf_event_open
 * task-clock event per thread of the target samples every 1/HZ s of that
 * thread's CPU time; the kernel walks the user stack by frame pointers and
 * appends the sample to the event's ring buffer, which is drained every
 * 50 ms. Threads the target starts later are found by rescanning
 * /proc/PID/task on each pass; threads that exit are drained and closed. At
 * the end (the target exits, the duration passes, or the caller asks) the
 * stacks are written as the raw profile libpostprof_preload.so writes, so
 * symbolization and every output format are shared with `postprof record --
 * CMD`.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <postprof/error.h>
#include <postprof/file.h>
#include <postprof/raw_format.h>
#include <postprof/record.h>

#include "capture/attach_weight.h"
#include "common/strbuf.h"

#define PASS_MS 50 /* drain and rescan interval */
#define MAPS_EVERY_NS 1000000000ull
#define MAPS_MAX (4u << 20) /* bytes of /proc/PID/maps kept */

typedef struct {
    pid_t tid;
    int fd;
    unsigned char *base; /* metadata page, then the data pages */
    size_t map_len;
    uint64_t data_off, data_size;
    char name[16];
    int seen;         /* found by the current rescan */
    int cpu_known;    /* cpu0_ns read: its samples share the thread's CPU */
    uint64_t cpu0_ns; /* its CPU clock when sampling began */
    /* a thread started after attaching: its CPU before sampling began,
     * given to its first drain with samples */
    uint64_t unsampled_ns;
    uint64_t given_ns; /* CPU its samples stood for so far (attach_weight.h) */
    uint64_t carry_ns; /* less than a tick, carried to its next sample */
} tslot;

typedef struct {
    uint64_t hash;
    pid_t tid;
    uint32_t depth;
    size_t off; /* into the arena */
    int64_t samples, ticks;
} stack_entry;

typedef struct {
    long pid;
    uint64_t period_ns;
    tslot *threads;
    size_t nthreads, capthreads;
    size_t pages; /* data pages per ring buffer */
    stack_entry *table;
    size_t table_cap, table_n;
    uint64_t *arena;
    size_t arena_n, arena_cap;
    int64_t samples, lost, throttled, foreign, threads_seen, open_failed;
    int open_errno; /* errno of the last refused perf_event_open */
    int scanned;    /* the first scan is done: threads found now started after attaching */
    char *maps;
    size_t maps_len;
    char err[8448]; /* room for a path and a reason */
} attach_ctx;

static uint64_t now_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- stacks: an open-addressing table keyed by (tid, addresses) ---- */

static uint64_t hash_stack(pid_t tid, const uint64_t *pcs, uint32_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)tid;
    for (uint32_t i = 0; i < n; i++) {
        h ^= pcs[i];
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    return h ? h : 1;
}

static int table_grow(attach_ctx *c)
{
    size_t cap = c->table_cap ? c->table_cap * 2 : 4096;
    stack_entry *t = calloc(cap, sizeof *t);
    if (!t)
        return -1;
    for (size_t i = 0; i < c->table_cap; i++) {
        stack_entry *e = &c->table[i];
        if (!e->hash)
            continue;
        size_t j = e->hash & (cap - 1);
        while (t[j].hash)
            j = (j + 1) & (cap - 1);
        t[j] = *e;
    }
    free(c->table);
    c->table = t;
    c->table_cap = cap;
    return 0;
}

static int add_sample(attach_ctx *c, pid_t tid, const uint64_t *pcs, uint32_t n, int64_t ticks)
{
    if ((c->table_n + 1) * 2 > c->table_cap && table_grow(c) != 0)
        return -1;
    uint64_t h = hash_stack(tid, pcs, n);
    size_t j = h & (c->table_cap - 1);
    for (;; j = (j + 1) & (c->table_cap - 1)) {
        stack_entry *e = &c->table[j];
        if (!e->hash)
            break;
        if (e->hash == h && e->tid == tid && e->depth == n &&
            memcmp(c->arena + e->off, pcs, n * sizeof *pcs) == 0) {
            e->samples++;
            e->ticks += ticks;
            return 0;
        }
    }
    if (c->arena_n + n > c->arena_cap) {
        size_t cap = c->arena_cap ? c->arena_cap * 2 : 65536;
        while (cap < c->arena_n + n)
            cap *= 2;
        uint64_t *a = realloc(c->arena, cap * sizeof *a);
        if (!a)
            return -1;
        c->arena = a;
        c->arena_cap = cap;
    }
    memcpy(c->arena + c->arena_n, pcs, n * sizeof *pcs);
    c->table[j] = (stack_entry){h, tid, n, c->arena_n, 1, ticks};
    c->arena_n += n;
    c->table_n++;
    return 0;
}

/* ---- the target's threads and their events ---- */

static void read_comm(long pid, pid_t tid, char *out, size_t cap)
{
    char path[96];
    snprintf(path, sizeof path, "/proc/%ld/task/%d/comm", pid, (int)tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    if (fgets(out, (int)cap, f)) {
        out[strcspn(out, "\n")] = 0;
        for (char *p = out; *p; p++)
            if (*p == ' ' || *p == ';')
                *p = '_';
    }
    fclose(f);
}

/* the thread's CPU clock into *ns (the first field of its schedstat); 0: unreadable */
static int read_thread_cpu(long pid, pid_t tid, uint64_t *ns)
{
    char path[96];
    snprintf(path, sizeof path, "/proc/%ld/task/%d/schedstat", pid, (int)tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    unsigned long long v = 0;
    int ok = fscanf(f, "%llu", &v) == 1;
    fclose(f);
    *ns = v;
    return ok;
}

static int open_event(attach_ctx *c, pid_t tid, int *err)
{
    struct perf_event_attr pa;
    memset(&pa, 0, sizeof pa);
    pa.size = sizeof pa;
    pa.type = PERF_TYPE_SOFTWARE;
    pa.config = PERF_COUNT_SW_TASK_CLOCK;
    pa.sample_period = c->period_ns;
    pa.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_PERIOD | PERF_SAMPLE_CALLCHAIN;
    pa.exclude_kernel = 1;
    pa.exclude_hv = 1;
    pa.exclude_callchain_kernel = 1;
    pa.disabled = 1;
    pa.wakeup_events = 1u << 30; /* polled, never woken */
    int fd = (int)syscall(SYS_perf_event_open, &pa, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
    *err = fd < 0 ? errno : 0;
    return fd;
}

static int map_ring(attach_ctx *c, tslot *t)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    /* a smaller buffer when the locked-memory allowance (perf_event_mlock_kb)
     * is spent: passes are frequent, a few pages hold 50 ms of samples */
    for (size_t pages = c->pages; pages >= 2; pages /= 2) {
        size_t len = (pages + 1) * page;
        void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, t->fd, 0);
        if (m == MAP_FAILED)
            continue;
        t->base = m;
        t->map_len = len;
        struct perf_event_mmap_page *meta = m;
        t->data_off = meta->data_offset ? meta->data_offset : page;
        t->data_size = meta->data_size ? meta->data_size : pages * page;
        c->pages = pages;
        return 0;
    }
    return -1;
}

static void drain(attach_ctx *c, tslot *t);

static void close_thread(attach_ctx *c, tslot *t)
{
    if (t->fd < 0)
        return;
    ioctl(t->fd, PERF_EVENT_IOC_DISABLE, 0);
    drain(c, t);
    if (t->base)
        munmap(t->base, t->map_len);
    close(t->fd);
    t->fd = -1;
    t->base = NULL;
}

/* attach to a thread; -1 with c->err set only when nothing could be attached
 * for a reason the user must hear about (permissions, no perf events) */
static int attach_thread(attach_ctx *c, pid_t tid)
{
    int err;
    int fd = open_event(c, tid, &err);
    if (fd < 0) {
        if (err == ESRCH || err == ENOENT) /* the thread exited meanwhile */
            return 0;
        c->open_failed++;
        c->open_errno = err;
        snprintf(c->err, sizeof c->err, "perf_event_open for thread %d: %s", (int)tid,
                 strerror(err));
        return -1;
    }
    if (c->nthreads == c->capthreads) {
        size_t cap = c->capthreads ? c->capthreads * 2 : 16;
        tslot *q = realloc(c->threads, cap * sizeof *q);
        if (!q) {
            close(fd);
            snprintf(c->err, sizeof c->err, "out of memory");
            return -1;
        }
        c->threads = q;
        c->capthreads = cap;
    }
    tslot *t = &c->threads[c->nthreads];
    memset(t, 0, sizeof *t);
    t->tid = tid;
    t->fd = fd;
    t->seen = 1;
    if (map_ring(c, t) != 0) {
        close(fd);
        c->open_failed++;
        snprintf(c->err, sizeof c->err,
                 "cannot map a sample buffer for thread %d: %s (see "
                 "/proc/sys/kernel/perf_event_mlock_kb)",
                 (int)tid, strerror(errno));
        return -1;
    }
    read_comm(c->pid, tid, t->name, sizeof t->name);
    if (ioctl(fd, PERF_EVENT_IOC_ENABLE, 0) != 0) {
        munmap(t->base, t->map_len);
        close(fd);
        c->open_failed++;
        snprintf(c->err, sizeof c->err, "cannot start sampling thread %d: %s", (int)tid,
                 strerror(errno));
        return -1;
    }
    t->cpu_known = read_thread_cpu(c->pid, tid, &t->cpu0_ns);
    /* A thread started after attaching ran for up to a pass before the
     * rescan found it, unsampled: its samples stand for all its CPU from
     * its start (they are the only ones it has), so its share of the
     * profile is the share it had of the CPU. Given to the first drain with
     * samples, which may come after it exited (its clock unreadable). */
    if (c->scanned && t->cpu_known)
        t->unsampled_ns = t->cpu0_ns;
    c->nthreads++;
    c->threads_seen++;
    return 0;
}

/* find threads started since the last pass, retire those gone; returns the
 * number of live threads, or -1 when /proc/PID/task is gone */
static long rescan(attach_ctx *c)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/task", c->pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    for (size_t i = 0; i < c->nthreads; i++)
        c->threads[i].seen = 0;
    long live = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        long tid = strtol(e->d_name, &end, 10);
        if (*end || tid <= 0)
            continue;
        live++;
        size_t i = 0;
        for (; i < c->nthreads; i++)
            if (c->threads[i].tid == (pid_t)tid && c->threads[i].fd >= 0)
                break;
        if (i < c->nthreads) {
            c->threads[i].seen = 1;
            read_comm(c->pid, (pid_t)tid, c->threads[i].name, sizeof c->threads[i].name);
        } else {
            attach_thread(c, (pid_t)tid); /* failures are counted and reported at the end */
        }
    }
    closedir(d);
    for (size_t i = 0; i < c->nthreads; i++)
        if (!c->threads[i].seen && c->threads[i].fd >= 0)
            close_thread(c, &c->threads[i]);
    return live;
}

/* ---- samples ---- */

static void copy_out(const tslot *t, uint64_t pos, void *dst, size_t n)
{
    const unsigned char *data = t->base + t->data_off;
    uint64_t at = pos % t->data_size;
    size_t first = (size_t)(t->data_size - at) < n ? (size_t)(t->data_size - at) : n;
    memcpy(dst, data + at, first);
    memcpy((unsigned char *)dst + first, data, n - first);
}

/* PERF_SAMPLE_TID | PERIOD | CALLCHAIN: pid, tid, period, nr, ips[nr] */
typedef struct {
    uint32_t pid, tid;
    uint64_t period, nr;
} sample_head;

/* a sample record's head; 0 when too short */
static int sample_head_of(const unsigned char *rec, size_t len, sample_head *h)
{
    if (len < sizeof(struct perf_event_header) + sizeof *h)
        return 0;
    memcpy(h, rec + sizeof(struct perf_event_header), sizeof *h);
    return 1;
}

static void take_sample(attach_ctx *c, tslot *t, pp__attach_drain *dw, const unsigned char *rec,
                        size_t len)
{
    sample_head h;
    if (!sample_head_of(rec, len, &h))
        return;
    if ((long)h.pid != c->pid) {
        c->foreign++;
        return;
    }
    /* its share of the thread's CPU, in whole periods; none yet: its CPU
     * goes with the thread's next sample */
    uint64_t ticks = pp__attach_sample_ticks(dw, h.period, c->period_ns, &t->carry_ns);
    const unsigned char *ips = rec + sizeof(struct perf_event_header) + sizeof h;
    uint64_t nr = h.nr <= (len - sizeof(struct perf_event_header) - sizeof h) / 8 ? h.nr : 0;
    uint64_t pcs[PP_RAW_MAX_DEPTH];
    uint32_t n = 0;
    for (uint64_t i = 0; i < nr && n < PP_RAW_MAX_DEPTH; i++) {
        uint64_t ip;
        memcpy(&ip, ips + i * 8, 8);
        if (ip >= (uint64_t)PERF_CONTEXT_MAX) /* context markers (user, kernel) */
            continue;
        pcs[n++] = ip;
    }
    if (n == 0) { /* no user frame to put its CPU on: the thread's next sample has it */
        t->carry_ns += ticks * c->period_ns;
        return;
    }
    c->samples++;
    if (ticks && add_sample(c, (pid_t)h.tid, pcs, n, (int64_t)ticks) != 0)
        c->lost++;
}

/* the header of a whole record at tail, before head, into *eh; 0: none */
static int ring_record(const tslot *t, uint64_t tail, uint64_t head, struct perf_event_header *eh)
{
    if (tail >= head)
        return 0;
    copy_out(t, tail, eh, sizeof *eh);
    return eh->size >= sizeof *eh && eh->size <= head - tail;
}

/* the periods of the target's samples in t's ring from tail to head */
static uint64_t ring_periods(attach_ctx *c, const tslot *t, uint64_t tail, uint64_t head)
{
    uint64_t sum = 0;
    unsigned char rec[sizeof(struct perf_event_header) + sizeof(sample_head)];
    struct perf_event_header eh;
    for (; ring_record(t, tail, head, &eh); tail += eh.size) {
        sample_head h;
        if (eh.type == PERF_RECORD_SAMPLE && eh.size >= sizeof rec) {
            copy_out(t, tail, rec, sizeof rec);
            if (sample_head_of(rec, sizeof rec, &h) && (long)h.pid == c->pid)
                sum += h.period;
        }
    }
    return sum;
}

static void drain(attach_ctx *c, tslot *t)
{
    if (!t->base)
        return;
    struct perf_event_mmap_page *meta = (struct perf_event_mmap_page *)t->base;
    uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
    uint64_t tail = meta->data_tail;
    /* the thread's CPU since the last drain, shared among the samples in
     * proportion to their periods (attach_weight.h); read after the ring's
     * head, so every sample shared ran before it */
    pp__attach_drain dw = {.periods_ns = ring_periods(c, t, tail, head)};
    uint64_t cpu = 0;
    int known = t->cpu_known && read_thread_cpu(c->pid, t->tid, &cpu) && cpu >= t->cpu0_ns;
    dw.drain_ns =
        pp__attach_drain_ns(dw.periods_ns, known ? cpu - t->cpu0_ns : 0, known, &t->given_ns);
    if (dw.periods_ns && t->unsampled_ns) {
        dw.drain_ns += t->unsampled_ns;
        t->unsampled_ns = 0;
    }
    unsigned char rec[sizeof(struct perf_event_header) + 32 + 8 * (PP_RAW_MAX_DEPTH + 16)];
    struct perf_event_header eh;
    for (; ring_record(t, tail, head, &eh); tail += eh.size) {
        if (eh.size > sizeof rec)
            continue;
        copy_out(t, tail, rec, eh.size);
        if (eh.type == PERF_RECORD_SAMPLE) {
            take_sample(c, t, &dw, rec, eh.size);
        } else if (eh.type == PERF_RECORD_LOST && eh.size >= sizeof eh + 16) {
            uint64_t lost;
            memcpy(&lost, rec + sizeof eh + 8, 8);
            c->lost += (int64_t)lost;
        } else if (eh.type == PERF_RECORD_THROTTLE) {
            c->throttled++;
        }
    }
    __atomic_store_n(&meta->data_tail, tail, __ATOMIC_RELEASE);
}

/* ---- the target's mappings, kept from the last read while it was alive ---- */

static void read_maps(attach_ctx *c)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/maps", c->pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char *buf = malloc(MAPS_MAX);
    size_t n = 0;
    char line[1024];
    int continued = 0; /* inside a line longer than the buffer: skip all of it */
    while (buf && fgets(line, sizeof line, f)) {
        size_t l = strlen(line);
        int whole = l > 0 && line[l - 1] == '\n';
        int skip = continued || !whole;
        continued = !whole;
        unsigned long lo, hi;
        if (!skip && l > 7 && strcmp(line + l - 7, "[vdso]\n") == 0 &&
            sscanf(line, "%lx-%lx", &lo, &hi) == 2 && n + 64 < MAPS_MAX) {
            /* no file: the reader, on this kernel, symbolizes it from its own */
            n += (size_t)snprintf(buf + n, 64, "vdso %lx %lu -\n", lo, hi - lo);
            continue;
        }
        if (skip || !strstr(line, " /")) /* file-backed only */
            continue;
        if (n + l + 4 > MAPS_MAX)
            break;
        memcpy(buf + n, "map ", 4);
        memcpy(buf + n + 4, line, l);
        n += l + 4;
    }
    fclose(f);
    if (buf && n) {
        free(c->maps);
        c->maps = buf;
        c->maps_len = n;
    } else {
        free(buf);
    }
}

static int write_raw(attach_ctx *c, const char *path, uint64_t start_unix, uint64_t start_mono,
                     uint64_t duration, const char *reason)
{
    pp_file_out *o;
    int rc = pp_file_out_open(path, PP_FILE_REPLACE, &o, c->err, sizeof c->err);
    if (rc != PP_OK)
        return rc;
    FILE *f = pp_file_out_stream(o);
    fprintf(f,
            PP_RAW_HEADER
            "pid %ld\nreason %s\nmode cpu\nperiod_ns %" PRIu64
            "\nmem_rate 0\ntimer perf_event task-clock (attached)\nunwind frame-pointer "
            "(kernel)\nstart_unix_ns %" PRIu64 "\nstart_mono_ns %" PRIu64 "\nduration_ns %" PRIu64
            "\n",
            c->pid, reason, c->period_ns, start_unix, start_mono, duration);
    int64_t ticks = 0;
    for (size_t i = 0; i < c->table_cap; i++)
        ticks += c->table[i].hash ? c->table[i].ticks : 0;
    fprintf(f,
            "x samples %" PRId64 "\nx overrun_ticks %" PRId64 "\nx timer_perf 1\nx threads %" PRId64
            "\nx ring_dropped %" PRId64 "\nx attached 1\n",
            c->samples, ticks > c->samples ? ticks - c->samples : 0, c->threads_seen, c->lost);
    if (c->maps)
        fwrite(c->maps, 1, c->maps_len, f);
    for (size_t i = 0; i < c->nthreads; i++)
        fprintf(f, "t %d %s\n", (int)c->threads[i].tid,
                c->threads[i].name[0] ? c->threads[i].name : "?");
    for (size_t i = 0; i < c->table_cap; i++) {
        const stack_entry *e = &c->table[i];
        if (!e->hash)
            continue;
        fprintf(f, "s %d 0 %" PRId64 " %" PRId64 " %u", (int)e->tid, e->samples, e->ticks,
                e->depth);
        for (uint32_t k = 0; k < e->depth; k++)
            fprintf(f, " %" PRIx64, c->arena[e->off + k]);
        fputc('\n', f);
    }
    fputs("end\n", f);
    return pp_file_out_commit(o, c->err, sizeof c->err);
}

static int paranoid_level(void)
{
    FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
    int v = 99;
    if (f) {
        if (fscanf(f, "%d", &v) != 1)
            v = 99;
        fclose(f);
    }
    return v;
}

/* Why not one thread could be attached, as a status and a message that says what to change. */
static int refused(const attach_ctx *c, long live, char *err, size_t errcap)
{
    if (live < 0) {
        pp__set_err(err, errcap, "pid %ld exited before it could be attached", c->pid);
        return PP_ENOTFOUND;
    }
    int e = c->open_errno;
    if (e == EACCES || e == EPERM) {
        pp__set_err(err, errcap,
                    "cannot profile pid %ld: the kernel refused to sample it (%s). Sampling "
                    "another process needs its user (or root, or CAP_PERFMON), a target that "
                    "is dumpable, no seccomp filter against perf_event_open, and "
                    "kernel.perf_event_paranoid at 2 or lower: it is %d (sysctl "
                    "kernel.perf_event_paranoid=2)",
                    c->pid, c->err, paranoid_level());
        return PP_EPERM;
    }
    if (e == ENOSYS || e == ENOENT || e == EOPNOTSUPP) {
        pp__set_err(err, errcap, "cannot profile pid %ld: this kernel has no perf events (%s)",
                    c->pid, c->err);
        return PP_EUNAVAIL;
    }
    pp__set_err(err, errcap, "cannot profile pid %ld: %s", c->pid,
                c->err[0] ? c->err : "no thread could be attached");
    return c->err[0] && strstr(c->err, "out of memory") ? PP_ENOMEM : PP_EIO;
}

/* Drain, rescan and reread the maps every PASS_MS until the target exits,
 * the deadline passes or the caller asks to stop. Returns 1 when it exited. */
static int sample_until_done(attach_ctx *c, const pp_record_attach_opts *o, int pidfd,
                             uint64_t start_mono)
{
    uint64_t deadline = o->duration_s > 0 ? start_mono + (uint64_t)(o->duration_s * 1e9) : 0;
    uint64_t last_maps = start_mono;
    for (;;) {
        int exited = 0;
        if (pidfd >= 0) {
            struct pollfd p = {pidfd, POLLIN, 0};
            exited = poll(&p, 1, PASS_MS) > 0;
        } else {
            struct timespec ts = {0, PASS_MS * 1000000L};
            nanosleep(&ts, NULL);
        }
        uint64_t now = now_ns(CLOCK_MONOTONIC);
        for (size_t i = 0; i < c->nthreads; i++)
            drain(c, &c->threads[i]);
        if (!exited && now - last_maps >= MAPS_EVERY_NS) {
            read_maps(c);
            last_maps = now;
        }
        if (exited || rescan(c) <= 0)
            return 1;
        if ((o->should_stop && o->should_stop(o->ctx)) || (deadline && now >= deadline))
            return 0;
    }
}

int pp_record_attach(const pp_record_attach_opts *o, const char *dir, pp_record_attach_result *out,
                     char *err, size_t errcap)
{
    if (err && errcap)
        err[0] = '\0';
    if (!o || !dir || !out || o->pid <= 0 || o->hz == 0 || o->hz > 100000 ||
        !(o->duration_s >= 0)) {
        pp__set_err(err, errcap,
                    "pp_record_attach: bad options (pid > 0, hz 1-100000, "
                    "duration_s >= 0, dir and out needed)");
        return PP_EINVAL;
    }
    memset(out, 0, sizeof *out);
    if ((size_t)snprintf(out->path, sizeof out->path, "%s/%ld.0" PP_RAW_SUFFIX, dir, o->pid) >=
        sizeof out->path) {
        pp__set_err(err, errcap, "output directory name too long: %s", dir);
        return PP_EINVAL;
    }
    attach_ctx c;
    memset(&c, 0, sizeof c);
    c.pid = o->pid;
    c.period_ns = 1000000000ull / o->hz;
    c.pages = 64;
    char task[64];
    snprintf(task, sizeof task, "/proc/%ld/task", c.pid);
    if (access(task, F_OK) != 0) {
        pp__set_err(err, errcap, "no process with pid %ld", c.pid);
        return PP_ENOTFOUND;
    }
    int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)c.pid, 0);
    uint64_t start_unix = now_ns(CLOCK_REALTIME), start_mono = now_ns(CLOCK_MONOTONIC);
    read_maps(&c);
    long live = rescan(&c);
    c.scanned = 1;
    int rc;
    if (c.nthreads == 0) {
        rc = refused(&c, live, err, errcap);
        goto out;
    }
    if (o->on_attached)
        o->on_attached(o->ctx, c.pid, c.nthreads);
    out->exited = sample_until_done(&c, o, pidfd, start_mono);
    for (size_t i = 0; i < c.nthreads; i++)
        close_thread(&c, &c.threads[i]);
    out->maps_read = c.maps != NULL;
    out->threads = c.threads_seen;
    out->samples = c.samples;
    out->lost = c.lost;
    out->threads_failed = c.open_failed;
    if (c.open_failed)
        pp__set_err(out->failed_reason, sizeof out->failed_reason, "%s", c.err);
    rc = write_raw(&c, out->path, start_unix, start_mono, now_ns(CLOCK_MONOTONIC) - start_mono,
                   out->exited ? "exit" : "detached");
    if (rc != PP_OK)
        pp__set_err(err, errcap, "%s", c.err);
out:
    for (size_t i = 0; i < c.nthreads; i++)
        close_thread(&c, &c.threads[i]);
    if (pidfd >= 0)
        close(pidfd);
    free(c.threads);
    free(c.table);
    free(c.arena);
    free(c.maps);
    return rc;
}
