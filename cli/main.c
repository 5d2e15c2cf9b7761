/*
 * main.c - The postprof command: dispatch to a subcommand (commands.def),
 * --version, --help, and the usage errors shared by every subcommand.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <postprof/postprof.h>

#include "cli.h"

typedef struct {
    const char *name;
    const char *summary;
    int (*fn)(int, char **);
} command;

static const command commands[] = {
#define PP_CMD(fn_, name_, summary_) {name_, summary_, cmd_##fn_},
#include "commands.def"
#undef PP_CMD
};

static void usage(FILE *f)
{
    fprintf(f, "usage: postprof [--version] [--help] <command> [<args>]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nRun 'postprof <command> --help' for a command's options.\n");
}

int cli_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

int cli_usage_error(const char *cmd, const char *usage_text, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "postprof %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n%s", usage_text ? usage_text : "");
    return PP_EXIT_USAGE;
}

int cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "postprof %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return PP_EXIT_FAIL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "postprof: missing command\n");
        usage(stderr);
        return PP_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        printf("postprof %s\n", pp_version());
        return PP_EXIT_OK;
    }
    if (cli_is_help(name) || strcmp(name, "help") == 0) {
        usage(stdout);
        return PP_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    if (name[0] == '-')
        fprintf(stderr, "postprof: unknown option '%s'\n", name);
    else
        fprintf(stderr, "postprof: unknown command '%s'\n", name);
    usage(stderr);
    return PP_EXIT_USAGE;
}
