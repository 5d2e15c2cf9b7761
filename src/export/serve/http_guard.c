/*
 * http_guard.c - Connection limits of the HTTP server: per client and
 * server-wide counts, closing the oldest waiting connection to make room,
 * and a deadline for each request to arrive in full (see http_guard.h).
 *
 * One mutex guards everything; the admit decision and the count taken when
 * the connection starts are two calls, so simultaneous accepts on several
 * server threads may pass a limit by at most the number of threads.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <postprof/error.h>

#include "export/serve/http_guard.h"

#define NBUCKETS 1024
#define TICK_NS 200000000LL /* how often deadlines are checked */

const char *const pp__guard_reason_names[PP__GUARD_NREASONS] = {"address_limit", "server_full",
                                                                "head_timeout"};

enum { WAITING, BUSY, CLOSING };

struct client {
    struct client *next; /* in its bucket */
    unsigned char key[9];
    unsigned n; /* connections held (waiting or busy) */
};

struct pp__http_conn {
    pp__http_conn *prev, *next; /* in the guard's list, oldest wait first; unlinked when CLOSING */
    struct client *client;
    int fd;
    int state;
    int64_t deadline_ns; /* for the request to arrive in full (WAITING) */
};

struct pp__http_guard {
    pp__http_guard_config cfg;
    pp_series *refused[PP__GUARD_NREASONS];
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    int thread_started, stopping;
    pp__http_conn *head, *tail; /* WAITING and BUSY connections */
    unsigned total, busy;
    struct client *buckets[NBUCKETS];
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The client a peer address belongs to: 9 bytes (family, then an IPv4
 * address or an IPv6 /64); 127.0.0.0/8 is one client. 0 when unknown. */
static int client_key(const struct sockaddr *a, socklen_t len, unsigned char key[9])
{
    memset(key, 0, 9);
    const unsigned char *v4 = NULL;
    if (a && a->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        v4 = (const unsigned char *)&((const struct sockaddr_in *)(const void *)a)->sin_addr;
    } else if (a && a->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct in6_addr *v6 = &((const struct sockaddr_in6 *)(const void *)a)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(v6)) {
            v4 = v6->s6_addr + 12;
        } else {
            key[0] = 6;
            memcpy(key + 1, v6->s6_addr, 8);
            return 1;
        }
    } else {
        return 0;
    }
    key[0] = 4;
    if (v4[0] == 127)
        key[1] = 127;
    else
        memcpy(key + 1, v4, 4);
    return 1;
}

static struct client **bucket_of(pp__http_guard *g, const unsigned char key[9])
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < 9; i++)
        h = (h ^ key[i]) * 16777619u;
    return &g->buckets[h % NBUCKETS];
}

static struct client *client_find(pp__http_guard *g, const unsigned char key[9])
{
    for (struct client *c = *bucket_of(g, key); c; c = c->next)
        if (memcmp(c->key, key, 9) == 0)
            return c;
    return NULL;
}

static void client_drop(pp__http_guard *g, struct client *cl)
{
    if (--cl->n)
        return;
    for (struct client **p = bucket_of(g, cl->key); *p; p = &(*p)->next)
        if (*p == cl) {
            *p = cl->next;
            break;
        }
    free(cl);
}

static void list_unlink(pp__http_guard *g, pp__http_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        g->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        g->tail = c->prev;
    c->prev = c->next = NULL;
}

static void list_append(pp__http_guard *g, pp__http_conn *c)
{
    c->prev = g->tail;
    c->next = NULL;
    if (g->tail)
        g->tail->next = c;
    else
        g->head = c;
    g->tail = c;
}

/* Close c (under the lock, c WAITING): shutdown() wakes the server thread
 * that owns it, which then closes it and calls pp__http_guard_close(). */
