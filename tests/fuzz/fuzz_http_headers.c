/*
 * fuzz_http_headers.c - The HTTP header values the server parses from
 * clients: Accept (format negotiation), Accept-Encoding, Authorization, and
 * the --listen address. Any bytes must be handled without a crash or a read
 * past the end, and the results must stay within their ranges.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/http.h>
#include <postprof/metrics.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    int f = pp_expo_negotiate(s);
    if (f != PP_EXPO_TEXT && f != PP_EXPO_OPENMETRICS)
        abort();
    int g = pp_http_accepts_gzip(s);
    if (g != 0 && g != 1)
        abort();
    if (pp_http_check_bearer(s, "tok3n") && strstr(s, "tok3n") == NULL)
        abort();
    char host[64];
    uint16_t port;
    if (pp_http_parse_listen(s, host, sizeof host, &port) == 0 && strlen(host) >= sizeof host)
        abort();
    free(s);
    return 0;
}
