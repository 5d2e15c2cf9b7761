/*
 * test_posts_preprocess.c - Tokens, hashtags, mentions, URLs, emoji; NFC and
 * case folding; invalid UTF-8 replaced and counted; the same features whatever
 * the thread count and allocation strategy.
 */
#include "pp_test.h"
#include "posts_test_util.h"

typedef struct toks {
    char s[64][64];
    int kind[64];
    int n;
} toks;

static void collect(void *user, int kind, const char *tok, size_t len)
{
    toks *t = user;
    if (t->n < 64 && len < 64) {
        memcpy(t->s[t->n], tok, len);
        t->s[t->n][len] = '\0';
        t->kind[t->n++] = kind;
    }
}

static int has(const toks *t, int kind, const char *s)
{
    for (int i = 0; i < t->n; i++)
        if (t->kind[i] == kind && strcmp(t->s[i], s) == 0)
            return 1;
    return 0;
}

static void extraction(void **state)
{
    (void)state;
    const char *text =
        "Big LAUNCH today! Thanks @Ana_Garcia and @wei.chen \xf0\x9f\x9a\x80\xf0\x9f\x8e\x89\n"
        "Read https://lnkd.in/abc123?x=1 #AI #MachineLearning, ¿Qué opinas?";
    toks t = {0};
    assert_int_equal(posts_text_tokens(text, strlen(text), collect, &t), 0);
    assert_true(has(&t, POSTS_TOK_WORD, "launch"));
    assert_true(has(&t, POSTS_TOK_WORD, "big"));
    assert_true(has(&t, POSTS_TOK_MENTION, "ana_garcia"));
    assert_true(has(&t, POSTS_TOK_MENTION, "wei.chen"));
    assert_true(has(&t, POSTS_TOK_URL, "https://lnkd.in/abc123?x=1"));
    assert_true(has(&t, POSTS_TOK_HASHTAG, "ai"));
    assert_true(has(&t, POSTS_TOK_HASHTAG, "machinelearning"));
    assert_true(has(&t, POSTS_TOK_EMOJI, "\xf0\x9f\x9a\x80"));
    assert_true(has(&t, POSTS_TOK_EMOJI, "\xf0\x9f\x8e\x89"));
    assert_true(has(&t, POSTS_TOK_WORD, "qu\xc3\xa9"));
    assert_true(has(&t, POSTS_TOK_WORD, "opinas"));
}

static void nfc_and_casefold(void **state)
{
    (void)state;
    /* "ÉXITO" precomposed vs "E" + combining acute, upper case vs lower */
    const char *a = "\xc3\x89XITO", *b = "E\xcc\x81xito", *c = "\xc3\xa9xito";
    toks ta = {0}, tb = {0}, tc = {0};
    assert_int_equal(posts_text_tokens(a, strlen(a), collect, &ta), 0);
    assert_int_equal(posts_text_tokens(b, strlen(b), collect, &tb), 0);
    assert_int_equal(posts_text_tokens(c, strlen(c), collect, &tc), 0);
    assert_int_equal(ta.n, 1);
    assert_string_equal(ta.s[0], "\xc3\xa9xito");
    assert_string_equal(tb.s[0], ta.s[0]);
    assert_string_equal(tc.s[0], ta.s[0]);
    /* German sharp s folds to "ss" */
    toks td = {0};
    assert_int_equal(posts_text_tokens("STRA\xc3\x9f"
                                       "E",
                                       7, collect, &td),
                     0);
    assert_string_equal(td.s[0], "strasse");
}

static void invalid_utf8(void **state)
{
    (void)state;
    /* stray continuation, truncated 3-byte sequence, overlong '/', surrogate */
    const char text[] = "ok \x80 bad \xe2\x82 x \xc0\xaf y \xed\xa0\x80 end";
    toks t = {0};
    long bad = posts_text_tokens(text, sizeof text - 1, collect, &t);
    assert_true(bad >= 4);
    assert_true(has(&t, POSTS_TOK_WORD, "ok"));
    assert_true(has(&t, POSTS_TOK_WORD, "end"));
    /* through the batch path too: counted in the features and stats */
    posts_preprocessor *pp;
    assert_int_equal(posts_preprocessor_new(1, 1, &pp), PP_OK);
    posts_batch b = {0};
    posts_post p = {
        .id = 1, .author_id = 1, .lang = "en", .text = (char *)text, .text_len = sizeof text - 1};
    assert_int_equal(posts_batch_push(&b, &p), PP_OK);
    posts_feature_batch fb = {0};
    posts_preprocess_stats st = {0};
    assert_int_equal(posts_preprocess_batch(pp, &b, &fb, &st), PP_OK);
    assert_int_equal(fb.n, 1);
    assert_int_equal(fb.f[0].invalid_utf8, (uint32_t)bad);
    assert_int_equal(st.invalid_utf8, (uint64_t)bad);
    posts_feature_batch_release(&fb);
    posts_batch_release(&b);
    posts_preprocessor_free(pp);
}

static void run_all(int threads, int arena, posts_feature_batch *out, posts_preprocess_stats *st)
{
    posts_preprocessor *pp;
    assert_int_equal(posts_preprocessor_new(threads, arena, &pp), PP_OK);
    posts_batch b = {0};
    for (int64_t id = 1; id <= 700; id++) {
        posts_post p;
        assert_int_equal(posts_datagen_post(5, id, &p), PP_OK);
        assert_int_equal(posts_batch_push(&b, &p), PP_OK);
        posts_post_release(&p);
        if (b.n == 128 || id == 700) {
            assert_int_equal(posts_preprocess_batch(pp, &b, out, st), PP_OK);
            posts_batch_clear(&b);
        }
    }
    posts_batch_release(&b);
    posts_preprocessor_free(pp);
}

static void threads_and_arena_agree(void **state)
{
    (void)state;
    posts_feature_batch ref = {0}, other = {0};
    posts_preprocess_stats s1 = {0}, s2 = {0}, s3 = {0};
    run_all(1, 1, &ref, &s1);
    assert_int_equal(ref.n, 700);
    for (size_t i = 0; i < ref.n; i++) {
        assert_int_equal(ref.f[i].post_id, (int64_t)i + 1);
        assert_true(ref.f[i].nnz > 3);
        for (uint32_t k = 1; k < ref.f[i].nnz; k++)
            assert_true(ref.idx[ref.f[i].off + k] > ref.idx[ref.f[i].off + k - 1]);
    }
    for (int variant = 0; variant < 2; variant++) {
        posts_feature_batch_clear(&other);
        posts_preprocess_stats *st = variant ? &s3 : &s2;
        run_all(variant ? 3 : 1, variant ? 1 : 0, &other, st);
        assert_int_equal(other.n, ref.n);
        assert_int_equal(other.nnz, ref.nnz);
        assert_memory_equal(other.idx, ref.idx, ref.nnz * sizeof *ref.idx);
        assert_memory_equal(other.val, ref.val, ref.nnz * sizeof *ref.val);
    }
    /* malloc per token allocates per token, the arena per block */
    assert_true(s2.allocs >= s2.tokens);
    assert_true(s1.allocs < s1.tokens / 10);
    assert_int_equal(s1.tokens, s2.tokens);
    posts_feature_batch_release(&ref);
    posts_feature_batch_release(&other);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(extraction),
    cmocka_unit_test(nfc_and_casefold),
    cmocka_unit_test(invalid_utf8),
    cmocka_unit_test(threads_and_arena_agree),
};

PP_TEST_MAIN(tests)
