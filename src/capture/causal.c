/*
 * causal.c - Progress points and the virtual-speedup mechanism behind
 * `postprof causal` (docs/causal.md).
 *
 * While an experiment runs (site X, speedup s), every scope begin takes the
 * slow path (one bit of pp__begin_extra, so no cost at all otherwise) and
 * every scope boundary is a safe point. A thread that ends a scope of X
 * having spent t in it adds s*t to the global delay count and to its own
 * count; a thread whose own count is behind the global one pauses for the
 * difference at its next boundary. Threads that block on another thread
 * (through the LD_PRELOAD shim of src/causal/) pay what they owe before
 * blocking or waking another thread, and skip what was inserted while they
 * were blocked: the thread that woke them was itself in step. The
 * experiment's effective time is the wall time between two progress hits
 * less the global delay inserted in between (Coz's accounting).
 *
 * The experiments run on a controller thread started when POSTPROF_CAUSAL_DIR
 * is set; each one appends a line to DIR/PID.causal, read by the CLI.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dlfcn.h>

#include <postprof/causal.h>

#include "capture.h"
#include "common/clock_impl.h"

#define PAY_MIN_NS 20000u    /* smaller debts wait for the next boundary */
#define SLEEP_SLACK_NS 80000 /* pause by sleeping up to this much before the target, then spin */
#define MAX_SPEEDUPS 21
#define MAX_FILTER 32

/* The experiment in force: epoch (32 bits) | speedup in per mille (16) | site id (16). */
static _Atomic uint64_t g_exp;
static _Atomic uint64_t g_delay; /* ns of delay every thread owes since the process started */
static _Atomic uint64_t g_ends;  /* ends of the selected site in the current experiment */
static _Atomic int g_hooks;      /* the shim connected its blocking hooks */

static inline uint32_t exp_site(uint64_t e)
{
    return (uint32_t)(e & 0xffffu);
}
static inline uint32_t exp_permille(uint64_t e)
{
    return (uint32_t)((e >> 16) & 0xffffu);
}
static inline uint32_t exp_epoch(uint64_t e)
{
    return (uint32_t)(e >> 32);
}

/* ---- progress points ---- */

/* This thread's slot for a progress or latency site (registering the site on
 * its first use); NULL when out of memory or sites. */
static inline pp__slot *site_slot(pp__thread *t, pp_site *site)
{
    uint32_t id = atomic_load_explicit(&site->id, memory_order_acquire);
    if (PP_UNLIKELY(!id)) {
        id = pp__site_register(site);
        if (!id)
            return NULL;
    }
    pp__slot *s = t->slots[id];
    return PP_LIKELY(s) ? s : pp__slot_get(t, id);
}

void pp_progress_hit(pp_site *site)
{
    pp__thread *t = pp__thread_get();
    if (!t)
        return;
    pp__slot *s = site_slot(t, site);
    if (!s)
        return;
    uint64_t now = pp__ticks();
    /* a one-writer sequence lock: odd while the tick and delay change */
    uint64_t seq = pp__load(&s->hit_seq);
    pp__store(&s->hit_seq, seq + 1);
    atomic_thread_fence(memory_order_release);
    pp__store(&s->hit_tick, now);
    pp__store(&s->hit_delay, atomic_load_explicit(&g_delay, memory_order_relaxed));
    atomic_store_explicit(&s->hit_seq, seq + 2, memory_order_release);
    /* counted like a scope of no duration, so snapshots show the count */
    pp__slot_record(s, 0, 0);
}

/* ---- latency points: begin/end pairs ---- */

pp_latency pp_latency_begin(pp_site *site)
{
    pp_latency l = {0, 0, 0, NULL};
    if (!site || !pp__thread_get())
        return l;
    uint64_t e = atomic_load_explicit(&g_exp, memory_order_acquire);
    l.epoch = exp_epoch(e);
    l.delay = atomic_load_explicit(&g_delay, memory_order_relaxed);
    l.start = pp__ticks();
    l.site = site;
    return l;
}

