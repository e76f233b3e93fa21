#include "compare_render.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sg_defs.h"
#include "sg_md.h"

/* Tables are sg_md tables: the header row holds identifiers (set as
 * Markdown, shown as they are), the other rows data (set as text, escaped
 * in Markdown). */
static void grid_print_text(const sg_md_table_t *g, FILE *fp,
                            const char *indent)
{
        sg_buf_t out;

        sg_buf_init(&out);
        sg_md_table_render_text(g, &out, indent);
        fputs(out.data, fp);
        sg_buf_fini(&out);
}

static void grid_print_markdown(const sg_md_table_t *g, FILE *fp)
{
        sg_buf_t out;

        sg_buf_init(&out);
        sg_md_table_render(g, &out);
        fputs(out.data, fp);
        sg_buf_fini(&out);
}

int sg_compare_format_parse(const char *s, sg_compare_format_t *out)
{
        if (strcmp(s, "table") == 0)
                *out = SG_COMPARE_TABLE;
        else if (strcmp(s, "markdown") == 0)
                *out = SG_COMPARE_MARKDOWN;
        else if (strcmp(s, "json") == 0)
                *out = SG_COMPARE_JSON;
        else
                return -1;
        return 0;
}

long long sg_compare_differences(const sg_compare_result_t *r)
{
        long long n = 0;

        for (int i = 0; i < r->ntables; i++)
                n += r->tables[i].differences;
        return n;
}

static long long compare_compared(const sg_compare_result_t *r)
{
        long long n = 0;

        for (int i = 0; i < r->ntables; i++)
                n += r->tables[i].compared;
        return n;
}

static bool is_zero(const char *s)
{
        bool digit = false;

        for (; *s; s++) {
                if (*s >= '1' && *s <= '9')
                        return false;
                if (*s == '0')
                        digit = true;
        }
        return digit;
}

/* A delta with its sign: "+3", "-2.50", "0". */
static void fmt_delta(const char *d, char *out, size_t size)
{
        if (!d)
                snprintf(out, size, "-");
        else if (d[0] == '-' || d[0] == '+' || is_zero(d))
                snprintf(out, size, "%s", d);
        else
                snprintf(out, size, "+%s", d);
}

/* "differs", "batch only" or "streaming only"; with underscores for
 * JSON. */
static const char *row_status(const sg_compare_row_t *row, bool json)
{
        if (!row->in_batch)
                return json ? "streaming_only" : "streaming only";
        if (!row->in_streaming)
                return json ? "batch_only" : "batch only";
        return "differs";
}

static void fmt_offset(long long v, char *out, size_t size)
{
        if (v < 0)
                snprintf(out, size, "-");
        else
                snprintf(out, size, "%lld", v);
}

/* How many partitions one group is behind the other, and by how many
 * offsets in all. */
static void compare_lag(const sg_compare_result_t *r, int *stream_parts,
                        long long *stream_behind, int *raw_parts,
                        long long *raw_behind)
{
        *stream_parts = *raw_parts = 0;
        *stream_behind = *raw_behind = 0;
        for (int i = 0; i < r->npartitions; i++) {
                const sg_compare_partition_t *p = &r->partitions[i];
                long long raw = p->raw_offset < 0 ? 0 : p->raw_offset;
                long long stream = p->stream_offset < 0 ? 0 : p->stream_offset;

                if (stream < raw) {
                        (*stream_parts)++;
                        *stream_behind += raw - stream;
                } else if (raw < stream) {
                        (*raw_parts)++;
                        *raw_behind += stream - raw;
                }
        }
}

/* --- text table and Markdown ----------------------------------------- */

static void table_title(const sg_compare_table_t *t, char *out, size_t size)
{
        snprintf(out, size,
                 "%s (metrics_batch_%s vs metrics_streaming_%s): %lld rows "
                 "compared, %lld difference%s",
                 t->name, t->name, t->name, t->compared, t->differences,
                 t->differences == 1 ? "" : "s");
}

