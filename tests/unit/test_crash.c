/*
 * test_crash.c - Crash reports: a child that crashes writes a report with the
 * signal, fault address, backtrace, build id and recent log lines, dies of the
 * same signal, and the report symbolizes afterwards to the crashing function;
 * the report as a Sentry event, sent to a local server that speaks the store
 * endpoint (the DSN's path, X-Sentry-Auth, a JSON body), refused, unreachable;
 * a report cut at any point is read as far as it goes and flagged truncated;
 * control characters from a report are escaped (pp__safe_text).
 */
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pp_test.h"
#include "common/safe_text.h"
#include <postprof/crash.h>
#include <postprof/postprof.h>

static char dir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/pp_crash_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    if (getenv("PP_KEEP_CRASH_DIR"))
        return 0;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

__attribute__((noinline)) void pp_test_crash_here(volatile int *p);
__attribute__((noinline)) void pp_test_crash_here(volatile int *p)
{
    /* not a leaf: optimized leaves get no frame pointer, and the walk would
     * skip their caller */
    if (getpid() > 0)
        *p = 42;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static __attribute__((noinline)) pid_t crash_child(int how)
{
    pid_t pid = fork();
    if (pid == 0) {
        pp_log_set_level(PP_LOG_INFO);
        pp_log_set_stream(fopen("/dev/null", "w"));
        pp_log(PP_LOG_INFO, "test", "about_to_crash", "marker", "xyzzy-123", NULL);
        if (pp_crash_install(dir) != PP_OK)
            _exit(3);
        if (how == SIGSEGV)
            pp_test_crash_here(
                (volatile int *)(uintptr_t)16); /* not NULL: UBSan would stop it first */
        else
            abort();
        _exit(4);
    }
    return pid;
}

/* A child crashes with sig and dies of it; path is its report. */
static void crash_and_report(int sig, char *path, size_t cap)
{
    pid_t pid = crash_child(sig);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), sig);
    snprintf(path, cap, "%s/crash-%d-%d.txt", dir, (int)pid, (int)pid);
}

static void segv_writes_report_and_reraises(void **state)
{
    (void)state;
    char path[512];
    crash_and_report(SIGSEGV, path, sizeof path);
    char *r = read_all(path);
    assert_non_null(r);
    assert_non_null(strstr(r, "signal: 11 (SIGSEGV)"));
    assert_non_null(strstr(r, "fault_address: 0x10\n"));
    assert_non_null(strstr(r, "  #1 0x"));
    assert_null(strstr(r, "build_id: unknown"));
    assert_non_null(strstr(r, "xyzzy-123")); /* the last log lines */
    assert_non_null(strstr(r, "maps:\n"));
    free(r);

    char out_path[512];
    snprintf(out_path, sizeof out_path, "%s/symbolized.txt", dir);
    FILE *out = fopen(out_path, "w");
    pp_crash_read_info info;
    assert_int_equal(pp_crash_symbolize(path, out, &info, NULL, 0), PP_OK);
    assert_int_equal(info.truncated, 0); /* the handler writes every section and "end" */
    fclose(out);
    r = read_all(out_path);
    assert_non_null(strstr(r, "#0 0x"));
    assert_non_null(strstr(r, "pp_test_crash_here")); /* frame 0, resolved afterwards */
    assert_non_null(strstr(r, "crash_child"));        /* its caller, via the frame pointer */
    assert_non_null(strstr(r, "test_crash.c:"));
    free(r);
}

static void abort_writes_report(void **state)
{
    (void)state;
    char path[512];
    crash_and_report(SIGABRT, path, sizeof path);
    char *r = read_all(path);
    assert_non_null(r);
    assert_non_null(strstr(r, "signal: 6 (SIGABRT)"));
    free(r);
}

static void not_a_report_is_an_error(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/bogus.txt", dir);
    FILE *f = fopen(path, "w");
    fputs("hello\nworld\n", f);
    fclose(f);
    pp_crash_read_info info;
    FILE *out = fopen("/dev/null", "w");
    char err[256];
    assert_int_equal(pp_crash_symbolize(path, out, &info, err, sizeof err), PP_EFORMAT);
    assert_int_equal(info.line, 1);
    assert_non_null(strstr(err, ":1: not a postprof crash report"));
    assert_int_equal(pp_crash_symbolize("/nonexistent/x", out, NULL, err, sizeof err), PP_EIO);
    assert_non_null(strstr(err, "cannot read /nonexistent/x"));
    fclose(out);
    assert_int_equal(pp_crash_install(NULL), PP_EINVAL);
}

