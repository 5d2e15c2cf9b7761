/*
 * test_http_retry.c - The OTLP/HTTP retry policy: which outcomes are retried,
 * Retry-After in every form, backoff bounds, deadlines, and the POST loop
 * against a scripted server on loopback (no sleeping for timing: waits are
 * Retry-After: 0 or a 1 ms policy).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pp_test.h"
#include "telemetry/http_retry.h"
#include <postprof/clock.h>
#include <postprof/error.h>
#include <postprof/http.h>

#define S 1000000000ull

static void status_outcomes(void **state)
{
    (void)state;
    assert_int_equal(pp__http_status_outcome(200), PP__HTTP_OK);
    assert_int_equal(pp__http_status_outcome(204), PP__HTTP_OK);
    static const long retry[] = {429, 502, 503, 504};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(pp__http_status_outcome(retry[i]), PP__HTTP_RETRYABLE);
    static const long never[] = {400, 401, 403, 404, 408, 413, 415, 500, 501, 505, 302, 0};
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++)
        assert_int_equal(pp__http_status_outcome(never[i]), PP__HTTP_PERMANENT);
}

static void retry_after_forms(void **state)
{
    (void)state;
    uint64_t d = 1;
    assert_int_equal(pp__http_retry_after_parse("120", 0, &d), PP_OK);
    assert_true(d == 120 * S);
    assert_int_equal(pp__http_retry_after_parse(" 0\r\n", 0, &d), PP_OK);
    assert_true(d == 0);
    /* 1445412480 = Wed, 21 Oct 2015 07:28:00 GMT */
    const time_t t0 = 1445412480;
    assert_int_equal(pp__http_retry_after_parse("Wed, 21 Oct 2015 07:28:00 GMT", t0 - 30, &d),
                     PP_OK);
    assert_true(d == 30 * S);
    assert_int_equal(pp__http_retry_after_parse("Wednesday, 21-Oct-15 07:28:00 GMT", t0 - 5, &d),
                     PP_OK);
    assert_true(d == 5 * S);
    assert_int_equal(pp__http_retry_after_parse("Wed Oct 21 07:28:00 2015", t0 - 2, &d), PP_OK);
    assert_true(d == 2 * S);
    assert_int_equal(pp__http_retry_after_parse("Sun Nov  6 08:49:37 1994", 784111777 - 1, &d),
                     PP_OK);
    assert_true(d == 1 * S);
    /* a date already past: no wait */
    assert_int_equal(pp__http_retry_after_parse("Wed, 21 Oct 2015 07:28:00 GMT", t0 + 100, &d),
                     PP_OK);
    assert_true(d == 0);
    /* huge delta-seconds saturate rather than wrap */
    assert_int_equal(pp__http_retry_after_parse("99999999999999999999999", 0, &d), PP_OK);
    assert_true(d >= 1000000000ull * S);
    static const char *const bad[] = {"",
                                      "  ",
                                      "abc",
                                      "12a",
                                      "-5",
                                      "1.5",
                                      "Wed, 32 Oct 2015 07:28:00 GMT",
                                      "Wed, 21 Foo 2015 07:28:00 GMT",
                                      "Wed, 21 Oct 2015 07:28:00 UTC",
                                      "Xyz, 21 Oct 2015 07:28:00 GMT",
                                      "Wed, 21 Oct 2015 25:28:00 GMT",
                                      "Wed, 21 Oct 2015 07:28 GMT",
                                      "Wed, 21 Oct 2015 07:28:00 GMT trailing",
                                      NULL};
    for (size_t i = 0; bad[i]; i++) {
        d = 7;
        assert_int_equal(pp__http_retry_after_parse(bad[i], t0, &d), PP_EFORMAT);
        assert_true(d == 0);
    }
    assert_int_equal(pp__http_retry_after_parse(NULL, t0, &d), PP_EFORMAT);
}

