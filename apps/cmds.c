/* The subcommands of fgcosim, the one list of them (main.c's dispatch and
 * usage, and the pipelines' in-process steps). */
#include "cmds.h"
#include "app_common.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

#include <string.h>

static const app_command commands[] = {
    {"netlist", cmd_netlist, "write a complete SPICE deck for a layout"},
    {"simulate", cmd_simulate, "run calibration patterns through libngspice"},
    {"fit", cmd_fit, "fit the compact HWA model to SPICE data"},
    {"validate", cmd_validate, "SER of a fitted model on any SPICE data set"},
    {"recalibrate", cmd_recalibrate, "trim T_max and refit a model at an operating corner"},
    {"tmodel", cmd_tmodel, "one model over a temperature range, from models at a few temperatures"},
    {"corners", cmd_corners, "accuracy over a grid of temperature, supply and drift corners"},
    {"train", cmd_train, "train a reference network"},
    {"sweep", cmd_sweep, "train and evaluate over a grid of perturbations (resumable)"},
    {"evaluate", cmd_evaluate, "evaluate a checkpoint on a backend"},
    {"diagnose", cmd_diagnose, "which perturbations hardware-aware training can compensate"},
    {"demo", cmd_demo, "the whole loop on one layout: report and summary.json"},
    {"explore", cmd_explore, "compare layouts: parasitics, fit, accuracy on SPICE"},
    {NULL, NULL, NULL},
};


const app_command *app_commands(void) { return commands; }

const app_command *app_command_find(const char *name)
{
    for (const app_command *c = commands; name && c->name; c++)
        if (!strcmp(c->name, name))
            return c;
    return NULL;
}

fg_status app_subcommand_json(const char *const *args, cJSON **out)
{
    *out = NULL;
    const app_command *c = app_command_find(args[1]);
    if (!c)
        return fg_error(FG_ERR_INTERNAL, "no command '%s'", args[1]);
    int argc = 0;
    while (args[argc])
        argc++;
    char **argv = calloc((size_t)argc + 1, sizeof *argv); /* getopt permutes */
    if (!argv)
        return fg_error(FG_ERR_NOMEM, "out of memory");
    for (int k = 0; k < argc; k++)
        argv[k] = (char *)args[k];
    fflush(NULL);
    fg_error_clear();
    app_json_capture(out);
    int rc = c->fn(argc - 1, argv + 1);
    app_json_capture(NULL);
    free(argv);
    fg_status st = FG_OK;
    if (rc != 0) {
        char msg[1024]; /* the command's own message, as it printed it */
        snprintf(msg, sizeof msg, "%s", fg_errmsg());
        st = fg_error(rc == 2 ? FG_ERR_RANGE : FG_ERR_INTERNAL, "fgcosim %s: %s",
                      args[1], msg[0] ? msg : "failed");
    } else if (!*out) {
        st = fg_error(FG_ERR_INTERNAL, "fgcosim %s gave no JSON result", args[1]);
    }
    if (st != FG_OK) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return st;
}
