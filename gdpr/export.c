#include "export.h"
#include "sg_buf.h"
#include "sg_log.h"
#include "sg_pg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#define EXPORT_FILES 3 /* document, events, checksums */

/* The oldest pending access request nobody else holds; whether its
 * e-mail is blank (then it fails, as an erasure request would). */
static const char SQL_CLAIM[] =
    "SELECT id, nullif(lower(btrim(email)), '') IS NULL FROM privacy_requests "
    " WHERE status = 'pending' AND kind = 'access' "
    " ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED";

/* The users the request names (ids only; sql/013). */
static const char SQL_SUBJECTS[] =
    "SELECT user_id FROM pii_request_subjects($1::bigint, 'access_export')";

/* Whether a consent history can be exported: another migration adds
 * consent_log; without it (or without a user_id column, or not readable)
 * the document says so. */
static const char SQL_CONSENT_STATE[] =
    "SELECT CASE WHEN to_regclass('public.consent_log') IS NULL THEN 'absent'"
    "  WHEN NOT has_table_privilege('public.consent_log', 'SELECT')"
    "    THEN 'not_readable'"
    "  WHEN NOT EXISTS (SELECT 1 FROM pg_attribute"
    "                    WHERE attrelid = to_regclass('public.consent_log')"
    "                      AND attname = 'user_id' AND NOT attisdropped)"
    "    THEN 'no_user_id' ELSE 'included' END";

/* Prepared only when consent_log exists: its rows per user, as JSON. */
static const char SQL_CONSENT[] =
    "SELECT coalesce(json_object_agg(c.uid, c.rows), '{}'::json)::text FROM ("
    "  SELECT l.user_id::text AS uid,"
    "         json_agg(to_jsonb(l) ORDER BY to_jsonb(l)::text) AS rows"
    "    FROM consent_log l WHERE l.user_id::text = ANY ($1::text[])"
    "   GROUP BY l.user_id::text) c";

/* The document. $1 request id, $2 users (uuid[]), $3 consent rows per
 * user (json, NULL when not included), $4 consent state, $5 the events
 * file's name. The personal data come through pii_lookup (purpose
 * access_export: one pii_access_log row per user). Keys keep this order
 * (json, not jsonb). Returns the document, the users and how many of them
 * were erased. */
static const char SQL_DOCUMENT[] =
    "WITH s AS ("
    "  SELECT u.* FROM unnest($2::uuid[]) AS x(id)"
    "  CROSS JOIN LATERAL pii_lookup(x.id, 'access_export') u), "
    "d AS ("
    "  SELECT s.user_id, s.anonymized_at IS NOT NULL AS erased,"
    "   json_build_object("
    "    'user_id', s.user_id,"
    "    'erased', s.anonymized_at IS NOT NULL,"
    "    'erased_at', s.anonymized_at,"
    "    'note', CASE WHEN s.anonymized_at IS NOT NULL THEN"
    "      'this user was erased before this request: no personal data"
    " (e-mail, name, address) remains; what follows is what is kept"
    " without it' END,"
    "    'personal_data', json_build_object("
    "      'email', s.email, 'first_name', s.first_name,"
    "      'last_name', s.last_name, 'street_address', s.street_address,"
    "      'city', s.city, 'postal_code', s.postal_code,"
    "      'country', s.country, 'created_at', s.created_at),"
    "    'profile', (SELECT json_build_object('country', p.country,"
    "                  'signup_date', p.signup_date, 'created_at', p.created_at)"
    "                  FROM users_public p WHERE p.user_id = s.user_id),"
    "    'events', json_build_object('file', $5::text,"
    "      'rows', (SELECT count(*) FROM events_raw e"
    "                WHERE e.user_id = s.user_id)),"
    "    'consent_history', CASE WHEN $3::json IS NULL THEN NULL"
    "      ELSE coalesce($3::json -> s.user_id::text, '[]'::json) END,"
    "    'compliance_flags', (SELECT coalesce(json_agg(json_build_object("
    "        'flag_id', f.flag_id, 'rule', f.rule, 'severity', f.severity,"
    "        'window_start', f.window_start, 'window_end', f.window_end,"
    "        'event_count', f.event_count, 'observed', f.observed,"
    "        'threshold', f.threshold, 'evidence', f.evidence,"
    "        'detected_at', f.detected_at)"
    "        ORDER BY f.window_start, f.flag_id), '[]'::json)"
    "        FROM compliance_flags f"
    "       WHERE f.subject_type = 'user' AND f.subject_id = s.user_id::text),"
    "    'privacy_requests', (SELECT coalesce(json_agg(json_build_object("
    "        'id', q.id, 'kind', q.kind, 'status', q.status,"
    "        'requested_at', q.requested_at, 'processed_at', q.processed_at)"
    "        ORDER BY q.id), '[]'::json)"
    "        FROM privacy_requests q"
    "       WHERE q.user_id = s.user_id OR q.id = $1::bigint)"
    "   ) AS doc FROM s) "
    "SELECT json_build_object("
    "  'format', 'streamguard-access-export/1',"
    "  'request_id', $1::bigint,"
    "  'exported_at', now(),"
    "  'consent_log', $4::text,"
    "  'note', CASE WHEN bool_and(d.erased) THEN"
    "    'every user this request names was erased before it: this export"
    " holds no personal data' END,"
    "  'users', coalesce(json_agg(d.doc ORDER BY d.user_id), '[]'::json)"
    ")::text, count(*), count(*) FILTER (WHERE d.erased) FROM d";

