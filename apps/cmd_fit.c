/* fgcosim fit (placeholder until its module lands). */
#include "cmds.h"

#include <stdio.h>

int cmd_fit(int argc, char **argv)
{
    fprintf(stderr, "fgcosim fit: not built yet\n");
    return 1;
}
