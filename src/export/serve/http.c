/*
 * http.c - The embedded HTTP server on libmicrohttpd: built-in /metrics,
 * /healthz and /api/snapshot, plus handlers added by other modules.
 * Requests are bounded (header memory, body size, idle timeout, a deadline
 * for each request to arrive, connections per client and in all: see
 * http_guard.c); a handler's failure answers 500, never takes the server down.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include <postprof/error.h>
#include <postprof/http.h>
#include <postprof/log.h>
#include <postprof/snapshot.h>

#include "common/gzip.h"
#include "common/strbuf.h"
#include "export/serve/http_guard.h"
#include "export/serve/serve.h"

#define MAX_RESP_HEADERS 8
#define GZIP_MIN_BYTES 512
#define M_GET 1u
#define M_HEAD 2u
#define M_ANY 0xffu
#define FD_HEADROOM 64 /* descriptors left to the rest of the process */

struct handler {
    char path[256];
    size_t len;
    int prefix;
    int public_;      /* served without the bearer token (a page carrying no data) */
    unsigned methods; /* M_* the route answers; others get 405 */
    pp_http_handler fn;
    void *ctx;
};

struct pp_http_server {
    struct MHD_Daemon *daemon;
    char address[300];
    uint16_t port;
    char *token;
    pp_registry *registry;
    pp_series *scrapes[2]; /* postprof_scrapes_total{format="text"|"openmetrics"} */
    pp_series *refused[PP__GUARD_NREASONS]; /* postprof_http_connections_refused_total{reason} */
    pp__http_guard *guard;
    pp_sysstats *sysstats;
    pthread_mutex_t lock; /* handlers */
    struct handler handlers[PP_HTTP_MAX_HANDLERS];
    size_t nhandlers;
};

struct pp_http_request {
    struct MHD_Connection *conn;
    const char *method, *path;
    const char *body;
    size_t body_len;
};

struct pp_http_response {
    int set;
    unsigned status;
    char *content_type;
    char *body;
    size_t len;
    size_t nheaders;
    char *headers[MAX_RESP_HEADERS][2];
};

/* Per-connection state (MHD's socket context). */
struct conn_info {
    pp__http_conn *guarded;
    int nul_in_target; /* the current request's target decoded to a NUL byte */
};

/* Per-request state kept by MHD between callbacks. */
struct req_state {
    pp__strbuf body;
    int too_big;
};

/* ---- request and response accessors --------------------------------------- */

const char *pp_http_request_method(const pp_http_request *req)
{
    return req ? req->method : NULL;
}

const char *pp_http_request_path(const pp_http_request *req)
{
    return req ? req->path : NULL;
}

const char *pp_http_request_header(const pp_http_request *req, const char *name)
{
    return req && name ? MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name) : NULL;
}

const char *pp_http_request_query(const pp_http_request *req, const char *key)
{
    return req && key ? MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key) : NULL;
}

const void *pp_http_request_body(const pp_http_request *req, size_t *out_len)
{
    if (out_len)
        *out_len = req ? req->body_len : 0;
    return req && req->body ? req->body : "";
}

int pp_http_respond(pp_http_response *resp, unsigned status, const char *content_type,
                    const void *body, size_t len)
{
    if (!resp || (len && !body) || status < 100 || status > 599)
        return PP_EINVAL;
    if (resp->set)
        return PP_ESTATE;
    if (len > PP_HTTP_MAX_RESPONSE)
        return PP_ERANGE;
    char *ct = strdup(content_type ? content_type : "application/octet-stream");
    char *b = malloc(len ? len : 1);
    if (!ct || !b) {
        free(ct);
        free(b);
        return PP_ENOMEM;
    }
    if (len)
        memcpy(b, body, len);
    resp->set = 1;
    resp->status = status;
    resp->content_type = ct;
    resp->body = b;
    resp->len = len;
    return PP_OK;
}

