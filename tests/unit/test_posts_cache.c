/*
 * test_posts_cache.c - LRU eviction order, byte capacity, invalidation,
 * tracing, thread safety; Redis against a real redis-server started here on a
 * free loopback port, including killing it mid-run and bringing it back.
 */
#include <pthread.h>

#include "pp_test.h"
#include "posts_test_util.h"

static int get_int(posts_cache *c, const char *k, int *v)
{
    size_t len;
    return posts_cache_get(c, k, strlen(k), v, sizeof *v, &len);
}

static void put_int(posts_cache *c, const char *k, int v)
{
    assert_int_equal(posts_cache_put(c, k, strlen(k), &v, sizeof v), PP_OK);
}

static void lru_eviction_order(void **state)
{
    (void)state;
    posts_cache *c;
    assert_int_equal(posts_cache_new_lru(3, 0, 1, &c), PP_OK);
    put_int(c, "a", 1);
    put_int(c, "b", 2);
    put_int(c, "c", 3);
    int v;
    assert_int_equal(get_int(c, "a", &v), 1); /* a is now most recent: b is the LRU */
    assert_int_equal(v, 1);
    put_int(c, "d", 4); /* evicts b */
    assert_int_equal(get_int(c, "b", &v), 0);
    assert_int_equal(get_int(c, "c", &v), 1);
    put_int(c, "e", 5); /* order now (old->new) a? no: a, c were touched: evicts a */
    assert_int_equal(get_int(c, "a", &v), 0);
    assert_int_equal(get_int(c, "c", &v), 1);
    assert_int_equal(get_int(c, "d", &v), 1);
    assert_int_equal(get_int(c, "e", &v), 1);
    put_int(c, "c", 33); /* replace keeps one entry */
    assert_int_equal(get_int(c, "c", &v), 1);
    assert_int_equal(v, 33);
    posts_cache_stats st;
    posts_cache_stats_get(c, &st);
    assert_int_equal(st.entries, 3);
    assert_int_equal(st.evictions, 2);
    assert_int_equal(st.misses, 2);
    assert_int_equal(posts_cache_invalidate(c, "d", 1), 1);
    assert_int_equal(posts_cache_invalidate(c, "d", 1), 0);
    assert_int_equal(get_int(c, "d", &v), 0);
    posts_cache_stats_get(c, &st);
    assert_int_equal(st.entries, 2);
    assert_int_equal(st.invalidations, 1);
    posts_cache_free(c);
}

static void lru_byte_capacity(void **state)
{
    (void)state;
    posts_cache *c;
    assert_int_equal(posts_cache_new_lru(0, 100, 1, &c), PP_OK);
    char val[40] = {0}, key[8];
    for (int i = 0; i < 10; i++) {
        snprintf(key, sizeof key, "k%d", i); /* 2 + 40 = 42 bytes each: 2 fit */
        assert_int_equal(posts_cache_put(c, key, strlen(key), val, sizeof val), PP_OK);
        posts_cache_stats st;
        posts_cache_stats_get(c, &st);
        assert_true(st.bytes <= 100);
    }
    posts_cache_stats st;
    posts_cache_stats_get(c, &st);
    assert_int_equal(st.entries, 2);
    size_t len;
    assert_int_equal(posts_cache_get(c, "k9", 2, val, sizeof val, &len), 1);
    assert_int_equal(posts_cache_get(c, "k8", 2, val, sizeof val, &len), 1);
    assert_int_equal(posts_cache_get(c, "k7", 2, val, sizeof val, &len), 0);
    /* larger than the whole cache, and over the key limit */
    static char huge[200];
    assert_int_equal(posts_cache_put(c, "h", 1, huge, sizeof huge), PP_ERANGE);
    static char longkey[POSTS_CACHE_KEY_MAX + 1];
    memset(longkey, 'k', sizeof longkey);
    assert_int_equal(posts_cache_put(c, longkey, sizeof longkey, val, 1), PP_ERANGE);
    /* a value that does not fit the caller's buffer is a miss */
    assert_int_equal(posts_cache_get(c, "k9", 2, val, 4, &len), 0);
    posts_cache_free(c);
    assert_int_equal(posts_cache_new_lru(0, 0, 1, &c), PP_EINVAL);
}

static void trace_records(void **state)
{
    (void)state;
    posts_cache *c;
    assert_int_equal(posts_cache_new_lru(100, 0, 4, &c), PP_OK);
    assert_int_equal(posts_cache_trace_enable(c, 5, 1.0), PP_OK);
    int v;
    put_int(c, "x", 1);
    get_int(c, "x", &v);
    get_int(c, "y", &v);
    const char *keys[3] = {"x", "y", "z"};
    int vals[3];
    uint8_t hit[3];
    assert_int_equal(posts_cache_get_many(c, keys, 3, vals, sizeof(int), hit), 1);
    posts_cache_access a[10];
    uint64_t dropped;
    size_t n = posts_cache_trace_read(c, a, 10, &dropped);
    assert_int_equal(n, 5);
    assert_int_equal(dropped, 1);
    assert_int_equal(a[0].op, 1);
    assert_string_equal(a[1].key, "x");
    assert_int_equal(a[1].hit, 1);
    assert_string_equal(a[2].key, "y");
    assert_int_equal(a[2].hit, 0);
    assert_int_equal(a[1].key_hash, posts_cache_key_hash("x", 1));
    /* sampling by key hash: about half the keys, each always or never */
    assert_int_equal(posts_cache_trace_enable(c, 10000, 0.5), PP_OK);
    char key[16];
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 1000; i++) {
            snprintf(key, sizeof key, "key%d", i);
            get_int(c, key, &v);
        }
    static posts_cache_access big[10000];
    n = posts_cache_trace_read(c, big, 10000, NULL);
    assert_true(n > 800 && n < 1200);
    assert_int_equal(n % 2, 0);
    posts_cache_free(c);
}

