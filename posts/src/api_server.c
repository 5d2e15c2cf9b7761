/*
 * api_server.c - The posts HTTP API on libmicrohttpd, read-only over the
 * SQLite file: paginated /posts and /posts/{id}, JSON errors (400, 404, 405).
 * Binds 127.0.0.1 unless told otherwise. Never prints; errors are logged.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <jansson.h>
#include <microhttpd.h>
#include <sqlite3.h>

#include <postprof/log.h>
#include <postprof/otlp.h>
#include <postprof/scope.h>
#include <posts/api_server.h>
#include <posts/validate.h>

#include "internal.h"

#define MAX_CONNS 64

typedef struct dbconn {
    sqlite3 *db;
    sqlite3_stmt *page, *one;
    struct dbconn *next;
} dbconn;

struct posts_api_server {
    struct MHD_Daemon *d;
    char db_path[512];
    pthread_mutex_t mu;
    dbconn *free_list;
    int nconns;
    uint16_t port;
    _Atomic uint64_t requests;
};

int posts_api_parse_query(const char *cursor, const char *limit, int64_t *out_cursor,
                          int *out_limit, posts_err *err)
{
    int64_t c = 0;
    int l = 100;
    if (cursor) {
        size_t n = strlen(cursor);
        if (n == 0 || n > 18 || strspn(cursor, "0123456789") != n) {
            posts_err_set(err, "cursor must be a non-negative integer (the last id seen)");
            return PP_EINVAL;
        }
        c = strtoll(cursor, NULL, 10);
    }
    if (limit) {
        size_t n = strlen(limit);
        if (n == 0 || n > 4 || strspn(limit, "0123456789") != n || atoi(limit) < 1 ||
            atoi(limit) > POSTS_API_MAX_LIMIT) {
            posts_err_set(err, "limit must be an integer from 1 to %d", POSTS_API_MAX_LIMIT);
            return PP_EINVAL;
        }
        l = atoi(limit);
    }
    *out_cursor = c;
    *out_limit = l;
    return PP_OK;
}

int posts_api_parse_id(const char *s, int64_t *out_id, posts_err *err)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 18 || strspn(s, "0123456789") != n || strtoll(s, NULL, 10) < 1) {
        posts_err_set(err, "post id must be a positive integer");
        return PP_EINVAL;
    }
    *out_id = strtoll(s, NULL, 10);
    return PP_OK;
}

static dbconn *conn_get(posts_api_server *s)
{
    pthread_mutex_lock(&s->mu);
    dbconn *c = s->free_list;
    if (c)
        s->free_list = c->next;
    pthread_mutex_unlock(&s->mu);
    if (c)
        return c;
    c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (sqlite3_open_v2(s->db_path, &c->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) ||
        sqlite3_busy_timeout(c->db, 5000) ||
        sqlite3_prepare_v2(c->db, "SELECT " POSTS__COLUMNS " FROM posts WHERE id > ? ORDER BY id",
                           -1, &c->page, NULL) ||
        sqlite3_prepare_v2(c->db, "SELECT " POSTS__COLUMNS " FROM posts WHERE id = ?", -1, &c->one,
                           NULL)) {
        pp_log(PP_LOG_ERROR, "posts.api", "db_open_failed", "file", s->db_path, "error",
               c->db ? sqlite3_errmsg(c->db) : "open", NULL);
        sqlite3_finalize(c->page);
        sqlite3_finalize(c->one);
        sqlite3_close(c->db);
        free(c);
        return NULL;
    }
    return c;
}

static void conn_put(posts_api_server *s, dbconn *c)
{
    sqlite3_reset(c->page);
    sqlite3_reset(c->one);
    pthread_mutex_lock(&s->mu);
    c->next = s->free_list;
    s->free_list = c;
    pthread_mutex_unlock(&s->mu);
}

typedef posts__sbuf obuf;

static void ob_add(obuf *o, const char *s, size_t n)
{
    posts__sbuf_add(o, s, n);
}

/* Append p as JSON (o->oom on failure). */
static void append_post(obuf *o, const posts_post *p)
{
    char *js;
    size_t jl;
    if (posts_post_to_json(p, &js, &jl) != PP_OK) {
        o->oom = 1;
        return;
    }
    ob_add(o, js, jl);
    free(js);
}

