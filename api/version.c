/* The project version, from meson.build (-DFGC_VERSION). */
#include "fgcosim.h"

#ifndef FGC_VERSION
#error "FGC_VERSION comes from meson (api/meson.build)"
#endif

const char *fgc_version(void) { return FGC_VERSION; }