typedef struct stress {
    posts_cache *c;
    int id;
} stress;

static void *hammer(void *arg)
{
    stress *s = arg;
    char key[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(key, sizeof key, "t%d-%d", s->id, i % 700);
        int v = i;
        size_t len;
        if (!posts_cache_get(s->c, key, strlen(key), &v, sizeof v, &len))
            (void)posts_cache_put(s->c, key, strlen(key), &v, sizeof v);
        if (i % 97 == 0)
            posts_cache_invalidate(s->c, key, strlen(key));
    }
    return NULL;
}

static void lru_threads(void **state)
{
    (void)state;
    posts_cache *c;
    assert_int_equal(posts_cache_new_lru(1000, 1 << 20, 8, &c), PP_OK);
    assert_int_equal(posts_cache_trace_enable(c, 1000, 0.1), PP_OK);
    pthread_t th[4];
    stress s[4];
    for (int i = 0; i < 4; i++) {
        s[i] = (stress){c, i};
        pthread_create(&th[i], NULL, hammer, &s[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    posts_cache_stats st;
    posts_cache_stats_get(c, &st);
    assert_int_equal(st.gets, 80000);
    assert_int_equal(st.hits + st.misses, st.gets);
    assert_true(st.entries <= 1000);
    assert_true(st.hits > 0 && st.evictions > 0);
    posts_cache_free(c);
}

/* ---- Redis ---- */

static int redis_port;
static pid_t redis_pid;

static int need_redis(void)
{
    if (pt_have("redis-server"))
        return 1;
    if (pt_ci())
        fail_msg("redis-server is not installed (CI=true: failing, not skipping)");
    return 0;
}

static void redis_real_server(void **state)
{
    (void)state;
    if (!need_redis()) {
        skip();
        return;
    }
    redis_port = pt_free_port();
    redis_pid = pt_redis_start(redis_port);
    assert_true(redis_pid > 0);
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", redis_port);
    posts_redis_opts o = {.pool = 2, .pipeline = 8, .timeout_ms = 10000, .retry_ms = 1};
    /* a timeout far over any answer on a loaded machine (errors == 0 is asserted);
     * once the server is killed, its port refuses at once */
    posts_cache *c;
    posts_err err;
    assert_int_equal(posts_cache_new_redis(url, &o, &c, &err), PP_OK);
    int v;
    put_int(c, "r1", 11);
    assert_int_equal(get_int(c, "r1", &v), 1);
    assert_int_equal(v, 11);
    assert_int_equal(get_int(c, "r2", &v), 0);
    assert_int_equal(posts_cache_invalidate(c, "r1", 2), 1);
    assert_int_equal(get_int(c, "r1", &v), 0);
    /* pipelined: 50 puts and gets in chunks of 8 */
    char kb[50][16];
    const char *keys[50];
    float vals[50], back[50];
    uint8_t hit[50];
    for (int i = 0; i < 50; i++) {
        snprintf(kb[i], sizeof kb[i], "p%d", i);
        keys[i] = kb[i];
        vals[i] = (float)i * 0.5f;
    }
    assert_int_equal(posts_cache_put_many(c, keys, 25, vals, sizeof(float)), 25);
    assert_int_equal(posts_cache_get_many(c, keys, 50, back, sizeof(float), hit), 25);
    for (int i = 0; i < 50; i++) {
        assert_int_equal(hit[i], i < 25);
        if (i < 25)
            assert_true(back[i] == vals[i]);
    }
    posts_cache_stats st;
    posts_cache_stats_get(c, &st);
    assert_int_equal(st.errors, 0);
    assert_true(st.round_trips <= 5 + 4 + 7);

    /* kill it mid-run: misses and counted errors, no crash, no hang */
    pt_kill(redis_pid);
    assert_int_equal(get_int(c, "p1", &v), 0);
    assert_int_not_equal(posts_cache_put(c, "p1", 2, &v, sizeof v), PP_OK);
    assert_int_equal(posts_cache_get_many(c, keys, 50, back, sizeof(float), hit), 0);
    posts_cache_stats_get(c, &st);
    assert_true(st.errors >= 52);

    /* bring it back on the same port: the pool reconnects */
    redis_pid = pt_redis_start(redis_port);
    assert_true(redis_pid > 0);
    int ok = 0;
    while (!ok) { /* no deadline of its own: a hang is ctest's timeout to catch */
        ok = posts_cache_put(c, "back", 4, &v, sizeof v) == PP_OK;
        if (!ok) {
            struct timespec ts = {0, 5 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    assert_true(ok);
    assert_int_equal(get_int(c, "back", &v), 1);
    posts_cache_free(c);
    pt_kill(redis_pid);
    /* nothing listening: creation fails with the address */
    assert_int_equal(posts_cache_new_redis(url, &o, &c, &err), PP_ENET);
    assert_non_null(strstr(err.msg, "127.0.0.1"));
    assert_int_equal(posts_cache_new_redis("http://x", &o, &c, &err), PP_EINVAL);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(lru_eviction_order), cmocka_unit_test(lru_byte_capacity),
    cmocka_unit_test(trace_records),      cmocka_unit_test(lru_threads),
    cmocka_unit_test(redis_real_server),
};

PP_TEST_MAIN(tests)