/*
 * The current row of st as a post, or 0 when posts_row_validate refuses it
 * (logged with the reason: the server never serves what a source would
 * reject). *out_id: the row's id when it is an integer, else INT64_MIN.
 */
static int row_post(posts_api_server *s, sqlite3_stmt *st, posts_post *p, int64_t *out_id)
{
    posts_row row;
    posts_err why;
    posts__sqlite_row(st, &row);
    *out_id = row.v[POSTS_F_ID].kind == POSTS_V_INT ? row.v[POSTS_F_ID].i : INT64_MIN;
    if (posts_row_validate(&row, p, NULL, &why) == PP_OK)
        return 1;
    char id[32] = "?";
    if (*out_id != INT64_MIN)
        snprintf(id, sizeof id, "%" PRId64, *out_id);
    pp_log(PP_LOG_WARN, "posts.api", "row_skipped", "file", s->db_path, "id", id, "reason", why.msg,
           NULL);
    return 0;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, char *body, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply_error(struct MHD_Connection *conn, unsigned status, const char *msg)
{
    json_t *o = json_pack("{s:s, s:i}", "error", msg, "status", (int)status);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!s)
        return MHD_NO;
    return reply(conn, status, s, strlen(s));
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    (void)version;
    (void)upload;
    static int first_call_seen;
    /* The first call only announces the request; answering on the second keeps
     * the connection alive (answering on the first makes MHD close it). */
    if (*con_cls == NULL) {
        *con_cls = &first_call_seen;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0; /* a body on a GET is ignored */
        return MHD_YES;
    }
    /* W3C trace context: this request's span continues the caller's trace */
    const char *tp = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "traceparent");
    if (!tp || pp_otlp_continue(
                   tp, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "tracestate")) != PP_OK)
        pp_otlp_continue_clear();
    PP_SCOPE_SERVER("posts.api.request");
    posts_api_server *s = cls;
    atomic_fetch_add(&s->requests, 1);
    posts_err err = {{0}};
    if (strcmp(method, "GET") != 0)
        return reply_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET is supported");
    int page;
    int64_t cursor = 0, id = 0;
    int limit = 0;
    if (strcmp(url, "/posts") == 0 || strcmp(url, "/posts/") == 0) {
        page = 1;
        const char *c = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "cursor");
        const char *l = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "limit");
        if (posts_api_parse_query(c, l, &cursor, &limit, &err) != PP_OK)
            return reply_error(conn, MHD_HTTP_BAD_REQUEST, err.msg);
    } else if (strncmp(url, "/posts/", 7) == 0) {
        page = 0;
        if (posts_api_parse_id(url + 7, &id, &err) != PP_OK)
            return reply_error(conn, MHD_HTTP_BAD_REQUEST, err.msg);
    } else {
        return reply_error(conn, MHD_HTTP_NOT_FOUND, "no such resource (try /posts)");
    }
    dbconn *c = conn_get(s);
    if (!c)
        return reply_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "database unavailable");
    obuf o = {0};
    unsigned status = MHD_HTTP_OK;
    const char *fail = NULL;
    if (page) {
        sqlite3_bind_int64(c->page, 1, cursor);
        ob_add(&o, "{\"posts\":[", 10);
        int rows = 0, rc;
        int64_t last = cursor, more = 0;
        while ((rc = sqlite3_step(c->page)) == SQLITE_ROW) {
            posts_post p;
            int64_t rid;
            /* ids served only increase: a repeated id is skipped like an invalid row */
            if (!row_post(s, c->page, &p, &rid))
                continue;
            if (p.id <= last) {
                pp_log(PP_LOG_WARN, "posts.api", "row_skipped", "file", s->db_path, "reason",
                       "duplicate id", NULL);
                continue;
            }
            if (rows == limit) {
                more = 1;
                break;
            }
            if (rows)
                ob_add(&o, ",", 1);
            append_post(&o, &p);
            last = p.id;
            rows++;
        }
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            fail = sqlite3_errmsg(c->db);
        char tail[64];
        int tl = more ? snprintf(tail, sizeof tail, "],\"next_cursor\":%" PRId64 "}", last)
                      : snprintf(tail, sizeof tail, "],\"next_cursor\":null}");
        ob_add(&o, tail, (size_t)tl);
    } else {
        sqlite3_bind_int64(c->one, 1, id);
        int rc = sqlite3_step(c->one);
        posts_post p;
        int64_t rid;
        if (rc == SQLITE_ROW && row_post(s, c->one, &p, &rid)) {
            append_post(&o, &p);
        } else if (rc == SQLITE_ROW) {
            status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        } else if (rc == SQLITE_DONE) {
            status = MHD_HTTP_NOT_FOUND;
        } else {
            fail = sqlite3_errmsg(c->db);
        }
    }
    if (fail)
        pp_log(PP_LOG_ERROR, "posts.api", "query_failed", "file", s->db_path, "error", fail, NULL);
    conn_put(s, c);
    if (fail || o.oom) {
        free(o.p);
        return reply_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
                           fail ? "database error" : "out of memory");
    }
    if (status == MHD_HTTP_NOT_FOUND) {
        free(o.p);
        char msg[64];
        snprintf(msg, sizeof msg, "post %" PRId64 " not found", id);
        return reply_error(conn, status, msg);
    }
    if (status == MHD_HTTP_INTERNAL_SERVER_ERROR) {
        free(o.p);
        char msg[96];
        snprintf(msg, sizeof msg, "post %" PRId64 " in the database is not a valid post", id);
        return reply_error(conn, status, msg);
    }
    return reply(conn, status, o.p, o.n);
}

