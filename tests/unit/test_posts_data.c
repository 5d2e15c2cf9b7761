/*
 * test_posts_data.c - Generated data: byte-identical per seed (checksums of
 * every file), different for another seed, JSON round trips, knob parsing.
 */
#include "pp_test.h"
#include "posts_test_util.h"

static uint64_t file_hash(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *buf;
    size_t len;
    if (pt_read_file(path, &buf, &len) != 0)
        return 0;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)buf[i];
        h *= 0x100000001b3ull;
    }
    free(buf);
    return h;
}

static const char *const files[] = {"posts.db", "posts.jsonl", "small.model", "medium.model",
                                    "large.model"};

static void determinism(void **state)
{
    (void)state;
    char a[64], b[64], c[64];
    pt_tmpdir(a, sizeof a);
    pt_tmpdir(b, sizeof b);
    pt_tmpdir(c, sizeof c);
    assert_int_equal(pt_gen(a, 600, 7, 1, NULL), PP_OK);
    assert_int_equal(pt_gen(b, 600, 7, 1, NULL), PP_OK);
    assert_int_equal(pt_gen(c, 600, 8, 0, NULL), PP_OK);
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        uint64_t ha = file_hash(a, files[i]), hb = file_hash(b, files[i]);
        assert_true(ha != 0);
        if (ha != hb)
            fail_msg("%s differs between two runs with the same seed", files[i]);
    }
    assert_true(file_hash(a, "posts.jsonl") != file_hash(c, "posts.jsonl"));
    assert_true(file_hash(a, "posts.db") != file_hash(c, "posts.db"));
    /* no temp files or WAL leftovers */
    char p[600];
    snprintf(p, sizeof p, "%s/posts.db.tmp", a);
    assert_int_not_equal(access(p, F_OK), 0);
    snprintf(p, sizeof p, "%s/posts.db-wal", a);
    assert_int_not_equal(access(p, F_OK), 0);
    pt_rmrf(a);
    pt_rmrf(b);
    pt_rmrf(c);
}

/* The generator's output for a seed is pinned: a change to it must be deliberate. */
static void golden_jsonl(void **state)
{
    (void)state;
    char a[64];
    pt_tmpdir(a, sizeof a);
    assert_int_equal(pt_gen(a, 200, 42, 0, NULL), PP_OK);
    uint64_t h = file_hash(a, "posts.jsonl");
    if (h != 0x639201be1f49af00ull)
        fail_msg("posts.jsonl for seed 42 / 200 posts hashes to %016llx", (unsigned long long)h);
    pt_rmrf(a);
}

static void post_content(void **state)
{
    (void)state;
    int es = 0, long_posts = 0, emoji = 0, tags = 0, urls = 0, mentions = 0, newlines = 0;
    for (int64_t id = 1; id <= 2000; id++) {
        posts_post p;
        assert_int_equal(posts_datagen_post(42, id, &p), PP_OK);
        assert_int_equal(p.id, id);
        assert_true(p.author_id >= 1 && p.author_followers >= 10);
        assert_true(p.text_len == strlen(p.text));
        es += strcmp(p.lang, "es") == 0;
        long_posts += p.text_len > 3000;
        emoji += strstr(p.text, "\xf0\x9f") != NULL;
        tags += strchr(p.text, '#') != NULL;
        urls += strstr(p.text, "https://") != NULL;
        mentions += strchr(p.text, '@') != NULL;
        newlines += strchr(p.text, '\n') != NULL;
        posts_post_release(&p);
    }
    assert_true(es > 400 && es < 800);
    assert_true(long_posts >= 5);
    assert_true(emoji > 500 && tags > 1000 && urls > 300 && mentions > 400 && newlines > 1000);
}

static void json_roundtrip(void **state)
{
    (void)state;
    for (int64_t id = 1; id <= 300; id++) {
        posts_post p, q;
        char *js;
        size_t len;
        posts_err err;
        assert_int_equal(posts_datagen_post(3, id, &p), PP_OK);
        assert_int_equal(posts_post_to_json(&p, &js, &len), PP_OK);
        assert_int_equal(posts_post_from_json(js, len, &q, &err), PP_OK);
        assert_int_equal(posts_post_hash(&p), posts_post_hash(&q));
        free(js);
        posts_post_release(&p);
        posts_post_release(&q);
    }
}

static void labels_balanced(void **state)
{
    (void)state;
    int pos = 0;
    for (int64_t id = 1; id <= 2000; id++) {
        posts_post p;
        assert_int_equal(posts_datagen_post(42, id, &p), PP_OK);
        pos += posts_post_label(&p);
        posts_post_release(&p);
    }
    assert_true(pos > 400 && pos < 1600);
}

static void config_knobs(void **state)
{
    (void)state;
    posts_config c;
    posts_err err;
    posts_config_init(&c);
    assert_int_equal(c.batch_size, 256);
    assert_int_equal(posts_config_set(&c, "batch_size", "32", &err), PP_OK);
    assert_int_equal(c.batch_size, 32);
    assert_int_equal(posts_config_set(&c, "batch_size", "0", &err), PP_EINVAL);
    assert_non_null(strstr(err.msg, "batch_size"));
    assert_int_equal(c.batch_size, 32);
    assert_int_equal(posts_config_set(&c, "sources", "database,file,api", &err), PP_OK);
    assert_int_equal(c.sources, POSTS_SRC_DATABASE | POSTS_SRC_FILE | POSTS_SRC_API);
    assert_int_equal(posts_config_set(&c, "sources", "database,ftp", &err), PP_EINVAL);
    assert_int_equal(posts_config_set(&c, "cache", "redis://127.0.0.1:6379", &err), PP_OK);
    assert_int_equal(c.cache_kind, POSTS_CACHE_REDIS);
    assert_int_equal(posts_config_set(&c, "cache", "memcached", &err), PP_EINVAL);
    assert_int_equal(posts_config_set(&c, "model", "large", &err), PP_OK);
    assert_int_equal(c.model, POSTS_MODEL_LARGE);
    assert_int_equal(posts_config_set(&c, "cache_bytes", "2M", &err), PP_OK);
    assert_int_equal(c.cache_bytes, 2u << 20);
    assert_int_equal(posts_config_set(&c, "zipf_s", "1.2", &err), PP_OK);
    assert_int_equal(posts_config_set(&c, "nonsense", "1", &err), PP_ENOTFOUND);
    /* the gate's test knob: a fraction of extra CPU work, never negative */
    assert_true(c.extra_work == 0.0);
    assert_int_equal(posts_config_set(&c, "extra_work", "0.15", &err), PP_OK);
    assert_true(c.extra_work == 0.15);
    assert_int_equal(posts_config_set(&c, "extra_work", "-0.1", &err), PP_EINVAL);
    assert_int_equal(posts_config_set(&c, "extra_work", "15%", &err), PP_EINVAL);
    assert_true(c.extra_work == 0.15);
    for (const char *const *k = posts_config_knobs(); *k; k++) {
        posts_err e2;
        int rc = posts_config_set(&c, *k, "", &e2);
        assert_true(rc == PP_EINVAL || rc == PP_OK); /* every listed knob is known */
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(determinism),     cmocka_unit_test(golden_jsonl),
    cmocka_unit_test(post_content),    cmocka_unit_test(json_roundtrip),
    cmocka_unit_test(labels_balanced), cmocka_unit_test(config_knobs),
};

PP_TEST_MAIN(tests)
