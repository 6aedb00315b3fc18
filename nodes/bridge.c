/* bridge.c: the run loop of `lexnode bridge` (lex_bridge.h). Registers one
 * node for the configured ORI and states, and answers each query by running
 * its statement: parameters from the query's fields, one record per row in
 * the response's list field, `count` = rows, response fields the query also
 * has (KR's lic) copied from it. No rows: ST no-record. A database error:
 * ST internal-error with the reason, and the bridge goes on. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bridge_db.h"
#include "lex_bridge.h"
#include "lex_buf.h"
#include "lex_catalogue.h"
#include "lex_error.h"
#include "lex_fields.h"
#include "lexnode.h"
#include "lex_textfile.h"

#define ANSWER_MAX (LEX_MSG_MAX - LEX_ENVELOPE_MAX)

typedef struct {
    lex_fields_t *body;
    const char *list;              /* the response's list field */
    uint32_t max_rows;             /* its element limit (0 = none) */
    size_t rows;
    int failed;
} answer_t;

static int add_row(void *arg, const lex_db_value_t *cols, size_t ncols)
{
    answer_t *a = arg;
    if (a->max_rows && a->rows == a->max_rows)
        return 1;   /* the catalogue allows no more: the answer holds the first ones */
    int rc = lex_fields_record(a->body, a->list);
    for (size_t i = 0; rc == 0 && i < ncols; i++) {
        switch (cols[i].type) {
        case LEX_DB_NULL:
            break;   /* a NULL column is an absent field */
        case LEX_DB_INT:
            rc = lex_fields_int(a->body, cols[i].name, cols[i].num);
            break;
        case LEX_DB_BOOL:
            rc = lex_fields_bool(a->body, cols[i].name, (int)cols[i].num);
            break;
        case LEX_DB_TEXT:
            rc = lex_fields_str(a->body, cols[i].name, cols[i].text);
            break;
        }
    }
    if (rc == 0)
        rc = lex_fields_end_record(a->body);
    a->rows++;
    a->failed |= rc != 0;
    return rc != 0;
}

static const lex_bridge_stmt_t *stmt_for(const lex_bridge_config_t *cfg, const char *key,
                                         size_t *slot)
{
    for (size_t i = 0; i < cfg->nstmts; i++)
        if (strcmp(cfg->stmts[i].key, key) == 0) {
            *slot = i;
            return &cfg->stmts[i];
        }
    return NULL;
}

/* Top-level fields of the response besides the list: count, and fields
 * the query also carries (copied from it). */
static int add_top_fields(const lex_msgdef_t *resp, const lex_node_msg_t *q, answer_t *a)
{
    int rc = 0;
    for (uint32_t i = 0; rc == 0 && i < resp->nfields; i++) {
        const lex_field_t *f = &resp->fields[i];
        char value[512];
        if (strcmp(f->name, a->list) == 0)
            continue;
        if (strcmp(f->name, "count") == 0 && f->type == LEX_FT_INT)
            rc = lex_fields_int(a->body, "count", (int64_t)a->rows);
        else if (f->type == LEX_FT_STR && lex_node_msg_str(q, f->name, value, sizeof value) == 0)
            rc = lex_fields_str(a->body, f->name, value);
    }
    return rc;
}

static void answer(lex_node_t *node, lex_db_t *db, const lex_bridge_config_t *cfg,
                   const lex_node_msg_t *q, lex_fields_t *body)
{
    size_t slot = 0;
    const lex_bridge_stmt_t *st = stmt_for(cfg, q->key, &slot);
    if (!st) {
        lex_node_reply_status(node, q, LEX_ST_NOT_SERVED, "this responder does not answer that key");
        return;
    }
    const lex_catalogue_t *cat = lex_catalogue_builtin();
    const lex_msgdef_t *qdef = lex_catalogue_find(cat, q->key);
    const lex_msgdef_t *resp = lex_catalogue_find(cat, qdef->pair);
    char values[LEX_BRIDGE_PARAMS_MAX][512];
    const char *bind[LEX_BRIDGE_PARAMS_MAX];
    for (size_t i = 0; i < st->nparams; i++) {
        int rc = lex_node_msg_str(q, st->params[i], values[i], sizeof values[i]);
        bind[i] = rc == 0 ? values[i] : NULL;   /* absent: NULL, so `:x IS NULL` works */
    }
    answer_t a = {body, NULL, 0, 0, 0};
    for (uint32_t i = 0; i < resp->nfields && !a.list; i++)
        if (resp->fields[i].type == LEX_FT_ARRAY) {
            a.list = resp->fields[i].name;
            a.max_rows = resp->fields[i].max;
        }
    lex_fields_clear(body);
    char err[300] = "";
    int rc = db->ops->run(db, slot, bind, st->nparams, add_row, &a, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "lexnode bridge: %s query %" PRIu64 " from %s: database error: %s\n",
                q->key, q->id, q->src, err);
        char text[256];
        snprintf(text, sizeof text, "records system error: %.200s", err);
        lex_node_reply_status(node, q, LEX_ST_INTERNAL, text);
        return;
    }
    if (a.failed || add_top_fields(resp, q, &a) != 0) {
        lex_node_reply_status(node, q, LEX_ST_INTERNAL, "records system error: out of memory");
        return;
    }
    if (a.rows == 0) {
        lex_node_reply_status(node, q, LEX_ST_NO_RECORD, "no record");
        return;
    }
    lex_buf_t probe;
    lex_buf_init(&probe);
    rc = lex_fields_encode(body, &probe);
    size_t size = probe.len;
    lex_buf_free(&probe);
    if (rc != 0 || size > ANSWER_MAX) {
        lex_node_reply_status(node, q, LEX_ST_INTERNAL,
                              "records system error: the answer is larger than a message may be");
        return;
    }
    rc = lex_node_reply(node, q, body);
    if (rc != 0)
        fprintf(stderr, "lexnode bridge: cannot send the answer to %" PRIu64 ": %s\n", q->id,
                lex_strerror(rc));
}

