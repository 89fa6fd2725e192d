/* fgcosim netlist (placeholder until its module lands). */
#include "cmds.h"

#include <stdio.h>

int cmd_netlist(int argc, char **argv)
{
    fprintf(stderr, "fgcosim netlist: not built yet\n");
    return 1;
}
