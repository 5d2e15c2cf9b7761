/*
 * fuzz_crash_report.c - The crash report reader behind `postprof crash-report`
 * (the text it prints and the Sentry event made from it) and the DSN parser
 * (the input's first line). Aborts when a printed text carries a control
 * character (anything pp__safe_text would escape) or the event is not JSON.
 */
#include <string.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>

#include "common/safe_text.h"
#include "fuzz/fuzz_tmpfile.h"

#include <postprof/crash.h>
#include <postprof/error.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[32];
    if (pp_fuzz_tmpfile(data, size, path) != 0)
        return 0;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    pp_crash_read_info info;
    if (out) {
        int rc = pp_crash_symbolize(path, out, &info, NULL, 0);
        fclose(out);
        /* what reaches the terminal: only text, tabs and newlines */
        if (rc == 0 && pp__safe_text_needed(text, len, 1))
            abort();
        /* a report without its end marker always says so */
        if (rc == 0 && info.truncated && !strstr(text, "\ntruncated: "))
            abort();
        free(text);
    }
    char *json = NULL;
    if (pp_crash_sentry_event(path, &json, &info, NULL, 0) == 0) {
        json_t *ev = json_loads(json, 0, NULL);
        if (!ev || pp__safe_text_needed(json, strlen(json), 0))
            abort();
        json_decref(ev);
        free(json);
    }
    unlink(path);
    char dsn[1100], url[1200], auth[1300];
    size_t n = size < sizeof dsn - 1 ? size : sizeof dsn - 1;
    const uint8_t *nl = memchr(data, '\n', n);
    if (nl)
        n = (size_t)(nl - data);
    memcpy(dsn, data, n);
    dsn[n] = '\0';
    int dsn_rc = pp_sentry_dsn_parse(dsn, url, sizeof url, auth, sizeof auth);
    if (dsn_rc != 0 && dsn_rc != PP_EINVAL) /* a DSN is taken or refused, nothing else */
        abort();
    return 0;
}
