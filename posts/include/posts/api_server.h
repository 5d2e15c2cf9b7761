/*
 * posts/api_server.h - The posts HTTP API (libmicrohttpd) over a SQLite file:
 *   GET /posts?cursor=C&limit=L  {"posts":[...],"next_cursor":N|null}  (posts with id > C)
 *   GET /posts/{id}              one post
 * Bad parameters: 400 {"error": "..."}; unknown id or path: 404 {"error": "..."}.
 */
#ifndef POSTS_API_SERVER_H
#define POSTS_API_SERVER_H

#include <stdint.h>
#include <posts/post.h>

typedef struct posts_api_server posts_api_server;

/* Largest limit a page may ask for. */
#define POSTS_API_MAX_LIMIT 1000

/*
 * posts_api_server_start() - Serve db_path on host:port (host NULL = 127.0.0.1,
 * port 0 = ephemeral; read it back with posts_api_server_port) with threads
 * worker threads (0 = 4). PP_OK, PP_EDB (database), PP_ENET (bind) with err->msg.
 */
PP_EXPORT PP_NODISCARD int posts_api_server_start(const char *db_path, const char *host,
                                                  uint16_t port, unsigned threads,
                                                  posts_api_server **out, posts_err *err);

/* posts_api_server_port() - The port it listens on. */
PP_EXPORT uint16_t posts_api_server_port(const posts_api_server *s);

/* posts_api_server_requests() - Requests answered so far. */
PP_EXPORT uint64_t posts_api_server_requests(const posts_api_server *s);

/* posts_api_server_stop() - Stop serving and free. NULL is a no-op. */
PP_EXPORT void posts_api_server_stop(posts_api_server *s);

/*
 * posts_api_parse_query() - Validate the cursor and limit query values (either
 * may be NULL: defaults 0 and 100) the way the server does. Returns PP_OK or
 * PP_EINVAL with err->msg the text of the 400 answer. Pure; exposed for fuzzing.
 */
PP_EXPORT PP_NODISCARD int posts_api_parse_query(const char *cursor, const char *limit,
                                                 int64_t *out_cursor, int *out_limit,
                                                 posts_err *err);

/* posts_api_parse_id() - Validate the {id} of /posts/{id}: PP_OK or PP_EINVAL. Pure. */
PP_EXPORT PP_NODISCARD int posts_api_parse_id(const char *s, int64_t *out_id, posts_err *err);

#endif
