/* STUB - replaced by the parser work. */
#include "report.h"
const char *warn_token(enum warn_code c) { (void)c; return "unknown"; }
