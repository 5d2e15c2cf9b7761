/*
 * fuzz_push_query.c - Labels of a profile push (POSTPROF_PUSH_LABELS,
 * --push-labels: text from outside) through the label check and the /ingest
 * query: whatever is accepted is sent URL-encoded (nothing but unreserved
 * characters and %XX in the query) and decodes back to exactly
 * APP.cpu{labels}; whatever is refused says why.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/error.h>

#include "telemetry/pyroscope_impl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *labels = malloc(size + 1);
    if (!labels)
        return 0;
    memcpy(labels, data, size);
    labels[size] = '\0';
    char err[256] = "";
    pp_push_opts o = {.url = "http://127.0.0.1:4040/", .app = "fuzz-app", .labels = labels};
    int rc = pp_push_check(&o, err, sizeof err);
    if (rc != PP_OK) {
        if (rc != PP_EINVAL || !err[0])
            abort(); /* a refusal always says why */
        free(labels);
        return 0;
    }
    pp__strbuf b;
    pp__strbuf_init(&b, 1 << 16);
    if (pp__push_url(&o, PP_PROFILE_CPU, 99, 1, 2, &b) != PP_OK)
        abort();
    const char *q = strstr(b.data, "name=");
    if (!q || strncmp(b.data, "http://127.0.0.1:4040/ingest?format=pprof&", 42) != 0)
        abort();
    q += 5;
    const char *end = strchr(q, '&');
    char *name = malloc((size_t)(end - q) + 1);
    size_t n = 0;
    for (const char *c = q; c < end; c++) {
        if (*c == '%') {
            int hi = hexval(c[1]), lo = c[1] ? hexval(c[2]) : -1;
            if (hi < 0 || lo < 0)
                abort();
            name[n++] = (char)(hi * 16 + lo);
            c += 2;
        } else if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                   (*c >= '0' && *c <= '9') || *c == '-' || *c == '.' || *c == '_' || *c == '~') {
            name[n++] = *c;
        } else {
            abort(); /* a reserved character went out bare */
        }
    }
    name[n] = '\0';
    size_t want_len = strlen("fuzz-app.cpu{}") + strlen(labels);
    if (n != want_len || strncmp(name, "fuzz-app.cpu{", 13) != 0 ||
        strncmp(name + 13, labels, strlen(labels)) != 0 || name[n - 1] != '}')
        abort();
    free(name);
    pp__strbuf_release(&b);
    free(labels);
    return 0;
}
