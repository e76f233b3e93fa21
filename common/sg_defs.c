#include "sg_defs.h"
#include "sg_log.h"
#include "sg_signal.h"

#include <stdlib.h>
#include <string.h>

void sg_oom(const char *what)
{
        sg_error("out of memory (%s): aborting", what);
        abort();
}

void *sg_xmalloc(size_t size)
{
        void *p = malloc(size ? size : 1);

        if (!p)
                sg_oom("malloc");
        return p;
}

void *sg_xcalloc(size_t n, size_t size)
{
        void *p = calloc(n ? n : 1, size ? size : 1);

        if (!p)
                sg_oom("calloc");
        return p;
}

void *sg_xrealloc(void *p, size_t size)
{
        void *q = realloc(p, size ? size : 1);

        if (!q)
                sg_oom("realloc");
        return q;
}

char *sg_xstrdup(const char *s)
{
        char *p = strdup(s);

        if (!p)
                sg_oom("strdup");
        return p;
}

void sg_backoff_init(sg_backoff_t *b, int first_ms, int max_ms)
{
        b->first_ms = first_ms;
        b->max_ms = max_ms;
        sg_backoff_reset(b);
}

void sg_backoff_reset(sg_backoff_t *b)
{
        b->delay_ms = b->first_ms;
        b->attempt = 0;
}

int sg_backoff_next(sg_backoff_t *b)
{
        int ms = b->delay_ms;

        b->attempt++;
        b->delay_ms = b->delay_ms > b->max_ms / 2 ? b->max_ms : b->delay_ms * 2;
        return ms;
}

int sg_backoff_wait(sg_backoff_t *b)
{
        return sg_sleep_ms(sg_backoff_next(b));
}
