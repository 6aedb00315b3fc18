/* bridge_conf.c: reads and checks the config of `lexnode bridge`. Lines
 * are `name = value` ('#' starts a comment line, a trailing '\' continues
 * a line). Everything that can be checked without the database is checked
 * here, so a bad file stops the bridge before it connects anywhere. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lex_bridge.h"
#include "lex_catalogue.h"
#include "lex_envelope.h"
#include "lex_error.h"

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return rc;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = 0;
    return s;
}

static int is_name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_name_char(char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9');
}

/* Walks sql calling visit(name, len) for every :name outside quotes;
 * copies everything else to out (may be NULL). */
typedef int (*param_fn)(void *arg, const char *name, size_t len, char **out, size_t *outlen);

static int walk_params(const char *sql, param_fn visit, void *arg, char **out)
{
    size_t cap = strlen(sql) * 2 + 64, len = 0;
    char *buf = out ? malloc(cap) : NULL;
    if (out && !buf)
        return LEX_ENOMEM;
    char quote = 0;
    for (const char *p = sql; *p;) {
        if (quote) {
            if (*p == quote)
                quote = 0;
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
        } else if (p[0] == ':' && p[1] == ':') {
            if (buf) {
                buf[len++] = ':';
                buf[len++] = ':';
            }
            p += 2;
            continue;
        } else if (p[0] == ':' && is_name_start(p[1])) {
            size_t n = 1;
            while (is_name_char(p[n]))
                n++;
            int rc = visit(arg, p + 1, n - 1, buf ? &buf : NULL, &len);
            if (rc != 0) {
                free(buf);
                return rc;
            }
            p += n;
            continue;
        }
        if (buf)
            buf[len++] = *p;
        p++;
    }
    if (buf) {
        buf[len] = 0;
        *out = buf;
    }
    return 0;
}

typedef struct {
    lex_bridge_stmt_t *stmt;
    char marker;
} collect_t;

static int collect_param(void *arg, const char *name, size_t len, char **out, size_t *outlen)
{
    (void)out;
    (void)outlen;
    lex_bridge_stmt_t *st = ((collect_t *)arg)->stmt;
    if (len > LEX_BRIDGE_NAME_MAX)
        return LEX_ELENGTH;
    for (size_t i = 0; i < st->nparams; i++)
        if (strlen(st->params[i]) == len && memcmp(st->params[i], name, len) == 0)
            return 0;
    if (st->nparams == LEX_BRIDGE_PARAMS_MAX)
        return LEX_ETOOBIG;
    memcpy(st->params[st->nparams], name, len);
    st->params[st->nparams++][len] = 0;
    return 0;
}

static int number_param(void *arg, const char *name, size_t len, char **out, size_t *outlen)
{
    collect_t *c = arg;
    for (size_t i = 0; i < c->stmt->nparams; i++) {
        if (strlen(c->stmt->params[i]) == len && memcmp(c->stmt->params[i], name, len) == 0) {
            /* ":x" (2+ chars) becomes "?N" (at most 3 chars); the buffer
             * was sized at twice the statement, so this always fits */
            *outlen += (size_t)sprintf(*out + *outlen, "%c%zu", c->marker, i + 1);
            return 0;
        }
    }
    return LEX_ENOTFOUND;
}

int lex_bridge_sql_numbered(const char *sql, char marker, const lex_bridge_stmt_t *stmt,
                            char **out)
{
    collect_t c = {(lex_bridge_stmt_t *)stmt, marker};
    return walk_params(sql, number_param, &c, out);
}

static const char *response_list(const lex_msgdef_t *resp)
{
    for (uint32_t i = 0; i < resp->nfields; i++)
        if (resp->fields[i].type == LEX_FT_ARRAY)
            return resp->fields[i].name;
    return NULL;
}

