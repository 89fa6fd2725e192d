/* fgcosim-mpi: `mpirun -np N fgcosim-mpi simulate ...`, the simulate
 * command with its patterns split across MPI ranks (cosim/mpi.c). */
#include "cmds.h"
#include "cosim.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "C");
    if (cosim_mpi_init(&argc, &argv) != FG_OK) {
        fprintf(stderr, "fgcosim-mpi: %s\n", fg_errmsg());
        return 1;
    }
    int rc = 0;
    if (argc == 2 && !strcmp(argv[1], "--version")) {
        if (cosim_mpi_rank() == 0)
            printf("fgcosim-mpi %s\n", FGCOSIM_VERSION);
    } else if (argc >= 2 && !strcmp(argv[1], "simulate"))
        rc = cmd_simulate_mpi(argc - 1, argv + 1);
    else {
        if (cosim_mpi_rank() == 0)
            fprintf(stderr, "usage: mpirun -np N fgcosim-mpi simulate [options]  "
                    "(the options of `fgcosim simulate`; corners and sweep run "
                    "in one process)\n");
        rc = 2;
    }
    cosim_mpi_finalize();
    return rc;
}
