/* Tests of cosim/ (filled in by the module's own work). */
#include "suites.h"

Suite *cosim_suite(void)
{
    return suite_create("cosim");
}
