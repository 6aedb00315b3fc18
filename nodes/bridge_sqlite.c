/* bridge_sqlite.c: the SQLite side of `lexnode bridge` (bridge_db.h), and
 * the dispatch from a database URL to its backend. The database is opened
 * read-only: the bridge answers queries, it never changes records. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "bridge_db.h"
#include "lex_envelope.h"
#include "lex_error.h"

typedef struct {
    sqlite3 *db;
    sqlite3_stmt *stmts[LEX_BRIDGE_STMTS_MAX];
    int timeout_ms;
    uint64_t deadline_us;      /* monotonic; the running statement is stopped after it */
} sqlite_impl_t;

/* SQLite calls this every few thousand steps; non-zero interrupts. */
static int past_deadline(void *arg)
{
    const sqlite_impl_t *s = arg;
    return s->deadline_us && lex_mono_us() > s->deadline_us;
}

static int sq_prepare(lex_db_t *db, size_t slot, const lex_bridge_stmt_t *st, char *err,
                      size_t errlen)
{
    sqlite_impl_t *s = db->impl;
    char *sql = NULL;
    int rc = lex_bridge_sql_numbered(st->sql, '?', st, &sql);
    if (rc != 0)
        return rc;
    const char *tail = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &s->stmts[slot], &tail) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", st->key, sqlite3_errmsg(s->db));
        rc = LEX_EPARSE;
    } else if (tail && strspn(tail, " \t\r\n;") != strlen(tail)) {
        snprintf(err, errlen, "%s: only one SQL statement per query key", st->key);
        rc = LEX_EPARSE;
    } else if (!sqlite3_stmt_readonly(s->stmts[slot])) {
        snprintf(err, errlen, "%s: the statement would change the database; the bridge only reads",
                 st->key);
        rc = LEX_EPARSE;
    } else if (sqlite3_column_count(s->stmts[slot]) == 0) {
        snprintf(err, errlen, "%s: the statement returns no columns", st->key);
        rc = LEX_EPARSE;
    }
    free(sql);
    return rc;
}

static int sq_run(lex_db_t *db, size_t slot, const char *const *values, size_t nvalues,
                  lex_db_row_fn row, void *arg, char *err, size_t errlen)
{
    sqlite_impl_t *s = db->impl;
    sqlite3_stmt *st = s->stmts[slot];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    for (size_t i = 0; i < nvalues; i++)
        if (values[i])
            sqlite3_bind_text(st, (int)i + 1, values[i], -1, SQLITE_TRANSIENT);
    s->deadline_us = lex_mono_us() + (uint64_t)s->timeout_ms * 1000u;
    int ncols = sqlite3_column_count(st);
    lex_db_value_t cols[64];
    if (ncols > 64)
        ncols = 64;
    int rc, stopped = 0;
    while (!stopped && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int c = 0; c < ncols; c++) {
            lex_db_value_t *v = &cols[c];
            v->name = sqlite3_column_name(st, c);
            v->text = NULL;
            v->num = 0;
            switch (sqlite3_column_type(st, c)) {
            case SQLITE_NULL:
                v->type = LEX_DB_NULL;
                break;
            case SQLITE_INTEGER:
                v->type = LEX_DB_INT;
                v->num = sqlite3_column_int64(st, c);
                break;
            default: /* text, and reals and blobs as their text */
                v->type = LEX_DB_TEXT;
                v->text = (const char *)sqlite3_column_text(st, c);
                if (!v->text)
                    v->type = LEX_DB_NULL;
            }
        }
        stopped = row(arg, cols, (size_t)ncols);
    }
    s->deadline_us = 0;
    if (!stopped && rc != SQLITE_DONE) {
        if (rc == SQLITE_INTERRUPT)
            snprintf(err, errlen, "statement ran longer than %d ms", s->timeout_ms);
        else
            snprintf(err, errlen, "%s", sqlite3_errmsg(s->db));
        sqlite3_reset(st);
        return LEX_EIO;
    }
    sqlite3_reset(st);
    return 0;
}

static void sq_close(lex_db_t *db)
{
    sqlite_impl_t *s = db->impl;
    for (size_t i = 0; i < LEX_BRIDGE_STMTS_MAX; i++)
        sqlite3_finalize(s->stmts[i]);
    sqlite3_close(s->db);
    free(s);
}

static const lex_db_ops_t sqlite_ops = {sq_prepare, sq_run, sq_close};

int lex_db_sqlite_open(const char *path, int timeout_ms, lex_db_t **out, char *err,
                       size_t errlen)
{
    *out = NULL;
    sqlite_impl_t *s = calloc(1, sizeof *s);
    lex_db_t *db = calloc(1, sizeof *db);
    if (!s || !db) {
        free(s);
        free(db);
        return LEX_ENOMEM;
    }
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open SQLite database %s: %s", path,
                 s->db ? sqlite3_errmsg(s->db) : "out of memory");
        sqlite3_close(s->db);
        free(s);
        free(db);
        return LEX_EIO;
    }
    s->timeout_ms = timeout_ms;
    sqlite3_busy_timeout(s->db, timeout_ms);
    sqlite3_progress_handler(s->db, 1000, past_deadline, s);
    db->ops = &sqlite_ops;
    db->impl = s;
    *out = db;
    return 0;
}

int lex_db_open(const char *url, int timeout_ms, lex_db_t **out, char *err, size_t errlen)
{
    *out = NULL;
    if (strncmp(url, "sqlite:", 7) == 0)
        return lex_db_sqlite_open(url + 7, timeout_ms, out, err, errlen);
    if (strncmp(url, "postgresql:", 11) == 0)
        return lex_db_pg_open(url + 11, timeout_ms, out, err, errlen);
    snprintf(err, errlen, "database '%s': expected sqlite:PATH or postgresql:CONNINFO", url);
    return LEX_EINVAL;
}

void lex_db_close(lex_db_t **db)
{
    if (!db || !*db)
        return;
    (*db)->ops->close(*db);
    free(*db);
    *db = NULL;
}
