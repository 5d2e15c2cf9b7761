/*
 * postprof/http.h - The embedded HTTP server (libmicrohttpd): /metrics
 * (Prometheus text or OpenMetrics, by the Accept header), /healthz,
 * /api/snapshot (JSON: sites and system stats), and URL handlers that
 * other parts (the live dashboard) add to the same server.
 *
 * Binds 127.0.0.1:9464 unless told otherwise; any other address is logged
 * as a warning. Request sizes are bounded (header block 32 KiB, body
 * 64 KiB), idle connections time out, and responses are gzipped when the
 * client asks. With a token, every request needs "Authorization: Bearer T"
 * (except GET/HEAD of a public page, see pp_http_add_public_handler()).
 *
 * Slow or idle clients cannot keep scrapers out: each request must arrive
 * in full within head_timeout_s however slowly it trickles; a client (an
 * IPv4 address, 127.0.0.0/8 as one, an IPv6 /64) holds at most
 * per_client_connections, the server max_connections (the last few only
 * for clients holding none); a new connection over a limit closes the
 * oldest one still waiting for its request, and is refused only when none
 * is. Each refusal or closing is counted in
 * postprof_http_connections_refused_total{reason="address_limit"|
 * "server_full"|"head_timeout"}. A request target holding %00 is answered
 * 400; a method a route does not take, 405 with Allow.
 */
#ifndef POSTPROF_HTTP_H
#define POSTPROF_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <postprof/export.h>
#include <postprof/metrics.h>
#include <postprof/sysstats.h>

typedef struct pp_http_server pp_http_server;
typedef struct pp_http_request pp_http_request;
typedef struct pp_http_response pp_http_response;

#define PP_HTTP_DEFAULT_LISTEN "127.0.0.1:9464"
#define PP_HTTP_MAX_HANDLERS 32
#define PP_HTTP_MAX_BODY 65536         /* request body bytes */
#define PP_HTTP_MAX_HEADER_BYTES 32768 /* per-connection header memory */
#define PP_HTTP_MAX_RESPONSE ((size_t)64 << 20)

typedef struct pp_http_config {
    const char *listen; /* "HOST:PORT" ("[::1]:PORT" for IPv6); NULL = default; port 0 = any free */
    const char *token;  /* NULL or "": no authentication */
    pp_registry *registry;           /* for /metrics; NULL = pp_metrics_default(); the server adds
                                        postprof_scrapes_total{format} to it */
    pp_sysstats *sysstats;           /* for /api/snapshot; NULL: read /proc once per request */
    unsigned threads;                /* worker threads; 0 = 4 */
    unsigned max_connections;        /* 0 = 4096 (at most half the fd limit, which is raised
                                        to its hard value) */
    unsigned idle_timeout_s;         /* 0 = 30 */
    unsigned per_client_connections; /* 0 = 64 */
    unsigned head_timeout_s;         /* for a request to arrive in full; 0 = 10 */
} pp_http_config;

/*
 * pp_http_parse_listen() - Split "HOST:PORT" / "[V6]:PORT" into host (copied,
 * at most host_cap-1 bytes) and port. HOST "localhost" is accepted as is.
 * Returns PP_OK, or PP_EINVAL for anything else (outputs unspecified).
 */
PP_EXPORT PP_NODISCARD int pp_http_parse_listen(const char *listen, char *out_host, size_t host_cap,
                                                uint16_t *out_port);

/*
 * pp_http_start() - Bind and start serving (cfg NULL = defaults).
 *
 * Returns PP_OK and *out; PP_EINVAL for a bad listen address; PP_EBUSY when
 * the address is already in use; PP_EPERM when binding it is not allowed (a
 * port below 1024); PP_ENET when it cannot be bound otherwise (not an
 * address of this machine); PP_ENOMEM. *out is NULL on error. The address
 * in use is logged (event "listen"); a failure too ("listen_failed", with
 * the reason). Raises the soft RLIMIT_NOFILE to the hard limit.
 */
PP_EXPORT PP_NODISCARD int pp_http_start(const pp_http_config *cfg, pp_http_server **out);