int pp_http_respond_header(pp_http_response *resp, const char *name, const char *value)
{
    if (!resp || !name || !value || !*name || strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
        return PP_EINVAL;
    if (resp->nheaders >= MAX_RESP_HEADERS)
        return PP_EFULL;
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return PP_ENOMEM;
    }
    resp->headers[resp->nheaders][0] = n;
    resp->headers[resp->nheaders][1] = v;
    resp->nheaders++;
    return PP_OK;
}

static void response_release(pp_http_response *resp)
{
    free(resp->content_type);
    free(resp->body);
    for (size_t i = 0; i < resp->nheaders; i++) {
        free(resp->headers[i][0]);
        free(resp->headers[i][1]);
    }
    memset(resp, 0, sizeof *resp);
}

/* ---- built-in handlers ------------------------------------------------------ */

static const char text_plain[] = "text/plain; charset=utf-8";

static int h_metrics(const pp_http_request *req, pp_http_response *resp, void *ctx)
{
    pp_http_server *s = ctx;
    char *text = NULL;
    size_t len = 0;
    int format = pp_expo_negotiate(pp_http_request_header(req, "Accept"));
    pp_series_inc(s->scrapes[format]);
    int rc = pp_registry_render(s->registry, format, &text, &len);
    if (rc == PP_OK)
        rc = pp_http_respond(resp, 200, pp_expo_content_type(format), text, len);
    free(text);
    return rc;
}

static int h_healthz(const pp_http_request *req, pp_http_response *resp, void *ctx)
{
    (void)req;
    (void)ctx;
    return pp_http_respond(resp, 200, text_plain, "ok\n", 3);
}

static int h_snapshot(const pp_http_request *req, pp_http_response *resp, void *ctx)
{
    pp_http_server *s = ctx;
    pp_snapshot *snap = NULL;
    pp_sysstats_sample *sys = malloc(sizeof *sys);
    char *text = NULL;
    size_t len = 0;
    int rc = PP_ENOMEM;
    (void)req;
    if (!sys)
        goto out;
    if (s->sysstats)
        pp_sysstats_latest(s->sysstats, sys);
    else if (pp_sysstats_read(NULL, NULL, sys) != PP_OK)
        memset(sys, 0, sizeof *sys);
    rc = pp_snapshot_take(&snap);
    if (rc != PP_OK)
        goto out;
    rc = pp__snapshot_json(snap, sys, &text, &len);
    if (rc == PP_OK)
        rc = pp_http_respond(resp, 200, "application/json", text, len);
out:
    free(text);
    pp_snapshot_free(snap);
    free(sys);
    return rc;
}

/* ---- handler table ---------------------------------------------------------- */

