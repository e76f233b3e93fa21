#include "ledger.h"
#include "sg_defs.h"

#include <stdlib.h>
#include <string.h>

#define SG_LEDGER_MAX_PARTITION 1000000

void sg_ledger_init(sg_ledger_t *l)
{
        memset(l, 0, sizeof(*l));
}

void sg_ledger_fini(sg_ledger_t *l)
{
        for (int t = 0; t < l->ntopics; t++) {
                free(l->topics[t].name);
                free(l->topics[t].parts);
        }
        free(l->topics);
        memset(l, 0, sizeof(*l));
}

static sg_ledger_topic_t *sg_ledger_topic(const sg_ledger_t *l,
                                          const char *topic)
{
        for (int t = 0; t < l->ntopics; t++)
                if (strcmp(l->topics[t].name, topic) == 0)
                        return &l->topics[t];
        return NULL;
}

sg_ledger_part_t *sg_ledger_find(const sg_ledger_t *l, const char *topic,
                                 int32_t partition)
{
        sg_ledger_topic_t *t = sg_ledger_topic(l, topic);

        if (!t || partition < 0 || partition >= t->nparts)
                return NULL;
        return &t->parts[partition];
}

sg_ledger_part_t *sg_ledger_get(sg_ledger_t *l, const char *topic,
                                int32_t partition)
{
        sg_ledger_topic_t *t = sg_ledger_topic(l, topic);
        int n;

        if (partition < 0 || partition > SG_LEDGER_MAX_PARTITION)
                return NULL;
        if (!t) {
                l->topics = sg_xrealloc(l->topics, (size_t)(l->ntopics + 1) *
                                                       sizeof(*l->topics));
                t = &l->topics[l->ntopics++];
                t->name = sg_xstrdup(topic);
                t->parts = NULL;
                t->nparts = 0;
        }
        if (partition >= t->nparts) {
                n = t->nparts ? t->nparts : 16;
                while (n <= partition)
                        n *= 2;
                t->parts = sg_xrealloc(t->parts, (size_t)n * sizeof(*t->parts));
                for (int i = t->nparts; i < n; i++) {
                        t->parts[i].topic = t->name;
                        t->parts[i].partition = i;
                        t->parts[i].assigned = false;
                        t->parts[i].eof = false;
                        t->parts[i].stored = SG_LEDGER_NONE;
                        t->parts[i].pending = SG_LEDGER_NONE;
                }
                t->nparts = n;
        }
        return &t->parts[partition];
}

void sg_ledger_assign(sg_ledger_part_t *p, int64_t stored)
{
        p->assigned = true;
        p->eof = false;
        p->stored = stored;
        p->pending = SG_LEDGER_NONE;
}

void sg_ledger_revoke(sg_ledger_part_t *p)
{
        p->assigned = false;
        p->eof = false;
        p->pending = SG_LEDGER_NONE;
}

bool sg_ledger_add(sg_ledger_t *l, sg_ledger_part_t *p, int64_t offset)
{
        if (!p || !p->assigned)
                return false;
        p->pending = offset + 1;
        p->eof = false;
        l->batch_msgs++;
        return true;
}

void sg_ledger_eof(sg_ledger_part_t *p)
{
        if (p)
                p->eof = true;
}

sg_ledger_part_t *sg_ledger_next(const sg_ledger_t *l, sg_ledger_part_t *p)
{
        int t = 0, i = 0;

        if (p) {
                /* The topic p belongs to, then the entry after it. */
                while (t < l->ntopics && l->topics[t].name != p->topic)
                        t++;
                i = p->partition + 1;
        }
        for (; t < l->ntopics; t++, i = 0)
                if (i < l->topics[t].nparts)
                        return &l->topics[t].parts[i];
        return NULL;
}

int sg_ledger_pending(const sg_ledger_t *l, sg_ledger_batch_t *b)
{
        b->n = 0;
        for (sg_ledger_part_t *p = NULL; (p = sg_ledger_next(l, p));) {
                if (p->pending == SG_LEDGER_NONE)
                        continue;
                if (b->n == b->cap) {
                        b->cap = b->cap ? b->cap * 2 : 16;
                        b->topics = sg_xrealloc(b->topics, (size_t)b->cap *
                                                               sizeof(*b->topics));
                        b->parts = sg_xrealloc(b->parts, (size_t)b->cap *
                                                             sizeof(*b->parts));
                        b->next = sg_xrealloc(b->next, (size_t)b->cap *
                                                           sizeof(*b->next));
                        b->expected = sg_xrealloc(
                            b->expected, (size_t)b->cap * sizeof(*b->expected));
                }
                b->topics[b->n] = p->topic;
                b->parts[b->n] = p->partition;
                b->next[b->n] = p->pending;
                b->expected[b->n] = p->stored;
                b->n++;
        }
        return b->n;
}

void sg_ledger_committed(sg_ledger_t *l, const sg_ledger_batch_t *b)
{
        for (int i = 0; i < b->n; i++) {
                sg_ledger_part_t *p =
                    sg_ledger_find(l, b->topics[i], b->parts[i]);
                if (!p)
                        continue;
                p->stored = b->next[i];
                if (p->pending == b->next[i])
                        p->pending = SG_LEDGER_NONE;
        }
        l->batch_msgs = 0;
}

void sg_ledger_discard(sg_ledger_t *l)
{
        for (sg_ledger_part_t *p = NULL; (p = sg_ledger_next(l, p));)
                p->pending = SG_LEDGER_NONE;
        l->batch_msgs = 0;
}

int64_t sg_ledger_position(const sg_ledger_part_t *p)
{
        return p->pending != SG_LEDGER_NONE ? p->pending : p->stored;
}

int sg_ledger_assigned(const sg_ledger_t *l)
{
        int n = 0;

        for (sg_ledger_part_t *p = NULL; (p = sg_ledger_next(l, p));)
                n += p->assigned;
        return n;
}

bool sg_ledger_all_eof(const sg_ledger_t *l)
{
        int assigned = 0;

        for (sg_ledger_part_t *p = NULL; (p = sg_ledger_next(l, p));) {
                if (!p->assigned)
                        continue;
                if (!p->eof)
                        return false;
                assigned++;
        }
        return assigned > 0;
}

void sg_ledger_batch_init(sg_ledger_batch_t *b)
{
        memset(b, 0, sizeof(*b));
}

void sg_ledger_batch_fini(sg_ledger_batch_t *b)
{
        free(b->topics);
        free(b->parts);
        free(b->next);
        free(b->expected);
        memset(b, 0, sizeof(*b));
}