int lex_bridge_run(const lex_bridge_run_t *run, char *err, size_t errlen)
{
    const lex_bridge_config_t *cfg = run->config;
    lex_db_t *db = NULL;
    lex_node_t *node = NULL;
    lex_fields_t *body = lex_fields_new();
    int rc = body ? lex_db_open(cfg->database, cfg->timeout_ms, &db, err, errlen) : LEX_ENOMEM;
    for (size_t i = 0; rc == 0 && i < cfg->nstmts; i++) {
        char why[400] = "";
        rc = db->ops->prepare(db, i, &cfg->stmts[i], why, sizeof why);
        if (rc != 0)
            snprintf(err, errlen, "%s:%d: %s", cfg->path, cfg->stmts[i].line, why);
    }
    if (rc != 0 || run->check_only)
        goto cleanup;
    const char *oris[] = {cfg->ori};
    const char *states[64], *keys[LEX_BRIDGE_STMTS_MAX];
    for (size_t i = 0; i < cfg->nstates; i++)
        states[i] = cfg->states[i];
    for (size_t i = 0; i < cfg->nstmts; i++)
        keys[i] = cfg->stmts[i].key;
    const char *endpoint = run->endpoint && *run->endpoint ? run->endpoint
                           : cfg->endpoint[0]              ? cfg->endpoint
                                                           : "tcp://127.0.0.1:7400";
    lex_node_config_t nc = {
        .endpoint = endpoint, .role = "bridge", .oris = oris, .noris = 1, .states = states,
        .nstates = cfg->nstates, .keys = keys, .nkeys = cfg->nstmts,
        .heartbeat_ms = run->heartbeat_ms,
        .key_file = cfg->key_file[0] ? cfg->key_file : NULL,
        .switch_key_file = cfg->switch_key_file[0] ? cfg->switch_key_file : NULL,
    };
    if ((rc = lex_node_new_err(&nc, &node, err, errlen)) != 0)
        goto cleanup;
    if ((rc = lex_node_wait_ready(node, 10000)) != 0) {
        snprintf(err, errlen, "not registered with %s: %s", endpoint, lex_node_error(node));
        goto cleanup;
    }
    fprintf(stderr, "lexnode bridge: %s registered for %zu state(s), %zu query key(s), database %.*s\n",
            cfg->ori, cfg->nstates, cfg->nstmts, (int)strcspn(cfg->database, ":"), cfg->database);
    if (run->ready_file && lex_textfile_write_atomic(run->ready_file, "ready\n") != 0)
        fprintf(stderr, "lexnode bridge: cannot write %s\n", run->ready_file);
    while (!*run->stop) {
        lex_node_msg_t q;
        rc = lex_node_next(node, &q, 200);
        if (rc == LEX_EAGAIN)
            continue;
        if (rc != 0)
            break;
        if (q.is_query) {
            answer(node, db, cfg, &q, body);
        } else if (strcmp(q.key, "ST") == 0) {
            int code = 0;
            char text[200] = "";
            lex_node_msg_status(&q, &code, text, sizeof text);
            fprintf(stderr, "lexnode bridge: the switch refused our message %" PRIu64 ": %s (%s)\n",
                    q.ref, lex_status_name(code), text);
        }
    }
    rc = 0;
cleanup:
    lex_node_destroy(&node);
    lex_db_close(&db);
    lex_fields_destroy(&body);
    return rc;
}
