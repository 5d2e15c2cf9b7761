/*
 * otlp_config.c - The OTLP exporter's settings from the standard OTEL_*
 * environment variables. A malformed value gets one warning through the
 * library's logger and its default; nothing here fails on input, prints, or
 * keeps a pointer into the environment.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <postprof/error.h>
#include <postprof/log.h>

#include "telemetry/otlp_impl.h"

static void warn(const char *var, const char *value, const char *why)
{
    pp_log(PP_LOG_WARN, "otlp", "bad_environment", "variable", var, "value", value, "problem", why,
           NULL);
}

static const char *get2(pp__otlp_getenv get, void *ctx, const char *specific, const char *general,
                        const char **out_name)
{
    const char *v = specific ? get(specific, ctx) : NULL;
    if (v && *v) {
        *out_name = specific;
        return v;
    }
    v = get(general, ctx);
    *out_name = general;
    return v && *v ? v : NULL;
}

/* A non-negative integer of milliseconds, or the default with a warning. */
static uint64_t read_ms(pp__otlp_getenv get, void *ctx, const char *specific, const char *general,
                        uint64_t dflt, uint64_t min)
{
    const char *name;
    const char *v = get2(get, ctx, specific, general, &name);
    if (!v)
        return dflt;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    while (*end == ' ')
        end++;
    if (!isdigit((unsigned char)v[0]) || *end || errno || x > 86400000ull) {
        warn(name, v, "not a whole number of milliseconds (0 to 86400000); using the default");
        return dflt;
    }
    return x < min ? min : x;
}

static int read_bool(pp__otlp_getenv get, void *ctx, const char *name)
{
    const char *v = get(name, ctx);
    if (!v || !*v)
        return 0;
    if (strcasecmp(v, "true") == 0)
        return 1;
    if (strcasecmp(v, "false") != 0)
        warn(name, v, "not true or false; taken as false");
    return 0;
}

static int is_http_url(const char *v)
{
    return strncasecmp(v, "http://", 7) == 0 || strncasecmp(v, "https://", 8) == 0;
}

/* The URL of one signal: the specific variable as given, or base + path. */
static void signal_url(pp__otlp_getenv get, void *ctx, const char *specific, const char *path,
                       char *out)
{
    out[0] = '\0';
    const char *v = get(specific, ctx);
    if (v && *v) {
        if (!is_http_url(v) || strlen(v) >= PP__OTLP_URL_MAX)
            warn(specific, v, "not an http:// or https:// URL; this signal is not exported");
        else
            snprintf(out, PP__OTLP_URL_MAX, "%s", v);
        return;
    }
    v = get("OTEL_EXPORTER_OTLP_ENDPOINT", ctx);
    if (!v || !*v)
        return;
    size_t n = strlen(v);
    while (n && v[n - 1] == '/')
        n--;
    if (!is_http_url(v) || n + strlen(path) >= PP__OTLP_URL_MAX) {
        warn("OTEL_EXPORTER_OTLP_ENDPOINT", v,
             "not an http:// or https:// URL; nothing is exported");
        return;
    }
    size_t pn = strlen(path);
    memcpy(out, v, n); /* both fit: checked above */
    memcpy(out + n, path, pn + 1);
}