static void end_conn(pp__http_guard *g, pp__http_conn *c, int reason)
{
    list_unlink(g, c);
    c->state = CLOSING;
    g->total--;
    client_drop(g, c->client);
    c->client = NULL;
    /* counted before the peer can see the close, so whoever reads the
     * counter after seeing EOF finds it counted */
    if (g->refused[reason])
        pp_series_inc(g->refused[reason]);
    (void)shutdown(c->fd, SHUT_RDWR);
}

/* The oldest waiting connection (of client cl, or of anyone when NULL). */
static pp__http_conn *oldest_waiting(pp__http_guard *g, const struct client *cl)
{
    for (pp__http_conn *c = g->head; c; c = c->next)
        if (c->state == WAITING && (!cl || c->client == cl))
            return c;
    return NULL;
}

int pp__http_guard_admit(pp__http_guard *g, const struct sockaddr *addr, socklen_t len)
{
    unsigned char key[9];
    if (!client_key(addr, len, key))
        return 1;
    int ok = 1;
    pthread_mutex_lock(&g->lock);
    struct client *cl = client_find(g, key);
    unsigned held = cl ? cl->n : 0;
    if (held >= g->cfg.per_client) {
        pp__http_conn *victim = oldest_waiting(g, cl);
        if (victim)
            end_conn(g, victim, PP__GUARD_ADDRESS_LIMIT);
        else
            ok = 0;
        if (!ok && g->refused[PP__GUARD_ADDRESS_LIMIT])
            pp_series_inc(g->refused[PP__GUARD_ADDRESS_LIMIT]);
    } else if (g->total >= g->cfg.max_connections ||
               (held > 0 && g->total + g->cfg.reserve >= g->cfg.max_connections)) {
        /* a client already holding some makes room among its own first */
        pp__http_conn *victim = held ? oldest_waiting(g, cl) : NULL;
        if (!victim)
            victim = oldest_waiting(g, NULL);
        if (victim)
            end_conn(g, victim, PP__GUARD_SERVER_FULL);
        else
            ok = 0;
        if (!ok && g->refused[PP__GUARD_SERVER_FULL])
            pp_series_inc(g->refused[PP__GUARD_SERVER_FULL]);
    }
    pthread_mutex_unlock(&g->lock);
    return ok;
}

pp__http_conn *pp__http_guard_open(pp__http_guard *g, const struct sockaddr *addr, socklen_t len,
                                   int fd)
{
    unsigned char key[9];
    if (!client_key(addr, len, key))
        memset(key, 0, sizeof key);
    pp__http_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    pthread_mutex_lock(&g->lock);
    struct client *cl = client_find(g, key);
    if (!cl) {
        cl = calloc(1, sizeof *cl);
        if (!cl) {
            pthread_mutex_unlock(&g->lock);
            free(c);
            return NULL;
        }
        memcpy(cl->key, key, sizeof key);
        struct client **b = bucket_of(g, key);
        cl->next = *b;
        *b = cl;
    }
    cl->n++;
    c->client = cl;
    c->fd = fd;
    c->state = WAITING;
    c->deadline_ns = now_ns() + (int64_t)(g->cfg.head_timeout_s * 1e9);
    list_append(g, c);
    g->total++;
    /* admit() and open() are not one step: server threads accept in
     * parallel, so connections admitted together may pass a limit here.
     * The limit holds all the same: the oldest waiting one makes room. */
    while (cl->n > g->cfg.per_client) {
        pp__http_conn *victim = oldest_waiting(g, cl);
        if (!victim || victim == c)
            break;
        end_conn(g, victim, PP__GUARD_ADDRESS_LIMIT);
    }
    while (g->total > g->cfg.max_connections) {
        pp__http_conn *victim = oldest_waiting(g, NULL);
        if (!victim || victim == c)
            break;
        end_conn(g, victim, PP__GUARD_SERVER_FULL);
    }
    pthread_mutex_unlock(&g->lock);
    return c;
}

/* Under the lock: 0 when c is being closed already; else c stops counting as busy, 1. */
static int leave_busy(pp__http_guard *g, pp__http_conn *c)
{
    if (c->state == CLOSING)
        return 0;
    if (c->state == BUSY)
        g->busy--;
    return 1;
}

