#ifndef RETENTION_STORE_H
#define RETENTION_STORE_H

/* sg-retention's SQL: what the catalog says about a table's partitions
 * (the view retention_partitions and sg_partition_default_months, both
 * from sql/012_retention.sql), the actions (sg_partition_create,
 * sg_partition_drop: identifiers are quoted there, with format('%I')),
 * and retention_log. Every function runs in the caller's transaction. */

#include <stdbool.h>
#include <stddef.h>
#include <libpq-fe.h>

#include "plan.h"
#include "sg_defs.h"
#include "sg_pg.h"

/* Reads table's partitions and its DEFAULT partition's rows per month
 * into heap arrays the caller frees (*parts, *months). Returns 0, or -1
 * with err. */
int sg_retention_store_load(PGconn *conn, const char *table,
                            sg_retention_part_t **parts, size_t *nparts,
                            sg_retention_month_t **months, size_t *nmonths,
                            sg_pg_err_t *err) SG_MUST_CHECK;

/* Carries out one action of table's plan (dry_run: counts only) and
 * records it in retention_log; a->rows receives the rows created from
 * DEFAULT, dropped or (dry run) that would be. A CREATE whose partition
 * exists by now is not recorded: *done false. Returns 0, or -1 with
 * err. */
int sg_retention_store_act(PGconn *conn, const char *table,
                           sg_retention_action_t *a, bool dry_run, bool *done,
                           sg_pg_err_t *err) SG_MUST_CHECK;

/* After drops of events_raw partitions: removes the event_ids rows of
 * events dated before `before` that events_raw no longer holds (dry run:
 * records `expected`, the dropped rows, and changes nothing), and records
 * it. *rows receives the count. Returns 0, or -1 with err. */
int sg_retention_store_forget_ids(PGconn *conn, long long before,
                                  bool dry_run, long long expected,
                                  long long *rows,
                                  sg_pg_err_t *err) SG_MUST_CHECK;

#endif
