/*
 * fuzz_config_ini.c - libFuzzer harness for the INI configuration parser
 * (pp_config_parse_string over inih): any text gives PP_OK or an error with
 * a line number, never a crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/config.h>
#include <postprof/error.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    pp_config cfg;
    pp_config_defaults(&cfg);
    char err[256];
    int line = 0;
    int rc = pp_config_parse_string(&cfg, text, err, sizeof err, &line);
    if (rc == PP_EFORMAT && line <= 0)
        abort(); /* an error must name its line */
    free(text);
    return 0;
}