int posts_api_server_start(const char *db_path, const char *host, uint16_t port, unsigned threads,
                           posts_api_server **out, posts_err *err)
{
    *out = NULL;
    if (posts__check_regular("api-server: database", db_path, err) == PP_EIO)
        return PP_EIO; /* a FIFO or a device: SQLite would block on it or read garbage */
    posts_api_server *s = calloc(1, sizeof *s);
    if (!s)
        return PP_ENOMEM;
    pthread_mutex_init(&s->mu, NULL);
    snprintf(s->db_path, sizeof s->db_path, "%s", db_path);
    /* fail early when the database cannot serve */
    dbconn *c = conn_get(s);
    if (!c) {
        posts_err_set(err, "api-server: cannot open database %s", db_path);
        posts_api_server_stop(s);
        return PP_EDB;
    }
    conn_put(s, c);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    if (inet_pton(AF_INET, host ? host : "127.0.0.1", &addr.sin_addr) != 1) {
        posts_err_set(err, "api-server: bad listen address '%s' (want an IPv4 address)", host);
        posts_api_server_stop(s);
        return PP_EINVAL;
    }
    s->d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD, port, NULL, NULL, handle, s,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                            MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(threads ? threads : 4),
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNS * 4,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
    if (!s->d) {
        posts_err_set(err, "api-server: cannot listen on %s:%u", host ? host : "127.0.0.1",
                      (unsigned)port);
        posts_api_server_stop(s);
        return PP_ENET;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : port;
    *out = s;
    return PP_OK;
}

uint16_t posts_api_server_port(const posts_api_server *s)
{
    return s->port;
}

uint64_t posts_api_server_requests(const posts_api_server *s)
{
    return atomic_load(&((posts_api_server *)s)->requests);
}

void posts_api_server_stop(posts_api_server *s)
{
    if (!s)
        return;
    if (s->d)
        MHD_stop_daemon(s->d);
    dbconn *c = s->free_list;
    while (c) {
        dbconn *n = c->next;
        sqlite3_finalize(c->page);
        sqlite3_finalize(c->one);
        sqlite3_close(c->db);
        free(c);
        c = n;
    }
    pthread_mutex_destroy(&s->mu);
    free(s);
}
