/* bridge_db.h: the database side of `lexnode bridge`: one small interface
 * over SQLite (bridge_sqlite.c) and PostgreSQL (bridge_pg.c, when libpq
 * was found at build time). Statements are prepared once at start and run
 * with text parameters; rows come back column by column. Internal. */
#ifndef LEX_BRIDGE_DB_H
#define LEX_BRIDGE_DB_H

#include <stddef.h>
#include <stdint.h>
#include "lex_bridge.h"

typedef enum { LEX_DB_NULL, LEX_DB_INT, LEX_DB_TEXT, LEX_DB_BOOL } lex_db_type_t;

typedef struct {
    const char *name;              /* column name */
    lex_db_type_t type;
    int64_t num;                   /* LEX_DB_INT, LEX_DB_BOOL */
    const char *text;              /* LEX_DB_TEXT (reals are given as text) */
} lex_db_value_t;

/* Called once per row; return non-zero to stop fetching. */
typedef int (*lex_db_row_fn)(void *arg, const lex_db_value_t *cols, size_t ncols);

typedef struct lex_db lex_db_t;

typedef struct {
    int (*prepare)(lex_db_t *db, size_t slot, const lex_bridge_stmt_t *stmt, char *err,
                   size_t errlen);
    /* values[i] is the text of parameter i, or NULL for SQL NULL */
    int (*run)(lex_db_t *db, size_t slot, const char *const *values, size_t nvalues,
               lex_db_row_fn row, void *arg, char *err, size_t errlen);
    void (*close)(lex_db_t *db);
} lex_db_ops_t;

struct lex_db {
    const lex_db_ops_t *ops;
    void *impl;
};

/* Opens "sqlite:PATH" (read-only) or "postgresql:CONNINFO"; a statement
 * running longer than timeout_ms is cancelled (the node must keep
 * heartbeating). Caller owns *out (lex_db_close). LEX_EINVAL/LEX_EIO with
 * the reason in err. */
int lex_db_open(const char *url, int timeout_ms, lex_db_t **out, char *err, size_t errlen);
void lex_db_close(lex_db_t **db);

int lex_db_sqlite_open(const char *path, int timeout_ms, lex_db_t **out, char *err,
                       size_t errlen);
int lex_db_pg_open(const char *conninfo, int timeout_ms, lex_db_t **out, char *err,
                   size_t errlen);

#endif
