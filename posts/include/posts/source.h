/*
 * posts/source.h - Where posts come from: one interface over the database
 * (SQLite or PostgreSQL), the JSONL file and the HTTP API, each returning
 * batches of up to batch_size posts. A source is used by one thread at a time.
 */
#ifndef POSTS_SOURCE_H
#define POSTS_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include <posts/post.h>
#include <posts/validate.h>

typedef struct posts_source posts_source;

/* Counters a source keeps while it is read. */
typedef struct posts_source_stats {
    uint64_t posts;         /* posts returned */
    uint64_t bytes;         /* bytes read from the medium (file bytes, HTTP bodies, row text) */
    uint64_t batches;       /* calls to posts_source_next that returned posts */
    uint64_t rows_rejected; /* rows (JSONL: lines) skipped: malformed, invalid or duplicate */
    uint64_t duplicate_ids; /* of those: an id this source had already returned */
    uint64_t requests;      /* API: HTTP requests completed */
    uint64_t retries;       /* transient failures retried */
    uint64_t wait_ns;       /* time blocked on I/O (API: waiting for responses) */
    /* SQLite: sqlite3_stmt_status() of the source's statement (query profiling) */
    uint64_t db_fullscan_steps; /* rows stepped in full table scans */
    uint64_t db_sorts;          /* sort operations */
    uint64_t db_autoindex;      /* rows inserted into automatic indexes */
    uint64_t db_vm_steps;       /* virtual machine steps */
    /* API: libcurl's timing breakdown summed over completed requests, and connections */
    uint64_t http_connect_ns;    /* until the TCP connection was up (0 when reused) */
    uint64_t http_ttfb_ns;       /* until the first response byte */
    uint64_t http_total_ns;      /* whole transfers */
    uint64_t connections_opened; /* requests that opened a new connection */
    uint64_t connections_reused; /* requests served on a kept-alive connection */
    char first_reject[160];      /* "row 3 (id 7): field ..." of the first rejection, or "" */
} posts_source_stats;

/* One rejected row, as passed to a posts_reject_fn (valid during the call only). */
typedef struct posts_reject {
    const char *source; /* "sqlite", "postgres", "jsonl" or "api" */
    const char *input;  /* the file or URL read */
    uint64_t row;       /* 1-based: the JSONL line number, else the row's place in read order */
    int has_id;         /* the row's id could be read as an integer: id below */
    int64_t id;
    int kind;           /* enum posts_reject_kind */
    const char *reason; /* the field and the rule it broke; never quotes the row's text */
} posts_reject;

/*
 * Called once per rejected row (the row itself is not passed: it may be huge
 * or binary). Every source validates each row with posts_row_validate() and
 * rejects an id it already returned; a rejected row is counted in
 * rows_rejected, logged (the first 1000 per source, warn level, event
 * row_rejected), counted in the metric posts_rows_rejected_total{source,kind}
 * of pp_metrics_default(), and skipped; every valid row still loads.
 */
typedef void (*posts_reject_fn)(void *user, const posts_reject *r);

/* API client options. */
typedef struct posts_api_opts {
    int keep_alive;  /* reuse connections (1) or close after each request (0) */
    int concurrency; /* requests in flight, 1..64 */
    long timeout_ms; /* per request, default 10000 when 0 */
    int max_retries; /* per page on network errors / 5xx, default 2 */
} posts_api_opts;

/*
 * posts_source_open_sqlite() - Read table posts of the SQLite file at path in
 * id order, through one prepared statement. Opens read-only with a 5 s busy
 * timeout (a locked database is retried, then reported). Rows are typed
 * values: integer fields may be stored as integers or decimal text.
 * Returns PP_OK and *out, or PP_EDB / PP_ENOTFOUND / PP_EIO (not a regular
 * file: a FIFO or a device is refused, never read) with err->msg naming the
 * file; *out = NULL on error.
 */
PP_EXPORT PP_NODISCARD int posts_source_open_sqlite(const char *path, posts_source **out,
                                                    posts_err *err);

/*
 * posts_source_open_pg() - Read table posts from PostgreSQL (libpq URL) in id
 * order: a prepared statement "id > $1 ORDER BY id LIMIT $2" walked as a keyset
 * cursor, one round trip per batch; rows of an id repeated across pages and
 * rows whose id is NULL are read too (and rejected). The id column must have
 * an integer type. PP_OK, or PP_EDB with the server's message.
 */
PP_EXPORT PP_NODISCARD int posts_source_open_pg(const char *url, posts_source **out,
                                                posts_err *err);

/*
 * posts_source_open_jsonl() - Stream a JSONL file, one post per line. Lines
 * longer than max_line bytes (0: 1 MiB), truncated JSON, invalid UTF-8,
 * non-objects, empty lines and objects posts_row_validate() refuses are
 * rejected (posts_reject_fn); every valid line still loads. Memory stays
 * bounded by max_line (plus one id per post, for duplicates) whatever the
 * file holds. PP_OK, or PP_ENOTFOUND / PP_EIO naming the file; PP_EIO too
 * for what is not a regular file (a FIFO, /dev/zero): refused, never read.
 */
PP_EXPORT PP_NODISCARD int posts_source_open_jsonl(const char *path, size_t max_line,
                                                   posts_source **out, posts_err *err);

/*
 * posts_source_open_api() - Page through GET base_url/posts?cursor=C&limit=L
 * with libcurl multi: opts->concurrency pages in flight (cursors predicted
 * from the dense ids datagen writes, checked against each page's next_cursor
 * and re-fetched when the prediction was wrong), connections reused when
 * opts->keep_alive. Network errors and 5xx are retried opts->max_retries
 * times, then reported by posts_source_next. Posts of a page that
 * posts_row_validate() refuses are rejected one by one; the page's other
 * posts load. opts may be NULL (defaults).
 */
PP_EXPORT PP_NODISCARD int posts_source_open_api(const char *base_url, const posts_api_opts *opts,
                                                 posts_source **out, posts_err *err);

/*
 * posts_pg_explain() - EXPLAIN (ANALYZE, BUFFERS) of the statement the
 * PostgreSQL source runs for each batch (its only, so its slowest, statement),
 * for a batch of batch_size rows. *out_text: the plan, one line per row,
 * malloc'd (free it). PP_OK, PP_EDB with the server's message, PP_ENOMEM.
 */
PP_EXPORT PP_NODISCARD int posts_pg_explain(const char *url, size_t batch_size, char **out_text,
                                            posts_err *err);

/*
 * posts_source_next() - Append up to max posts to batch (max >= 1).
 * Returns the number appended (>= 0; 0 means the source is exhausted), or a
 * negative status with err->msg saying what failed (the source's name,
 * position and cause); posts appended before the error stay in batch.
 */
PP_EXPORT PP_NODISCARD long posts_source_next(posts_source *src, posts_batch *batch, size_t max,
                                              posts_err *err);

/*
 * posts_source_on_reject() - Call fn for each row src rejects from now on
 * (NULL: none; rejections are still counted and logged). Not thread-safe
 * against a concurrent posts_source_next on src.
 */
PP_EXPORT void posts_source_on_reject(posts_source *src, posts_reject_fn fn, void *user);

/* posts_source_name() - "sqlite", "postgres", "jsonl" or "api". */
PP_EXPORT const char *posts_source_name(const posts_source *src);

/* posts_source_stats_get() - Copy the counters. */
PP_EXPORT void posts_source_stats_get(const posts_source *src, posts_source_stats *out);

/* posts_source_close() - Release everything. NULL is a no-op. */
PP_EXPORT void posts_source_close(posts_source *src);

#endif