/* The events, as COPY (SELECT ...) TO STDOUT CSV HEADER would write them
 * (the session's TimeZone is UTC for this transaction). */
static const char SQL_EVENTS[] =
    "SELECT * FROM events_raw WHERE user_id = ANY ($1::uuid[]) "
    " ORDER BY event_timestamp, event_id";

/* The outcome: $1 id, $2 status, $3 first user, $4 error, $5 audit
 * action, $6 users (uuid[]: one audit row each; none: one without a
 * user), $7 file names, $8 their SHA-256s. Returns processing_ms. */
static const char SQL_FINISH[] =
    "WITH now_ AS MATERIALIZED (SELECT clock_timestamp() AS t), "
    "r AS ("
    "  UPDATE privacy_requests p"
    "     SET status = $2, processed_at = (SELECT t FROM now_),"
    "         user_id = $3::uuid, email = NULL,"
    "         email_sha256 = encode(sha256(convert_to("
    "             nullif(lower(btrim(p.email)), ''), 'UTF8')), 'hex'),"
    "         error = $4"
    "   WHERE p.id = $1::bigint AND p.status = 'pending'"
    "  RETURNING p.id,"
    "    extract(epoch FROM (SELECT t FROM now_) - p.requested_at) * 1000"
    "      AS ms), "
    "a AS ("
    "  INSERT INTO gdpr_audit_log (request_id, user_id, action,"
    "                              affected_columns, processing_ms, files,"
    "                              files_sha256)"
    "  SELECT r.id, u.id, $5, '{}', r.ms, $7::text[], $8::text[]"
    "    FROM r LEFT JOIN unnest($6::uuid[]) AS u(id) ON true) "
    "SELECT ms FROM r";

/* The export files of the users an erasure of these requests ($1,
 * bigint[]) anonymised: per erasure request and user, the files. */
static const char SQL_PURGE[] =
    "SELECT e.request_id, e.user_id, array_agg(DISTINCT f ORDER BY f)::text"
    "  FROM gdpr_audit_log e"
    "  JOIN gdpr_audit_log x ON x.user_id = e.user_id"
    "                       AND x.action = 'access_export'"
    " CROSS JOIN unnest(x.files) AS f"
    " WHERE e.action = 'anonymize_user' AND e.request_id = ANY ($1::bigint[])"
    " GROUP BY e.request_id, e.user_id ORDER BY 1, 2";

static const char SQL_PURGED[] =
    "INSERT INTO gdpr_audit_log (request_id, user_id, action, files) "
    "VALUES ($1::bigint, $2::uuid, 'export_deleted', $3::text[])";

static const char *const sg_export_names[SG_EXPORT__CNT] = {
    "exported", "not_found", "failed"};

const char *sg_export_status_name(sg_export_status_t st)
{
        return st >= 0 && st < SG_EXPORT__CNT ? sg_export_names[st] : "?";
}

void sg_export_csv_field(sg_buf_t *b, const char *v, bool is_null)
{
        if (is_null)
                return;
        if (v[0] != '\0' && strpbrk(v, ",\"\r\n") == NULL &&
            strcmp(v, "\\.") != 0) {
                sg_buf_puts(b, v);
                return;
        }
        sg_buf_putc(b, '"');
        for (const char *p = v; *p; p++) {
                if (*p == '"')
                        sg_buf_putc(b, '"');
                sg_buf_putc(b, *p);
        }
        sg_buf_putc(b, '"');
}