/* Text: each differing row on three lines (batch, streaming, delta). */
static void render_table_text(FILE *fp, const sg_compare_table_t *t)
{
        char title[512], buf[64];
        int vcol = t->nkeys + 1;
        sg_md_table_t g;

        table_title(t, title, sizeof(title));
        fprintf(fp, "%s\n", title);
        if (t->nrows == 0)
                return;
        sg_md_table_init(&g, vcol + t->nvalues, NULL, NULL);
        for (int k = 0; k < t->nkeys; k++)
                sg_md_table_set(&g, k, t->key_names[k]);
        sg_md_table_set(&g, t->nkeys, "side");
        for (int v = 0; v < t->nvalues; v++) {
                sg_md_table_set(&g, vcol + v, t->value_names[v]);
                g.align[vcol + v] = SG_MD_RIGHT;
        }
        for (int i = 0; i < t->nrows; i++) {
                const sg_compare_row_t *row = &t->rows[i];

                sg_md_table_add_row(&g);
                for (int k = 0; k < t->nkeys; k++)
                        sg_md_table_set_text(&g, k, row->key[k]);
                sg_md_table_set_text(&g, t->nkeys, "batch");
                for (int v = 0; v < t->nvalues; v++)
                        sg_md_table_set_text(&g, vcol + v,
                                 row->in_batch ? row->batch[v]
                                               : (v == 0 ? "(no row)" : NULL));
                sg_md_table_add_row(&g);
                sg_md_table_set_text(&g, t->nkeys, "streaming");
                for (int v = 0; v < t->nvalues; v++)
                        sg_md_table_set_text(&g, vcol + v,
                                 row->in_streaming
                                     ? row->streaming[v]
                                     : (v == 0 ? "(no row)" : NULL));
                sg_md_table_add_row(&g);
                sg_md_table_set_text(&g, t->nkeys, "delta");
                for (int v = 0; v < t->nvalues; v++) {
                        fmt_delta(row->delta[v], buf, sizeof(buf));
                        sg_md_table_set_text(&g, vcol + v, buf);
                }
        }
        grid_print_text(&g, fp, "  ");
        sg_md_table_fini(&g);
}

/* Markdown: one row per difference, batch / streaming / delta columns. */
static void render_table_markdown(FILE *fp, const sg_compare_table_t *t)
{
        char title[512], buf[64];
        int vcol = t->nkeys + 1;
        sg_md_table_t g;

        table_title(t, title, sizeof(title));
        fprintf(fp, "## %s\n\n", title);
        if (t->nrows == 0)
                return;
        sg_md_table_init(&g, vcol + 3 * t->nvalues, NULL, NULL);
        for (int k = 0; k < t->nkeys; k++)
                sg_md_table_set(&g, k, t->key_names[k]);
        sg_md_table_set(&g, t->nkeys, "status");
        for (int v = 0; v < t->nvalues; v++) {
                for (int s = 0; s < 3; s++) {
                        static const char *const side[3] = {
                            "batch", "streaming", "delta"};
                        sg_md_table_setf(&g, vcol + 3 * v + s, "%s %s",
                                  t->value_names[v], side[s]);
                        g.align[vcol + 3 * v + s] = SG_MD_RIGHT;
                }
        }
        for (int i = 0; i < t->nrows; i++) {
                const sg_compare_row_t *row = &t->rows[i];

                sg_md_table_add_row(&g);
                for (int k = 0; k < t->nkeys; k++)
                        sg_md_table_set_text(&g, k, row->key[k]);
                sg_md_table_set_text(&g, t->nkeys, row_status(row, false));
                for (int v = 0; v < t->nvalues; v++) {
                        sg_md_table_set_text(&g, vcol + 3 * v,
                                 row->in_batch ? row->batch[v] : "-");
                        sg_md_table_set_text(&g, vcol + 3 * v + 1,
                                 row->in_streaming ? row->streaming[v] : "-");
                        fmt_delta(row->delta[v], buf, sizeof(buf));
                        sg_md_table_set_text(&g, vcol + 3 * v + 2, buf);
                }
        }
        grid_print_markdown(&g, fp);
        fputc('\n', fp);
        sg_md_table_fini(&g);
}

