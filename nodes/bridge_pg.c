/* bridge_pg.c: the PostgreSQL side of `lexnode bridge` (bridge_db.h), built
 * in when libpq was found. Statements are prepared on the server at start;
 * parameters go as text and the server infers their types. Each query runs
 * in its own read-only transaction. Without libpq, opening a postgresql:
 * database says so. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bridge_db.h"
#include "lex_error.h"

#ifdef LEX_HAVE_PG
#include <libpq-fe.h>

/* Type OIDs of the server's catalogue (pg_type.dat), stable since 7.x. */
#define OID_BOOL 16
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23

typedef struct {
    PGconn *conn;
    char session_setup[128];   /* read-only transactions and the statement timeout */
    const lex_bridge_stmt_t *stmts[LEX_BRIDGE_STMTS_MAX];   /* to prepare again after a reset */
} pg_impl_t;

static void first_line(char *err, size_t errlen, const char *prefix, const char *msg)
{
    snprintf(err, errlen, "%s%s", prefix, msg ? msg : "unknown error");
    char *nl = strchr(err, '\n');
    if (nl)
        *nl = 0;
}

static int exec_simple(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    return ok ? 0 : LEX_EIO;
}

static int pg_prepare(lex_db_t *db, size_t slot, const lex_bridge_stmt_t *st, char *err,
                      size_t errlen)
{
    pg_impl_t *p = db->impl;
    char *sql = NULL;
    int rc = lex_bridge_sql_numbered(st->sql, '$', st, &sql);
    if (rc != 0)
        return rc;
    char name[16], prefix[32];
    snprintf(name, sizeof name, "lex%zu", slot);
    snprintf(prefix, sizeof prefix, "%s: ", st->key);
    PGresult *res = PQprepare(p->conn, name, sql, 0, NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        first_line(err, errlen, prefix, PQresultErrorMessage(res));
        rc = LEX_EPARSE;
    }
    PQclear(res);
    if (rc == 0) {
        res = PQdescribePrepared(p->conn, name);
        if (PQresultStatus(res) != PGRES_COMMAND_OK || PQnfields(res) == 0) {
            snprintf(err, errlen, "%s: the statement returns no columns", st->key);
            rc = LEX_EPARSE;
        }
        PQclear(res);
    }
    p->stmts[slot] = st;
    free(sql);
    return rc;
}

static int pg_run(lex_db_t *db, size_t slot, const char *const *values, size_t nvalues,
                  lex_db_row_fn row, void *arg, char *err, size_t errlen)
{
    pg_impl_t *p = db->impl;
    if (PQstatus(p->conn) != CONNECTION_OK) {
        /* the server restarted: connect again and prepare everything again */
        PQreset(p->conn);
        if (PQstatus(p->conn) != CONNECTION_OK ||
            exec_simple(p->conn, p->session_setup) != 0) {
            first_line(err, errlen, "PostgreSQL connection lost: ", PQerrorMessage(p->conn));
            return LEX_EIO;
        }
        for (size_t i = 0; i < LEX_BRIDGE_STMTS_MAX; i++)
            if (p->stmts[i] && pg_prepare(db, i, p->stmts[i], err, errlen) != 0)
                return LEX_EIO;
    }
    char name[16];
    snprintf(name, sizeof name, "lex%zu", slot);
    PGresult *res = PQexecPrepared(p->conn, name, (int)nvalues, (const char *const *)values, NULL,
                                   NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        first_line(err, errlen, "", PQresultErrorMessage(res));
        PQclear(res);
        return LEX_EIO;
    }
    int ncols = PQnfields(res);
    if (ncols > 64)
        ncols = 64;
    lex_db_value_t cols[64];
    for (int r = 0; r < PQntuples(res); r++) {
        for (int c = 0; c < ncols; c++) {
            lex_db_value_t *v = &cols[c];
            v->name = PQfname(res, c);
            v->text = NULL;
            v->num = 0;
            if (PQgetisnull(res, r, c)) {
                v->type = LEX_DB_NULL;
                continue;
            }
            const char *text = PQgetvalue(res, r, c);
            Oid type = PQftype(res, c);
            if (type == OID_INT2 || type == OID_INT4 || type == OID_INT8) {
                v->type = LEX_DB_INT;
                v->num = strtoll(text, NULL, 10);
            } else if (type == OID_BOOL) {
                v->type = LEX_DB_BOOL;
                v->num = text[0] == 't';
            } else {
                v->type = LEX_DB_TEXT;
                v->text = text;
            }
        }
        if (row(arg, cols, (size_t)ncols))
            break;
    }
    PQclear(res);
    return 0;
}

static void pg_close(lex_db_t *db)
{
    pg_impl_t *p = db->impl;
    PQfinish(p->conn);
    free(p);
}

static const lex_db_ops_t pg_ops = {pg_prepare, pg_run, pg_close};

int lex_db_pg_open(const char *conninfo, int timeout_ms, lex_db_t **out, char *err,
                   size_t errlen)
{
    *out = NULL;
    pg_impl_t *p = calloc(1, sizeof *p);
    lex_db_t *db = calloc(1, sizeof *db);
    if (!p || !db) {
        free(p);
        free(db);
        return LEX_ENOMEM;
    }
    p->conn = PQconnectdb(conninfo);
    if (!p->conn || PQstatus(p->conn) != CONNECTION_OK) {
        first_line(err, errlen, "cannot connect to PostgreSQL: ",
                   p->conn ? PQerrorMessage(p->conn) : "out of memory");
        PQfinish(p->conn);
        free(p);
        free(db);
        return LEX_EIO;
    }
    /* every statement of this session reads only, whatever its text says,
     * and none runs long enough to stop the node's heartbeats */
    snprintf(p->session_setup, sizeof p->session_setup,
             "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY; SET statement_timeout = %d",
             timeout_ms);
    if (exec_simple(p->conn, p->session_setup) != 0) {
        first_line(err, errlen, "PostgreSQL: ", PQerrorMessage(p->conn));
        PQfinish(p->conn);
        free(p);
        free(db);
        return LEX_EIO;
    }
    db->ops = &pg_ops;
    db->impl = p;
    *out = db;
    return 0;
}

#else

int lex_db_pg_open(const char *conninfo, int timeout_ms, lex_db_t **out, char *err,
                   size_t errlen)
{
    (void)conninfo;
    (void)timeout_ms;
    *out = NULL;
    snprintf(err, errlen, "this lexnode was built without PostgreSQL support (install libpq-dev "
                          "and rebuild)");
    return LEX_EINVAL;
}

#endif