/* Hex SHA-256 of data. Returns 0, or -1 (libcrypto failed). */
static int sha256_hex(const char *data, size_t len, char out[65])
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;

        if (!EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) || n != 32)
                return -1;
        for (unsigned int i = 0; i < n; i++)
                snprintf(out + 2 * i, 3, "%02x", md[i]);
        return 0;
}

/* mkdir -p with mode 0700 for what it creates. Returns 0, or -1 (errno). */
static int mkdirs(const char *dir)
{
        char path[4096];
        size_t n = strlen(dir);

        if (n == 0 || n >= sizeof(path)) {
                errno = ENAMETOOLONG;
                return -1;
        }
        memcpy(path, dir, n + 1);
        for (char *p = path + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(path, 0700) < 0 && errno != EEXIST)
                        return -1;
                *p = '/';
        }
        if (mkdir(path, 0700) < 0 && errno != EEXIST)
                return -1;
        return 0;
}

/* Writes dir/name with mode 0600 whatever the umask: a new file under a
 * temporary name (O_CREAT | O_EXCL | O_NOFOLLOW), fchmod, fsync, renamed
 * into place (an earlier attempt's file of the same name, left by a crash
 * before its commit, is replaced). Returns 0, or -1 with why. */
static int write_file(const char *dir, const char *name, const char *data,
                      size_t len, char *why, size_t why_size)
{
        char tmp[4096], final[4096];
        int fd = -1;
        size_t off = 0;

        if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.%ld.tmp", dir, name,
                             (long)getpid()) >= sizeof(tmp) ||
            (size_t)snprintf(final, sizeof(final), "%s/%s", dir, name) >=
                sizeof(final)) {
                snprintf(why, why_size, "export path too long");
                return -1;
        }
        (void)unlink(tmp); /* our own pid's leftover from a crash */
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  0600);
        if (fd < 0 || fchmod(fd, 0600) < 0)
                goto fail;
        while (off < len) {
                ssize_t w = write(fd, data + off, len - off);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        goto fail;
                }
                off += (size_t)w;
        }
        if (fsync(fd) < 0 || close(fd) < 0) {
                fd = -1;
                goto fail;
        }
        fd = -1;
        if (rename(tmp, final) < 0)
                goto fail;
        return 0;
fail:
        snprintf(why, why_size, "export file %s: %s", name, strerror(errno));
        if (fd >= 0)
                close(fd);
        (void)unlink(tmp);
        return -1;
}

static void unlink_in(const char *dir, const char *name)
{
        char path[4096];

        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) <
            sizeof(path))
                (void)unlink(path);
}

/* The request's outcome and audit rows (SQL_FINISH). Returns 0, or -1
 * with err. */
static int finish(PGconn *conn, sg_export_outcome_t *out, const char *users,
                  const char *action, const char *files, const char *sums,
                  sg_pg_err_t *err)
{
        char id[24];
        const char *params[8] = {id,
                                 sg_export_status_name(out->status),
                                 out->user_id[0] ? out->user_id : NULL,
                                 out->error[0] ? out->error : NULL,
                                 action,
                                 users,
                                 files,
                                 sums};
        PGresult *res;

        snprintf(id, sizeof(id), "%lld", out->request_id);
        res = sg_pg_query(conn, SQL_FINISH, 8, params, 1,
                          "recording the export", err);
        if (!res)
                return -1;
        out->processing_ms = strtod(PQgetvalue(res, 0, 0), NULL);
        PQclear(res);
        return 0;
}

/* The consent rows of the users (json text, caller frees), or NULL with
 * *state saying why not. Returns 0, or -1 with err. */