static void partitions_grid(const sg_compare_result_t *r, sg_md_table_t *g)
{
        char buf[32];

        sg_md_table_init(g, 6, NULL, NULL);
        sg_md_table_set(g, 0, "partition");
        sg_md_table_set(g, 1, r->raw_group);
        sg_md_table_set(g, 2, r->stream_group);
        sg_md_table_set(g, 3, "streaming behind");
        sg_md_table_set(g, 4, "events_raw rows in dates");
        sg_md_table_set(g, 5, "duplicates");
        for (int c = 0; c < 6; c++)
                g->align[c] = SG_MD_RIGHT;
        for (int i = 0; i < r->npartitions; i++) {
                const sg_compare_partition_t *p = &r->partitions[i];

                sg_md_table_add_row(g);
                sg_md_table_setf(g, 0, "%d", p->partition);
                fmt_offset(p->raw_offset, buf, sizeof(buf));
                sg_md_table_set_text(g, 1, buf);
                fmt_offset(p->stream_offset, buf, sizeof(buf));
                sg_md_table_set_text(g, 2, buf);
                /* A group with no stored offset has read nothing. */
                if (p->raw_offset >= 0 || p->stream_offset >= 0)
                        sg_md_table_setf(
                            g, 3, "%lld",
                            (p->raw_offset < 0 ? 0 : p->raw_offset) -
                                (p->stream_offset < 0 ? 0 : p->stream_offset));
                else
                        sg_md_table_set_text(g, 3, "-");
                sg_md_table_setf(g, 4, "%lld", p->events);
                sg_md_table_setf(g, 5, "%lld", p->duplicates);
        }
}

/* The notes that help tell lag from a bug, one per line, each prefixed
 * by bullet. */
static void render_notes(FILE *fp, const sg_compare_result_t *r,
                         const char *bullet)
{
        int stream_parts, raw_parts;
        long long stream_behind, raw_behind;

        if (r->unbatched > 0) {
                fprintf(fp,
                        "%ssg-batch-metrics has never run for %lld of the "
                        "selected dates (metrics_batch_runs)",
                        bullet, r->unbatched);
                for (int i = 0; i < r->nunbatched_listed; i++)
                        fprintf(fp, "%s%s", i ? ", " : ": ",
                                r->unbatched_dates[i]);
                if (r->nunbatched_listed < r->unbatched)
                        fprintf(fp, ", ...");
                fprintf(fp, "; their batch rows are missing, not wrong.\n");
        }
        compare_lag(r, &stream_parts, &stream_behind, &raw_parts, &raw_behind);
        if (stream_parts > 0)
                fprintf(fp,
                        "%s%s is behind %s on %d partition%s (%lld offsets): "
                        "the streaming side of the latest dates may be "
                        "short until it catches up.\n",
                        bullet, r->stream_group, r->raw_group, stream_parts,
                        stream_parts == 1 ? "" : "s", stream_behind);
        if (raw_parts > 0)
                fprintf(fp,
                        "%s%s is behind %s on %d partition%s (%lld offsets): "
                        "events_raw, which the batch reads, may be short "
                        "until it catches up (then re-run "
                        "sg-batch-metrics).\n",
                        bullet, r->raw_group, r->stream_group, raw_parts,
                        raw_parts == 1 ? "" : "s", raw_behind);
        if (r->duplicates > 0)
                fprintf(fp,
                        "%sevents_duplicates holds %lld upstream duplicate%s "
                        "(%lld of them for events in the selected dates): "
                        "sg-raw-store "
                        "stored each event_id once, so the batch counts it "
                        "once, but the streaming path counts every "
                        "delivery.\n",
                        bullet, r->duplicates, r->duplicates == 1 ? "" : "s",
                        r->duplicates_in_range);
        if (r->raw_gaps > 0 || r->stream_gaps > 0)
                fprintf(fp,
                        "%soffset_gaps: %s %lld gap%s (%lld events lost), "
                        "%s %lld gap%s (%lld events lost); an event lost "
                        "by one group but not by the other makes the "
                        "sides differ.\n",
                        bullet, r->raw_group, r->raw_gaps,
                        r->raw_gaps == 1 ? "" : "s", r->raw_lost,
                        r->stream_group, r->stream_gaps,
                        r->stream_gaps == 1 ? "" : "s", r->stream_lost);
}