/* Checks a statement's key and parameters against the catalogue. */
static int check_stmt(const lex_bridge_config_t *cfg, lex_bridge_stmt_t *st, char *err,
                      size_t errlen)
{
    const lex_catalogue_t *cat = lex_catalogue_builtin();
    const lex_msgdef_t *q = lex_catalogue_find(cat, st->key);
    if (!q || q->cls != LEX_CLASS_QUERY)
        return fail(err, errlen, LEX_EPARSE, "%s:%d: '%s' is not a query key of the catalogue",
                    cfg->path, st->line, st->key);
    const lex_msgdef_t *r = lex_catalogue_find(cat, q->pair);
    if (!r || !response_list(r))
        return fail(err, errlen, LEX_EPARSE,
                    "%s:%d: %s cannot be answered from rows: its response %s has no list field",
                    cfg->path, st->line, st->key, q->pair);
    collect_t c = {st, '?'};
    int rc = walk_params(st->sql, collect_param, &c, NULL);
    if (rc != 0)
        return fail(err, errlen, LEX_EPARSE, "%s:%d: %s", cfg->path, st->line,
                    rc == LEX_ELENGTH ? "a parameter name is longer than 31 characters"
                                      : "more than 16 distinct parameters");
    for (size_t i = 0; i < st->nparams; i++) {
        if (lex_msgdef_field(q, st->params[i]) >= 0)
            continue;
        char fields[256] = "";
        for (uint32_t k = 0; k < q->nfields; k++) {
            size_t used = strlen(fields);
            snprintf(fields + used, sizeof fields - used, "%s%s", k ? ", " : "", q->fields[k].name);
        }
        return fail(err, errlen, LEX_EPARSE,
                    "%s:%d: parameter :%s is not a field of %s (its fields: %s)", cfg->path,
                    st->line, st->params[i], st->key, fields);
    }
    return 0;
}

static int split_states(lex_bridge_config_t *cfg, char *list, int line, char *err, size_t errlen)
{
    cfg->nstates = 0;
    for (char *tok = strtok(list, ", "); tok; tok = strtok(NULL, ", ")) {
        if (!lex_state_valid(tok))
            return fail(err, errlen, LEX_EPARSE, "%s:%d: unknown state '%s'", cfg->path, line, tok);
        if (cfg->nstates == sizeof cfg->states / sizeof cfg->states[0])
            return fail(err, errlen, LEX_EPARSE, "%s:%d: too many states", cfg->path, line);
        strcpy(cfg->states[cfg->nstates++], tok);
    }
    return 0;
}

static int copy_setting(char *dst, size_t size, const char *value, const char *path, int line,
                        const char *name, char *err, size_t errlen)
{
    if (strlen(value) >= size)
        return fail(err, errlen, LEX_EPARSE, "%s:%d: %s is too long", path, line, name);
    strcpy(dst, value);
    return 0;
}

static int apply(lex_bridge_config_t *cfg, char *name, char *value, int line, char *err,
                 size_t errlen)
{
    if (strcmp(name, "database") == 0) {
        const char *slash = strrchr(cfg->path, '/');
        if (strncmp(value, "sqlite:", 7) == 0 && value[7] != '/' && slash) {
            /* a relative SQLite path is relative to the config file */
            char full[sizeof cfg->database];
            int n = snprintf(full, sizeof full, "sqlite:%.*s/%s", (int)(slash - cfg->path),
                             cfg->path, value + 7);
            if (n < 0 || (size_t)n >= sizeof full)
                return fail(err, errlen, LEX_EPARSE, "%s:%d: database path too long", cfg->path,
                            line);
            strcpy(cfg->database, full);
            return 0;
        }
        return copy_setting(cfg->database, sizeof cfg->database, value, cfg->path, line, name, err,
                            errlen);
    }
    if (strcmp(name, "connect") == 0)
        return copy_setting(cfg->endpoint, sizeof cfg->endpoint, value, cfg->path, line, name, err,
                            errlen);
    if (strcmp(name, "key_file") == 0)
        return copy_setting(cfg->key_file, sizeof cfg->key_file, value, cfg->path, line, name, err,
                            errlen);
    if (strcmp(name, "switch_key_file") == 0)
        return copy_setting(cfg->switch_key_file, sizeof cfg->switch_key_file, value, cfg->path,
                            line, name, err, errlen);
    if (strcmp(name, "timeout_ms") == 0) {
        char *end;
        long v = strtol(value, &end, 10);
        if (end == value || *end || v < 10 || v > 60000)
            return fail(err, errlen, LEX_EPARSE, "%s:%d: timeout_ms must be 10 to 60000", cfg->path,
                        line);
        cfg->timeout_ms = (int)v;
        return 0;
    }
    if (strcmp(name, "ori") == 0) {
        if (!lex_ori_valid(value))
            return fail(err, errlen, LEX_EPARSE, "%s:%d: '%s' is not an ORI (9 of A-Z 0-9)",
                        cfg->path, line, value);
        strcpy(cfg->ori, value);
        return 0;
    }
    if (strcmp(name, "states") == 0)
        return split_states(cfg, value, line, err, errlen);
    int upper = name[0] != 0 && strlen(name) <= LEX_KEY_MAX;
    for (const char *c = name; *c; c++)
        upper &= *c >= 'A' && *c <= 'Z';
    if (!upper)
        return fail(err, errlen, LEX_EPARSE,
                    "%s:%d: unknown setting '%s' (database, ori, states, connect, timeout_ms, "
                    "key_file, switch_key_file, or a query key such as DQ)",
                    cfg->path, line, name);
    for (size_t i = 0; i < cfg->nstmts; i++)
        if (strcmp(cfg->stmts[i].key, name) == 0)
            return fail(err, errlen, LEX_EPARSE, "%s:%d: %s is already set on line %d", cfg->path,
                        line, name, cfg->stmts[i].line);
    if (cfg->nstmts == LEX_BRIDGE_STMTS_MAX)
        return fail(err, errlen, LEX_EPARSE, "%s:%d: too many statements", cfg->path, line);
    if (!*value)
        return fail(err, errlen, LEX_EPARSE, "%s:%d: %s has no SQL statement", cfg->path, line,
                    name);
    lex_bridge_stmt_t *st = &cfg->stmts[cfg->nstmts];
    memset(st, 0, sizeof *st);
    strcpy(st->key, name);
    st->line = line;
    st->sql = strdup(value);
    if (!st->sql)
        return LEX_ENOMEM;
    cfg->nstmts++;
    return check_stmt(cfg, st, err, errlen);
}