void pp__http_guard_close(pp__http_guard *g, pp__http_conn *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&g->lock);
    if (leave_busy(g, c)) {
        list_unlink(g, c);
        g->total--;
        client_drop(g, c->client);
    }
    pthread_mutex_unlock(&g->lock);
    free(c);
}

void pp__http_guard_busy(pp__http_guard *g, pp__http_conn *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&g->lock);
    if (c->state == WAITING) {
        c->state = BUSY;
        g->busy++;
    }
    pthread_mutex_unlock(&g->lock);
}

void pp__http_guard_done(pp__http_guard *g, pp__http_conn *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&g->lock);
    if (leave_busy(g, c)) {
        c->state = WAITING;
        /* a silent kept-alive connection is the idle timeout's to close (not
         * counted); one trickling its next request meets this deadline */
        c->deadline_ns =
            now_ns() + (int64_t)((g->cfg.idle_timeout_s + g->cfg.head_timeout_s) * 1e9);
        list_unlink(g, c);
        list_append(g, c);
    }
    pthread_mutex_unlock(&g->lock);
}

void pp__http_guard_counts(pp__http_guard *g, unsigned *total, unsigned *busy)
{
    pthread_mutex_lock(&g->lock);
    *total = g->total;
    *busy = g->busy;
    pthread_mutex_unlock(&g->lock);
}

static void *deadline_thread(void *arg)
{
    pp__http_guard *g = arg;
    pthread_mutex_lock(&g->lock);
    while (!g->stopping) {
        int64_t now = now_ns();
        pp__http_conn *next;
        for (pp__http_conn *c = g->head; c; c = next) {
            next = c->next;
            if (c->state == WAITING && c->deadline_ns <= now)
                end_conn(g, c, PP__GUARD_HEAD_TIMEOUT);
        }
        int64_t until = now + TICK_NS;
        struct timespec ts = {(time_t)(until / 1000000000LL), (long)(until % 1000000000LL)};
        while (!g->stopping && pthread_cond_timedwait(&g->wake, &g->lock, &ts) != ETIMEDOUT) {
        }
    }
    pthread_mutex_unlock(&g->lock);
    return NULL;
}

int pp__http_guard_new(const pp__http_guard_config *cfg,
                       pp_series *const refused[PP__GUARD_NREASONS], pp__http_guard **out)
{
    if (!cfg || !out || !cfg->max_connections || !cfg->per_client ||
        cfg->reserve >= cfg->max_connections || !(cfg->head_timeout_s > 0) ||
        !(cfg->idle_timeout_s >= 0))
        return PP_EINVAL;
    *out = NULL;
    pp__http_guard *g = calloc(1, sizeof *g);
    if (!g)
        return PP_ENOMEM;
    g->cfg = *cfg;
    for (int i = 0; i < PP__GUARD_NREASONS; i++)
        g->refused[i] = refused ? refused[i] : NULL;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&g->lock, NULL);
    if (pthread_create(&g->thread, NULL, deadline_thread, g) != 0) {
        pp__http_guard_free(g);
        return PP_ENOMEM;
    }
    g->thread_started = 1;
    *out = g;
    return PP_OK;
}

void pp__http_guard_free(pp__http_guard *g)
{
    if (!g)
        return;
    if (g->thread_started) {
        pthread_mutex_lock(&g->lock);
        g->stopping = 1;
        pthread_cond_signal(&g->wake);
        pthread_mutex_unlock(&g->lock);
        pthread_join(g->thread, NULL);
    }
    /* the server stopped: every connection was closed and reported */
    for (int i = 0; i < NBUCKETS; i++)
        while (g->buckets[i]) {
            struct client *c = g->buckets[i];
            g->buckets[i] = c->next;
            free(c);
        }
    pthread_cond_destroy(&g->wake);
    pthread_mutex_destroy(&g->lock);
    free(g);
}