/* The writer's report cut at each point: read as far as it goes, flagged, never an error. */
static void truncated_report_is_flagged(void **state)
{
    (void)state;
    char path[512], cut[600];
    crash_and_report(SIGSEGV, path, sizeof path);
    char *r = read_all(path);
    assert_non_null(r);
    size_t n = strlen(r);
    assert_true(n > 100 && strcmp(r + n - 5, "\nend\n") == 0);
    struct {
        const char *after; /* cut just after this text (NULL: the whole report less "end\n") */
        int back;          /* bytes back from there */
        const char *section;
    } cases[] = {
        {"signal: ", 0, "header"},
        {"backtrace:\n", 0, "backtrace"},
        {"  #1 0x", 0, "backtrace"},
        {"maps:\n", 0, "memory map"},
        {"\nlog:\n", -6, "memory map"},
        {"\nlog:\n", 0, "log"},
        {NULL, 0, "log"},
    };
    snprintf(cut, sizeof cut, "%s/cut.txt", dir);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t at = n - 4;
        if (cases[i].after) {
            const char *p = strstr(r, cases[i].after);
            assert_non_null(p);
            at = (size_t)(p - r) + strlen(cases[i].after) + (size_t)cases[i].back;
        }
        FILE *f = fopen(cut, "w");
        fwrite(r, 1, at, f);
        fclose(f);
        char *text = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&text, &len);
        pp_crash_read_info info;
        assert_int_equal(pp_crash_symbolize(cut, out, &info, NULL, 0), PP_OK);
        fclose(out);
        if (!info.truncated || strcmp(info.stopped_in, cases[i].section) != 0)
            fail_msg("cut %zu: truncated %d in '%s', want %s", i, info.truncated, info.stopped_in,
                     cases[i].section);
        assert_true(info.last_line >= 1);
        assert_non_null(strstr(text, "\ntruncated: the report stops at line"));
        assert_non_null(strstr(text, cases[i].section));
        free(text);
        char *json = NULL;
        assert_int_equal(pp_crash_sentry_event(cut, &json, &info, NULL, 0), PP_OK);
        assert_non_null(strstr(json, "\"report_truncated\":\"yes\""));
        free(json);
    }
    free(r);
}

/* Every byte a terminal acts on comes out as \xNN; text, tabs and UTF-8 stay. */
static void safe_text_escapes(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t n;
        const char *out;
    } cases[] = {
        {"plain text", 10, "plain text"},
        {"tab\there", 8, "tab\there"},
        {"\x1b[2Jx", 5, "\\x1b[2Jx"},
        {"bell\x07", 5, "bell\\x07"},
        {"del\x7f", 4, "del\\x7f"},
        {"nl\ncr\r", 6, "nl\\x0acr\\x0d"},
        {"nul\0x", 5, "nul\\x00x"},
        {"c1 \x9b"
         "31m",
         7, "c1 \\x9b31m"},
        {"utf8 c1 \xc2\x9b", 10, "utf8 c1 \\xc2\\x9b"},
        {"caf\xc3\xa9 \xe2\x82\xac", 9, "caf\xc3\xa9 \xe2\x82\xac"},
        {"bad \xff\xfe \xc3", 8, "bad \\xff\\xfe \\xc3"},
        {"overlong \xc0\xaf", 11, "overlong \\xc0\\xaf"},
        {"surrogate \xed\xa0\x80", 13, "surrogate \\xed\\xa0\\x80"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *o = pp__safe_text(cases[i].in, cases[i].n, 0);
        assert_non_null(o);
        if (strcmp(o, cases[i].out) != 0)
            fail_msg("case %zu: '%s', want '%s'", i, o, cases[i].out);
        assert_int_equal(pp__safe_text_needed(cases[i].in, cases[i].n, 0),
                         strcmp(cases[i].in, cases[i].out) != 0 ||
                             strlen(cases[i].in) != cases[i].n);
        free(o);
    }
    char *o = pp__safe_text("a\nb", 3, 1);
    assert_string_equal(o, "a\nb");
    free(o);
}

