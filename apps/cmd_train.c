/* fgcosim train (placeholder until its module lands). */
#include "cmds.h"

#include <stdio.h>

int cmd_train(int argc, char **argv)
{
    fprintf(stderr, "fgcosim train: not built yet\n");
    return 1;
}