static int add_handler(pp_http_server *s, const char *path, pp_http_handler fn, void *ctx,
                       int public_, unsigned methods)
{
    size_t n = path ? strnlen(path, 256) : 0;
    if (!s || !fn || n == 0 || n > 255 || path[0] != '/')
        return PP_EINVAL;
    int rc = PP_OK;
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->nhandlers; i++)
        if (strcmp(s->handlers[i].path, path) == 0)
            rc = PP_EEXIST;
    if (rc == PP_OK && s->nhandlers >= PP_HTTP_MAX_HANDLERS)
        rc = PP_EFULL;
    if (rc == PP_OK) {
        struct handler *h = &s->handlers[s->nhandlers++];
        memcpy(h->path, path, n + 1);
        h->len = n;
        h->prefix = path[n - 1] == '/';
        h->public_ = public_;
        h->methods = methods;
        h->fn = fn;
        h->ctx = ctx;
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int pp_http_add_handler(pp_http_server *s, const char *path, pp_http_handler fn, void *ctx)
{
    return add_handler(s, path, fn, ctx, 0, M_ANY);
}

int pp_http_add_public_handler(pp_http_server *s, const char *path, pp_http_handler fn, void *ctx)
{
    return add_handler(s, path, fn, ctx, 1, M_GET | M_HEAD);
}

/* The handler for path: exact match, else the longest matching prefix. */
static int find_handler(pp_http_server *s, const char *path, struct handler *out)
{
    int found = 0;
    size_t best = 0;
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->nhandlers; i++) {
        const struct handler *h = &s->handlers[i];
        if (!h->prefix && strcmp(h->path, path) == 0) {
            *out = *h;
            found = 1;
            break;
        }
        if (h->prefix && strncmp(h->path, path, h->len) == 0 && h->len > best) {
            *out = *h;
            best = h->len;
            found = 1;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return found;
}

/* ---- MHD glue ------------------------------------------------------------------ */

static enum MHD_Result queue(struct MHD_Connection *conn, pp_http_response *r, int want_gzip)
{
    char *body = r->body;
    size_t len = r->len;
    int gz = 0;
    if (want_gzip && len >= GZIP_MIN_BYTES) {
        size_t zlen = 0;
        char *z = NULL;
        if (pp__gzip(r->body, r->len, &z, &zlen) == PP_OK && zlen < r->len) {
            body = z;
            len = zlen;
            gz = 1;
        } else {
            free(z); /* failed, or did not shrink: sent as it is */
        }
    }
    struct MHD_Response *mr = MHD_create_response_from_buffer(
        len, body, gz ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY);
    if (!mr) {
        if (gz)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(mr, "Content-Type", r->content_type ? r->content_type : text_plain);
    MHD_add_response_header(mr, "Vary", "Accept-Encoding");
    if (gz)
        MHD_add_response_header(mr, "Content-Encoding", "gzip");
    for (size_t i = 0; i < r->nheaders; i++)
        MHD_add_response_header(mr, r->headers[i][0], r->headers[i][1]);
    enum MHD_Result ret = MHD_queue_response(conn, r->status, mr);
    MHD_destroy_response(mr);
    return ret;
}

static enum MHD_Result simple(struct MHD_Connection *conn, unsigned status, const char *msg,
                              const char *hname, const char *hvalue)
{
    pp_http_response r = {0};
    enum MHD_Result ret = MHD_NO;
    if (pp_http_respond(&r, status, text_plain, msg, strlen(msg)) == PP_OK &&
        (!hname || pp_http_respond_header(&r, hname, hvalue) == PP_OK))
        ret = queue(conn, &r, 0);
    response_release(&r);
    return ret;
}

static struct conn_info *conn_info_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static int method_bit(const char *method)
{
    if (strcmp(method, "GET") == 0)
        return M_GET;
    if (strcmp(method, "HEAD") == 0)
        return M_HEAD;
    return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    pp_http_server *s = cls;
    struct req_state *st = *con_cls;
    (void)version;
    if (!st) {
        st = calloc(1, sizeof *st);
        if (!st)
            return MHD_NO;
        pp__strbuf_init(&st->body, PP_HTTP_MAX_BODY);
        *con_cls = st;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!st->too_big) {
            pp__strbuf_add(&st->body, upload_data, *upload_data_size);
            st->too_big = st->body.err != 0;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    /* the request arrived in full: its deadline no longer applies */
    struct conn_info *ci = conn_info_of(conn);
    if (ci)
        pp__http_guard_busy(s->guard, ci->guarded);
    if (st->too_big)
        return simple(conn, 413, "request body too large\n", "Connection", "close");
    if (ci && ci->nul_in_target)
        return simple(conn, 400, "bad request: NUL byte (%00) in the request target\n",
                      "Connection", "close");
    struct handler h;
    int found = url && find_handler(s, url, &h);
    int mbit = method_bit(method);
    /* a public page is served without the token on its exact path, GET or
     * HEAD only; everything else (unknown paths included) needs it */
    int public_ = found && h.public_ && strcmp(url, h.path) == 0 && mbit;
    if (s->token && !public_) {
        const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
        if (!pp_http_check_bearer(auth, s->token))
            return simple(conn, 401, "unauthorized\n", "WWW-Authenticate", "Bearer");
    }
    if (!found)
        return simple(conn, 404, "not found\n", NULL, NULL);
    if (h.methods != M_ANY && !(h.methods & (unsigned)mbit))
        return simple(conn, 405, "method not allowed\n", "Allow", "GET, HEAD");

    pp_http_request req = {conn, method, url, st->body.data, st->body.len};
    pp_http_response resp = {0};
    int rc = h.fn(&req, &resp, h.ctx);
    enum MHD_Result ret;
    if (rc != PP_OK || !resp.set) {
        char msg[128];
        snprintf(msg, sizeof msg, "internal error: %s\n",
                 rc != PP_OK ? pp_strerror(rc) : "no response");
        pp_log(PP_LOG_WARN, "http", "handler_failed", "path", url, "error", msg, NULL);
        ret = simple(conn, 500, msg, NULL, NULL);
    } else {
        const char *ae = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept-Encoding");
        ret = queue(conn, &resp, pp_http_accepts_gzip(ae));
    }
    response_release(&resp);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    pp_http_server *s = cls;
    struct req_state *st = *con_cls;
    (void)toe;
    if (st) {
        pp__strbuf_release(&st->body);
        free(st);
        *con_cls = NULL;
    }
    struct conn_info *ci = conn_info_of(conn);
    if (ci) {
        ci->nul_in_target = 0;
        pp__http_guard_done(s->guard, ci->guarded);
    }
}

/* A new connection from addr: may it in (see http_guard.h)? */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
    pp_http_server *s = cls;
    return pp__http_guard_admit(s->guard, addr, len) ? MHD_YES : MHD_NO;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    pp_http_server *s = cls;
    struct conn_info *ci = *socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *fd =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *addr =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        ci = calloc(1, sizeof *ci);
        if (ci && fd && addr) {
            const struct sockaddr *sa = addr->client_addr;
            socklen_t len = sa && sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                            : sizeof(struct sockaddr_in);
            ci->guarded = pp__http_guard_open(s->guard, sa, len, fd->connect_fd);
        }
        *socket_context = ci;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && ci) {
        pp__http_guard_close(s->guard, ci->guarded);
        free(ci);
        *socket_context = NULL;
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode %HH in place (MHD's rule), but a %00 is kept as it is and marks
 * the request, which is then answered 400: "/metrics%00.html" must not be
 * served as "/metrics". Returns the new length. */
static size_t on_unescape(void *cls, struct MHD_Connection *conn, char *str)
{
    (void)cls;
    char *w = str;
    int nul = 0;
    for (const char *r = str; *r;) {
        int hi, lo;
        if (r[0] == '%' && (hi = hexval(r[1])) >= 0 && (lo = hexval(r[2])) >= 0) {
            if (hi == 0 && lo == 0) {
                nul = 1;
                memmove(w, r, 3);
                w += 3;
            } else {
                *w++ = (char)(hi * 16 + lo);
            }
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    if (nul) {
        struct conn_info *ci = conn_info_of(conn);
        if (ci)
            ci->nul_in_target = 1;
    }
    return (size_t)(w - str);
}

PP_PRINTF(2, 0) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    (void)cls;
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    pp_log(PP_LOG_DEBUG, "http", "mhd", "message", msg, NULL);
}

/* ---- start / stop -------------------------------------------------------------- */

static int resolve(const char *host, uint16_t port, struct sockaddr_storage *out,
                   socklen_t *out_len)
{
    memset(out, 0, sizeof *out);
    struct sockaddr_in *v4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
    if (strcmp(host, "localhost") == 0)
        host = "127.0.0.1";
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        *out_len = sizeof *v4;
        return PP_OK;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        *out_len = sizeof *v6;
        return PP_OK;
    }
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    if (getaddrinfo(host, "0", &hints, &res) != 0 || !res)
        return PP_EINVAL;
    memcpy(out, res->ai_addr, res->ai_addrlen);
    *out_len = (socklen_t)res->ai_addrlen;
    freeaddrinfo(res);
    if (out->ss_family == AF_INET)
        v4->sin_port = htons(port);
    else if (out->ss_family == AF_INET6)
        v6->sin6_port = htons(port);
    else
        return PP_EINVAL;
    return PP_OK;
}

static int is_loopback(const struct sockaddr_storage *a)
{
    if (a->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr) >> 24) == 127;
    if (a->ss_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)a)->sin6_addr);
    return 0;
}

/* Raise the soft fd limit to the hard one; the descriptors connections may use. */
static unsigned fd_capacity(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 1024 - FD_HEADROOM;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t want = rl.rlim_max;
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            (void)getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1u << 20)
        return 1u << 20;
    return rl.rlim_cur > 2 * FD_HEADROOM ? (unsigned)rl.rlim_cur - FD_HEADROOM : FD_HEADROOM;
}

/* Why addr cannot be bound, after the server failed to start: PP_EBUSY
 * (in use), PP_EPERM (a privileged port), PP_ENET (anything else). */
static int bind_error(const struct sockaddr_storage *addr, socklen_t alen, const char **why)
{
    int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int rc = PP_ENET, on = 1;
    *why = "cannot be bound";
    if (fd < 0)
        return rc;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (addr->ss_family == AF_INET6)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    if (bind(fd, (const struct sockaddr *)addr, alen) != 0) {
        if (errno == EADDRINUSE) {
            rc = PP_EBUSY;
            *why = "address already in use";
        } else if (errno == EACCES) {
            rc = PP_EPERM;
            *why = "permission denied";
        } else if (errno == EADDRNOTAVAIL) {
            *why = "not an address of this machine";
        }
    }
    close(fd);
    return rc;
}

int pp_http_start(const pp_http_config *cfg, pp_http_server **out)
{
    static const pp_http_config defaults = {0};
    int rc = PP_EINVAL;
    pp_http_server *s = NULL;
    char host[256];
    uint16_t port;
    struct sockaddr_storage addr;
    socklen_t alen;
    if (!out)
        return PP_EINVAL;
    *out = NULL;
    if (!cfg)
        cfg = &defaults;
    const char *listen = cfg->listen ? cfg->listen : PP_HTTP_DEFAULT_LISTEN;
    if (pp_http_parse_listen(listen, host, sizeof host, &port) != PP_OK ||
        resolve(host, port, &addr, &alen) != PP_OK)
        goto out;
    rc = PP_ENOMEM;
    s = calloc(1, sizeof *s);
    if (!s)
        goto out;
    pthread_mutex_init(&s->lock, NULL);
    s->registry = cfg->registry ? cfg->registry : pp_metrics_default();
    s->sysstats = cfg->sysstats;
    if (!s->registry)
        goto out;
    if (cfg->token && *cfg->token && !(s->token = strdup(cfg->token)))
        goto out;
    pp_metric *m;
    static const char *const fmt[] = {"format"};
    rc = pp_registry_counter(s->registry, "postprof_scrapes_total",
                             "Scrapes of /metrics answered, by exposition format.", 1, fmt, &m);
    if (rc != PP_OK ||
        (rc = pp_metric_series(m, (const char *const[]){"text"}, &s->scrapes[PP_EXPO_TEXT])) !=
            PP_OK ||
        (rc = pp_metric_series(m, (const char *const[]){"openmetrics"},
                               &s->scrapes[PP_EXPO_OPENMETRICS])) != PP_OK)
        goto out;
    static const char *const reason[] = {"reason"};
    rc = pp_registry_counter(s->registry, "postprof_http_connections_refused_total",
                             "HTTP connections refused or closed by the server's limits, by "
                             "reason: address_limit (the client held its most connections), "
                             "server_full, head_timeout (the request did not arrive in time).",
                             1, reason, &m);
    for (int i = 0; rc == PP_OK && i < PP__GUARD_NREASONS; i++)
        rc = pp_metric_series(m, &pp__guard_reason_names[i], &s->refused[i]);
    if (rc != PP_OK)
        goto out;
    rc = PP_ENOMEM;
    if (add_handler(s, "/metrics", h_metrics, s, 0, M_GET | M_HEAD) != PP_OK ||
        add_handler(s, "/healthz", h_healthz, s, 0, M_GET | M_HEAD) != PP_OK ||
        add_handler(s, "/api/snapshot", h_snapshot, s, 0, M_GET | M_HEAD) != PP_OK)
        goto out;
    unsigned threads = cfg->threads ? cfg->threads : 4;
    unsigned maxconn = cfg->max_connections ? cfg->max_connections : 4096;
    unsigned timeout = cfg->idle_timeout_s ? cfg->idle_timeout_s : 30;
    /* MHD's own limit is only the descriptors there are (split among its
     * threads); the guard's limits, below it, choose whom to refuse */
    unsigned fds = fd_capacity();
    if (maxconn > fds / 2) {
        char have[24], want[24];
        snprintf(have, sizeof have, "%u", fds / 2);
        snprintf(want, sizeof want, "%u", maxconn);
        pp_log(PP_LOG_WARN, "http", "connections_bounded_by_fd_limit", "max_connections", have,
               "asked", want, NULL);
        maxconn = fds / 2 ? fds / 2 : 1;
    }
    pp__http_guard_config gc = {
        .max_connections = maxconn,
        .per_client = cfg->per_client_connections ? cfg->per_client_connections : 64,
        .reserve = maxconn / 16 < 64 ? maxconn / 16 : 64,
        .head_timeout_s = cfg->head_timeout_s ? cfg->head_timeout_s : 10,
        .idle_timeout_s = timeout,
    };
    if (gc.per_client > maxconn)
        gc.per_client = maxconn;
    if ((rc = pp__http_guard_new(&gc, s->refused, &s->guard)) != PP_OK)
        goto out;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    s->daemon = MHD_start_daemon(
        flags, port, on_accept, s, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT, fds,
        MHD_OPTION_CONNECTION_TIMEOUT, timeout, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)PP_HTTP_MAX_HEADER_BYTES, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_NOTIFY_CONNECTION, on_connection,
        s, MHD_OPTION_UNESCAPE_CALLBACK, on_unescape, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
        MHD_OPTION_END);
    if (!s->daemon) {
        const char *why;
        rc = bind_error(&addr, alen, &why);
        pp_log(PP_LOG_ERROR, "http", "listen_failed", "addr", listen, "reason", why, NULL);
        goto out;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_LISTEN_FD);
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    if (!info || getsockname(info->listen_fd, (struct sockaddr *)&bound, &blen) != 0) {
        rc = PP_ENET;
        goto out;
    }
    char ip[INET6_ADDRSTRLEN] = "";
    if (bound.ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&bound)->sin6_addr, ip, sizeof ip);
        s->port = ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
        snprintf(s->address, sizeof s->address, "[%s]:%u", ip, s->port);
    } else {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&bound)->sin_addr, ip, sizeof ip);
        s->port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
        snprintf(s->address, sizeof s->address, "%s:%u", ip, s->port);
    }
    if (!is_loopback(&addr))
        pp_log(PP_LOG_WARN, "http", "listen_not_loopback", "addr", s->address, "note",
               "the endpoint is reachable from other machines", NULL);
    pp_log(PP_LOG_INFO, "http", "listen", "addr", s->address, "auth", s->token ? "bearer" : "none",
           NULL);
    *out = s;
    s = NULL;
    rc = PP_OK;
out:
    pp_http_stop(s);
    return rc;
}

uint16_t pp_http_port(const pp_http_server *s)
{
    return s ? s->port : 0;
}

const char *pp_http_address(const pp_http_server *s)
{
    return s ? s->address : "";
}

void pp_http_stop(pp_http_server *s)
{
    if (!s)
        return;
    if (s->daemon)
        MHD_stop_daemon(s->daemon);
    pp__http_guard_free(s->guard);
    pthread_mutex_destroy(&s->lock);
    free(s->token);
    free(s);
}