int lex_bridge_config_load(const char *path, lex_bridge_config_t *cfg, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->timeout_ms = 2000;
    snprintf(cfg->path, sizeof cfg->path, "%s", path);
    FILE *f = fopen(path, "r");
    if (!f)
        return fail(err, errlen, LEX_EIO, "%s: cannot open", path);
    char *line = NULL, *joined = NULL;
    size_t cap = 0, jlen = 0;
    ssize_t n;
    int lineno = 0, start = 0, rc = 0;
    while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (memchr(line, 0, (size_t)n)) {
            rc = fail(err, errlen, LEX_EPARSE, "%s:%d: NUL byte", path, lineno);
            break;
        }
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = 0;
        int more = n > 0 && line[n - 1] == '\\';
        if (more)
            line[--n] = 0;
        char *grown = realloc(joined, jlen + (size_t)n + 2);
        if (!grown) {
            rc = LEX_ENOMEM;
            break;
        }
        joined = grown;
        if (jlen == 0)
            start = lineno;
        else
            joined[jlen++] = ' ';
        memcpy(joined + jlen, line, (size_t)n + 1);
        jlen += (size_t)n;
        if (more)
            continue;
        char *text = trim(joined);
        jlen = 0;
        if (!*text || *text == '#')
            continue;
        char *eq = strchr(text, '=');
        if (!eq) {
            rc = fail(err, errlen, LEX_EPARSE, "%s:%d: expected 'name = value'", path, start);
            break;
        }
        *eq = 0;
        rc = apply(cfg, trim(text), trim(eq + 1), start, err, errlen);
    }
    free(line);
    free(joined);
    fclose(f);
    if (rc == 0 && !cfg->database[0])
        rc = fail(err, errlen, LEX_EPARSE, "%s: no 'database =' (sqlite:PATH or postgresql:CONNINFO)",
                  path);
    if (rc == 0 && !cfg->ori[0])
        rc = fail(err, errlen, LEX_EPARSE, "%s: no 'ori =' (the responder's ORI)", path);
    if (rc == 0 && cfg->nstates == 0)
        rc = fail(err, errlen, LEX_EPARSE, "%s: no 'states =' (the states it answers for)", path);
    if (rc == 0 && cfg->nstmts == 0)
        rc = fail(err, errlen, LEX_EPARSE, "%s: no statement (e.g. 'DQ = SELECT ...')", path);
    if (rc != 0)
        lex_bridge_config_free(cfg);
    return rc;
}

void lex_bridge_config_free(lex_bridge_config_t *cfg)
{
    for (size_t i = 0; i < cfg->nstmts; i++) {
        free(cfg->stmts[i].sql);
        cfg->stmts[i].sql = NULL;
    }
    cfg->nstmts = 0;
}
