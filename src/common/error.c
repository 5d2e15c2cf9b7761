/*
 * error.c - Text of the status codes; one X-macro list in postprof/error.h.
 */
#include <postprof/error.h>

const char *pp_strerror(int status)
{
    switch (status) {
#define PP__ERR_CASE(name, value, text)                                                            \
    case value:                                                                                    \
        return text;
        PP_ERROR_LIST(PP__ERR_CASE)
#undef PP__ERR_CASE
    }
    return "unknown error";
}