void pp_latency_end(pp_latency *l)
{
    if (!l || !l->site)
        return;
    pp_site *site = l->site;
    l->site = NULL;
    uint64_t now = pp__ticks();
    pp__thread *t = pp__thread_get();
    if (!t)
        return;
    pp__slot *s = site_slot(t, site);
    if (!s)
        return;
    uint64_t e = atomic_load_explicit(&g_exp, memory_order_acquire);
    if (exp_epoch(e) == l->epoch) {
        /* began and ended under the same experiment: it counts in it. The
         * sums (units x 2, ns, delay ns) under the slot's one-writer sequence
         * lock, as a progress hit's tick and delay */
        uint64_t ns = pp__clock_ticks_to_mono_ns(now) - pp__clock_ticks_to_mono_ns(l->start);
        uint64_t dly = atomic_load_explicit(&g_delay, memory_order_relaxed) - l->delay;
        uint64_t seq = pp__load(&s->hit_seq);
        pp__store(&s->hit_seq, seq + 1);
        atomic_thread_fence(memory_order_release);
        pp__store(&s->hit_tick, pp__load(&s->hit_tick) + ns);
        pp__store(&s->hit_delay, pp__load(&s->hit_delay) + dly);
        atomic_store_explicit(&s->hit_seq, seq + 2, memory_order_release);
    }
    uint64_t d = now > l->start ? now - l->start : 0;
    pp__slot_record(s, d, d);
}

typedef struct progress_read {
    uint64_t hits, tick, delay;
} progress_read;

/* One consistent read of a slot's sequence lock: the units it counted (half
 * the sequence) and its tick and delay words; 0 when a writer kept it busy. */
static int slot_load(const pp__slot *s, uint64_t *hits, uint64_t *tick, uint64_t *delay)
{
    for (int tries = 0; tries < 1000; tries++) {
        uint64_t a = atomic_load_explicit(&s->hit_seq, memory_order_acquire);
        *tick = pp__load(&s->hit_tick);
        *delay = pp__load(&s->hit_delay);
        atomic_thread_fence(memory_order_acquire);
        uint64_t b = pp__load(&s->hit_seq);
        if (a == b && !(a & 1)) {
            *hits = a / 2;
            return 1;
        }
    }
    return 0;
}

/* A progress site's slot: units, and the latest hit's tick and delay. */
static void slot_read(const pp__slot *s, progress_read *r)
{
    uint64_t hits, tick, delay;
    if (!slot_load(s, &hits, &tick, &delay))
        return;
    r->hits += hits;
    if (tick > r->tick) {
        r->tick = tick;
        r->delay = delay;
    }
}

/* A latency site's slot: units, and the sums of their ns and delay ns. */
static void slot_read_sums(const pp__slot *s, progress_read *r)
{
    uint64_t hits, ns, delay;
    if (!slot_load(s, &hits, &ns, &delay))
        return;
    r->hits += hits;
    r->tick += ns;
    r->delay += delay;
}

/* Hits of a progress site over all threads, and the latest hit's tick and
 * delay; for a latency site, units and the sums of their ns and delay ns. */
static void progress_read_all(uint32_t id, progress_read *r)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_lock(&pp__registry_lock);
    pp_site *site =
        atomic_load_explicit((_Atomic(pp_site *) *)&pp__sites[id], memory_order_acquire);
    void (*rd)(const pp__slot *, progress_read *) =
        site && (site->flags & PP_SITE_LATENCY) ? slot_read_sums : slot_read;
    for (pp__thread *t = pp__threads; t; t = t->next) {
        pp__slot *s =
            atomic_load_explicit((_Atomic(pp__slot *) *)&t->slots[id], memory_order_acquire);
        if (s)
            rd(s, r);
    }
    if (pp__retired && pp__retired[id])
        rd(pp__retired[id], r);
    pthread_mutex_unlock(&pp__registry_lock);
}

/* ---- the delays ---- */

static void sync_epoch(pp__thread *t, uint64_t e)
{
    if (t->causal_epoch != exp_epoch(e)) {
        /* a new experiment: what was owed under the last one is forgiven */
        t->causal_epoch = exp_epoch(e);
        t->causal_local = atomic_load_explicit(&g_delay, memory_order_relaxed);
    }
}

static void pay(pp__thread *t, uint64_t min_ns)
{
    uint64_t e = atomic_load_explicit(&g_exp, memory_order_acquire);
    if (!exp_site(e))
        return;
    sync_epoch(t, e);
    uint64_t g = atomic_load_explicit(&g_delay, memory_order_relaxed);
    if (g <= t->causal_local || g - t->causal_local < min_ns)
        return;
    uint64_t owed = g - t->causal_local;
    uint64_t t0 = pp__mono_ns(), target = t0 + owed, now;
    if (owed > 2 * SLEEP_SLACK_NS) {
        uint64_t ns = owed - SLEEP_SLACK_NS;
        struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
    }
    while ((now = pp__mono_ns()) < target) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
    /* what was really paid counts, a pause that ran long included */
    t->causal_local += now - t0;
    t->causal_paid += now - t0;
}