static void backoff_grows_capped_with_jitter(void **state)
{
    (void)state;
    pp__retry_policy p;
    pp__retry_policy_default(&p);
    assert_int_equal(p.max_attempts, 5);
    const double base[] = {1.0, 1.5, 2.25, 3.375, 5.0, 5.0, 5.0};
    uint64_t rng = 12345;
    for (int attempt = 1; attempt <= 7; attempt++) {
        uint64_t lo = UINT64_MAX, hi = 0;
        for (int i = 0; i < 2000; i++) {
            uint64_t w = pp__retry_backoff_ns(&p, attempt, &rng);
            lo = w < lo ? w : lo;
            hi = w > hi ? w : hi;
            assert_true((double)w >= base[attempt - 1] * 0.8 * S - 1);
            assert_true((double)w <= base[attempt - 1] * 1.2 * S + 1);
        }
        /* jitter really spreads the waits (2000 draws cover most of +-20 %) */
        assert_true((double)(hi - lo) > base[attempt - 1] * 0.3 * S);
    }
    /* zero seed still works */
    rng = 0;
    assert_true(pp__retry_backoff_ns(&p, 1, &rng) >= (uint64_t)(0.8 * S));
}

static void decisions(void **state)
{
    (void)state;
    pp__retry_policy p;
    pp__retry_policy_default(&p);
    uint64_t rng = 1, w = 9;
    const uint64_t none = UINT64_MAX, now = 100 * S, far = 1000 * S;
    /* never a 400-class failure, never a success */
    assert_int_equal(pp__retry_decide(&p, PP__HTTP_PERMANENT, 1, none, now, far, &rng, &w), 0);
    assert_true(w == 0);
    assert_int_equal(pp__retry_decide(&p, PP__HTTP_OK, 1, none, now, far, &rng, &w), 0);
    /* retryable: computed backoff, or the server's Retry-After when given */
    assert_int_equal(pp__retry_decide(&p, PP__HTTP_RETRYABLE, 1, none, now, far, &rng, &w), 1);
    assert_true(w >= (uint64_t)(0.8 * S) && w <= (uint64_t)(1.2 * S));
    assert_int_equal(pp__retry_decide(&p, PP__HTTP_RETRYABLE, 1, 7 * S, now, far, &rng, &w), 1);
    assert_true(w == 7 * S);
    /* a server's Retry-After above the cap is cut to it */
    assert_int_equal(pp__retry_decide(&p, PP__HTTP_RETRYABLE, 1, 3600 * S, now, far, &rng, &w), 1);
    assert_true(w == p.max_retry_after_ns);
    /* attempts used up */
    assert_int_equal(pp__retry_decide(&p, PP__HTTP_RETRYABLE, 5, none, now, far, &rng, &w), 0);
    assert_int_equal(pp__retry_decide(&p, PP__HTTP_RETRYABLE, 4, none, now, far, &rng, &w), 1);
    /* the wait would end past the deadline */
    assert_int_equal(pp__retry_decide(&p, PP__HTTP_RETRYABLE, 1, 7 * S, now, now + 6 * S, &rng, &w),
                     0);
    assert_int_equal(pp__retry_decide(&p, PP__HTTP_RETRYABLE, 1, 0, now, now, &rng, &w), 0);
    assert_int_equal(pp__retry_decide(&p, PP__HTTP_RETRYABLE, 1, 0, now, now + 1, &rng, &w), 1);
}

/* A server that answers from a script, one status per request. */
typedef struct {
    pthread_mutex_t lock;
    const int *script; /* statuses; 0 ends it (then 200) */
    const char *const *retry_after;
    int served;
    size_t last_len;
} scripted;

static int scripted_handler(const pp_http_request *req, pp_http_response *resp, void *ctx)
{
    scripted *s = ctx;
    size_t len = 0;
    (void)pp_http_request_body(req, &len);
    pthread_mutex_lock(&s->lock);
    int i = 0;
    while (i < s->served && s->script[i]) /* past the script's end: its 0, then 200 */
        i++;
    s->served++;
    s->last_len = len;
    int status = s->script[i] ? s->script[i] : 200;
    const char *ra = s->script[i] && s->retry_after ? s->retry_after[i] : NULL;
    pthread_mutex_unlock(&s->lock);
    if (ra && pp_http_respond_header(resp, "Retry-After", ra) != PP_OK)
        return -1;
    static const char body[] = "{}";
    return pp_http_respond(resp, (unsigned)status, "application/json", body, sizeof body - 1);
}

