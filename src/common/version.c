/*
 * version.c - The linked library's version string.
 */
#include <postprof/version.h>

const char *pp_version(void)
{
    return PP_VERSION_STRING;
}