/* pp_http_port() - The bound port (the one picked when asked for port 0). */
PP_EXPORT uint16_t pp_http_port(const pp_http_server *s);

/* pp_http_address() - "HOST:PORT" actually bound, e.g. "127.0.0.1:40123". Owned by s. */
PP_EXPORT const char *pp_http_address(const pp_http_server *s);

/*
 * pp_http_stop() - Stop serving (in-flight requests finish) and free the
 * server. NULL is a no-op. Must not be called from a handler.
 */
PP_EXPORT void pp_http_stop(pp_http_server *s);

/*
 * A handler answers one request. It runs on a server thread, possibly
 * concurrently with itself; it calls pp_http_respond() once and returns
 * PP_OK (any other code, or no response, answers 500).
 */
typedef int (*pp_http_handler)(const pp_http_request *req, pp_http_response *resp, void *ctx);

/*
 * pp_http_add_handler() - Serve path with fn, for every method (the handler
 * answers 405 itself to those it does not take): an exact path ("/dashboard"),
 * or a prefix when path ends in '/' ("/static/"). Exact paths win over
 * prefixes, longer prefixes over shorter. Built-in paths (/metrics,
 * /healthz, /api/snapshot) cannot be replaced. Returns PP_OK; PP_EEXIST
 * when the path is taken; PP_EFULL past PP_HTTP_MAX_HANDLERS; PP_EINVAL
 * (path must start with '/', at most 255 bytes). Thread-safe, also while
 * serving.
 */
PP_EXPORT PP_NODISCARD int pp_http_add_handler(pp_http_server *s, const char *path,
                                               pp_http_handler fn, void *ctx);

/*
 * pp_http_add_public_handler() - As pp_http_add_handler(), but GET and HEAD
 * of exactly path are answered without the bearer token (--token): for a
 * page that carries no data itself and fetches it with the token, such as
 * the dashboard. Other methods, and other paths under a prefix, still need
 * the token. Methods other than GET and HEAD are answered 405 (Allow: GET, HEAD).
 */
PP_EXPORT PP_NODISCARD int pp_http_add_public_handler(pp_http_server *s, const char *path,
                                                      pp_http_handler fn, void *ctx);

/* Request accessors: valid during the handler call only. NULL when absent. */
PP_EXPORT const char *pp_http_request_method(const pp_http_request *req);
PP_EXPORT const char *pp_http_request_path(const pp_http_request *req);
PP_EXPORT const char *pp_http_request_header(const pp_http_request *req, const char *name);
PP_EXPORT const char *pp_http_request_query(const pp_http_request *req, const char *key);
/* pp_http_request_body() - The request body (may be empty, never over PP_HTTP_MAX_BODY). */
PP_EXPORT const void *pp_http_request_body(const pp_http_request *req, size_t *out_len);

/*
 * pp_http_respond() - Set the response: status, content type and body
 * (copied; gzipped later when the client accepts it and it is worth it).
 * Returns PP_OK, PP_ENOMEM, PP_ERANGE (body over PP_HTTP_MAX_RESPONSE),
 * PP_ESTATE when already called.
 */
PP_EXPORT PP_NODISCARD int pp_http_respond(pp_http_response *resp, unsigned status,
                                           const char *content_type, const void *body, size_t len);

/* pp_http_respond_header() - Add a response header (copied; at most 8).
 * Returns PP_OK, PP_EFULL, PP_EINVAL (CR or LF in name or value), PP_ENOMEM. */
PP_EXPORT PP_NODISCARD int pp_http_respond_header(pp_http_response *resp, const char *name,
                                                  const char *value);

/*
 * pp_http_accepts_gzip() - 1 when an Accept-Encoding value allows gzip
 * (listed with q > 0, or "*" with q > 0 and gzip not refused). Any input.
 */
PP_EXPORT int pp_http_accepts_gzip(const char *accept_encoding);

/*
 * pp_http_check_bearer() - 1 when an Authorization value is "Bearer <token>"
 * (scheme case-insensitive) with exactly token; compares in constant time
 * over the value. Any input.
 */
PP_EXPORT int pp_http_check_bearer(const char *authorization, const char *token);

#endif
