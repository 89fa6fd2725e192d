/* Tests of model_fit/ (filled in by the module's own work). */
#include "suites.h"

Suite *model_fit_suite(void)
{
    return suite_create("model_fit");
}
