/*
 * cmd_run.c - `postprof run`: the main job. Until the optimizer lands it runs
 * the instrumented demo and prints what it measured.
 */
#include "cli.h"

int cmd_run(int argc, char **argv)
{
    return cmd_demo(argc, argv);
}
