/*
 * crash_sentry.c - Crash reports to a Sentry-compatible server, after the
 * fact (never from the signal handler): the report read back and
 * symbolized becomes a Sentry event (exception with the signal as its
 * mechanism, the backtrace oldest frame first, the last log lines as
 * breadcrumbs) and is POSTed to the store endpoint the DSN names, with the
 * X-Sentry-Auth header of protocol version 7.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <postprof/crash.h>
#include <postprof/error.h>
#include <postprof/version.h>

#include "common/safe_text.h"
#include "common/strbuf.h"
#include "export/crash/crash.h"

#define DSN_MAX 1024
#define RESPONSE_MAX (64 * 1024)

static int token_chars(const char *s, size_t n, const char *extra)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr(extra, s[i]))
            return 0;
    return 1;
}

int pp_sentry_dsn_parse(const char *dsn, char *out_store_url, size_t url_cap, char *out_auth,
                        size_t auth_cap)
{
    char *store_url = out_store_url, *auth = out_auth;
    if (!dsn || !store_url || !auth || url_cap == 0 || auth_cap == 0)
        return PP_EINVAL;
    size_t len = strnlen(dsn, DSN_MAX + 1);
    if (len == 0 || len > DSN_MAX)
        return PP_EINVAL;
    const char *scheme_end = strstr(dsn, "://");
    if (!scheme_end)
        return PP_EINVAL;
    size_t scheme_len = (size_t)(scheme_end - dsn);
    if (!((scheme_len == 4 && strncmp(dsn, "http", 4) == 0) ||
          (scheme_len == 5 && strncmp(dsn, "https", 5) == 0)))
        return PP_EINVAL;
    const char *p = scheme_end + 3;
    const char *at = strchr(p, '@');
    const char *slash = strchr(p, '/');
    if (!at || !slash || at > slash)
        return PP_EINVAL;
    /* KEY[:SECRET]@ */
    const char *colon = memchr(p, ':', (size_t)(at - p));
    const char *key = p, *secret = NULL;
    size_t key_len = (size_t)((colon ? colon : at) - p), secret_len = 0;
    if (colon) {
        secret = colon + 1;
        secret_len = (size_t)(at - secret);
        if (!token_chars(secret, secret_len, "-_"))
            return PP_EINVAL;
    }
    if (!token_chars(key, key_len, "-_"))
        return PP_EINVAL;
    /* HOST[:PORT] */
    const char *host = at + 1;
    size_t host_len = (size_t)(slash - host);
    if (host_len == 0 || !token_chars(host, host_len, ".-:[]"))
        return PP_EINVAL;
    const char *port = NULL;
    if (host[0] == '[') {
        const char *close = memchr(host, ']', host_len);
        if (!close)
            return PP_EINVAL;
        if (close + 1 < slash) {
            if (close[1] != ':')
                return PP_EINVAL;
            port = close + 2;
        }
    } else {
        port = memchr(host, ':', host_len);
        if (port)
            port++;
    }
    if (port) {
        size_t plen = (size_t)(slash - port);
        if (plen == 0 || plen > 5)
            return PP_EINVAL;
        long v = 0;
        for (size_t i = 0; i < plen; i++) {
            if (!isdigit((unsigned char)port[i]))
                return PP_EINVAL;
            v = v * 10 + (port[i] - '0');
        }
        if (v < 1 || v > 65535)
            return PP_EINVAL;
    }
    /* /[PATH/]PROJECT */
    const char *path = slash + 1;
    const char *last = strrchr(path, '/');
    const char *project = last ? last + 1 : path;
    size_t prefix_len = (size_t)(project - path);
    size_t project_len = strlen(project);
    if (!token_chars(project, project_len, "-_") ||
        (prefix_len && !token_chars(path, prefix_len, "-_./")))
        return PP_EINVAL;
    if (path[0] == '/' || strstr(path, "..") || strstr(path, "//"))
        return PP_EINVAL;
    int n = snprintf(store_url, url_cap, "%.*s://%.*s/%.*sapi/%s/store/", (int)scheme_len, dsn,
                     (int)host_len, host, (int)prefix_len, path, project);
    if (n < 0 || (size_t)n >= url_cap)
        return PP_EINVAL;
    n = snprintf(auth, auth_cap,
                 "Sentry sentry_version=7, sentry_client=postprof/%s, sentry_key=%.*s%s%.*s",
                 PP_VERSION_STRING, (int)key_len, key, secret ? ", sentry_secret=" : "",
                 (int)secret_len, secret ? secret : "");
    if (n < 0 || (size_t)n >= auth_cap)
        return PP_EINVAL;
    return PP_OK;
}

