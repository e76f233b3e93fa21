#ifndef SG_DEFS_H
#define SG_DEFS_H

/* Small things every module uses. */

#include <stddef.h>

/* A fallible function's result must be looked at. */
#define SG_MUST_CHECK __attribute__((warn_unused_result))

/* Out of memory: one policy everywhere. The daemons' allocations are
 * bounded (batches, queues, request lists), so running out means the
 * machine is out of memory or a bound is wrong: log one line and abort
 * (a core for the post-mortem) rather than limp on. These never return
 * NULL. */
void *sg_xmalloc(size_t size);
void *sg_xcalloc(size_t n, size_t size);
void *sg_xrealloc(void *p, size_t size);
char *sg_xstrdup(const char *s);

/* Logs "out of memory (what)" and aborts. */
void sg_oom(const char *what) __attribute__((noreturn));

/* Capped exponential backoff, the one every retry loop uses: the first
 * wait is first_ms, each next one doubles, up to max_ms. */
typedef struct sg_backoff {
        int first_ms;
        int max_ms;
        int delay_ms; /* the next wait */
        int attempt;  /* waits so far */
} sg_backoff_t;

void sg_backoff_init(sg_backoff_t *b, int first_ms, int max_ms);

/* Back to the first wait (after a success). */
void sg_backoff_reset(sg_backoff_t *b);

/* The next wait, in ms, for a loop that does not sleep (it sets a
 * deadline); the one after it doubles. */
int sg_backoff_next(sg_backoff_t *b);

/* Sleeps the next wait (waking early on a stop request). Returns 1 if a
 * stop was requested, else 0. */
int sg_backoff_wait(sg_backoff_t *b) SG_MUST_CHECK;

#endif
