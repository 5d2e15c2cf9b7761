/*
 * test_report_html.c - The HTML report writer: a self-contained page (CSS,
 * scripts and data inlined, nothing fetched), data that cannot break out of
 * its <script>, folded-stack profiles read with errors naming the line, and
 * atomic output (nothing left behind on failure); the one JSON string
 * escaper, inside the library and public.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <postprof/postprof.h>

#include "export/report/report.h"
#include "pp_test.h"

static pp_report *small_report(void)
{
    pp_report *r = pp_report_new();
    assert_non_null(r);
    strcpy(r->workload, "toy</script><b>x</b>");
    r->perf.n_passes = 1;
    r->perf.pass_ns[0] = r->perf.end_to_end_ns = 2e6;
    r->perf.n_ops = 1;
    strcpy(r->perf.ops[0].name, "op&<");
    r->perf.ops[0].parent = -1;
    r->perf.ops[0].count = 1;
    r->n_targets = 1;
    strcpy(r->targets[0].name, "cpu");
    strcpy(r->targets[0].unit, "%");
    r->targets[0].upper = 1;
    r->targets[0].measured = 1;
    r->targets[0].pass = 1;
    return r;
}

static char *tmpdir(void)
{
    char *d = strdup("/tmp/pp_report_html_XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_page_self_contained(void **state)
{
    (void)state;
    pp_report *r = small_report();
    char *html = NULL, err[256];
    size_t len = 0;
    assert_int_equal(pp_report_render_html(r, NULL, &html, &len, err, sizeof err), PP_OK);
    assert_int_equal(strlen(html), len);
    /* every template marker replaced, the chart code and styles inlined */
    assert_null(strstr(html, "<!--@@"));
    assert_non_null(strstr(html, "window.PPCharts"));
    assert_non_null(strstr(html, "--pass:"));
    assert_non_null(strstr(html, "\"schema_version\""));
    /* nothing refers to the network */
    assert_null(strstr(html, "src=\"http"));
    assert_null(strstr(html, "href=\"http"));
    assert_null(strstr(html, "url(http"));
    assert_null(strstr(html, "<script src"));
    assert_null(strstr(html, "<link"));
    assert_null(strstr(html, "fetch("));
    assert_null(strstr(html, "XMLHttpRequest"));
    /* the workload name cannot close the data's <script> element */
    assert_null(strstr(html, "toy</script>"));
    assert_non_null(strstr(html, "toy\\u003c/script\\u003e\\u003cb\\u003ex"));
    assert_non_null(strstr(html, "op\\u0026\\u003c"));
    /* no profile: the flame graph's data is null */
    assert_non_null(strstr(html, "id=\"profile-data\">null</script>"));
    free(html);
    pp_report_free(r);
}

static void test_folded_parsed(void **state)
{
    (void)state;
    const char in[] = "# comment\n\nmain;a;b 10\r\nmain;a;c\t5\nmain;<x> 0\nmain;\"q\"\\ 7  \n";
    pp__strbuf b;
    char err[256];
    pp__strbuf_init(&b, 1 << 20);
    assert_int_equal(
        pp__flame_folded_json(in, sizeof in - 1, "p.folded", NULL, 100, &b, err, sizeof err),
        PP_OK);
    char *s = pp__strbuf_detach(&b, NULL);
    assert_string_equal(s, "{\"source\":\"p.folded\",\"unit\":\"samples\",\"stacks\":"
                           "[[\"main;a;b\",10],[\"main;a;c\",5],[\"main;\\\"q\\\"\\\\\",7]],"
                           "\"samples\":22}");
    free(s);
}

static void folded_error(const char *in, int want_rc, const char *want_msg)
{
    pp__strbuf b;
    char err[256];
    pp__strbuf_init(&b, 1 << 20);
    assert_int_equal(
        pp__flame_folded_json(in, strlen(in), "p.folded", "samples", 3, &b, err, sizeof err),
        want_rc);
    if (!strstr(err, want_msg))
        fail_msg("error '%s' does not contain '%s'", err, want_msg);
    pp__strbuf_release(&b);
}

static void test_folded_errors(void **state)
{
    (void)state;
    folded_error("a;b 1\nno_count\n", PP_EFORMAT,
                 "p.folded:2: expected 'frame;frame;...;leaf COUNT'");
    folded_error("a;b 1\n\na;c 12x\n", PP_EFORMAT, "p.folded:3: sample count '12x'");
    folded_error("a;b -4\n", PP_EFORMAT, "p.folded:1: sample count '-4'");
    folded_error("a 99999999999999999999999\n", PP_EFORMAT, "p.folded:1: sample count");
    folded_error("# only a comment\n\n", PP_EFORMAT, "p.folded: no samples");
    folded_error("a 1\nb 1\nc 1\nd 1\n", PP_ERANGE, "p.folded:4: more than 3 stacks");
}