static void verdict(const sg_compare_result_t *r, char *out, size_t size)
{
        long long diff = sg_compare_differences(r);
        size_t len;

        if (diff == 0) {
                snprintf(out, size,
                         "EQUAL: 0 differences in %d tables (%lld rows "
                         "compared)",
                         r->ntables, compare_compared(r));
                return;
        }
        len = (size_t)snprintf(out, size, "DIFFERENT: %lld difference%s (",
                               diff, diff == 1 ? "" : "s");
        for (int i = 0; i < r->ntables && len < size; i++)
                len += (size_t)snprintf(out + len, size - len, "%s%s %lld",
                                        i ? ", " : "", r->tables[i].name,
                                        r->tables[i].differences);
        if (len < size)
                snprintf(out + len, size - len, ")");
}

static void render_text(FILE *fp, const sg_compare_result_t *r)
{
        char line[512];
        sg_md_table_t g;

        fprintf(fp, "sg-compare: batch vs streaming metrics, %s%s\n\n",
                r->all ? "" : "dates ", r->range);
        for (int i = 0; i < r->ntables; i++) {
                const sg_compare_table_t *t = &r->tables[i];

                render_table_text(fp, t);
                if (t->differences > t->nrows)
                        fprintf(fp,
                                "  ... and %lld more not listed "
                                "(--max-rows)\n",
                                t->differences - t->nrows);
                fputc('\n', fp);
        }
        fprintf(fp, "consumer progress (topic %s): stored next offsets\n",
                r->topic);
        partitions_grid(r, &g);
        if (r->npartitions > 0)
                grid_print_text(&g, fp, "  ");
        else
                fprintf(fp, "  no offsets stored and no events in the "
                            "selected dates\n");
        sg_md_table_fini(&g);
        fprintf(fp,
                "offset_gaps: %s %lld (%lld events lost), %s %lld "
                "(%lld events lost)\n",
                r->raw_group, r->raw_gaps, r->raw_lost, r->stream_group,
                r->stream_gaps, r->stream_lost);
        render_notes(fp, r, "note: ");
        verdict(r, line, sizeof(line));
        fprintf(fp, "\nverdict: %s\n", line);
}

static void render_markdown(FILE *fp, const sg_compare_result_t *r)
{
        char line[512];
        sg_md_table_t g;

        fprintf(fp, "# Batch vs streaming metrics: %s\n\n", r->range);
        for (int i = 0; i < r->ntables; i++) {
                const sg_compare_table_t *t = &r->tables[i];

                render_table_markdown(fp, t);
                if (t->differences > t->nrows)
                        fprintf(fp,
                                "... and %lld more not listed "
                                "(`--max-rows`).\n\n",
                                t->differences - t->nrows);
        }
        fprintf(fp,
                "## Consumer progress (topic %s)\n\n"
                "Stored next offsets per partition.\n\n",
                r->topic);
        partitions_grid(r, &g);
        if (r->npartitions > 0)
                grid_print_markdown(&g, fp);
        else
                fprintf(fp, "No offsets stored and no events in the "
                            "selected dates.\n");
        sg_md_table_fini(&g);
        fprintf(fp,
                "\noffset_gaps: %s %lld (%lld events lost), %s %lld "
                "(%lld events lost)\n\n",
                r->raw_group, r->raw_gaps, r->raw_lost, r->stream_group,
                r->stream_gaps, r->stream_lost);
        render_notes(fp, r, "- ");
        verdict(r, line, sizeof(line));
        fprintf(fp, "\n**Verdict: %s**\n", line);
}

/* --- JSON ------------------------------------------------------------ */

/* Adds v to obj under key; a NULL v (out of memory) marks *oom. */
static void jset(json_t *obj, const char *key, json_t *v, bool *oom)
{
        if (!v || json_object_set_new(obj, key, v) < 0)
                *oom = true;
}

static void jappend(json_t *arr, json_t *v, bool *oom)
{
        if (!v || json_array_append_new(arr, v) < 0)
                *oom = true;
}

/* A JSON string; text that is not valid UTF-8 (json_string refuses it)
 * is sent with every non-ASCII byte as '?'. NULL only when out of
 * memory. */
/* root as indented JSON and a newline (NULL after an out-of-memory);
 * takes root. The caller frees the text. */
