#ifndef SG_PG_ERR_H
#define SG_PG_ERR_H

/* A PostgreSQL failure (sg_pg.h has the model): a privacy-safe one-line
 * message, the SQLSTATE, and whether waiting may help. Apart from sg_pg.h
 * so that modules that only pass failures on need not include libpq. */

#include <stdbool.h>

typedef struct sg_pg_err {
        char sqlstate[6]; /* "" when there is none */
        bool transient;   /* wait it out: reconnect and retry */
        char msg[512];
} sg_pg_err_t;

#endif
