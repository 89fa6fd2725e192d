/* Internal to netlists/: text buffer and deck parts shared by the files. */
#ifndef NL_INTERNAL_H
#define NL_INTERNAL_H

#include "netlists.h"

typedef struct {
    char *data;
    size_t len, cap;
    int failed;
} nl_sb;

void nl_sb_printf(nl_sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void nl_write_periphery(nl_sb *b, const nl_deck_spec *s);
/* Appends the user's flat array netlist with VFG values set to dvt. */
fg_status nl_external_array(nl_sb *b, const char *path, const double *dvt);

#endif
