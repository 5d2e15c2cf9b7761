/*
 * collector.c - The collector thread: drains every thread's ring, aggregates
 * stacks in an open-addressing hash table (mmap'd, fixed size; a full table
 * is counted), tracks heap in use, its peak and the stacks live at the peak,
 * and samples RSS over time. Never calls malloc (the hooks would see it).
 */
#include <fcntl.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <math.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "preload.h"
#include "ring.h"
#include "writer.h"

#define TABLE_BITS 16
#define TABLE_CAP (1u << TABLE_BITS)
#define ARENA_WORDS (1u << 22)
#define SERIES_CAP 2048
#define NAMES_CAP 4096

enum { KIND_CPU = 1, KIND_MEM = 2 };

typedef struct {
    uint64_t hash;
    uint32_t tid;
    uint16_t depth;
    uint8_t kind, flags;
    uint64_t off;
    int64_t v[6];
} entry;

typedef struct {
    uint64_t t_ns;
    uint64_t rss;
    int64_t heap;
} point;

typedef struct {
    pid_t tid;
    char name[16];
} tname;

static struct {
    entry *table;
    uint64_t *arena;
    uint64_t arena_used;
    uint64_t entries, table_full, dropped_exited;
    int64_t heap_live, heap_peak, snap_peak, alloc_total;
    point *series;
    unsigned nseries;
    uint64_t series_every_ns, last_series_ns;
    tname *names;
    unsigned nnames;
    pthread_t th;
    int started;
} C;