static void dsn_parsing(void **state)
{
    (void)state;
    char url[512], auth[512];
    assert_int_equal(pp_sentry_dsn_parse("https://abc123@o1.ingest.sentry.io/4507", url, sizeof url,
                                         auth, sizeof auth),
                     PP_OK);
    assert_string_equal(url, "https://o1.ingest.sentry.io/api/4507/store/");
    assert_non_null(strstr(auth, "Sentry sentry_version=7, sentry_client=postprof/"));
    assert_non_null(strstr(auth, ", sentry_key=abc123"));
    assert_null(strstr(auth, "sentry_secret"));
    assert_int_equal(pp_sentry_dsn_parse("http://k:s3@127.0.0.1:9000/sub/path/42", url, sizeof url,
                                         auth, sizeof auth),
                     PP_OK);
    assert_string_equal(url, "http://127.0.0.1:9000/sub/path/api/42/store/");
    assert_non_null(strstr(auth, "sentry_key=k, sentry_secret=s3"));
    assert_int_equal(
        pp_sentry_dsn_parse("http://k@[::1]:9000/7", url, sizeof url, auth, sizeof auth), PP_OK);
    assert_string_equal(url, "http://[::1]:9000/api/7/store/");
    static const char *const bad[] = {
        "",
        "ftp://k@h/1",
        "http://h/1",
        "http://k@h",
        "http://k@h/",
        "http://@h/1",
        "k@h/1",
        "http://k@h:0/1",
        "http://k@h:70000/1",
        "http://k@h:x/1",
        "http://k@h/1?x=2",
        "http://k@/1",
        "http://k y@h/1",
        "http://k@h/../1",
        "http://k@h//1",
        "http://k@h/a b/1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = pp_sentry_dsn_parse(bad[i], url, sizeof url, auth, sizeof auth);
        if (rc != PP_EINVAL)
            fail_msg("DSN '%s' accepted", bad[i]);
    }
    assert_int_equal(pp_sentry_dsn_parse("http://k@h/1", url, 10, auth, sizeof auth), PP_EINVAL);
}

static json_t *frame_at(json_t *frames, size_t i)
{
    return json_array_get(frames, i);
}

static void sentry_event_of_a_segv(void **state)
{
    (void)state;
    char path[512];
    crash_and_report(SIGSEGV, path, sizeof path);
    char *text = NULL;
    pp_crash_read_info info;
    assert_int_equal(pp_crash_sentry_event(path, &text, &info, NULL, 0), PP_OK);
    assert_int_equal(info.truncated, 0);
    json_error_t err;
    json_t *ev = json_loads(text, 0, &err);
    free(text);
    assert_non_null(ev);
    const char *id = json_string_value(json_object_get(ev, "event_id"));
    assert_non_null(id);
    assert_int_equal(strlen(id), 32);
    assert_int_equal(strspn(id, "0123456789abcdef"), 32);
    assert_string_equal(json_string_value(json_object_get(ev, "level")), "fatal");
    assert_string_equal(json_string_value(json_object_get(ev, "platform")), "native");
    assert_true(json_real_value(json_object_get(ev, "timestamp")) > 1.6e9);
    json_t *exc = json_array_get(json_object_get(json_object_get(ev, "exception"), "values"), 0);
    assert_string_equal(json_string_value(json_object_get(exc, "type")), "SIGSEGV");
    assert_non_null(strstr(json_string_value(json_object_get(exc, "value")), "0x10"));
    json_t *sig =
        json_object_get(json_object_get(json_object_get(exc, "mechanism"), "meta"), "signal");
    assert_int_equal(json_integer_value(json_object_get(sig, "number")), SIGSEGV);
    assert_true(json_is_false(json_object_get(json_object_get(exc, "mechanism"), "handled")));
    json_t *frames = json_object_get(json_object_get(exc, "stacktrace"), "frames");
    size_t n = json_array_size(frames);
    assert_true(n >= 2);
    /* oldest first: the crashing function is the last frame, its caller before it */
    assert_string_equal(json_string_value(json_object_get(frame_at(frames, n - 1), "function")),
                        "pp_test_crash_here");
    assert_string_equal(json_string_value(json_object_get(frame_at(frames, n - 2), "function")),
                        "crash_child");
    assert_non_null(strstr(json_string_value(json_object_get(frame_at(frames, n - 1), "filename")),
                           "test_crash.c"));
    assert_true(json_integer_value(json_object_get(frame_at(frames, n - 1), "lineno")) > 0);
    assert_true(json_is_true(json_object_get(frame_at(frames, n - 1), "in_app")));
    json_t *crumbs = json_object_get(json_object_get(ev, "breadcrumbs"), "values");
    int marker = 0;
    for (size_t i = 0; i < json_array_size(crumbs); i++)
        marker |= strstr(json_string_value(json_object_get(json_array_get(crumbs, i), "message")),
                         "xyzzy-123") != NULL;
    assert_true(marker);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(ev, "extra"), "fault_address")), "0x10");
    json_decref(ev);
}

/* A Sentry store endpoint on loopback: keeps what it was sent. */
typedef struct {
    pthread_mutex_t lock;
    int status; /* what to answer */
    int requests;
    char path[256], auth[512], ctype[128];
    char *body;
} fake_sentry;

