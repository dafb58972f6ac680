/* The documents generated from the option table: the commented example in
 * conf/ and the reference table in docs/operations.md, so that neither can
 * drift from the code. */
#ifndef PB_CONFIG_DOC_H
#define PB_CONFIG_DOC_H

#include <stdio.h>

/* Prints the commented example configuration generated from the table. */
void pb_config_print_example(FILE *out);

/* Prints the option reference (Markdown) generated from the table. */
void pb_config_print_reference(FILE *out);

#endif
