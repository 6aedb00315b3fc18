/* lex_bridge.h: `lexnode bridge`, a state responder answering from a real
 * SQL database. A config file names the database, the ORI and states it
 * serves, and one SQL statement per query key with :named parameters bound
 * from the query's body fields; each result row becomes one record of the
 * answer. Format and rules: README, "Answer from a SQL database". */
#ifndef LEX_BRIDGE_H
#define LEX_BRIDGE_H

#include <signal.h>
#include <stddef.h>
#include "lex_limits.h"

#define LEX_BRIDGE_STMTS_MAX 8
#define LEX_BRIDGE_PARAMS_MAX 16
#define LEX_BRIDGE_NAME_MAX 31

typedef struct {
    char key[LEX_KEY_MAX + 1];     /* query key, e.g. "DQ" */
    int line;                      /* where it was set, for messages */
    char *sql;                     /* as written, with :name parameters */
    size_t nparams;                /* distinct parameters, in first-use order */
    char params[LEX_BRIDGE_PARAMS_MAX][LEX_BRIDGE_NAME_MAX + 1];
} lex_bridge_stmt_t;

typedef struct {
    char path[512];                /* the config file */
    char database[1024];           /* sqlite:PATH or postgresql:CONNINFO */
    char ori[LEX_ORI_LEN + 1];
    char states[64][LEX_STATE_LEN + 1];
    size_t nstates;
    char endpoint[256];            /* "" = the caller's default */
    char key_file[512];            /* CURVE, optional */
    char switch_key_file[512];
    int timeout_ms;                /* longest a statement may run (default 2000) */
    size_t nstmts;
    lex_bridge_stmt_t stmts[LEX_BRIDGE_STMTS_MAX];
} lex_bridge_config_t;

/* Reads and checks a config file: settings, states, and each statement's
 * key and parameters against the catalogue. The database is not touched.
 * LEX_EIO/LEX_EPARSE with "path:line: reason" in err. Free with
 * lex_bridge_config_free. */
int lex_bridge_config_load(const char *path, lex_bridge_config_t *cfg, char *err, size_t errlen);
void lex_bridge_config_free(lex_bridge_config_t *cfg);

/* Rewrites sql's :name parameters as numbered ones (marker '?' gives ?1,
 * '$' gives $1), numbering by cfg-order of stmt->params. Caller frees
 * *out. Quoted text and '::' casts are left alone. */
int lex_bridge_sql_numbered(const char *sql, char marker, const lex_bridge_stmt_t *stmt,
                            char **out);

typedef struct {
    const lex_bridge_config_t *config;
    const char *endpoint;          /* overrides config->endpoint when set */
    const char *ready_file;        /* written once registered; may be NULL */
    int heartbeat_ms;
    int check_only;                /* open and prepare, then return: no switch */
    volatile sig_atomic_t *stop;
} lex_bridge_run_t;

/* Opens the database, prepares every statement (a bad one stops here with
 * the database's own message in err), registers with the switch and
 * answers until *stop. 0, or a LEX_E* code with err set. */
int lex_bridge_run(const lex_bridge_run_t *run, char *err, size_t errlen);

/* Writes a sample SQLite database (conf_path with ".db" in place of its
 * extension) holding a few Nevada drivers, vehicles and history entries,
 * and a config answering DQ, KQ and RQ from it. Refuses to overwrite. */
int lex_bridge_init_sample(const char *conf_path, char *err, size_t errlen);

#endif
