/* fgcosim evaluate (placeholder until its module lands). */
#include "cmds.h"

#include <stdio.h>

int cmd_evaluate(int argc, char **argv)
{
    fprintf(stderr, "fgcosim evaluate: not built yet\n");
    return 1;
}