static int consent_rows(PGconn *conn, const char *users_text, char **json,
                        char state[16], sg_pg_err_t *err)
{
        const char *params[1] = {users_text};
        PGresult *res;

        *json = NULL;
        res = sg_pg_query(conn, SQL_CONSENT_STATE, 0, NULL, 1,
                          "checking consent_log", err);
        if (!res)
                return -1;
        snprintf(state, 16, "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        if (strcmp(state, "included") != 0)
                return 0;
        res = sg_pg_query(conn, SQL_CONSENT, 1, params, 1,
                          "reading consent_log", err);
        if (!res)
                return -1;
        *json = sg_xstrdup(PQgetvalue(res, 0, 0));
        PQclear(res);
        return 0;
}

/* The events as CSV into b; *rows their number. Returns 0, or -1. */
static int events_csv(PGconn *conn, const char *users, sg_buf_t *b,
                      long long *rows, sg_pg_err_t *err)
{
        const char *params[1] = {users};
        PGresult *res = sg_pg_query(conn, SQL_EVENTS, 1, params, 0,
                                    "reading the events", err);
        int nf;

        if (!res)
                return -1;
        nf = PQnfields(res);
        for (int j = 0; j < nf; j++) {
                if (j)
                        sg_buf_putc(b, ',');
                sg_export_csv_field(b, PQfname(res, j), false);
        }
        sg_buf_putc(b, '\n');
        for (int i = 0; i < PQntuples(res); i++) {
                for (int j = 0; j < nf; j++) {
                        if (j)
                                sg_buf_putc(b, ',');
                        sg_export_csv_field(b, PQgetvalue(res, i, j),
                                            PQgetisnull(res, i, j));
                }
                sg_buf_putc(b, '\n');
        }
        *rows = PQntuples(res);
        PQclear(res);
        return 0;
}

int sg_export_next(PGconn *conn, const char *dir, sg_export_outcome_t *out,
                   sg_pg_err_t *err)
{
        char id[24], names[EXPORT_FILES][64], sums[EXPORT_FILES][65];
        char consent_state[16] = "", why[160] = "";
        const char *params[5];
        char *consent = NULL;
        PGresult *res = NULL;
        sg_buf_t users, doc, csv, manifest, files, hashes;
        bool blank, written = false;
        int nusers, rc = -1;

        memset(out, 0, sizeof(*out));
        sg_buf_init(&users);
        sg_buf_init(&doc);
        sg_buf_init(&csv);
        sg_buf_init(&manifest);
        sg_buf_init(&files);
        sg_buf_init(&hashes);
        if (sg_pg_begin(conn, err) < 0 ||
            sg_pg_exec(conn, "SET LOCAL TimeZone = 'UTC'", err) < 0)
                goto out;
        res = sg_pg_query(conn, SQL_CLAIM, 0, NULL, 0,
                          "claiming an access request", err);
        if (!res)
                goto out;
        if (PQntuples(res) == 0) {
                rc = sg_pg_commit(conn, err) < 0 ? -1 : 0;
                goto out_done;
        }
        out->request_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        blank = PQgetvalue(res, 0, 1)[0] == 't';
        PQclear(res);
        res = NULL;
        snprintf(id, sizeof(id), "%lld", out->request_id);

        if (blank) {
                out->status = SG_EXPORT_FAILED;
                snprintf(out->error, sizeof(out->error),
                         "the request has no e-mail");
                if (finish(conn, out, "{}", "failed", NULL, NULL, err) < 0)
                        goto out;
                goto commit;
        }

        params[0] = id;
        res = sg_pg_query(conn, SQL_SUBJECTS, 1, params, 0,
                          "finding the request's users", err);
        if (!res)
                goto out;
        nusers = PQntuples(res);
        sg_buf_array_begin(&users);
        for (int i = 0; i < nusers; i++)
                sg_buf_array_str(&users, PQgetvalue(res, i, 0));
        sg_buf_array_end(&users);
        if (nusers > 0)
                (void)sg_uuid_canon(PQgetvalue(res, 0, 0),
                                    strlen(PQgetvalue(res, 0, 0)),
                                    out->user_id);
        PQclear(res);
        res = NULL;
        if (nusers == 0) {
                out->status = SG_EXPORT_NOT_FOUND;
                if (finish(conn, out, "{}", "not_found", NULL, NULL, err) < 0)
                        goto out;
                goto commit;
        }

        if (consent_rows(conn, users.data, &consent, consent_state, err) < 0)
                goto out;
        snprintf(names[0], sizeof(names[0]), "access_%lld.json",
                 out->request_id);
        snprintf(names[1], sizeof(names[1]), "access_%lld_events.csv",
                 out->request_id);
        snprintf(names[2], sizeof(names[2]), "access_%lld.sha256",
                 out->request_id);
        params[0] = id;
        params[1] = users.data;
        params[2] = consent;
        params[3] = consent_state;
        params[4] = names[1];
        res = sg_pg_query(conn, SQL_DOCUMENT, 5, params, 1,
                          "building the export document", err);
        if (!res)
                goto out;
        sg_buf_puts(&doc, PQgetvalue(res, 0, 0));
        sg_buf_putc(&doc, '\n');
        out->users = atoi(PQgetvalue(res, 0, 1));
        out->erased = atoi(PQgetvalue(res, 0, 2));
        PQclear(res);
        res = NULL;
        if (events_csv(conn, users.data, &csv, &out->events, err) < 0)
                goto out;

        if (sha256_hex(doc.data, doc.len, sums[0]) < 0 ||
            sha256_hex(csv.data, csv.len, sums[1]) < 0) {
                sg_pg_err_fmt(err, false, "SHA-256 failed (libcrypto)");
                goto out;
        }
        sg_buf_printf(&manifest, "%s  %s\n%s  %s\n", sums[0], names[0],
                      sums[1], names[1]);
        if (sha256_hex(manifest.data, manifest.len, sums[2]) < 0) {
                sg_pg_err_fmt(err, false, "SHA-256 failed (libcrypto)");
                goto out;
        }
        written = true;
        if (mkdirs(dir) < 0) {
                snprintf(why, sizeof(why), "export folder: %s",
                         strerror(errno));
        } else if (write_file(dir, names[0], doc.data, doc.len, why,
                              sizeof(why)) < 0 ||
                   write_file(dir, names[1], csv.data, csv.len, why,
                              sizeof(why)) < 0 ||
                   write_file(dir, names[2], manifest.data, manifest.len, why,
                              sizeof(why)) < 0) {
                for (int i = 0; i < EXPORT_FILES; i++)
                        unlink_in(dir, names[i]);
        }
        if (why[0]) {
                /* A file problem is this request's, not the database's:
                 * it ends failed with the reason; ask again once fixed. */
                written = false;
                out->status = SG_EXPORT_FAILED;
                out->users = out->erased = 0;
                out->events = 0;
                snprintf(out->error, sizeof(out->error), "%s", why);
                if (finish(conn, out, "{}", "failed", NULL, NULL, err) < 0)
                        goto out;
                goto commit;
        }
        out->status = SG_EXPORT_EXPORTED;
        snprintf(out->file, sizeof(out->file), "%s", names[0]);
        sg_buf_array_begin(&files);
        sg_buf_array_begin(&hashes);
        for (int i = 0; i < EXPORT_FILES; i++) {
                sg_buf_array_str(&files, names[i]);
                sg_buf_array_str(&hashes, sums[i]);
        }
        sg_buf_array_end(&files);
        sg_buf_array_end(&hashes);
        if (finish(conn, out, users.data, "access_export", files.data,
                   hashes.data, err) < 0)
                goto out;
commit:
        if (sg_pg_commit(conn, err) < 0)
                goto out;
        rc = 1;
        goto out_done;
out:
        sg_pg_rollback(conn);
        if (written)
                for (int i = 0; i < EXPORT_FILES; i++)
                        unlink_in(dir, names[i]);
out_done:
        PQclear(res);
        free(consent);
        sg_buf_fini(&users);
        sg_buf_fini(&doc);
        sg_buf_fini(&csv);
        sg_buf_fini(&manifest);
        sg_buf_fini(&files);
        sg_buf_fini(&hashes);
        return rc;
}

/* A file name an audit row may hold: ours, no path. */
static bool export_name_ok(const char *f)
{
        return strncmp(f, "access_", 7) == 0 && strchr(f, '/') == NULL &&
               strlen(f) < 64;
}

int sg_export_purge(PGconn *conn, const char *dir, const char *requests,
                    int *deleted, sg_pg_err_t *err)
{
        const char *params[3] = {requests, NULL, NULL};
        PGresult *res;
        int rc = 0;

        *deleted = 0;
        res = sg_pg_query(conn, SQL_PURGE, 1, params, 0,
                          "finding the erased users' exports", err);
        if (!res)
                return -1;
        for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
                /* A text[] of plain names: split the literal {a,b,c}. */
                char list[1024], *save = NULL, *tok;

                snprintf(list, sizeof(list), "%s", PQgetvalue(res, i, 2));
                list[strcspn(list, "}")] = '\0';
                for (tok = strtok_r(list[0] == '{' ? list + 1 : list, ",",
                                    &save);
                     tok; tok = strtok_r(NULL, ",", &save)) {
                        char path[4096];

                        if (!export_name_ok(tok) ||
                            (size_t)snprintf(path, sizeof(path), "%s/%s", dir,
                                             tok) >= sizeof(path))
                                continue;
                        if (unlink(path) == 0)
                                (*deleted)++;
                        else if (errno != ENOENT)
                                sg_warn("cannot delete an export file of an "
                                        "erased user file=%s: %s",
                                        tok, strerror(errno));
                }
                params[0] = PQgetvalue(res, i, 0);
                params[1] = PQgetvalue(res, i, 1);
                params[2] = PQgetvalue(res, i, 2);
                rc = sg_pg_command(conn, SQL_PURGED, 3, params,
                                   "recording deleted exports", NULL, err);
        }
        PQclear(res);
        return rc;
}
