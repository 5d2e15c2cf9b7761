/*
 * http_guard.h - Who may hold a connection to the HTTP server, and for how
 * long (internal to src/export/serve/http.c).
 *
 * Connections are counted per client (an IPv4 address, all of 127.0.0.0/8
 * as one client since it is all this machine, an IPv6 /64) and server-wide.
 * A connection is "waiting" until its whole request (head and body) has
 * arrived, "busy" while it is answered, and waiting again for the next
 * request on a kept-alive connection. When a new connection would pass a
 * limit, the oldest waiting connection (of the same client for the
 * per-client limit, of anyone for the server-wide one) is closed to make
 * room; only when none is waiting is the new connection refused. A scraper
 * sends its request at once, so it is busy within a round trip and never
 * the oldest waiting: slow or idle clients cannot keep it out. The last
 * `reserve` slots go only to clients holding no connection yet. A request
 * must arrive in full within head_timeout_s of the connection's start (or,
 * on a kept-alive connection, idle_timeout_s + head_timeout_s of the
 * previous answer), however slowly its bytes trickle.
 *
 * Every connection refused or closed by these rules is counted by reason.
 */
#ifndef PP_EXPORT_SERVE_HTTP_GUARD_H
#define PP_EXPORT_SERVE_HTTP_GUARD_H

#include <sys/socket.h>

#include <postprof/metrics.h>

enum {
    PP__GUARD_ADDRESS_LIMIT, /* the client held its most connections */
    PP__GUARD_SERVER_FULL,   /* the server held its most connections */
    PP__GUARD_HEAD_TIMEOUT,  /* the request did not arrive in time */
    PP__GUARD_NREASONS
};

extern const char *const pp__guard_reason_names[PP__GUARD_NREASONS];

typedef struct pp__http_guard pp__http_guard;
typedef struct pp__http_conn pp__http_conn;

typedef struct pp__http_guard_config {
    unsigned max_connections; /* server-wide, >= 1 */
    unsigned per_client;      /* per client, >= 1 */
    unsigned reserve;         /* of max_connections, for clients holding none */
    double head_timeout_s;    /* > 0 */
    double idle_timeout_s;    /* >= 0 */
} pp__http_guard_config;

/* pp__http_guard_new() - Start the guard (and its deadline thread). refused:
 * one series per reason (counted; may be NULL). PP_OK, PP_ENOMEM, PP_EINVAL. */
PP_NODISCARD int pp__http_guard_new(const pp__http_guard_config *cfg,
                                    pp_series *const refused[PP__GUARD_NREASONS],
                                    pp__http_guard **out);

/* pp__http_guard_free() - Stop the thread and free; call after the server stopped. */
void pp__http_guard_free(pp__http_guard *g);

/* pp__http_guard_admit() - 1 when a new connection from addr may be
 * accepted (closing a waiting one to make room if need be), 0 refused. */
int pp__http_guard_admit(pp__http_guard *g, const struct sockaddr *addr, socklen_t len);

/* pp__http_guard_open() - The connection on fd from addr started; NULL
 * when out of memory (it then goes uncounted). */
pp__http_conn *pp__http_guard_open(pp__http_guard *g, const struct sockaddr *addr, socklen_t len,
                                   int fd);

/* pp__http_guard_close() - The connection is closing (its fd still open). c may be NULL. */
void pp__http_guard_close(pp__http_guard *g, pp__http_conn *c);

/* pp__http_guard_busy() - The request arrived in full; it is being answered. */
void pp__http_guard_busy(pp__http_guard *g, pp__http_conn *c);

/* pp__http_guard_done() - The answer went out; the connection waits for the next request. */
void pp__http_guard_done(pp__http_guard *g, pp__http_conn *c);

/* pp__http_guard_counts() - Connections held now: in all, and by busy ones (tests). */
void pp__http_guard_counts(pp__http_guard *g, unsigned *total, unsigned *busy);

#endif
