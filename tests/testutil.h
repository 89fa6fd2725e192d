/* Helpers shared by the test files. */
#ifndef FG_TESTUTIL_H
#define FG_TESTUTIL_H

#include <stddef.h>

/* Runs `ngspice -b` (HOME isolated) on deck text and parses its
 * `vbl<j> = value` lines into v (16); fails the test if any is missing. */
void tu_ngspice_program(const char *deck, double *v /*(16)*/);
/* The same for lines scanned by fmt ("%d" the index 0..15, then "%lf"). */
void tu_ngspice_values(const char *deck, const char *fmt, double *v /*(16)*/);
/* Runs the built fgcosim with args; stdout to /dev/null, stderr to
 * TU_ERR_FILE; returns the exit status. */
/* stderr of the last run: a file per test process, so that two test runs
 * at once do not read each other's messages */
const char *tu_err_file(void);
/* "/tmp/fgcosim-test-<pid>-NAME" in buf (n bytes): a temporary path of this
 * test process, so that two test runs (or suites run at once) never share
 * a file; returns buf. */
char *tu_tmp(char *buf, size_t n, const char *name);
/* The same path in a static buffer (valid until the next call). */
const char *tu_tmp_path(const char *name);
/* tu_run_fgcosim on a printf-formatted argument string. */
int tu_run_fgcosimf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define TU_ERR_FILE tu_err_file()
int tu_run_fgcosim(const char *args);
/* The same with stdout captured into out (n bytes at most, NUL-terminated;
 * the rest is read and dropped); stderr to TU_ERR_FILE. */
int tu_run_fgcosim_out(const char *args, char *out, size_t n);
/* The first line of the last run's stderr (TU_ERR_FILE) into line;
 * returns the number of lines it has. */
int tu_err_lines(char *line, size_t n);
/* Writes text to a new temporary file; returns its malloc'd path. */
char *tu_write_tmp(const char *text, const char *suffix);

#endif