static char *json_text(json_t *root, bool oom)
{
        char *text = oom ? NULL : json_dumps(root, JSON_INDENT(2));
        char *out = NULL;

        if (text) {
                size_t n = strlen(text);
                out = sg_xmalloc(n + 2);
                memcpy(out, text, n);
                out[n] = '\n';
                out[n + 1] = '\0';
                free(text);
        }
        json_decref(root);
        return out;
}

static json_t *json_str(const char *s)
{
        json_t *v = json_string(s);
        char *copy;

        if (v)
                return v;
        copy = sg_xstrdup(s);
        for (char *p = copy; *p; p++)
                if ((unsigned char)*p >= 0x80)
                        *p = '?';
        v = json_string(copy);
        free(copy);
        return v;
}

static json_t *json_value(const char *s, sg_compare_kind_t kind)
{
        char *end;
        long long v;

        if (!s)
                return json_null();
        if (kind == SG_COMPARE_INT) {
                errno = 0;
                v = strtoll(s, &end, 10);
                if (!errno && end != s && !*end)
                        return json_integer(v);
        }
        return json_str(s);
}

static json_t *json_offset(long long v)
{
        return v < 0 ? json_null() : json_integer(v);
}

static json_t *json_side(const sg_compare_table_t *t, const char *const *vals,
                         bool present, bool *oom)
{
        json_t *o;

        if (!present)
                return json_null();
        o = json_object();
        if (!o)
                return NULL;
        for (int v = 0; v < t->nvalues; v++)
                jset(o, t->value_names[v],
                     json_value(vals[v], t->value_kinds[v]), oom);
        return o;
}

static json_t *json_table(const sg_compare_table_t *t, bool *oom)
{
        char name[128];
        json_t *o = json_object(), *rows = json_array();

        if (!o || !rows) {
                json_decref(o);
                json_decref(rows);
                return NULL;
        }
        jset(o, "name", json_str(t->name), oom);
        snprintf(name, sizeof(name), "metrics_batch_%s", t->name);
        jset(o, "batch_table", json_str(name), oom);
        snprintf(name, sizeof(name), "metrics_streaming_%s", t->name);
        jset(o, "streaming_table", json_str(name), oom);
        jset(o, "compared", json_integer(t->compared), oom);
        jset(o, "differences", json_integer(t->differences), oom);
        jset(o, "listed", json_integer(t->nrows), oom);
        for (int i = 0; i < t->nrows; i++) {
                const sg_compare_row_t *row = &t->rows[i];
                json_t *jr = json_object(), *key = json_object();
                json_t *delta = json_object();

                if (!jr || !key || !delta) {
                        json_decref(jr);
                        json_decref(key);
                        json_decref(delta);
                        *oom = true;
                        break;
                }
                for (int k = 0; k < t->nkeys; k++)
                        jset(key, t->key_names[k],
                             json_str(row->key[k] ? row->key[k] : ""), oom);
                for (int v = 0; v < t->nvalues; v++)
                        jset(delta, t->value_names[v],
                             json_value(row->delta[v], t->value_kinds[v]), oom);
                jset(jr, "key", key, oom);
                jset(jr, "status", json_str(row_status(row, true)), oom);
                jset(jr, "batch", json_side(t, row->batch, row->in_batch, oom),
                     oom);
                jset(jr, "streaming",
                     json_side(t, row->streaming, row->in_streaming, oom), oom);
                jset(jr, "delta", delta, oom);
                jappend(rows, jr, oom);
        }
        jset(o, "rows", rows, oom);
        return o;
}

