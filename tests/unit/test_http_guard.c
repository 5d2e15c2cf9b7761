/*
 * test_http_guard.c - The HTTP server's connection limits on their own:
 * socket pairs stand in for connections (the guard closes one by
 * shutdown(), which its peer end reads as EOF), addresses are made up.
 * Per-client limit with the oldest waiting connection closed to make room,
 * refusal when none is waiting, the server-wide limit and its reserve for
 * new clients, what counts as one client, and the request deadline.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <postprof/postprof.h>

#include "export/serve/http_guard.h"
#include "pp_test.h"

#define MAXC 16

struct fixture {
    pp_registry *reg;
    pp_series *refused[PP__GUARD_NREASONS];
    pp__http_guard *g;
    int ends[MAXC][2]; /* [0] the server's end (given to the guard), [1] the client's */
    pp__http_conn *conns[MAXC];
    int n;
};

static void setup(struct fixture *f, unsigned max, unsigned per_client, unsigned reserve,
                  double head_timeout_s)
{
    memset(f, 0, sizeof *f);
    pp_metric *m;
    static const char *const reason[] = {"reason"};
    assert_int_equal(pp_registry_new(NULL, &f->reg), PP_OK);
    assert_int_equal(pp_registry_counter(f->reg, "refused_total", "Refused.", 1, reason, &m),
                     PP_OK);
    for (int i = 0; i < PP__GUARD_NREASONS; i++)
        assert_int_equal(pp_metric_series(m, &pp__guard_reason_names[i], &f->refused[i]), PP_OK);
    pp__http_guard_config cfg = {.max_connections = max,
                                 .per_client = per_client,
                                 .reserve = reserve,
                                 .head_timeout_s = head_timeout_s,
                                 .idle_timeout_s = 0};
    assert_int_equal(pp__http_guard_new(&cfg, f->refused, &f->g), PP_OK);
}

static void teardown(struct fixture *f)
{
    for (int i = 0; i < f->n; i++) {
        pp__http_guard_close(f->g, f->conns[i]);
        close(f->ends[i][0]);
        close(f->ends[i][1]);
    }
    pp__http_guard_free(f->g);
    pp_registry_free(f->reg);
}

static struct sockaddr_storage v4(const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, ip, &a->sin_addr), 1);
    return ss;
}

static struct sockaddr_storage v6(const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, ip, &a->sin6_addr), 1);
    return ss;
}

static socklen_t len_of(const struct sockaddr_storage *ss)
{
    return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

/* Ask to admit a connection from ip; when admitted, open it. Returns its
 * index, or -1 when refused. */
static int connect_from(struct fixture *f, struct sockaddr_storage addr)
{
    if (!pp__http_guard_admit(f->g, (struct sockaddr *)&addr, len_of(&addr)))
        return -1;
    assert_true(f->n < MAXC);
    int i = f->n++;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, f->ends[i]), 0);
    f->conns[i] = pp__http_guard_open(f->g, (struct sockaddr *)&addr, len_of(&addr), f->ends[i][0]);
    assert_non_null(f->conns[i]);
    return i;
}

/* 1 when the guard closed connection i (its client end reads EOF within wait_ms). */
static int closed(struct fixture *f, int i, int wait_ms)
{
    struct pollfd p = {.fd = f->ends[i][1], .events = POLLIN};
    char c;
    return poll(&p, 1, wait_ms) == 1 && read(f->ends[i][1], &c, 1) == 0;
}

static double count(struct fixture *f, int reason)
{
    return pp_series_value(f->refused[reason]);
}

static void test_per_client(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f, 100, 3, 0, 60);
    int a0 = connect_from(&f, v4("10.0.0.1"));
    int a1 = connect_from(&f, v4("10.0.0.1"));
    int a2 = connect_from(&f, v4("10.0.0.1"));
    int b0 = connect_from(&f, v4("10.0.0.2"));
    assert_true(a0 >= 0 && a1 >= 0 && a2 >= 0 && b0 >= 0);
    assert_false(closed(&f, a0, 0));
    /* a fourth from 10.0.0.1 closes its oldest waiting one, not 10.0.0.2's */
    int a3 = connect_from(&f, v4("10.0.0.1"));
    assert_true(a3 >= 0);
    assert_true(closed(&f, a0, 1000));
    assert_false(closed(&f, b0, 0));
    assert_true(count(&f, PP__GUARD_ADDRESS_LIMIT) == 1);
    pp__http_guard_close(f.g, f.conns[a0]); /* the server notices the close */
    f.conns[a0] = NULL;
    /* one being answered is kept: the oldest waiting goes */
    pp__http_guard_busy(f.g, f.conns[a1]);
    assert_true(connect_from(&f, v4("10.0.0.1")) >= 0);
    assert_false(closed(&f, a1, 0));
    assert_true(closed(&f, a2, 1000));
    pp__http_guard_close(f.g, f.conns[a2]);
    f.conns[a2] = NULL;
    /* all three being answered: the next one is refused */
    for (int i = 0; i < f.n; i++)
        if (f.conns[i] && i != b0)
            pp__http_guard_busy(f.g, f.conns[i]);
    assert_int_equal(connect_from(&f, v4("10.0.0.1")), -1);
    assert_true(count(&f, PP__GUARD_ADDRESS_LIMIT) == 3);
    unsigned total, busy;
    pp__http_guard_counts(f.g, &total, &busy);
    assert_int_equal(total, 4);
    assert_int_equal(busy, 3);
    /* an answer sent: waiting again, so it can make room again */
    pp__http_guard_done(f.g, f.conns[a1]);
    assert_true(connect_from(&f, v4("10.0.0.1")) >= 0);
    assert_true(closed(&f, a1, 1000));
    teardown(&f);
}

