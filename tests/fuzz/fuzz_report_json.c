/*
 * fuzz_report_json.c - libFuzzer harness for the JSON report reader
 * (pp_report_read_json): any bytes must give PP_OK or an error, never a
 * crash, leak or out-of-bounds access; what is read must render again.
 */
#include <stdint.h>
#include <stdlib.h>

#include <postprof/report.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pp_report *r = NULL;
    char err[256];
    if (pp_report_read_json((const char *)data, size, &r, err, sizeof err) == PP_OK) {
        char *s = NULL;
        if (pp_report_to_json_string(r, &s) == PP_OK)
            free(s);
        pp_report_free(r);
    }
    return 0;
}