static char *render_json(const sg_compare_result_t *r)
{
        json_t *root = json_object(), *tables = json_array();
        json_t *dates = json_array(), *unbatched = json_object();
        json_t *consumers = json_object(), *parts = json_array();
        json_t *gaps = json_object(), *g;
        char line[512];
        bool oom = false;

        if (!root || !tables || !dates || !unbatched || !consumers || !parts ||
            !gaps) {
                json_decref(root);
                json_decref(tables);
                json_decref(dates);
                json_decref(unbatched);
                json_decref(consumers);
                json_decref(parts);
                json_decref(gaps);
                return NULL;
        }
        jset(root, "range", json_str(r->range), &oom);
        jset(root, "all", json_boolean(r->all), &oom);
        jset(root, "from", r->all || !r->from ? json_null() : json_str(r->from),
             &oom);
        jset(root, "to", r->all || !r->to ? json_null() : json_str(r->to),
             &oom);
        jset(root, "equal", json_boolean(sg_compare_differences(r) == 0), &oom);
        jset(root, "differences", json_integer(sg_compare_differences(r)),
             &oom);
        for (int i = 0; i < r->ntables; i++)
                jappend(tables, json_table(&r->tables[i], &oom), &oom);
        jset(root, "tables", tables, &oom);

        jset(unbatched, "count", json_integer(r->unbatched), &oom);
        for (int i = 0; i < r->nunbatched_listed; i++)
                jappend(dates, json_str(r->unbatched_dates[i]), &oom);
        jset(unbatched, "dates", dates, &oom);
        jset(root, "never_batched", unbatched, &oom);

        jset(consumers, "topic", json_str(r->topic), &oom);
        jset(consumers, "raw_group", json_str(r->raw_group), &oom);
        jset(consumers, "stream_group", json_str(r->stream_group), &oom);
        for (int i = 0; i < r->npartitions; i++) {
                const sg_compare_partition_t *p = &r->partitions[i];
                json_t *jp = json_object(), *next = json_object();

                if (!jp || !next) {
                        json_decref(jp);
                        json_decref(next);
                        oom = true;
                        break;
                }
                jset(jp, "partition", json_integer(p->partition), &oom);
                jset(next, r->raw_group, json_offset(p->raw_offset), &oom);
                jset(next, r->stream_group, json_offset(p->stream_offset),
                     &oom);
                jset(jp, "next_offset", next, &oom);
                jset(jp, "events_in_dates", json_integer(p->events), &oom);
                jset(jp, "duplicates", json_integer(p->duplicates), &oom);
                jappend(parts, jp, &oom);
        }
        jset(consumers, "partitions", parts, &oom);
        g = json_pack("{s:I,s:I}", "gaps", (json_int_t)r->raw_gaps,
                      "lost_events", (json_int_t)r->raw_lost);
        jset(gaps, r->raw_group, g, &oom);
        g = json_pack("{s:I,s:I}", "gaps", (json_int_t)r->stream_gaps,
                      "lost_events", (json_int_t)r->stream_lost);
        jset(gaps, r->stream_group, g, &oom);
        jset(consumers, "offset_gaps", gaps, &oom);
        jset(consumers, "duplicates", json_integer(r->duplicates), &oom);
        jset(consumers, "duplicates_in_dates",
             json_integer(r->duplicates_in_range), &oom);
        jset(root, "consumers", consumers, &oom);
        verdict(r, line, sizeof(line));
        jset(root, "verdict", json_str(line), &oom);

        return json_text(root, oom);
}

/* The text written to fp (from open_memstream on *buf), or NULL if
 * out of memory. */
static char *memstream_text(FILE *fp, char **buf)
{
        if (ferror(fp)) {
                fclose(fp);
                free(*buf);
                return NULL;
        }
        if (fclose(fp) != 0) {
                free(*buf);
                return NULL;
        }
        return *buf;
}

char *sg_compare_render(const sg_compare_result_t *r, sg_compare_format_t fmt)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *fp;

        if (fmt == SG_COMPARE_JSON)
                return render_json(r);
        if (!(fp = open_memstream(&buf, &len)))
                return NULL;
        if (fmt == SG_COMPARE_MARKDOWN)
                render_markdown(fp, r);
        else
                render_text(fp, r);
        return memstream_text(fp, &buf);
}

/* --- compliance flags (sg-compare --compliance) ---------------------- */

#define FLAG_CELL_MAX 60 /* bytes of a value shown in a table cell */

/* A value for a table cell: "NULL" for SQL NULL, cut to FLAG_CELL_MAX
 * bytes (at a character boundary) with "..." after. */
