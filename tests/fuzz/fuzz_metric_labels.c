/*
 * fuzz_metric_labels.c - Label values and HELP text from outside (site
 * names, application strings) through the registry and both exposition
 * formats: invalid UTF-8 is refused, anything accepted renders with every
 * newline and quote escaped (one sample per line, quotes balanced).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/error.h>
#include <postprof/metrics.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    pp_registry *r = NULL;
    pp_metric *m;
    pp_series *ser;
    const char *l[] = {"v"};
    if (pp_registry_new(NULL, &r) != PP_OK)
        abort();
    if (pp_registry_gauge(r, "fuzz_gauge", s, 1, l, &m) != PP_OK &&
        pp_registry_gauge(r, "fuzz_gauge", "fixed", 1, l, &m) != PP_OK)
        abort();
    if (pp_metric_series(m, (const char *const[]){s}, &ser) == PP_OK)
        pp_series_set(ser, 1.5);
    for (int format = 0; format < 2; format++) {
        char *text = NULL;
        size_t n = 0;
        if (pp_registry_render(r, format, &text, &n) != PP_OK)
            abort();
        /* every line is a comment or a complete sample: name{...} value */
        for (char *line = text; *line;) {
            char *nl = strchr(line, '\n');
            if (!nl)
                abort();
            if (line[0] != '#') {
                int quotes = 0;
                for (char *p = line; p < nl; p++) {
                    if (*p == '\\')
                        p++;
                    else if (*p == '"')
                        quotes++;
                }
                if (quotes % 2 != 0 ||
                    (memchr(line, '{', (size_t)(nl - line)) && !strstr(line, "} ")))
                    abort();
            }
            line = nl + 1;
        }
        free(text);
    }
    pp_registry_free(r);
    free(s);
    return 0;
}
