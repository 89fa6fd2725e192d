/* Subcommands of the fgcosim command: argv[0] is the subcommand name. */
#ifndef FGCOSIM_CMDS_H
#define FGCOSIM_CMDS_H

int cmd_netlist(int argc, char **argv);
int cmd_simulate(int argc, char **argv);
int cmd_simulate_mpi(int argc, char **argv); /* fgcosim-mpi (FGCOSIM_MPI) */
int cmd_fit(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_recalibrate(int argc, char **argv);
int cmd_corners(int argc, char **argv);
int cmd_tmodel(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_evaluate(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_explore(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_diagnose(int argc, char **argv);

typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv); /* exit status: 0, 1, or 2 (bad input) */
    const char *help;
} app_command;

/* The table, ended by a NULL name; the one named name, or NULL. */
const app_command *app_commands(void);
const app_command *app_command_find(const char *name);

#endif