static int hexd(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Trim blanks and percent-decode s[0..n) into a new string; NULL on a bad escape. */
static char *decode(const char *s, size_t n, int *oom)
{
    while (n && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    char *o = malloc(n + 1);
    if (!o) {
        *oom = 1;
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            int hi = i + 2 < n ? hexd(s[i + 1]) : -1, lo = i + 2 < n ? hexd(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                free(o);
                return NULL;
            }
            o[k++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            o[k++] = s[i];
        }
    }
    o[k] = '\0';
    return o;
}

/* Each k=v of a W3C-baggage-like list: calls add(key, value); a bad entry is
 * warned about and skipped. Returns PP_OK or PP_ENOMEM. */
static int each_pair(const char *var, const char *list, int (*add)(void *ud, char *k, char *v),
                     void *ud)
{
    const char *p = list;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        int oom = 0;
        if (n) {
            char *k = eq ? decode(p, (size_t)(eq - p), &oom) : NULL;
            char *v = eq && k ? decode(eq + 1, n - (size_t)(eq - p) - 1, &oom) : NULL;
            if (oom) {
                free(k);
                free(v);
                return PP_ENOMEM;
            }
            if (!k || !v || !*k) {
                char entry[128];
                snprintf(entry, sizeof entry, "%.*s", (int)(n < 100 ? n : 100), p);
                warn(var, entry, "an entry that is not key=value (percent-encoded); skipped");
                free(k);
                free(v);
            } else {
                int rc = add(ud, k, v);
                if (rc != PP_OK)
                    return rc;
            }
        }
        p += n;
        if (*p == ',')
            p++;
    }
    return PP_OK;
}

typedef struct {
    char **lines;
    size_t n;
} header_acc;

static int add_header(void *ud, char *k, char *v)
{
    header_acc *a = ud;
    int rc = PP_OK;
    if (strpbrk(k, "\r\n: ") || strpbrk(v, "\r\n")) {
        warn("OTEL_EXPORTER_OTLP_HEADERS", k, "a header name or value with a forbidden character");
        goto out;
    }
    if (a->n == PP__OTLP_MAX_HEADERS) {
        warn("OTEL_EXPORTER_OTLP_HEADERS", k, "more than 16 headers; the rest are skipped");
        goto out;
    }
    size_t len = strlen(k) + strlen(v) + 3;
    char *line = malloc(len);
    if (!line) {
        rc = PP_ENOMEM;
        goto out;
    }
    snprintf(line, len, "%s: %s", k, v);
    a->lines[a->n++] = line;
out:
    free(k);
    free(v);
    return rc;
}

static int read_headers(pp__otlp_getenv get, void *ctx, const char *specific, char **out)
{
    header_acc a = {out, 0};
    const char *v = get("OTEL_EXPORTER_OTLP_HEADERS", ctx);
    int rc = v && *v ? each_pair("OTEL_EXPORTER_OTLP_HEADERS", v, add_header, &a) : PP_OK;
    v = get(specific, ctx);
    if (rc == PP_OK && v && *v)
        rc = each_pair(specific, v, add_header, &a);
    out[a.n] = NULL;
    return rc;
}

static int add_attr(void *ud, char *k, char *v)
{
    pp__otlp_config *c = ud;
    for (size_t i = 0; i < c->nattrs; i++) {
        if (strcmp(c->attr_keys[i], k) == 0) { /* service.name from OTEL_SERVICE_NAME wins */
            free(k);
            free(v);
            return PP_OK;
        }
    }
    if (c->nattrs == PP__OTLP_MAX_ATTRS) {
        warn("OTEL_RESOURCE_ATTRIBUTES", k, "more than 32 attributes; the rest are skipped");
        free(k);
        free(v);
        return PP_OK;
    }
    c->attr_keys[c->nattrs] = k;
    c->attr_values[c->nattrs] = v;
    c->nattrs++;
    return PP_OK;
}

static int add_attr_copy(pp__otlp_config *c, const char *k, const char *v)
{
    char *kk = strdup(k), *vv = strdup(v);
    if (!kk || !vv) {
        free(kk);
        free(vv);
        return PP_ENOMEM;
    }
    return add_attr(c, kk, vv);
}

static void read_sampler(pp__otlp_getenv get, void *ctx, pp__otlp_config *c)
{
    static const struct {
        const char *name;
        int kind;
    } names[] = {{"always_on", PP__SAMPLER_ALWAYS_ON},
                 {"always_off", PP__SAMPLER_ALWAYS_OFF},
                 {"traceidratio", PP__SAMPLER_RATIO},
                 {"parentbased_always_on", PP__SAMPLER_PARENT_ON},
                 {"parentbased_always_off", PP__SAMPLER_PARENT_OFF},
                 {"parentbased_traceidratio", PP__SAMPLER_PARENT_RATIO}};
    c->sampler = PP__SAMPLER_PARENT_ON;
    c->sampler_ratio = 1.0;
    const char *v = get("OTEL_TRACES_SAMPLER", ctx);
    if (v && *v) {
        size_t i;
        for (i = 0; i < sizeof names / sizeof names[0]; i++)
            if (strcmp(v, names[i].name) == 0)
                break;
        if (i == sizeof names / sizeof names[0])
            warn("OTEL_TRACES_SAMPLER", v,
                 "not always_on, always_off, traceidratio or parentbased_*; using "
                 "parentbased_always_on");
        else
            c->sampler = names[i].kind;
    }
    const char *arg = get("OTEL_TRACES_SAMPLER_ARG", ctx);
    if (arg && *arg &&
        (c->sampler == PP__SAMPLER_RATIO || c->sampler == PP__SAMPLER_PARENT_RATIO)) {
        char *end;
        errno = 0;
        double r = strtod(arg, &end);
        if (end == arg || *end || errno || !(r >= 0.0 && r <= 1.0))
            warn("OTEL_TRACES_SAMPLER_ARG", arg, "not a ratio between 0 and 1; using 1.0");
        else
            c->sampler_ratio = r;
    }
}

static uint32_t read_count(pp__otlp_getenv get, void *ctx, const char *name, uint32_t dflt,
                           uint32_t max)
{
    const char *v = get(name, ctx);
    if (!v || !*v)
        return dflt;
    char *end;
    errno = 0;
    unsigned long x = strtoul(v, &end, 10);
    if (!isdigit((unsigned char)v[0]) || *end || errno || x < 1 || x > max) {
        char why[96];
        snprintf(why, sizeof why, "not a whole number from 1 to %u; using %u", max, dflt);
        warn(name, v, why);
        return dflt;
    }
    return (uint32_t)x;
}

static int read_process_name(char *out, size_t cap)
{
    FILE *f = fopen("/proc/self/comm", "r");
    if (!f)
        return -1;
    int ok = fgets(out, (int)cap, f) != NULL;
    fclose(f);
    if (!ok)
        return -1;
    out[strcspn(out, "\n")] = '\0';
    return 0;
}

static int has_attr(const pp__otlp_config *c, const char *k)
{
    for (size_t i = 0; i < c->nattrs; i++)
        if (strcmp(c->attr_keys[i], k) == 0)
            return 1;
    return 0;
}

/* service.instance.id (a random UUID for this run) and host.name, unless given. */
static int add_default_attrs(pp__otlp_config *c)
{
    int rc = PP_OK;
    if (!has_attr(c, "service.instance.id")) {
        unsigned char b[16];
        if (getentropy(b, sizeof b) != 0) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            uint64_t x =
                (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30 ^ (uint64_t)getpid() << 48;
            for (int i = 0; i < 16; i++) {
                x = x * 6364136223846793005ull + 1442695040888963407ull;
                b[i] = (unsigned char)(x >> 56);
            }
        }
        b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
        b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
        char id[40];
        snprintf(id, sizeof id,
                 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                 b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                 b[15]);
        rc = add_attr_copy(c, "service.instance.id", id);
    }
    if (rc == PP_OK && !has_attr(c, "host.name")) {
        char host[256];
        if (gethostname(host, sizeof host) == 0) {
            host[sizeof host - 1] = '\0';
            rc = add_attr_copy(c, "host.name", host);
        }
    }
    return rc;
}

int pp__otlp_config_from_env(pp__otlp_getenv get, void *ctx, pp__otlp_config *out)
{
    memset(out, 0, sizeof *out);
    int rc = PP_OK;
    out->disabled = read_bool(get, ctx, "OTEL_SDK_DISABLED");
    signal_url(get, ctx, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "/v1/traces", out->traces_url);
    signal_url(get, ctx, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "/v1/metrics", out->metrics_url);
    const char *v = get("OTEL_TRACES_EXPORTER", ctx);
    if (v && strcmp(v, "none") == 0)
        out->traces_url[0] = '\0';
    v = get("OTEL_METRICS_EXPORTER", ctx);
    if (v && strcmp(v, "none") == 0)
        out->metrics_url[0] = '\0';
    const char *name;
    v = get2(get, ctx, NULL, "OTEL_EXPORTER_OTLP_PROTOCOL", &name);
    if (v) {
        if (strcmp(v, "http/json") == 0)
            out->json = 1;
        else if (strcmp(v, "http/protobuf") != 0)
            warn(name, v,
                 "not http/protobuf or http/json (grpc is not supported); using "
                 "http/protobuf");
    }
    v = get2(get, ctx, NULL, "OTEL_EXPORTER_OTLP_COMPRESSION", &name);
    if (v) {
        if (strcmp(v, "gzip") == 0)
            out->gzip = 1;
        else if (strcmp(v, "none") != 0)
            warn(name, v, "not gzip or none; sending uncompressed");
    }
    out->traces_timeout_ms = read_ms(get, ctx, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
                                     "OTEL_EXPORTER_OTLP_TIMEOUT", 10000, 1);
    out->metrics_timeout_ms = read_ms(get, ctx, "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
                                      "OTEL_EXPORTER_OTLP_TIMEOUT", 10000, 1);
    if ((rc = read_headers(get, ctx, "OTEL_EXPORTER_OTLP_TRACES_HEADERS", out->traces_headers)) ||
        (rc = read_headers(get, ctx, "OTEL_EXPORTER_OTLP_METRICS_HEADERS", out->metrics_headers)))
        goto out;
    /* resource: service.name (OTEL_SERVICE_NAME first), then the list */
    v = get("OTEL_SERVICE_NAME", ctx);
    if (v && *v && (rc = add_attr_copy(out, "service.name", v)))
        goto out;
    v = get("OTEL_RESOURCE_ATTRIBUTES", ctx);
    if (v && *v && (rc = each_pair("OTEL_RESOURCE_ATTRIBUTES", v, add_attr, out)))
        goto out;
    int have_name = 0;
    for (size_t i = 0; i < out->nattrs; i++)
        have_name |= strcmp(out->attr_keys[i], "service.name") == 0;
    if (!have_name) {
        char comm[64] = "postprof", svc[96];
        (void)read_process_name(comm, sizeof comm);
        snprintf(svc, sizeof svc, "unknown_service:%s", comm);
        if ((rc = add_attr_copy(out, "service.name", svc)))
            goto out;
    }
    if ((rc = add_default_attrs(out)))
        goto out;
    read_sampler(get, ctx, out);
    uint32_t q = read_count(get, ctx, "OTEL_BSP_MAX_QUEUE_SIZE", 2048, 1u << 20);
    out->queue_size = 1;
    while (out->queue_size < q)
        out->queue_size <<= 1;
    out->batch_size = read_count(get, ctx, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512, 1u << 20);
    if (out->batch_size > q) {
        warn("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", get("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", ctx),
             "larger than OTEL_BSP_MAX_QUEUE_SIZE; using the queue size");
        out->batch_size = q;
    }
    out->schedule_delay_ms = read_ms(get, ctx, NULL, "OTEL_BSP_SCHEDULE_DELAY", 5000, 1);
    out->export_timeout_ms = read_ms(get, ctx, NULL, "OTEL_BSP_EXPORT_TIMEOUT", 30000, 1);
    out->metric_interval_ms = read_ms(get, ctx, NULL, "OTEL_METRIC_EXPORT_INTERVAL", 60000, 1);
    /* the flush at exit: one request's timeout, at most 5 s, unless
     * POSTPROF_OTLP_EXIT_TIMEOUT says how long a program may wait at exit */
    uint64_t t = out->traces_timeout_ms > out->metrics_timeout_ms ? out->traces_timeout_ms
                                                                  : out->metrics_timeout_ms;
    out->shutdown_ms =
        read_ms(get, ctx, NULL, "POSTPROF_OTLP_EXIT_TIMEOUT", t < 5000 ? t : 5000, 1);
out:
    if (rc != PP_OK)
        pp__otlp_config_release(out);
    return rc;
}

void pp__otlp_config_release(pp__otlp_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; c->traces_headers[i]; i++)
        free(c->traces_headers[i]);
    for (size_t i = 0; c->metrics_headers[i]; i++)
        free(c->metrics_headers[i]);
    for (size_t i = 0; i < c->nattrs; i++) {
        free(c->attr_keys[i]);
        free(c->attr_values[i]);
    }
    memset(c, 0, sizeof *c);
}