static void post_retry_on_loopback(void **state)
{
    (void)state;
    static const int script[] = {503, 429, 0};
    static const char *const ra[] = {"0", NULL, NULL};
    scripted s = {.script = script, .retry_after = ra};
    pthread_mutex_init(&s.lock, NULL);
    pp_http_config hc = {.listen = "127.0.0.1:0"};
    pp_http_server *srv = NULL;
    assert_int_equal(pp_http_start(&hc, &srv), PP_OK);
    assert_int_equal(pp_http_add_handler(srv, "/v1/traces", scripted_handler, &s), PP_OK);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1/traces", pp_http_port(srv));
    const char *const hdrs[] = {"Content-Type: application/x-protobuf", NULL};
    pp__http_request req = {
        .url = url, .headers = hdrs, .body = "abcdef", .body_len = 6, .timeout_ns = 10 * S};
    pp__retry_policy p;
    pp__retry_policy_default(&p);
    p.initial_ns = 1000000; /* 1 ms: the test does not wait for real */
    pp__http_result r;
    assert_int_equal(pp__http_post_retry(&req, &p, pp_clock_now_ns() + 60 * S, NULL, NULL, &r),
                     PP_OK);
    assert_int_equal(r.outcome, PP__HTTP_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.attempts, 3);
    assert_non_null(r.body);
    assert_string_equal(r.body, "{}");
    pp__http_result_release(&r);
    pthread_mutex_lock(&s.lock);
    assert_int_equal(s.served, 3);
    assert_int_equal(s.last_len, 6);
    pthread_mutex_unlock(&s.lock);

    /* a 400 is tried once */
    static const int bad[] = {400, 503, 0};
    pthread_mutex_lock(&s.lock);
    s.script = bad;
    s.retry_after = NULL;
    s.served = 0;
    pthread_mutex_unlock(&s.lock);
    assert_int_equal(pp__http_post_retry(&req, &p, pp_clock_now_ns() + 60 * S, NULL, NULL, &r),
                     PP_OK);
    assert_int_equal(r.outcome, PP__HTTP_PERMANENT);
    assert_int_equal(r.status, 400);
    assert_int_equal(r.attempts, 1);
    assert_non_null(strstr(r.error, "400"));
    pp__http_result_release(&r);
    pthread_mutex_lock(&s.lock);
    assert_int_equal(s.served, 1);
    pthread_mutex_unlock(&s.lock);
    pp_http_stop(srv);
    pthread_mutex_destroy(&s.lock);
}

static int give_up(void *ctx, uint64_t wait_ns)
{
    (void)wait_ns;
    ++*(int *)ctx;
    return 1;
}

static void refused_connection_is_retried(void **state)
{
    (void)state;
    /* a port bound but not listening refuses for as long as this test holds it */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1/metrics", ntohs(a.sin_port));
    pp__http_request req = {.url = url, .body = "x", .body_len = 1, .timeout_ns = 10 * S};
    pp__retry_policy p;
    pp__retry_policy_default(&p);
    p.initial_ns = 1000000;
    p.max_backoff_ns = 2000000;
    pp__http_result r;
    assert_int_equal(pp__http_post_retry(&req, &p, pp_clock_now_ns() + 60 * S, NULL, NULL, &r),
                     PP_OK);
    assert_int_equal(r.outcome, PP__HTTP_RETRYABLE);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.attempts, 5);
    assert_true(r.error[0] != '\0');
    pp__http_result_release(&r);
    /* a wait that gives up (shutdown) ends the loop after the first attempt */
    int waits = 0;
    assert_int_equal(pp__http_post_retry(&req, &p, pp_clock_now_ns() + 60 * S, give_up, &waits, &r),
                     PP_OK);
    assert_int_equal(r.attempts, 1);
    assert_int_equal(waits, 1);
    pp__http_result_release(&r);
    /* a deadline already past: one short try, no retry */
    assert_int_equal(pp__http_post_retry(&req, &p, pp_clock_now_ns(), NULL, NULL, &r), PP_OK);
    assert_int_equal(r.attempts, 1);
    pp__http_result_release(&r);
    close(fd);
    /* a URL curl cannot use is permanent */
    req.url = "ftp://127.0.0.1/x";
    assert_int_equal(pp__http_post_retry(&req, &p, pp_clock_now_ns() + 60 * S, NULL, NULL, &r),
                     PP_OK);
    assert_int_equal(r.outcome, PP__HTTP_PERMANENT);
    assert_int_equal(r.attempts, 1);
    pp__http_result_release(&r);
    pp__http_result_release(NULL);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(status_outcomes),
        cmocka_unit_test(retry_after_forms),
        cmocka_unit_test(backoff_grows_capped_with_jitter),
        cmocka_unit_test(decisions),
        cmocka_unit_test(post_retry_on_loopback),
        cmocka_unit_test(refused_connection_is_retried),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