void pp__causal_thread_init(pp__thread *t)
{
    /* a new thread starts in step with the one that created it */
    uint64_t e = atomic_load_explicit(&g_exp, memory_order_acquire);
    t->causal_epoch = exp_epoch(e);
    t->causal_local = atomic_load_explicit(&g_delay, memory_order_relaxed);
}

void pp__causal_begin(pp__thread *t, pp__memframe *m)
{
    pay(t, PAY_MIN_NS);
    m->causal_paid = t->causal_paid;
}

void pp__causal_end(pp__thread *t, const pp__frame *f, const pp__memframe *m, uint64_t ticks)
{
    uint64_t e = atomic_load_explicit(&g_exp, memory_order_acquire);
    uint32_t sel = exp_site(e);
    if (sel && f->site == sel) {
        sync_epoch(t, e);
        uint64_t ns =
            pp__clock_ticks_to_mono_ns(f->start + ticks) - pp__clock_ticks_to_mono_ns(f->start);
        uint64_t inside = t->causal_paid - m->causal_paid; /* delays paid inside the scope */
        ns = ns > inside ? ns - inside : 0;
        uint64_t add = ns * exp_permille(e) / 1000u;
        if (add) {
            atomic_fetch_add_explicit(&g_delay, add, memory_order_relaxed);
            t->causal_local += add;
        }
        atomic_fetch_add_explicit(&g_ends, 1, memory_order_relaxed);
    }
    pay(t, PAY_MIN_NS);
}

/* ---- blocking hooks, called by the LD_PRELOAD shim (src/causal/shim.c) ---- */

static void hook_pre_block(void)
{
    pp__thread *t = pp__thread_peek();
    if (t)
        pay(t, 0);
}

static void hook_post_block(int woken)
{
    pp__thread *t = pp__thread_peek();
    uint64_t e = atomic_load_explicit(&g_exp, memory_order_acquire);
    if (!t || !exp_site(e))
        return;
    sync_epoch(t, e);
    uint64_t g = atomic_load_explicit(&g_delay, memory_order_relaxed);
    if (woken && g > t->causal_local)
        t->causal_local = g;
}

static void hook_pre_wake(void)
{
    pp__thread *t = pp__thread_peek();
    if (t)
        pay(t, 0);
}

typedef void (*shim_connect_fn)(void (*)(void), void (*)(int), void (*)(void));

/* ---- the controller: experiments one after another, one log line each ---- */

typedef struct ctl {
    int fd;
    char progress_name[256];
    uint32_t speedups[MAX_SPEEDUPS]; /* per mille, 0 excluded */
    size_t nspeedups;
    char *filter[MAX_FILTER];
    size_t nfilter;
    uint64_t exp_ns;
    uint64_t rng;
    unsigned char *unused; /* per site id: no end seen in its last experiment */
} ctl;

static pthread_t ctl_thread;
static _Atomic int ctl_running;