static int new_event_id(char out[33])
{
    unsigned char b[16];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t r = getrandom(b + got, sizeof b - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return PP_EIO;
        }
        got += (size_t)r;
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* a version-4 UUID, as Sentry's SDKs make */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    return PP_OK;
}

static const char *signal_name(const char *sigfield, char *buf, size_t cap)
{
    /* "11 (SIGSEGV)" -> "SIGSEGV" */
    const char *open = sigfield ? strchr(sigfield, '(') : NULL;
    const char *close = open ? strchr(open, ')') : NULL;
    if (!open || !close || close - open - 1 <= 0 || (size_t)(close - open) >= cap)
        return "signal";
    memcpy(buf, open + 1, (size_t)(close - open - 1));
    buf[close - open - 1] = '\0';
    return buf;
}

static const char *signal_text(const char *name)
{
    static const struct {
        const char *name, *text;
    } t[] = {{"SIGSEGV", "Segmentation fault"},
             {"SIGBUS", "Bus error"},
             {"SIGFPE", "Floating point exception"},
             {"SIGILL", "Illegal instruction"},
             {"SIGABRT", "Aborted"}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(t[i].name, name) == 0)
            return t[i].text;
    return "Fatal signal";
}

static json_t *frames_json(const pp__crash_doc *d, const char *program)
{
    json_t *frames = json_array();
    /* Sentry lists the oldest call first and the crashing frame last */
    for (int i = d->nframes - 1; frames && i >= 0; i--) {
        const pp__crash_frame *f = &d->frames[i];
        char addr[32];
        snprintf(addr, sizeof addr, "0x%llx", (unsigned long long)f->addr);
        json_t *fr = json_object();
        json_object_set_new(fr, "instruction_addr", json_string(addr));
        if (f->function)
            json_object_set_new(fr, "function", json_string(f->function));
        if (f->file) {
            json_object_set_new(fr, "filename", json_string(f->file));
            json_object_set_new(fr, "lineno", json_integer(f->line));
        }
        if (f->module) {
            json_object_set_new(fr, "package", json_string(f->module));
            json_object_set_new(fr, "in_app", json_boolean(program && !strcmp(program, f->module)));
        }
        json_array_append_new(frames, fr);
    }
    return frames;
}

/* One logger line, "2026-11-25T11:49:51.176Z WARN  comp: event k=v", as a
 * breadcrumb: its time, its level in Sentry's words, the line itself. */
static json_t *breadcrumb(const char *line, size_t n)
{
    static const struct {
        const char *ours, *sentry;
    } levels[] = {{"DEBUG", "debug"}, {"INFO", "info"}, {"WARN", "warning"}, {"ERROR", "error"}};
    json_t *b = json_object();
    json_object_set_new(b, "category", json_string("log"));
    json_object_set_new(b, "message", json_stringn(line, n));
    const char *sp = memchr(line, ' ', n);
    if (sp && sp > line && line[sp - line - 1] == 'Z')
        json_object_set_new(b, "timestamp", json_stringn(line, (size_t)(sp - line)));
    const char *lv = sp ? sp + 1 : line;
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        size_t k = strlen(levels[i].ours);
        if ((size_t)(line + n - lv) > k && memcmp(lv, levels[i].ours, k) == 0 && lv[k] == ' ')
            json_object_set_new(b, "level", json_string(levels[i].sentry));
    }
    return b;
}

