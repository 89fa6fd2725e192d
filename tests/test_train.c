/* Tests of train/ (filled in by the module's own work). */
#include "suites.h"

Suite *train_suite(void)
{
    return suite_create("train");
}
