/*
 * http_retry.h - The OTLP/HTTP retry policy, shared by every exporter that
 * POSTs out of the process (OTLP spans and metrics, profile pushes): which
 * outcomes are worth another try (429, 502, 503, 504, a lost or refused
 * connection, a timeout; never a 400 or any other 4xx), Retry-After in both
 * forms, capped exponential backoff with jitter, and an overall deadline.
 * The decisions are pure (no clock, no I/O); pp__http_post() is a thin libcurl
 * POST and pp__http_post_retry() the loop that joins the two. Never prints.
 */
#ifndef PP_TELEMETRY_HTTP_RETRY_H
#define PP_TELEMETRY_HTTP_RETRY_H

#define PP__HTTP_ERROR_MAX 256 /* CURL_ERROR_SIZE, without including curl.h */

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* What one attempt came to, as the policy sees it. */
typedef enum pp__http_outcome {
    PP__HTTP_OK = 0,    /* 2xx */
    PP__HTTP_RETRYABLE, /* 429/502/503/504, lost/refused connection, timeout */
    PP__HTTP_PERMANENT, /* 400, any other 4xx or 5xx, a bad URL: never retried */
} pp__http_outcome;

/* The policy's figures. pp__retry_policy_default() gives opentelemetry-cpp's:
 * 1 s x 1.5^(n-1), capped at 5 s, x a random factor in [0.8, 1.2], 5 attempts. */
typedef struct pp__retry_policy {
    uint64_t initial_ns;         /* wait after the first failed attempt (before jitter) */
    double multiplier;           /* growth per further attempt, >= 1 */
    uint64_t max_backoff_ns;     /* cap on a computed (not a server-given) wait */
    double jitter;               /* the factor is drawn from [1 - jitter, 1 + jitter], 0..1 */
    int max_attempts;            /* attempts in all, first included, >= 1 */
    uint64_t max_retry_after_ns; /* cap on a server's Retry-After */
} pp__retry_policy;

void pp__retry_policy_default(pp__retry_policy *out_policy);

/* pp__http_status_outcome() - The outcome of an HTTP status: 2xx is OK,
 * 429/502/503/504 RETRYABLE, anything else PERMANENT. */
pp__http_outcome pp__http_status_outcome(long status);

/*
 * pp__http_retry_after_parse() - Parse a Retry-After value: delta-seconds
 * ("120") or an HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT", also the obsolete
 * RFC 850 and asctime forms), relative to now_unix (seconds since the epoch).
 * A date in the past gives 0. Returns 0 with *out_delay_ns set, or PP_EFORMAT
 * (then *out_delay_ns is 0). Leading/trailing blanks are allowed.
 */
int pp__http_retry_after_parse(const char *value, time_t now_unix, uint64_t *out_delay_ns);

/*
 * pp__retry_backoff_ns() - The computed wait after failed attempt number
 * `attempt` (1 = the first): min(initial x multiplier^(attempt-1), max) x
 * a factor in [1 - jitter, 1 + jitter] drawn from *rng (any nonzero seed;
 * advanced). Never more than max x (1 + jitter).
 */
uint64_t pp__retry_backoff_ns(const pp__retry_policy *p, int attempt, uint64_t *rng);

/*
 * pp__retry_decide() - After failed attempt number `attempt` (1 = the first)
 * with outcome `o`: returns 1 and sets *out_wait_ns if another attempt
 * should follow, else 0. A server's Retry-After (retry_after_ns, or
 * UINT64_MAX when none was given) wins over the computed backoff, capped at
 * the policy's max_retry_after_ns. No retry when the outcome is not
 * RETRYABLE, the attempts are used up, or the wait would end past
 * deadline_ns (measured on the same clock as now_ns).
 */
int pp__retry_decide(const pp__retry_policy *p, pp__http_outcome o, int attempt,
                     uint64_t retry_after_ns, uint64_t now_ns, uint64_t deadline_ns, uint64_t *rng,
                     uint64_t *out_wait_ns);

/* The result of one POST. */
typedef struct pp__http_result {
    pp__http_outcome outcome;
    long status;             /* HTTP status, 0 when no response came */
    uint64_t retry_after_ns; /* from the Retry-After header, UINT64_MAX if none */
    char *body;              /* response body (malloc'd, NUL-ended, at most 64 KiB), or NULL */
    size_t body_len;
    char error[PP__HTTP_ERROR_MAX]; /* why, when not OK: "connection refused", "HTTP 400", ... */
    int attempts;                   /* attempts made (pp__http_post_retry) */
} pp__http_result;

/* pp__http_result_release() - Free the body. NULL is a no-op. */
void pp__http_result_release(pp__http_result *r);

/* One POST's request. headers: "Name: value" lines, NULL-ended, may be NULL. */
typedef struct pp__http_request {
    const char *url;
    const char *const *headers;
    const void *body;
    size_t body_len;
    uint64_t timeout_ns; /* the whole attempt, connect included (>= 1 ms) */
} pp__http_request;

/*
 * pp__http_post() - One attempt with libcurl (http and https only). Returns
 * PP_OK when an answer was classified (see out->outcome; a 503 is still
 * PP_OK here), PP_ENOMEM or PP_EINVAL otherwise. out is defined on every
 * path; release it with pp__http_result_release(). Thread-safe once
 * curl_global_init() has run (pp__http_global_init()).
 */
int pp__http_post(const pp__http_request *req, pp__http_result *out);

/* pp__http_global_init() - curl_global_init() once per process; thread-safe. */
void pp__http_global_init(void);

/*
 * Waits between attempts: returns 0 after waiting wait_ns, nonzero to give up
 * at once (shutdown). NULL means nanosleep().
 */
typedef int (*pp__retry_wait_fn)(void *ctx, uint64_t wait_ns);

/*
 * pp__http_post_retry() - pp__http_post() under the policy, until success, a
 * permanent failure, the attempts or the deadline (CLOCK_MONOTONIC ns, as
 * pp_clock_now_ns()) run out, or wait() gives up. Each attempt's timeout is
 * cut to what is left before the deadline. out describes the last attempt,
 * with out->attempts set. Returns as pp__http_post().
 */
int pp__http_post_retry(const pp__http_request *req, const pp__retry_policy *p,
                        uint64_t deadline_ns, pp__retry_wait_fn wait, void *wait_ctx,
                        pp__http_result *out);

#endif
