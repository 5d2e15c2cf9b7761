/*
 * pyroscope_impl.h - Shared by the two profile pushers (pyroscope.c: one
 * profile; profile_push.c: this process's CPU profile every N seconds): the
 * label check, the /ingest URL with its query, one push under the retry
 * policy, and the message for a failed one. Internal.
 */
#ifndef PP_TELEMETRY_PYROSCOPE_IMPL_H
#define PP_TELEMETRY_PYROSCOPE_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include <postprof/push.h>

#include "common/strbuf.h"
#include "telemetry/http_retry.h"

/* "key=value,..." as Pyroscope's label-set parser takes it: PP_OK or PP_EINVAL with err. */
int pp__push_check_labels(const char *labels, char *err, size_t cap);

/* The /ingest URL with its URL-encoded query into b; b->err (PP_OK or PP_ENOMEM/PP_ERANGE). */
int pp__push_url(const pp_push_opts *o, pp_profile_kind kind, unsigned rate, int64_t from,
                 int64_t until, pp__strbuf *b);

/* POST body to url (pprof, X-Scope-OrgID: tenant when given) under the retry
 * policy, within timeout_ns; wait as pp__http_post_retry(). Returns as it. */
int pp__push_send(const char *url, const char *tenant, const void *body, size_t len,
                  uint64_t timeout_ns, pp__retry_wait_fn wait, void *wait_ctx,
                  pp__http_result *res);

/* "URL answered HTTP 400: "..." (1 attempt, not retried ...)" or "URL could not be reached: ..." */
void pp__push_describe(const char *url, const pp__http_result *res, char *err, size_t cap);

#endif
