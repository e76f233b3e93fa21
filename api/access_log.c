/* api_access_log's queue and writer (api/access_log.h). */

#include "access_log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "sg_buf.h"
#include "sg_pg.h"
#include "sg_time.h"

struct sg_api_access_log {
        pthread_mutex_t lock;
        sg_api_access_row_t *rows;
        int n, cap, max;
        long long first_ms; /* when the oldest queued row came */
        long long dropped;
};

sg_api_access_log_t *sg_api_access_log_new(int max_rows)
{
        sg_api_access_log_t *l = sg_xcalloc(1, sizeof(*l));

        pthread_mutex_init(&l->lock, NULL);
        l->max = max_rows;
        return l;
}

void sg_api_access_log_destroy(sg_api_access_log_t *l)
{
        if (!l)
                return;
        pthread_mutex_destroy(&l->lock);
        free(l->rows);
        free(l);
}

void sg_api_access_log_add(sg_api_access_log_t *l,
                           const sg_api_access_row_t *row)
{
        pthread_mutex_lock(&l->lock);
        if (l->n >= l->max) {
                l->dropped++;
        } else {
                if (l->n == l->cap) {
                        l->cap = l->cap ? l->cap * 2 : 256;
                        if (l->cap > l->max)
                                l->cap = l->max;
                        l->rows = sg_xrealloc(l->rows,
                                              (size_t)l->cap * sizeof(*l->rows));
                }
                if (l->n == 0)
                        l->first_ms = sg_time_mono_ms();
                l->rows[l->n++] = *row;
        }
        pthread_mutex_unlock(&l->lock);
}

bool sg_api_access_log_due(sg_api_access_log_t *l, long long now_ms)
{
        bool due;

        pthread_mutex_lock(&l->lock);
        due = l->n >= SG_API_ACCESS_FLUSH_ROWS ||
              (l->n > 0 && now_ms - l->first_ms >= SG_API_ACCESS_FLUSH_MS);
        pthread_mutex_unlock(&l->lock);
        return due;
}

int sg_api_access_log_pending(sg_api_access_log_t *l)
{
        int n;

        pthread_mutex_lock(&l->lock);
        n = l->n;
        pthread_mutex_unlock(&l->lock);
        return n;
}

long long sg_api_access_log_dropped(sg_api_access_log_t *l)
{
        long long n;

        pthread_mutex_lock(&l->lock);
        n = l->dropped;
        pthread_mutex_unlock(&l->lock);
        return n;
}

static void put_text_or_null(sg_buf_t *b, const char *s)
{
        if (s && *s)
                sg_buf_copy_text(b, s, strlen(s));
        else
                sg_buf_copy_null(b);
}

int sg_api_access_log_flush(sg_api_access_log_t *l, PGconn *conn,
                            sg_pg_err_t *err)
{
        sg_api_access_row_t *rows;
        int n;
        sg_buf_t b;
        int rc;

        /* Take the queue: the server threads keep adding meanwhile. */
        pthread_mutex_lock(&l->lock);
        rows = l->rows;
        n = l->n;
        l->rows = NULL;
        l->n = l->cap = 0;
        pthread_mutex_unlock(&l->lock);
        if (n == 0) {
                free(rows);
                return 0;
        }
        sg_buf_init(&b);
        for (int i = 0; i < n; i++) {
                const sg_api_access_row_t *r = &rows[i];
                char ts[40], ms[32];

                sg_time_format_pg(r->at_us, ts, sizeof(ts));
                sg_buf_puts(&b, ts);
                sg_buf_putc(&b, '\t');
                put_text_or_null(&b, r->token_name);
                sg_buf_putc(&b, '\t');
                put_text_or_null(&b, r->role);
                sg_buf_putc(&b, '\t');
                put_text_or_null(&b, r->method);
                sg_buf_putc(&b, '\t');
                put_text_or_null(&b, r->route);
                sg_buf_putc(&b, '\t');
                sg_buf_put_int(&b, r->status);
                sg_buf_putc(&b, '\t');
                snprintf(ms, sizeof(ms), "%.3f", r->duration_ms);
                sg_buf_puts(&b, ms);
                sg_buf_putc(&b, '\n');
        }
        rc = sg_pg_copy(conn,
                        "COPY api_access_log (at, token_name, role, method, "
                        "route, status, duration_ms) FROM STDIN",
                        b.data, b.len, err);
        sg_buf_fini(&b);
        if (rc == 0) {
                free(rows);
                return n;
        }
        /* Not written: back in front of what came meanwhile, within the
         * bound (the newest are the ones dropped). */
        pthread_mutex_lock(&l->lock);
        {
                int keep = l->n + n > l->max ? l->max - n : l->n;
                if (keep < 0) {
                        l->dropped += l->n + (n - l->max);
                        n = l->max;
                        keep = 0;
                } else {
                        l->dropped += l->n - keep;
                }
                rows = sg_xrealloc(rows, (size_t)(n + keep > 0 ? n + keep : 1) *
                                             sizeof(*rows));
                if (keep > 0)
                        memcpy(rows + n, l->rows, (size_t)keep * sizeof(*rows));
                free(l->rows);
                l->rows = rows;
                l->n = n + keep;
                l->cap = n + keep;
                l->first_ms = sg_time_mono_ms() - SG_API_ACCESS_FLUSH_MS;
        }
        pthread_mutex_unlock(&l->lock);
        return -1;
}