static void *map_bytes(size_t n)
{
    void *p =
        mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static uint64_t hash_stack(const uint64_t *pcs, unsigned n, uint64_t seed)
{
    uint64_t h = 1469598103934665603ull ^ seed;
    for (unsigned i = 0; i < n; i++) {
        h ^= pcs[i];
        h *= 1099511628211ull;
        h ^= h >> 29;
    }
    return h;
}

static entry *lookup(uint8_t kind, uint32_t tid, uint8_t flags, uint64_t hash, const uint64_t *pcs,
                     unsigned n, int match_hash_only)
{
    if (!C.table)
        return NULL;
    for (uint64_t i = hash & (TABLE_CAP - 1), probes = 0; probes < TABLE_CAP;
         i = (i + 1) & (TABLE_CAP - 1), probes++) {
        entry *e = &C.table[i];
        if (e->kind == 0) {
            if (C.entries * 4 >= (uint64_t)TABLE_CAP * 3 || C.arena_used + n > ARENA_WORDS) {
                C.table_full++;
                return NULL;
            }
            e->kind = kind;
            e->hash = hash;
            e->tid = tid;
            e->flags = flags;
            e->depth = (uint16_t)n;
            e->off = C.arena_used;
            if (n)
                memcpy(C.arena + C.arena_used, pcs, n * sizeof *pcs);
            C.arena_used += n;
            C.entries++;
            return e;
        }
        if (e->hash != hash || e->kind != kind)
            continue;
        if (match_hash_only)
            return e;
        if (e->tid == tid && e->flags == flags && e->depth == n &&
            memcmp(C.arena + e->off, pcs, n * sizeof *pcs) == 0)
            return e;
    }
    C.table_full++;
    return NULL;
}

/* objects and bytes one sampled allocation of size bytes stands for */
static void mem_weights(uint64_t size, int64_t *objs, int64_t *bytes)
{
    if (pp__pl.mem_rate == 0 || size == 0) {
        *objs = 1;
        *bytes = (int64_t)size;
        return;
    }
    double scale = 1.0 / (1.0 - exp(-(double)size / (double)pp__pl.mem_rate));
    *objs = (int64_t)llround(scale);
    *bytes = (int64_t)llround((double)size * scale);
}

static void note_peak(void)
{
    if (C.heap_live <= C.heap_peak)
        return;
    C.heap_peak = C.heap_live;
    if (C.heap_live < C.snap_peak + C.snap_peak / 100 + 1)
        return;
    C.snap_peak = C.heap_live;
    for (uint64_t i = 0; i < TABLE_CAP; i++) {
        entry *e = &C.table[i];
        if (e->kind == KIND_MEM) {
            e->v[4] = e->v[2];
            e->v[5] = e->v[3];
        }
    }
}

static void process(pp_pl_thread *t, uint64_t hdr, const uint64_t *p, unsigned n)
{
    unsigned type = PP_PL_HDR_TYPE(hdr);
    uint64_t aux = PP_PL_HDR_AUX(hdr);
    if (type == PP_PL_REC_CPU) {
        uint8_t flags = (uint8_t)(aux & 0xff);
        uint64_t h = hash_stack(p, n, (uint64_t)t->tid * 31 + flags);
        entry *e = lookup(KIND_CPU, (uint32_t)t->tid, flags, h, p, n, 0);
        if (e) {
            e->v[0] += 1;
            e->v[1] += (int64_t)(aux >> 8);
        }
    } else if (type == PP_PL_REC_ALLOC && n >= 2) {
        int64_t objs, bytes;
        mem_weights(p[0], &objs, &bytes);
        entry *e = lookup(KIND_MEM, 0, 0, p[1], p + 2, n - 2, 1);
        if (e) {
            if (e->depth == 0 && n > 2 && C.arena_used + n - 2 <= ARENA_WORDS) {
                e->off = C.arena_used;
                memcpy(C.arena + C.arena_used, p + 2, (n - 2) * sizeof *p);
                C.arena_used += n - 2;
                e->depth = (uint16_t)(n - 2);
            }
            e->v[0] += objs;
            e->v[1] += bytes;
            e->v[2] += objs;
            e->v[3] += bytes;
        }
        C.alloc_total += bytes;
        C.heap_live += bytes;
        note_peak();
    } else if (type == PP_PL_REC_FREE && n >= 2) {
        int64_t objs, bytes;
        mem_weights(p[0], &objs, &bytes);
        entry *e = lookup(KIND_MEM, 0, 0, p[1], NULL, 0, 1);
        if (e) {
            e->v[2] -= objs;
            e->v[3] -= bytes;
        }
        C.heap_live -= bytes;
    }
}

static int drain_ring(pp_pl_thread *t, pp_pl_ring *r)
{
    if (!r->buf)
        return 0;
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    int did = 0;
    uint64_t tmp[PP_PL_MAX_DEPTH + 4];
    while (tail < head) {
        uint64_t hdr = r->buf[tail & r->mask];
        unsigned len = PP_PL_HDR_LEN(hdr);
        if (len == 0 || len > PP_PL_MAX_DEPTH + 4 || tail + len > head) {
            tail = head; /* corrupt: skip what is there */
            break;
        }
        for (unsigned i = 1; i < len; i++)
            tmp[i - 1] = r->buf[(tail + i) & r->mask];
        process(t, hdr, tmp, len - 1);
        tail += len;
        did = 1;
    }
    atomic_store_explicit(&r->tail, tail, memory_order_release);
    return did;
}

static void remember_name(pp_pl_thread *t)
{
    for (unsigned i = 0; i < C.nnames; i++)
        if (C.names[i].tid == t->tid) {
            memcpy(C.names[i].name, t->name, sizeof t->name);
            return;
        }
    if (C.names && C.nnames < NAMES_CAP) {
        C.names[C.nnames].tid = t->tid;
        memcpy(C.names[C.nnames].name, t->name, sizeof t->name);
        C.names[C.nnames].name[15] = 0;
        C.nnames++;
    }
}

void pp__pl_collector_drain_all(void)
{
    for (int i = 0; i < PP_PL_MAX_THREADS; i++) {
        pp_pl_thread *t = atomic_load(&pp__pl.threads[i]);
        if (!t)
            continue;
        int state = atomic_load(&t->state);
        drain_ring(t, &t->cpu);
        drain_ring(t, &t->mem);
        if (state == PP_PL_T_EXITED) {
            drain_ring(t, &t->cpu);
            drain_ring(t, &t->mem);
            remember_name(t);
            C.dropped_exited += atomic_load(&t->cpu.dropped) + atomic_load(&t->mem.dropped);
            atomic_store(&pp__pl.threads[i], NULL);
            if (t->cpu.buf)
                munmap(t->cpu.buf, (t->cpu.mask + 1) * 8);
            if (t->mem.buf)
                munmap(t->mem.buf, (t->mem.mask + 1) * 8);
            munmap(t, sizeof *t);
        }
    }
}

static uint64_t read_rss(void)
{
    char buf[128];
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    const char *s = buf;
    while (*s && *s != ' ')
        s++;
    uint64_t pages = 0;
    while (*s == ' ')
        s++;
    while (*s >= '0' && *s <= '9')
        pages = pages * 10 + (uint64_t)(*s++ - '0');
    return pages * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void series_tick(int force)
{
    uint64_t now = pp__pl_now_ns();
    if (!C.series || (!force && now - C.last_series_ns < C.series_every_ns))
        return;
    C.last_series_ns = now;
    if (C.nseries == SERIES_CAP) {
        for (unsigned i = 0; i < SERIES_CAP / 2; i++)
            C.series[i] = C.series[2 * i];
        C.nseries = SERIES_CAP / 2;
        C.series_every_ns *= 2;
    }
    C.series[C.nseries++] = (point){now - pp__pl.start_ns, read_rss(), C.heap_live};
}

static void nap(long ns)
{
    struct timespec ts = {0, ns};
    syscall(SYS_nanosleep, &ts, NULL);
}

/* The collector's sleep between passes: a futex wait, so that a pause (at
 * exit, before a fork's dump) wakes it at once however long the pass
 * interval is. */
static _Atomic uint32_t collector_wake;

static void collector_sleep(long ns)
{
    struct timespec ts = {ns / 1000000000L, ns % 1000000000L};
    uint32_t seen = atomic_load(&collector_wake);
    syscall(SYS_futex, &collector_wake, FUTEX_WAIT_PRIVATE, seen, &ts, NULL, 0);
}

static void collector_poke(void)
{
    atomic_fetch_add(&collector_wake, 1);
    syscall(SYS_futex, &collector_wake, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *collector_main(void *arg)
{
    (void)arg;
    uint64_t last_check = pp__pl_now_ns();
    while (!atomic_load(&pp__pl.collector_stop)) {
        if (atomic_load(&pp__pl.collector_pause) == 1) {
            atomic_store(&pp__pl.collector_pause, 2);
            while (atomic_load(&pp__pl.collector_pause) == 2 &&
                   !atomic_load(&pp__pl.collector_stop))
                nap(100000);
            continue;
        }
        pp__pl_collector_drain_all();
        series_tick(0);
        uint64_t now = pp__pl_now_ns();
        if (now - last_check >= 100000000) { /* descriptors the target closed */
            pp__pl_timers_check();
            last_check = now;
        }
        /* Always sleep between passes: reading a ring's head while its thread
         * pushes would bounce that cache line on every event. Rings hold
         * seconds of CPU samples (a pass every 100 ms: each wake-up of an idle
         * CPU is CPU time the target pays) and milliseconds of --mem-all
         * events (every 0.2 ms; a full ring makes its thread wait). */
        collector_sleep(!pp__pl.mem_on ? 100000000 : pp__pl.mem_rate == 0 ? 200000 : 5000000);
    }
    return NULL;
}

void pp__pl_collector_reset(void)
{
    if (C.table)
        munmap(C.table, TABLE_CAP * sizeof(entry));
    if (C.arena)
        munmap(C.arena, ARENA_WORDS * 8);
    if (C.series)
        munmap(C.series, SERIES_CAP * sizeof(point));
    if (C.names)
        munmap(C.names, NAMES_CAP * sizeof(tname));
    pthread_t th = C.th;
    int started = C.started;
    memset(&C, 0, sizeof C);
    C.th = th;
    C.started = started;
    C.table = map_bytes(TABLE_CAP * sizeof(entry));
    C.arena = map_bytes(ARENA_WORDS * 8);
    C.series = map_bytes(SERIES_CAP * sizeof(point));
    C.names = map_bytes(NAMES_CAP * sizeof(tname));
    C.series_every_ns = 20000000;
}

/*
 * Sampled --mem mode starts the collector thread lazily: a second thread
 * makes glibc's malloc leave its single-threaded fast path, which alone cost
 * a single-threaded target ~8 % more per malloc/free pair. Until the target
 * creates a thread, its own rare sampled events are drained on its thread.
 */
static _Atomic int lazy_pending;
static _Atomic int inline_busy;

static int start_thread(void)
{
    C.started = pp__pl_create_raw(&C.th, collector_main, NULL) == 0;
    return C.started ? 0 : -1;
}

int pp__pl_collector_start(void)
{
    atomic_store(&pp__pl.collector_stop, 0);
    atomic_store(&pp__pl.collector_pause, 0);
    if (!C.table)
        pp__pl_collector_reset();
    series_tick(1);
    if (pp__pl.mem_on && pp__pl.mem_rate != 0) {
        atomic_store(&lazy_pending, 1);
        return 0;
    }
    return start_thread();
}

void pp__pl_collector_ensure(void)
{
    int expect = 1;
    if (atomic_compare_exchange_strong(&lazy_pending, &expect, 0)) {
        while (atomic_load(&inline_busy))
            sched_yield();
        start_thread();
    }
}

void pp__pl_collector_inline(pp_pl_ring *r)
{
    if (!atomic_load_explicit(&lazy_pending, memory_order_relaxed) || C.started)
        return;
    atomic_store(&inline_busy, 1);
    if (atomic_load_explicit(&lazy_pending, memory_order_acquire)) {
        if (!pp_pl_ring_room(r, (unsigned)((r->mask + 1) / 2)))
            pp__pl_collector_drain_all();
        series_tick(0);
    }
    atomic_store(&inline_busy, 0);
}

int pp__pl_collector_inline_busy(void)
{
    return atomic_load(&inline_busy);
}

int pp__pl_collector_pause(void)
{
    if (!C.started)
        return 1;
    int expect = 0;
    atomic_compare_exchange_strong(&pp__pl.collector_pause, &expect, 1);
    /* poke on every try: a poke landing between the collector's check of the
     * flag and its futex wait is lost, the next one is not. On a loaded
     * machine the collector can be off the CPU for a long time in the middle
     * of a pass: wait for it (up to 10 s of 0.1 ms naps) rather than drain
     * its rings beside it, which would count their records twice. */
    for (int i = 0; i < 100000 && atomic_load(&pp__pl.collector_pause) != 2; i++) {
        collector_poke();
        nap(100000);
    }
    return atomic_load(&pp__pl.collector_pause) == 2;
}

void pp__pl_collector_resume(void)
{
    atomic_store(&pp__pl.collector_pause, 0);
}

void pp__pl_collector_write(pp_pl_writer *w)
{
    series_tick(1);
    uint64_t dropped = C.dropped_exited;
    for (int i = 0; i < PP_PL_MAX_THREADS; i++) {
        pp_pl_thread *t = atomic_load(&pp__pl.threads[i]);
        if (!t)
            continue;
        dropped += atomic_load(&t->cpu.dropped) + atomic_load(&t->mem.dropped);
        remember_name(t);
    }
    pp__pl_w_str(w, "x ring_dropped ");
    pp__pl_w_u64(w, dropped);
    pp__pl_w_str(w, "\nx table_full ");
    pp__pl_w_u64(w, C.table_full);
    pp__pl_w_str(w, "\nx heap_peak ");
    pp__pl_w_i64(w, C.heap_peak);
    pp__pl_w_str(w, "\nx heap_live ");
    pp__pl_w_i64(w, C.heap_live);
    pp__pl_w_str(w, "\nx alloc_total ");
    pp__pl_w_i64(w, C.alloc_total);
    pp__pl_w_str(w, "\n");
    for (unsigned i = 0; i < C.nnames; i++) {
        pp__pl_w_str(w, "t ");
        pp__pl_w_u64(w, (uint64_t)C.names[i].tid);
        pp__pl_w_str(w, " ");
        char name[16];
        memcpy(name, C.names[i].name, sizeof name);
        name[15] = 0;
        for (int k = 0; name[k]; k++)
            if (name[k] == ' ' || name[k] == '\n' || name[k] == ';')
                name[k] = '_';
        pp__pl_w_str(w, name[0] ? name : "?");
        pp__pl_w_str(w, "\n");
    }
    for (unsigned i = 0; C.series && i < C.nseries; i++) {
        pp__pl_w_str(w, "c ");
        pp__pl_w_u64(w, C.series[i].t_ns);
        pp__pl_w_str(w, " ");
        pp__pl_w_u64(w, C.series[i].rss);
        pp__pl_w_str(w, " ");
        pp__pl_w_i64(w, C.series[i].heap);
        pp__pl_w_str(w, "\n");
    }
    for (uint64_t i = 0; C.table && i < TABLE_CAP; i++) {
        entry *e = &C.table[i];
        if (e->kind == KIND_CPU) {
            pp__pl_w_str(w, "s ");
            pp__pl_w_u64(w, e->tid);
            pp__pl_w_str(w, " ");
            pp__pl_w_u64(w, e->flags);
            for (int k = 0; k < 2; k++) {
                pp__pl_w_str(w, " ");
                pp__pl_w_i64(w, e->v[k]);
            }
        } else if (e->kind == KIND_MEM) {
            pp__pl_w_str(w, "m");
            for (int k = 0; k < 6; k++) {
                pp__pl_w_str(w, " ");
                pp__pl_w_i64(w, e->v[k]);
            }
        } else {
            continue;
        }
        pp__pl_w_str(w, " ");
        pp__pl_w_u64(w, e->depth);
        for (unsigned k = 0; k < e->depth; k++) {
            pp__pl_w_str(w, " ");
            pp__pl_w_hex(w, C.arena[e->off + k]);
        }
        pp__pl_w_str(w, "\n");
    }
}