static void test_write_with_profile(void **state)
{
    (void)state;
    char *d = tmpdir(), prof[512], out[512], err[256];
    snprintf(prof, sizeof prof, "%s/p.folded", d);
    snprintf(out, sizeof out, "%s/report.html", d);
    write_file(prof, "main;load 3\nmain;infer;gemm 9\n");
    pp_report *r = small_report();
    assert_int_equal(pp_report_write_html(r, prof, out, err, sizeof err), PP_OK);
    FILE *f = fopen(out, "r");
    assert_non_null(f);
    static char page[1 << 20];
    size_t n = fread(page, 1, sizeof page - 1, f);
    page[n] = '\0';
    fclose(f);
    assert_non_null(strstr(page, "[\"main;infer;gemm\",9]"));
    assert_non_null(strstr(page, "\"samples\":12"));
    assert_int_equal(count_entries(d), 2); /* the profile and the page: no temporary file */

    /* a malformed profile: error names the file and line, old page untouched */
    write_file(prof, "main;load 3\nmain;infer;gemm nine\n");
    assert_int_equal(pp_report_write_html(r, prof, out, err, sizeof err), PP_EFORMAT);
    if (!strstr(err, "p.folded: line 2: count is not a non-negative integer"))
        fail_msg("error: %s", err);
    struct stat st;
    assert_int_equal(stat(out, &st), 0);
    assert_int_equal((size_t)st.st_size, n);
    assert_int_equal(count_entries(d), 2);

    /* a missing profile and an unwritable directory: clear errors, nothing written */
    snprintf(prof, sizeof prof, "%s/missing.folded", d);
    assert_int_equal(pp_report_write_html(r, prof, out, err, sizeof err), PP_ENOTFOUND);
    assert_non_null(strstr(err, "missing.folded"));
    char bad[600];
    snprintf(bad, sizeof bad, "%s/no/such/dir/r.html", d);
    assert_int_not_equal(pp_report_write_html(r, NULL, bad, err, sizeof err), PP_OK);
    assert_non_null(strstr(err, bad));
    assert_int_equal(count_entries(d), 2);

    unlink(out);
    unlink(d[0] ? (snprintf(prof, sizeof prof, "%s/p.folded", d), prof) : prof);
    rmdir(d);
    free(d);
    pp_report_free(r);
}

/* The flame graph of a profile written as speedscope and as pprof (by
 * `postprof record`'s writers) holds the same stacks as its folded form. */
static void test_other_profile_formats(void **state)
{
    (void)state;
    char *d = tmpdir(), src[512], conv[512], err[256];
    snprintf(src, sizeof src, "%s/p.folded", d);
    write_file(src, "main;load;read 3\nmain;infer;gemm 9\n");
    pp_profile *p = NULL;
    assert_int_equal(pp_profile_read(src, &p, err, sizeof err), PP_OK);
    const pp_profile_format fmts[] = {PP_FORMAT_SPEEDSCOPE, PP_FORMAT_PPROF};
    for (size_t i = 0; i < 2; i++) {
        snprintf(conv, sizeof conv, "%s/p.%zu", d, i);
        assert_int_equal(pp_profile_write(p, fmts[i], conv, NULL, 0), PP_OK);
        pp_report *r = small_report();
        char *html = NULL;
        assert_int_equal(pp_report_render_html(r, conv, &html, NULL, err, sizeof err), PP_OK);
        assert_non_null(strstr(html, "[\"main;infer;gemm\",9]"));
        assert_non_null(strstr(html, "[\"main;load;read\",3]"));
        assert_non_null(strstr(html, "\"samples\":12}"));
        free(html);
        pp_report_free(r);
        unlink(conv);
    }
    pp_profile_free(p);
    /* a binary file that is no profile: named, and why */
    snprintf(conv, sizeof conv, "%s/junk.pb.gz", d);
    write_file(conv, "\x1f\x8b not really gzip");
    pp_report *r = small_report();
    char *html = NULL;
    assert_int_not_equal(pp_report_render_html(r, conv, &html, NULL, err, sizeof err), PP_OK);
    assert_null(html);
    assert_non_null(strstr(err, "junk.pb.gz: "));
    pp_report_free(r);
    unlink(conv);
    unlink(src);
    rmdir(d);
    free(d);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    char *html = (char *)1, err[128];
    assert_int_equal(pp_report_render_html(NULL, NULL, &html, NULL, err, sizeof err), PP_EINVAL);
    assert_null(html);
    assert_int_equal(pp_report_write_html(NULL, NULL, NULL, NULL, 0), PP_EINVAL);
    assert_int_equal(pp_dashboard_attach(NULL), PP_EINVAL);
}

/* The one JSON string escaper (common/strbuf.h): quotes and backslashes
 * backslashed, \n \r \t short, other control bytes and DEL as \u00XX, and
 * with PP__JSON_HTML the characters that could end a <script> element. */
static void test_json_escaper(void **state)
{
    (void)state;
    const char in[] = "a\"b\\c\nd\re\tf\x01g\x7fh</i>&j";
    pp__strbuf b;
    pp__strbuf_init(&b, 1024);
    pp__strbuf_json_str(&b, in, sizeof in - 1, 0);
    assert_string_equal(b.data, "\"a\\\"b\\\\c\\nd\\re\\tf\\u0001g\\u007fh</i>&j\"");
    pp__strbuf_release(&b);
    pp__strbuf_json_str(&b, in, sizeof in - 1, PP__JSON_HTML);
    assert_string_equal(b.data,
                        "\"a\\\"b\\\\c\\nd\\re\\tf\\u0001g\\u007fh\\u003c/i\\u003e\\u0026j\"");
    pp__strbuf_release(&b);
    char esc[7];
    assert_int_equal(pp__json_escape_byte('x', PP__JSON_HTML, esc), 0);
    assert_int_equal(pp__json_escape_byte(0xc3, 0, esc), 0); /* UTF-8 passes through */
    /* the public writer (the CLI's JSON) escapes by the same rule */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    pp_json_write_string(f, in);
    fputc(' ', f);
    pp_json_write_string(f, NULL);
    assert_int_equal(fclose(f), 0);
    assert_string_equal(text, "\"a\\\"b\\\\c\\nd\\re\\tf\\u0001g\\u007fh</i>&j\" null");
    free(text);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_page_self_contained),   cmocka_unit_test(test_folded_parsed),
    cmocka_unit_test(test_folded_errors),         cmocka_unit_test(test_write_with_profile),
    cmocka_unit_test(test_other_profile_formats), cmocka_unit_test(test_bad_arguments),
    cmocka_unit_test(test_json_escaper),
};

PP_TEST_MAIN(tests)
