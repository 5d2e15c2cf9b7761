/*
 * test_profile_diff.c - `postprof diff`'s analysis and page: a difference
 * injected into a noisy profile is the top change whatever the formats
 * (folded, pprof, speedscope); each side is normalized by its own total;
 * profiles counting different things are refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pp_test.h"
#include "profile_test_util.h"

#include <postprof/postprof.h>
#include <postprof/report_html.h>

/* xorshift: a fixed pseudo-random sequence, so the test is deterministic */
static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* 40 functions under main;stage<k>, counts drawn around 100 (+-30 %), scaled
 * by scale; with inject > 0 one more leaf main;stage3;injected of that many. */
static char *noisy_folded(uint64_t seed, int scale, int inject)
{
    size_t cap = 8192, len = 0;
    char *t = malloc(cap);
    for (int f = 0; f < 40; f++) {
        int count = (70 + (int)(next(&seed) % 61)) * scale;
        len += (size_t)snprintf(t + len, cap - len, "main;stage%d;fn%02d %d\n", f % 5, f, count);
    }
    if (inject > 0)
        len += (size_t)snprintf(t + len, cap - len, "main;stage3;injected %d\n", inject);
    return t;
}

/* p written in format and read back; p freed */
static pp_profile *through(pp_profile *p, pp_profile_format format)
{
    pp_profile *back = pt_profile_through(p, format);
    pp_profile_free(p);
    return back;
}

static void injected_difference_is_top(void **state)
{
    (void)state;
    /* baseline and candidate differ in noise everywhere (different sequences, the
     * candidate recorded 3x longer) and the candidate has one new function worth
     * about 8 % of its total */
    char *a = noisy_folded(0x9e3779b97f4a7c15ull, 1, 0);
    char *b = noisy_folded(0xc2b2ae3d27d4eb4full, 3, 1000);
    pp_profile *base = pt_profile_parse(a), *cand = pt_profile_parse(b);
    free(a);
    free(b);
    /* every format `postprof record` writes reads back to the same answer */
    const pp_profile_format fmts[] = {PP_FORMAT_FOLDED, PP_FORMAT_PPROF, PP_FORMAT_SPEEDSCOPE};
    for (int k = 0; k < 3; k++) {
        base = through(base, fmts[k]);
        cand = through(cand, fmts[(k + 1) % 3]);
        pp_profile_diff_row rows[5];
        size_t n = 0;
        int64_t sb = 0, sc = 0;
        assert_int_equal(pp_profile_diff(base, cand, rows, 5, &n, &sb, &sc), PP_OK);
        assert_int_equal(n, 5);
        assert_string_equal(rows[0].function, "injected");
        assert_true(rows[0].base_self == 0.0);
        /* its share: 1000 of the candidate's total */
        assert_true(rows[0].cand_self > 0.999 * 1000.0 / (double)sc &&
                    rows[0].cand_self < 1.001 * 1000.0 / (double)sc);
        assert_true(sc > 2 * sb); /* the candidate is longer, yet only shares are compared */
        for (size_t i = 1; i < n; i++) {
            double d0 = rows[i - 1].cand_self - rows[i - 1].base_self;
            double d1 = rows[i].cand_self - rows[i].base_self;
            assert_true((d0 < 0 ? -d0 : d0) >= (d1 < 0 ? -d1 : d1));
        }
    }
    pp_profile_free(base);
    pp_profile_free(cand);
}