static void flag_cell(const char *v, char *out, size_t size)
{
        size_t len;

        if (!v) {
                snprintf(out, size, "NULL");
                return;
        }
        len = strlen(v);
        if (len <= FLAG_CELL_MAX) {
                snprintf(out, size, "%s", v);
                return;
        }
        len = FLAG_CELL_MAX;
        while (len > 0 && ((unsigned char)v[len] & 0xc0) == 0x80)
                len--;
        snprintf(out, size, "%.*s...", (int)len, v);
}

static const char *flag_status(const sg_compare_flag_t *f, bool json)
{
        if (!f->in_batch)
                return json ? "streaming_only" : "streaming only";
        if (!f->in_streaming)
                return json ? "batch_only" : "batch only";
        return "differs";
}

static void flags_title(const sg_compare_flags_t *r, char *out, size_t size)
{
        snprintf(out, size,
                 "compliance flags (compliance_flags_batch vs "
                 "compliance_flags): %lld flag%s compared (batch %lld, "
                 "streaming %lld), %lld difference%s",
                 r->compared, r->compared == 1 ? "" : "s", r->batch_flags,
                 r->streaming_flags, r->differences,
                 r->differences == 1 ? "" : "s");
}

static void flags_verdict(const sg_compare_flags_t *r, char *out, size_t size)
{
        if (r->differences == 0)
                snprintf(out, size,
                         "EQUAL: 0 differences (%lld flags compared)",
                         r->compared);
        else
                snprintf(out, size,
                         "DIFFERENT: %lld difference%s (%lld differ, %lld "
                         "batch only, %lld streaming only)",
                         r->differences, r->differences == 1 ? "" : "s",
                         r->differences - r->batch_only - r->streaming_only,
                         r->batch_only, r->streaming_only);
}

/* The listed flags as one grid: a line per column shown, the flag's
 * identity on its first line only. */
static void flags_grid(const sg_compare_flags_t *r, sg_md_table_t *g)
{
        static const char *const head[] = {
            "flag_id", "rule",   "subject", "window_start",
            "status",  "column", "batch",   "streaming"};
        char cell[FLAG_CELL_MAX + 8], subject[160];

        sg_md_table_init(g, 8, head, NULL);
        for (int i = 0; i < r->nrows; i++) {
                const sg_compare_flag_t *f = &r->rows[i];

                for (int c = 0; c < f->ncols || c == 0; c++) {
                        sg_md_table_add_row(g);
                        if (c == 0) {
                                snprintf(subject, sizeof(subject), "%s %s",
                                         f->subject_type ? f->subject_type
                                                         : "?",
                                         f->subject_id ? f->subject_id : "?");
                                sg_md_table_set_text(g, 0, f->flag_id);
                                sg_md_table_set_text(g, 1, f->rule);
                                sg_md_table_set_text(g, 2, subject);
                                sg_md_table_set_text(g, 3, f->window_start);
                                sg_md_table_set_text(g, 4,
                                                     flag_status(f, false));
                        }
                        if (c >= f->ncols)
                                break;
                        sg_md_table_set_text(g, 5, f->col[c]);
                        if (f->in_batch)
                                flag_cell(f->batch[c], cell, sizeof(cell));
                        sg_md_table_set_text(g, 6,
                                             f->in_batch ? cell : "(no row)");
                        if (f->in_streaming)
                                flag_cell(f->streaming[c], cell, sizeof(cell));
                        sg_md_table_set_text(g, 7, f->in_streaming
                                                       ? cell
                                                       : "(no row)");
                }
        }
}

static void flags_text(FILE *fp, const sg_compare_flags_t *r)
{
        char line[512];
        sg_md_table_t g;

        fprintf(fp, "sg-compare: batch vs streaming compliance flags, %s%s\n\n",
                r->all ? "" : "dates ", r->range);
        flags_title(r, line, sizeof(line));
        fprintf(fp, "%s\n", line);
        if (r->nrows > 0) {
                flags_grid(r, &g);
                grid_print_text(&g, fp, "  ");
                sg_md_table_fini(&g);
        }
        if (r->differences > r->nrows)
                fprintf(fp, "  ... and %lld more not listed (--max-rows)\n",
                        r->differences - r->nrows);
        flags_verdict(r, line, sizeof(line));
        fprintf(fp, "\nverdict: %s\n", line);
}

