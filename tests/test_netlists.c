/* Tests of netlists/ (filled in by the module's own work). */
#include "suites.h"

Suite *netlists_suite(void)
{
    return suite_create("netlists");
}
