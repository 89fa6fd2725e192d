/* The single Check runner registered with `meson test`. */
#include "suites.h"

#include <stdlib.h>

int main(void)
{
    SRunner *sr = srunner_create(core_suite());
    srunner_add_suite(sr, netlists_suite());
    srunner_add_suite(sr, cosim_suite());
    srunner_add_suite(sr, model_fit_suite());
    srunner_add_suite(sr, train_suite());
    srunner_add_suite(sr, apps_suite());
    srunner_add_suite(sr, api_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