static void same_profile_longer_is_no_change(void **state)
{
    (void)state;
    pp_profile *a = pt_profile_parse("main;a 10\nmain;b 30\nmain;b;c 60\n");
    pp_profile *b = pt_profile_parse("main;a 100\nmain;b 300\nmain;b;c 600\n");
    pp_profile_diff_row rows[8];
    size_t n = 0;
    int64_t sb = 0, sc = 0;
    assert_int_equal(pp_profile_diff(a, b, rows, 8, &n, &sb, &sc), PP_OK);
    assert_int_equal(sb, 100);
    assert_int_equal(sc, 1000);
    assert_int_equal(n, 4); /* main, a, b, c */
    for (size_t i = 0; i < n; i++) {
        assert_true(rows[i].base_self == rows[i].cand_self);
        assert_true(rows[i].base_total == rows[i].cand_total);
        if (strcmp(rows[i].function, "c") == 0)
            assert_true(rows[i].cand_self > 0.5999 && rows[i].cand_self < 0.6001);
        if (strcmp(rows[i].function, "b") == 0)
            assert_true(rows[i].cand_total > 0.8999 && rows[i].cand_total < 0.9001);
    }
    /* a removed function shows as a drop to 0 */
    pp_profile *c = pt_profile_parse("main;a 40\nmain;b 60\n");
    assert_int_equal(pp_profile_diff(a, c, rows, 8, &n, &sb, &sc), PP_OK);
    assert_string_equal(rows[0].function, "c");
    assert_true(rows[0].cand_self == 0.0 && rows[0].base_self > 0.5999);
    pp_profile_free(a);
    pp_profile_free(b);
    pp_profile_free(c);
}

static void different_units_refused(void **state)
{
    (void)state;
    pp_profile *cpu = pt_profile_parse("main;a 10\n");
    /* a speedscope profile counting bytes */
    static const char mem[] =
        "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\","
        "\"shared\":{\"frames\":[{\"name\":\"main\"},{\"name\":\"a\"}]},"
        "\"profiles\":[{\"type\":\"sampled\",\"name\":\"m\",\"unit\":\"bytes\",\"startValue\":0,"
        "\"endValue\":10,\"samples\":[[0,1]],\"weights\":[10]}]}";
    pp_profile *bytes = pt_profile_parse(mem);
    assert_string_not_equal(pp_profile_value_name(cpu), pp_profile_value_name(bytes));
    pp_profile_diff_row rows[2];
    size_t n = 7;
    int64_t sb = 1, sc = 1;
    assert_int_equal(pp_profile_diff(cpu, bytes, rows, 2, &n, &sb, &sc), PP_EINVAL);
    assert_int_equal(n, 0);
    char *html = NULL;
    size_t len = 0;
    char err[256] = "";
    assert_int_equal(pp_profile_diff_render_html(cpu, "a.folded", bytes, "b.json", 5, &html, &len,
                                                 err, sizeof err),
                     PP_EINVAL);
    assert_null(html);
    assert_non_null(strstr(err, "a.folded"));
    pp_profile_free(cpu);
    pp_profile_free(bytes);
}

static void html_page_carries_both_profiles(void **state)
{
    (void)state;
    pp_profile *a = pt_profile_parse("main;load 30\nmain;infer 70\n");
    pp_profile *b = pt_profile_parse("main;load 30\nmain;infer 70\nmain;infer;new<fn> 100\n");
    char *html = NULL;
    size_t len = 0;
    char err[256] = "";
    assert_int_equal(pp_profile_diff_render_html(a, "before.folded", b, "after.folded", 10, &html,
                                                 &len, err, sizeof err),
                     PP_OK);
    assert_int_equal(strlen(html), len);
    assert_non_null(strstr(html, "\"source\":\"before.folded\""));
    assert_non_null(strstr(html, "\"source\":\"after.folded\""));
    /* the top change first, its name escaped for the <script> element */
    const char *top = strstr(html, "\"top\":[{\"function\":\"new\\u003cfn\\u003e\"");
    assert_non_null(top);
    assert_null(strstr(html, "new<fn>"));
    assert_null(strstr(html, "<!--@@")); /* every marker expanded */
    free(html);
    /* written atomically: a bad directory leaves nothing and says why */
    assert_int_not_equal(pp_profile_diff_write_html(a, NULL, b, NULL, 10,
                                                    "/nonexistent-dir/diff.html", err, sizeof err),
                         PP_OK);
    assert_non_null(strstr(err, "/nonexistent-dir"));
    pp_profile_free(a);
    pp_profile_free(b);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(injected_difference_is_top),
    cmocka_unit_test(same_profile_longer_is_no_change),
    cmocka_unit_test(different_units_refused),
    cmocka_unit_test(html_page_carries_both_profiles),
};

PP_TEST_MAIN(tests)
