/* fgcosim: the command line. Each subcommand lives in its own cmd_*.c. */
#include "cmds.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} commands[] = {
    {"netlist", cmd_netlist, "write a complete SPICE deck for a layout"},
    {"simulate", cmd_simulate, "run calibration patterns through libngspice"},
    {"fit", cmd_fit, "fit the compact HWA model to SPICE data"},
    {"validate", cmd_validate, "SER of a fitted model on any SPICE data set"},
    {"recalibrate", cmd_recalibrate, "trim T_max and refit a model at an operating corner"},
    {"corners", cmd_corners, "accuracy over a grid of temperature, supply and drift corners"},
    {"train", cmd_train, "train a reference network"},
    {"sweep", cmd_sweep, "train and evaluate over a grid of perturbations (resumable)"},
    {"evaluate", cmd_evaluate, "evaluate a checkpoint on a backend"},
    {"diagnose", cmd_diagnose, "which perturbations hardware-aware training can compensate"},
    {"demo", cmd_demo, "the whole loop on one layout: report and summary.json"},
    {"explore", cmd_explore, "compare layouts: parasitics, fit, accuracy on SPICE"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: fgcosim COMMAND [options]   (fgcosim COMMAND --help; "
               "fgcosim --version)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].help);
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
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "fgcosim: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
