/*
 * fuzz_causal.c - libFuzzer harness for the two causal parsers: the
 * experiment log a program writes under `postprof causal`
 * (pp_causal_log_parse, then pp_causal_analyze) and causal.json read back
 * (pp_causal_json_parse). Any bytes give PP_OK or an error, never a crash,
 * leak or out-of-bounds access.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include <postprof/causal.h>
#include <postprof/error.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    size_t skipped = 0;
    pp_causal_log *log = pp_causal_log_new();
    if (log &&
        pp_causal_log_parse(log, (const char *)data, size, &skipped, err, sizeof err) == PP_OK) {
        pp_causal_result *r = NULL;
        double widest;
        if (pp_causal_analyze(log, &r, &widest) == PP_OK)
            pp_causal_result_free(r);
    }
    pp_causal_log_free(log);
    pp_causal_result *j = NULL;
    if (pp_causal_json_parse((const char *)data, size, &j, err, sizeof err) == PP_OK)
        pp_causal_result_free(j);
    return 0;
}
