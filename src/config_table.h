/* The option table, shared by its two readers: config.c, which loads a file
 * by it, and config_doc.c, which writes the example and the reference from
 * it. Internal to those two; everyone else sees pb_config_t. */
#ifndef PB_CONFIG_TABLE_H
#define PB_CONFIG_TABLE_H

#include <stddef.h>
#include <stdint.h>

enum opt_type {
        OPT_STR,    /* char * */
        OPT_INT,    /* int64_t, with min/max */
        OPT_ENUM,   /* int index into choices */
        OPT_BOOL,   /* int 0/1 */
        OPT_KVLIST, /* list of "key=value" strings -> pb_kv_t array */
        OPT_SECRET  /* char *path at off, secret text at off2; env var first */
};

struct pb_option {
        const char *name; /* "group.key" */
        enum opt_type type;
        size_t off;
        size_t off2;
        const char *def;            /* default as text, NULL if none */
        int64_t min, max;           /* OPT_INT */
        const char *const *choices; /* OPT_ENUM, NULL-terminated */
        const char *env;            /* OPT_SECRET: environment variable */
        const char *example;        /* value shown in the example file */
        const char *doc;
};

/* The options, in the order of the example file and of `check-config`. */
extern const struct pb_option pb_options[];
extern const size_t pb_options_n;

#endif