static void flags_markdown(FILE *fp, const sg_compare_flags_t *r)
{
        char line[512];
        sg_md_table_t g;

        fprintf(fp, "# Batch vs streaming compliance flags: %s\n\n", r->range);
        flags_title(r, line, sizeof(line));
        fprintf(fp, "## %s\n\n", line);
        if (r->nrows > 0) {
                flags_grid(r, &g);
                grid_print_markdown(&g, fp);
                fputc('\n', fp);
                sg_md_table_fini(&g);
        }
        if (r->differences > r->nrows)
                fprintf(fp, "... and %lld more not listed (`--max-rows`).\n\n",
                        r->differences - r->nrows);
        flags_verdict(r, line, sizeof(line));
        fprintf(fp, "**Verdict: %s**\n", line);
}

static json_t *json_opt_str(const char *s)
{
        return s ? json_str(s) : json_null();
}

static char *flags_json(const sg_compare_flags_t *r)
{
        json_t *root = json_object(), *flags = json_array();
        char line[512];
        bool oom = false;

        if (!root || !flags) {
                json_decref(root);
                json_decref(flags);
                return NULL;
        }
        jset(root, "mode", json_str("compliance"), &oom);
        jset(root, "range", json_str(r->range), &oom);
        jset(root, "all", json_boolean(r->all), &oom);
        jset(root, "from", r->all || !r->from ? json_null() : json_str(r->from),
             &oom);
        jset(root, "to", r->all || !r->to ? json_null() : json_str(r->to),
             &oom);
        jset(root, "equal", json_boolean(r->differences == 0), &oom);
        jset(root, "compared", json_integer(r->compared), &oom);
        jset(root, "batch_flags", json_integer(r->batch_flags), &oom);
        jset(root, "streaming_flags", json_integer(r->streaming_flags), &oom);
        jset(root, "differences", json_integer(r->differences), &oom);
        jset(root, "batch_only", json_integer(r->batch_only), &oom);
        jset(root, "streaming_only", json_integer(r->streaming_only), &oom);
        jset(root, "listed", json_integer(r->nrows), &oom);
        for (int i = 0; i < r->nrows && !oom; i++) {
                const sg_compare_flag_t *f = &r->rows[i];
                json_t *jf = json_object(), *cols = json_array();

                if (!jf || !cols) {
                        json_decref(jf);
                        json_decref(cols);
                        oom = true;
                        break;
                }
                jset(jf, "flag_id", json_opt_str(f->flag_id), &oom);
                jset(jf, "rule", json_opt_str(f->rule), &oom);
                jset(jf, "subject_type", json_opt_str(f->subject_type), &oom);
                jset(jf, "subject_id", json_opt_str(f->subject_id), &oom);
                jset(jf, "window_start", json_opt_str(f->window_start), &oom);
                jset(jf, "status", json_str(flag_status(f, true)), &oom);
                for (int c = 0; c < f->ncols; c++) {
                        json_t *jc = json_object();

                        if (!jc) {
                                oom = true;
                                break;
                        }
                        jset(jc, "column", json_str(f->col[c]), &oom);
                        jset(jc, "batch",
                             f->in_batch ? json_opt_str(f->batch[c])
                                         : json_null(),
                             &oom);
                        jset(jc, "streaming",
                             f->in_streaming ? json_opt_str(f->streaming[c])
                                             : json_null(),
                             &oom);
                        jappend(cols, jc, &oom);
                }
                jset(jf, "columns", cols, &oom);
                jappend(flags, jf, &oom);
        }
        jset(root, "flags", flags, &oom);
        flags_verdict(r, line, sizeof(line));
        jset(root, "verdict", json_str(line), &oom);
        return json_text(root, oom);
}

char *sg_compare_flags_render(const sg_compare_flags_t *r,
                              sg_compare_format_t fmt)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *fp;

        if (fmt == SG_COMPARE_JSON)
                return flags_json(r);
        if (!(fp = open_memstream(&buf, &len)))
                return NULL;
        if (fmt == SG_COMPARE_MARKDOWN)
                flags_markdown(fp, r);
        else
                flags_text(fp, r);
        return memstream_text(fp, &buf);
}