static json_t *breadcrumbs_json(const char *log)
{
    json_t *values = json_array();
    for (const char *s = log; values && s && *s;) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) : strlen(s);
        if (n > 0)
            json_array_append_new(values, breadcrumb(s, n));
        s += n + (nl != NULL);
    }
    json_t *crumbs = json_object();
    json_object_set_new(crumbs, "values", values);
    return crumbs;
}

static int event_from_doc(const char *path, const pp__crash_doc *d, const pp_crash_read_info *info,
                          const char *event_id, char **out_json)
{
    const char *sig = pp__crash_doc_get(d, "signal");
    char namebuf[32];
    const char *name = signal_name(sig, namebuf, sizeof namebuf);
    const char *code = pp__crash_doc_get(d, "code");
    const char *fault = pp__crash_doc_get(d, "fault_address");
    const char *program = pp__crash_doc_get(d, "program");
    const char *version = pp__crash_doc_get(d, "postprof_version");
    const char *build_id = pp__crash_doc_get(d, "build_id");
    struct stat st;
    double when =
        stat(path, &st) == 0 ? (double)st.st_mtim.tv_sec + (double)st.st_mtim.tv_nsec * 1e-9 : 0.0;
    char value[256];
    snprintf(value, sizeof value, "%s at address %s%s (code %s)", signal_text(name),
             fault && strncmp(fault, "0x", 2) ? "0x" : "", fault ? fault : "?", code ? code : "?");

    json_t *ev = json_object();
    json_object_set_new(ev, "event_id", json_string(event_id));
    if (when > 0)
        json_object_set_new(ev, "timestamp", json_real(when));
    json_object_set_new(ev, "platform", json_string("native"));
    json_object_set_new(ev, "level", json_string("fatal"));
    json_object_set_new(ev, "logger", json_string("postprof.crash"));
    if (version) {
        char rel[96];
        snprintf(rel, sizeof rel, "postprof@%s", version);
        json_object_set_new(ev, "release", json_string(rel));
    }
    json_t *tags = json_object();
    json_object_set_new(tags, "signal", json_string(name));
    if (build_id)
        json_object_set_new(tags, "build_id", json_string(build_id));
    if (info->truncated)
        json_object_set_new(tags, "report_truncated", json_string("yes"));
    json_object_set_new(ev, "tags", tags);
    json_t *extra = json_object();
    for (int i = 0; i < d->nheaders; i++)
        json_object_set_new(extra, d->keys[i], json_string(d->values[i]));
    json_object_set_new(extra, "report_file", json_string(path));
    if (info->truncated) {
        char where[96];
        snprintf(where, sizeof where, "line %d, %s", info->last_line, info->stopped_in);
        json_object_set_new(extra, "report_stops_in", json_string(where));
    }
    json_object_set_new(ev, "extra", extra);

    json_t *signal = json_object();
    json_object_set_new(signal, "number", json_integer(sig ? strtol(sig, NULL, 10) : 0));
    json_object_set_new(signal, "code", json_integer(code ? strtol(code, NULL, 10) : 0));
    json_object_set_new(signal, "name", json_string(name));
    json_t *meta = json_object();
    json_object_set_new(meta, "signal", signal);
    json_t *mech = json_object();
    json_object_set_new(mech, "type", json_string("signalhandler"));
    json_object_set_new(mech, "handled", json_false());
    json_object_set_new(mech, "synthetic", json_true());
    json_object_set_new(mech, "meta", meta);
    json_t *stack = json_object();
    json_object_set_new(stack, "frames", frames_json(d, program));
    json_t *exc = json_object();
    json_object_set_new(exc, "type", json_string(name));
    json_object_set_new(exc, "value", json_string(value));
    json_object_set_new(exc, "mechanism", mech);
    json_object_set_new(exc, "stacktrace", stack);
    json_t *values = json_array();
    json_array_append_new(values, exc);
    json_t *exception = json_object();
    json_object_set_new(exception, "values", values);
    json_object_set_new(ev, "exception", exception);
    json_object_set_new(ev, "breadcrumbs", breadcrumbs_json(d->log));

    /* every text from the report was made safe (pp__crash_doc_read): valid
     * UTF-8 without control characters; json_string() of anything else would
     * be NULL and drop the member rather than the event */
    *out_json = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    return *out_json ? PP_OK : PP_ENOMEM;
}