static int store_handler(const pp_http_request *req, pp_http_response *resp, void *ctx)
{
    fake_sentry *f = ctx;
    size_t len = 0;
    const char *body = pp_http_request_body(req, &len);
    const char *auth = pp_http_request_header(req, "X-Sentry-Auth");
    const char *ctype = pp_http_request_header(req, "Content-Type");
    pthread_mutex_lock(&f->lock);
    f->requests++;
    snprintf(f->path, sizeof f->path, "%s %s", pp_http_request_method(req),
             pp_http_request_path(req));
    snprintf(f->auth, sizeof f->auth, "%s", auth ? auth : "");
    snprintf(f->ctype, sizeof f->ctype, "%s", ctype ? ctype : "");
    free(f->body);
    f->body = strndup(body ? body : "", len);
    int status = f->status;
    pthread_mutex_unlock(&f->lock);
    if (status != 200) {
        static const char refused[] = "{\"detail\":\"event submission rejected\"}";
        return pp_http_respond(resp, status, "application/json", refused, sizeof refused - 1);
    }
    static const char ok[] = "{\"id\":\"accepted\"}";
    return pp_http_respond(resp, 200, "application/json", ok, sizeof ok - 1);
}

static void upload_to_a_store_endpoint(void **state)
{
    (void)state;
    char path[512];
    crash_and_report(SIGSEGV, path, sizeof path);
    fake_sentry f;
    memset(&f, 0, sizeof f);
    pthread_mutex_init(&f.lock, NULL);
    f.status = 200;
    pp_http_config hc = {.listen = "127.0.0.1:0"};
    pp_http_server *srv = NULL;
    assert_int_equal(pp_http_start(&hc, &srv), PP_OK);
    assert_int_equal(pp_http_add_handler(srv, "/api/42/store/", store_handler, &f), PP_OK);
    char dsn[128], id[33], msg[512];
    snprintf(dsn, sizeof dsn, "http://pubkey9@127.0.0.1:%u/42", pp_http_port(srv));
    assert_int_equal(pp_crash_upload_sentry(path, dsn, id, msg, sizeof msg), PP_OK);
    pthread_mutex_lock(&f.lock);
    assert_int_equal(f.requests, 1);
    assert_string_equal(f.path, "POST /api/42/store/");
    assert_non_null(strstr(f.auth, "sentry_version=7"));
    assert_non_null(strstr(f.auth, "sentry_key=pubkey9"));
    assert_string_equal(f.ctype, "application/json");
    json_error_t err;
    json_t *ev = json_loads(f.body, 0, &err);
    assert_non_null(ev);
    assert_string_equal(json_string_value(json_object_get(ev, "event_id")), id);
    json_decref(ev);
    /* refused: the status and the server's words come back */
    f.status = 403;
    pthread_mutex_unlock(&f.lock);
    assert_int_equal(pp_crash_upload_sentry(path, dsn, id, msg, sizeof msg), PP_EIO);
    assert_non_null(strstr(msg, "HTTP 403"));
    assert_non_null(strstr(msg, "rejected"));
    /* a bad DSN, a report that is not one */
    assert_int_equal(pp_crash_upload_sentry(path, "nope", id, msg, sizeof msg), PP_EINVAL);
    assert_non_null(strstr(msg, "DSN"));
    char bogus[512];
    snprintf(bogus, sizeof bogus, "%s/bogus.txt", dir);
    FILE *b = fopen(bogus, "w");
    fputs("hello\n", b);
    fclose(b);
    assert_int_equal(pp_crash_upload_sentry(bogus, dsn, id, msg, sizeof msg), PP_EFORMAT);
    assert_non_null(strstr(msg, ":1: not a postprof crash report"));
    /* nobody listening any more */
    pp_http_stop(srv);
    assert_int_equal(pp_crash_upload_sentry(path, dsn, id, msg, sizeof msg), PP_EIO);
    assert_non_null(strstr(msg, "cannot reach"));
    pthread_mutex_lock(&f.lock);
    assert_int_equal(f.requests, 2);
    pthread_mutex_unlock(&f.lock);
    free(f.body);
    pthread_mutex_destroy(&f.lock);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(segv_writes_report_and_reraises, setup, teardown),
    cmocka_unit_test_setup_teardown(abort_writes_report, setup, teardown),
    cmocka_unit_test_setup_teardown(not_a_report_is_an_error, setup, teardown),
    cmocka_unit_test_setup_teardown(truncated_report_is_flagged, setup, teardown),
    cmocka_unit_test(safe_text_escapes),
    cmocka_unit_test(dsn_parsing),
    cmocka_unit_test_setup_teardown(sentry_event_of_a_segv, setup, teardown),
    cmocka_unit_test_setup_teardown(upload_to_a_store_endpoint, setup, teardown),
};
PP_TEST_MAIN(tests)