static void nap_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void put_line(ctl *c, const char *line)
{
    size_t n = strlen(line), off = 0;
    while (off < n) {
        ssize_t w = write(c->fd, line + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        off += (size_t)w;
    }
}

static int name_wanted(const ctl *c, const char *name)
{
    if (!c->nfilter)
        return 1;
    for (size_t i = 0; i < c->nfilter; i++)
        if (strcmp(c->filter[i], name) == 0)
            return 1;
    return 0;
}

static pp_site *site_at(uint32_t id)
{
    return atomic_load_explicit((_Atomic(pp_site *) *)&pp__sites[id], memory_order_acquire);
}

_Atomic(pp__causal_name_fn) pp__causal_site_name;

/* A site's name: its own, or a function site's from the preload mode's namer (NULL: none). */
static const char *site_name(uint32_t id)
{
    pp_site *s = site_at(id);
    if (!s)
        return NULL;
    if (s->name)
        return s->name;
    pp__causal_name_fn fn = atomic_load_explicit(&pp__causal_site_name, memory_order_acquire);
    return (s->flags & PP_SITE_FUNC) && fn ? fn(id) : NULL;
}

static uint32_t find_progress(const ctl *c)
{
    uint32_t n = atomic_load(&pp__nsites);
    for (uint32_t id = 1; id < n && id < PP__MAX_SITES; id++) {
        pp_site *s = site_at(id);
        if (s && (s->flags & PP_SITE_PROGRESS) && s->name &&
            (!c->progress_name[0] || strcmp(s->name, c->progress_name) == 0))
            return id;
    }
    return 0;
}

/* Wait until the progress count moves past from; 0 and *r filled, -1 on timeout. */
static int wait_hit(uint32_t pid, uint64_t from, uint64_t timeout_ns, progress_read *r)
{
    uint64_t t0 = pp__mono_ns();
    for (;;) {
        progress_read_all(pid, r);
        if (r->hits > from)
            return 0;
        if (pp__mono_ns() - t0 > timeout_ns)
            return -1;
        nap_ns(200000);
    }
}

static void set_experiment(uint32_t site, uint32_t permille)
{
    uint64_t e = atomic_load(&g_exp);
    uint64_t epoch = (uint64_t)exp_epoch(e) + 1;
    atomic_store_explicit(&g_exp, (epoch << 32) | ((uint64_t)permille << 16) | site,
                          memory_order_release);
    if (site)
        atomic_fetch_or(&pp__begin_extra, PP__BEGIN_CAUSAL);
    else
        atomic_fetch_and(&pp__begin_extra, ~PP__BEGIN_CAUSAL);
}

/* One experiment; returns the points it saw (0 when it timed out). */
static uint64_t run_experiment(ctl *c, uint32_t pid, uint64_t pair, uint32_t site,
                               uint32_t permille)
{
    progress_read a, b;
    atomic_store(&g_ends, 0);
    set_experiment(site, permille);
    progress_read_all(pid, &a);
    uint64_t timeout = 20 * c->exp_ns + 2000000000u, ns;
    if (site_at(pid)->flags & PP_SITE_LATENCY) {
        /* units that began and ended under this experiment: their time and
         * the delay inserted while each was in flight */
        nap_ns(c->exp_ns);
        progress_read_all(pid, &b);
        if (b.hits == a.hits)
            return 0;
        ns = b.tick - a.tick;
    } else {
        /* the window opens at a hit made under this experiment */
        if (wait_hit(pid, a.hits, timeout, &a) != 0)
            return 0;
        nap_ns(c->exp_ns);
        progress_read_all(pid, &b);
        if (wait_hit(pid, b.hits, timeout, &b) != 0)
            return 0;
        ns = pp__clock_ticks_to_mono_ns(b.tick) - pp__clock_ticks_to_mono_ns(a.tick);
    }
    if (!atomic_load(&g_ends)) {
        c->unused[site] = 1; /* never ran: not a stage of this progress point */
        return b.hits - a.hits;
    }
    char line[512];
    snprintf(line, sizeof line, "exp %llu %u %llu %llu %llu %s\n", (unsigned long long)pair,
             permille, (unsigned long long)(b.hits - a.hits), (unsigned long long)ns,
             (unsigned long long)(b.delay - a.delay), site_name(site));
    put_line(c, line);
    return b.hits - a.hits;
}

static uint64_t rnd(ctl *c)
{
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    return c->rng;
}

static void *controller(void *arg)
{
    ctl *c = arg;
    uint32_t pid = 0;
    while (!(pid = find_progress(c)))
        nap_ns(5000000);
    char line[512];
    snprintf(line, sizeof line, "progress %s\n", site_at(pid)->name);
    put_line(c, line);
    uint64_t *plan = calloc((size_t)PP__MAX_SITES * MAX_SPEEDUPS, sizeof *plan);
    if (!plan)
        goto out;
    uint64_t pair = 0;
    for (unsigned round = 0;; round++) {
        if (round % 8 == 7)
            memset(c->unused, 0, PP__MAX_SITES); /* sites may start running later */
        size_t nplan = 0;
        uint32_t n = atomic_load(&pp__nsites);
        for (uint32_t id = 1; id < n && id < PP__MAX_SITES; id++) {
            pp_site *s = site_at(id);
            const char *name = site_name(id);
            if (!s || !name || (s->flags & (PP_SITE_ASYNC | PP_SITE_PROGRESS)) || c->unused[id] ||
                !name_wanted(c, name))
                continue;
            for (size_t k = 0; k < c->nspeedups; k++)
                plan[nplan++] = ((uint64_t)c->speedups[k] << 16) | id;
        }
        if (!nplan) {
            nap_ns(c->exp_ns);
            continue;
        }
        for (size_t i = nplan; i > 1; i--) {
            size_t j = rnd(c) % i;
            uint64_t tmp = plan[i - 1];
            plan[i - 1] = plan[j];
            plan[j] = tmp;
        }
        /* each experiment beside its own baseline (the same site at speedup 0:
         * the same safe points, no delay), in alternating order, so that a
         * drift of the machine's speed cancels within the pair */
        for (size_t i = 0; i < nplan; i++) {
            uint32_t id = (uint32_t)(plan[i] & 0xffffu), pm = (uint32_t)(plan[i] >> 16);
            if (c->unused[id])
                continue;
            pair++;
            uint64_t points = run_experiment(c, pid, pair, id, pair % 2 ? 0 : pm);
            if (points && !c->unused[id])
                points = run_experiment(c, pid, pair, id, pair % 2 ? pm : 0);
            if (points < 5 && c->exp_ns < 4000000000u)
                c->exp_ns *= 2; /* too few points to measure a rate: longer experiments */
        }
    }
out:
    set_experiment(0, 0);
    free(plan);
    return NULL;
}

static int parse_speedups(ctl *c, const char *s)
{
    c->nspeedups = 0;
    while (s && *s) {
        char *end;
        double v = strtod(s, &end);
        if (end == s || v < 0 || v > 100)
            return -1;
        uint32_t pm = (uint32_t)(v * 10 + 0.5);
        if (pm && c->nspeedups < MAX_SPEEDUPS)
            c->speedups[c->nspeedups++] = pm;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return -1;
    }
    return c->nspeedups ? 0 : -1;
}

void pp__causal_from_env(void)
{
    const char *dir = getenv("POSTPROF_CAUSAL_DIR");
    if (!dir || !*dir)
        return;
    static ctl c;
    memset(&c, 0, sizeof c);
    char path[4096];
    snprintf(path, sizeof path, "%s/%d.causal", dir, (int)getpid());
    c.fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (c.fd < 0)
        return;
    const char *sp = getenv("POSTPROF_CAUSAL_SPEEDUPS");
    if (parse_speedups(&c, sp && *sp ? sp : "10,25,50") != 0) {
        put_line(&c, "error POSTPROF_CAUSAL_SPEEDUPS is not a list of percentages\n");
        close(c.fd);
        return;
    }
    const char *pn = getenv("POSTPROF_CAUSAL_PROGRESS");
    if (pn)
        snprintf(c.progress_name, sizeof c.progress_name, "%s", pn);
    const char *sites = getenv("POSTPROF_CAUSAL_SITES");
    static char site_buf[4096];
    if (sites && *sites) {
        snprintf(site_buf, sizeof site_buf, "%s", sites);
        for (char *tok = strtok(site_buf, ","); tok && c.nfilter < MAX_FILTER;
             tok = strtok(NULL, ","))
            c.filter[c.nfilter++] = tok;
    }
    const char *ms = getenv("POSTPROF_CAUSAL_EXPERIMENT_MS");
    long v = ms ? atol(ms) : 0;
    c.exp_ns = (uint64_t)(v > 0 && v < 60000 ? v : 200) * 1000000u;
    c.rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
    c.unused = calloc(PP__MAX_SITES, 1);
    if (!c.unused) {
        close(c.fd);
        return;
    }
    put_line(&c, "postprof-causal 2\n");
    /* blocking hooks, when `postprof causal` preloaded its shim */
    void *sym = dlsym(RTLD_DEFAULT, "pp_causal_shim_connect");
    shim_connect_fn connect;
    memcpy(&connect, &sym, sizeof connect); /* POSIX: a function's address from dlsym */
    if (connect) {
        connect(hook_pre_block, hook_post_block, hook_pre_wake);
        atomic_store(&g_hooks, 1);
    } else {
        put_line(&c, "note no blocking hooks: threads that wait on others are delayed too\n");
    }
    /* the controller takes no signal meant for the program */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    if (pthread_create(&ctl_thread, NULL, controller, &c) == 0) {
        pthread_detach(ctl_thread);
        atomic_store(&ctl_running, 1);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void pp__causal_after_fork(void)
{
    /* the controller did not follow: no experiment in the child */
    if (atomic_load(&ctl_running)) {
        atomic_store(&g_exp, 0);
        atomic_fetch_and(&pp__begin_extra, ~PP__BEGIN_CAUSAL);
    }
}