/* The report at path as an event with a fresh id (into id); *out_json malloc'd. */
static int read_event(const char *path, char id[33], char **out_json, pp_crash_read_info *info,
                      char *err, size_t errcap)
{
    int rc = new_event_id(id);
    if (rc != PP_OK)
        return rc;
    pp__crash_doc d;
    if ((rc = pp__crash_doc_read(path, &d, info, err, errcap)) != PP_OK)
        return rc;
    rc = event_from_doc(path, &d, info, id, out_json);
    pp__crash_doc_free(&d);
    return rc;
}

int pp_crash_sentry_event(const char *path, char **out_json, pp_crash_read_info *out_info,
                          char *err, size_t errcap)
{
    if (err && errcap)
        err[0] = '\0';
    if (!path || !out_json) {
        pp__set_err(err, errcap, "no report path or output");
        return PP_EINVAL;
    }
    *out_json = NULL;
    char id[33];
    pp_crash_read_info local;
    return read_event(path, id, out_json, out_info ? out_info : &local, err, errcap);
}

typedef struct {
    char buf[RESPONSE_MAX + 1];
    size_t len;
} response;

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    response *r = arg;
    size_t bytes = size * n, room = RESPONSE_MAX - r->len;
    size_t take = bytes < room ? bytes : room;
    memcpy(r->buf + r->len, data, take);
    r->len += take;
    r->buf[r->len] = '\0';
    return bytes; /* the rest is read and dropped: the size stays bounded */
}

int pp_crash_upload_sentry(const char *path, const char *dsn, char out_event_id[33], char *err,
                           size_t errcap)
{
    char url[DSN_MAX + 64], auth[DSN_MAX + 128], header[DSN_MAX + 160];
    if (err && errcap)
        err[0] = '\0';
    if (!path || pp_sentry_dsn_parse(dsn, url, sizeof url, auth, sizeof auth) != PP_OK) {
        pp__set_err(err, errcap, "not a Sentry DSN (http[s]://KEY@HOST[:PORT]/PROJECT)");
        return PP_EINVAL;
    }
    char id[33];
    pp_crash_read_info info;
    char *json = NULL;
    int rc = read_event(path, id, &json, &info, err, errcap);
    if (rc != PP_OK)
        return rc;
    response *resp = calloc(1, sizeof *resp);
    CURL *c = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    snprintf(header, sizeof header, "X-Sentry-Auth: %s", auth);
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = hdrs ? curl_slist_append(hdrs, header) : NULL;
    if (!resp || !c || !hdrs) {
        rc = PP_ENOMEM;
        goto out;
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "postprof/" PP_VERSION_STRING);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode cc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (cc != CURLE_OK) {
        pp__set_err(err, errcap, "cannot reach %s: %s", url,
                    errbuf[0] ? errbuf : curl_easy_strerror(cc));
        rc = PP_EIO;
    } else if (status != 200) {
        for (char *p = resp->buf; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
        if (resp->len > 200)
            resp->buf[200] = '\0';
        /* the server's words reach a terminal: its control characters as \xNN */
        char *said = pp__safe_text(resp->buf, strlen(resp->buf), 0);
        pp__set_err(err, errcap, "the server refused the event: HTTP %ld %s", status,
                    said ? said : "");
        free(said);
        rc = PP_EIO;
    } else {
        memcpy(out_event_id, id, sizeof id);
        rc = PP_OK;
    }
out:
    curl_slist_free_all(hdrs);
    if (c)
        curl_easy_cleanup(c);
    free(resp);
    free(json);
    return rc;
}
