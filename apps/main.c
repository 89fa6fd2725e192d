/* fgcosim: the command line. Each subcommand lives in its own cmd_*.c. */
#include "cmds.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: fgcosim COMMAND [options]   (fgcosim COMMAND --help; "
               "fgcosim --version)\n\ncommands:\n");
    for (const app_command *c = app_commands(); c->name; c++)
        fprintf(f, "  %-12s %s\n", c->name, c->help);
}

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "C");
    if (argc == 2 && !strcmp(argv[1], "--version")) {
        printf("fgcosim %s\n", FGCOSIM_VERSION);
        return 0;
    }
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const app_command *c = app_command_find(argv[1]);
    if (c)
        return c->fn(argc - 1, argv + 1);
    fprintf(stderr, "fgcosim: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
