/* fgcosim simulate (placeholder until its module lands). */
#include "cmds.h"

#include <stdio.h>

int cmd_simulate(int argc, char **argv)
{
    fprintf(stderr, "fgcosim simulate: not built yet\n");
    return 1;
}
