/* One Suite per module; tests/runner.c runs them all (select one with
 * CK_RUN_SUITE=name, e.g. CK_RUN_SUITE=cosim:alter). */
#ifndef FG_TEST_SUITES_H
#define FG_TEST_SUITES_H

#include <check.h>

Suite *core_suite(void);
Suite *netlists_suite(void);
Suite *cosim_suite(void);
Suite *model_fit_suite(void);
Suite *train_suite(void);
Suite *apps_suite(void);
Suite *api_suite(void);

/* Folder of tests/fixtures (set by meson as FG_FIXTURES) and of the built
 * fgcosim command (FG_BUILD_DIR). */
#ifndef FG_FIXTURES
#define FG_FIXTURES "tests/fixtures"
#endif

#endif