static void test_one_client(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f, 100, 1, 0, 60);
    /* all of 127.0.0.0/8 is one client; an IPv6 /64 is one client; an
     * IPv4-mapped IPv6 address is its IPv4 address */
    static const char *const same[][2] = {{"127.0.0.1", "127.200.3.4"},
                                          {"2001:db8:0:7::1", "2001:db8:0:7:ffff::2"},
                                          {"::ffff:10.1.2.3", "10.1.2.3"}};
    for (size_t k = 0; k < 3; k++) {
        int x = connect_from(&f, strchr(same[k][0], ':') ? v6(same[k][0]) : v4(same[k][0]));
        int y = connect_from(&f, strchr(same[k][1], ':') ? v6(same[k][1]) : v4(same[k][1]));
        assert_true(x >= 0 && y >= 0);
        if (!closed(&f, x, 1000))
            fail_msg("%s and %s counted as two clients", same[k][0], same[k][1]);
    }
    /* different /64s, different IPv4 addresses: separate clients */
    int x = connect_from(&f, v6("2001:db8:0:8::1"));
    int y = connect_from(&f, v6("2001:db8:0:9::1"));
    int z = connect_from(&f, v4("10.1.2.4"));
    assert_true(x >= 0 && y >= 0 && z >= 0);
    assert_false(closed(&f, x, 0));
    assert_false(closed(&f, y, 0));
    teardown(&f);
}

static void test_server_wide(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f, 6, 10, 2, 60);
    int a0 = connect_from(&f, v4("10.0.0.1"));
    int a1 = connect_from(&f, v4("10.0.0.1"));
    int b0 = connect_from(&f, v4("10.0.0.2"));
    int b1 = connect_from(&f, v4("10.0.0.2"));
    assert_true(a0 >= 0 && a1 >= 0 && b0 >= 0 && b1 >= 0);
    /* 4 of 6 held, the last 2 reserved: 10.0.0.2 (holding some) makes room
     * among its own */
    assert_true(connect_from(&f, v4("10.0.0.2")) >= 0);
    assert_true(closed(&f, b0, 1000));
    assert_false(closed(&f, a0, 0));
    assert_true(count(&f, PP__GUARD_SERVER_FULL) == 1);
    pp__http_guard_close(f.g, f.conns[b0]);
    f.conns[b0] = NULL;
    /* a new client gets a reserved slot without closing anything */
    int c0 = connect_from(&f, v4("10.0.0.3"));
    int d0 = connect_from(&f, v4("10.0.0.4"));
    assert_true(c0 >= 0 && d0 >= 0);
    assert_true(count(&f, PP__GUARD_SERVER_FULL) == 1);
    /* full: the oldest waiting connection of anyone goes */
    assert_true(connect_from(&f, v4("10.0.0.5")) >= 0);
    assert_true(closed(&f, a0, 1000));
    assert_true(count(&f, PP__GUARD_SERVER_FULL) == 2);
    pp__http_guard_close(f.g, f.conns[a0]);
    f.conns[a0] = NULL;
    /* full and every connection being answered: refused */
    for (int i = 0; i < f.n; i++)
        if (f.conns[i])
            pp__http_guard_busy(f.g, f.conns[i]);
    assert_int_equal(connect_from(&f, v4("10.0.0.6")), -1);
    assert_true(count(&f, PP__GUARD_SERVER_FULL) == 3);
    assert_true(count(&f, PP__GUARD_ADDRESS_LIMIT) == 0);
    teardown(&f);
}

static void test_deadline(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f, 100, 10, 0, 1.0);
    /* the one being answered is marked so right after it opens, before the
     * waiting one starts its clock (a loaded machine may stall between calls) */
    int answered = connect_from(&f, v4("10.0.0.1"));
    pp__http_guard_busy(f.g, f.conns[answered]);
    int waiting = connect_from(&f, v4("10.0.0.1"));
    /* the deadline runs from the start, whatever arrives meanwhile */
    if (!closed(&f, waiting, 30000))
        fail_msg("a connection waiting past its 1 s deadline was not closed within 30 s");
    assert_true(count(&f, PP__GUARD_HEAD_TIMEOUT) == 1);
    /* one being answered is not subject to it */
    assert_false(closed(&f, answered, 0));
    unsigned total, busy;
    pp__http_guard_counts(f.g, &total, &busy);
    assert_int_equal(total, 1);
    assert_int_equal(busy, 1);
    teardown(&f);
}

static void test_bad_config(void **state)
{
    (void)state;
    pp__http_guard *g = (pp__http_guard *)1;
    pp__http_guard_config c = {
        .max_connections = 4, .per_client = 1, .reserve = 4, .head_timeout_s = 1};
    assert_int_equal(pp__http_guard_new(&c, NULL, &g), PP_EINVAL); /* reserve >= max */
    c.reserve = 0;
    c.head_timeout_s = 0;
    assert_int_equal(pp__http_guard_new(&c, NULL, &g), PP_EINVAL);
    c.head_timeout_s = 1;
    c.per_client = 0;
    assert_int_equal(pp__http_guard_new(&c, NULL, &g), PP_EINVAL);
    c.per_client = 1;
    assert_int_equal(pp__http_guard_new(&c, NULL, &g), PP_OK);
    pp__http_guard_free(g);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_per_client),  cmocka_unit_test(test_one_client),
    cmocka_unit_test(test_server_wide), cmocka_unit_test(test_deadline),
    cmocka_unit_test(test_bad_config),
};

int main(int argc, char **argv)
{
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
