/* config.c: the switch's configuration: defaults, `name = value` config
 * files, and the same names set from command-line flags (docs/OPERATIONS.md
 * lists them). A bad name or value is an error, never ignored. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lex_error.h"
#include "lex_switch.h"
#include "logline.h"

/* longest config line, comments included */
#define LEX_CONFIG_LINE_MAX 1022

void lex_switch_config_defaults(lex_switch_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    strcpy(cfg->bind_tcp, "tcp://127.0.0.1:7400");
    strcpy(cfg->data_dir, "lexswitch-data");
    cfg->durability = LEX_DURABILITY_SYNC;
    cfg->query_timeout_ms = 5000;
    cfg->heartbeat_ms = 1000;
    cfg->dead_after_ms = 3500;
    cfg->drain_ms = 5000;
    cfg->hold_expiry_s = 172800;
    cfg->rate_limit = 20000;
    cfg->rate_burst = 40000;
    cfg->node_inflight_max = 50000;
    cfg->retention_days = 400;
    cfg->hello_timeout_ms = 10000;
    cfg->conn_queue_bytes = 4 << 20;
    cfg->conn_stuck_ms = 10000;
    cfg->retention_check_s = 3600;
    cfg->retention_max_share = 10;
    cfg->retention_slice = 100000;
    cfg->clock_step_ms = 2000;
    cfg->log_reserve_mb = 256;
    cfg->no_record_delay_max_ms = 2000;
    cfg->log_level = LEX_LOG_INFO;
}

typedef enum { OPT_STR, OPT_INT } opt_kind_t;

typedef struct {
    const char *name;
    opt_kind_t kind;
    size_t offset;
    int min, max;
} option_t;

#define STR_OPT(n) {#n, OPT_STR, offsetof(lex_switch_config_t, n), 0, 0}
#define INT_OPT(n, lo, hi) {#n, OPT_INT, offsetof(lex_switch_config_t, n), lo, hi}

static const option_t options[] = {
    STR_OPT(bind_tcp),   STR_OPT(bind_ipc),   STR_OPT(data_dir),   STR_OPT(rules_dir),
    STR_OPT(directory),  STR_OPT(ready_file), STR_OPT(stats_file), STR_OPT(metrics_bind),
    INT_OPT(query_timeout_ms, 10, 3600000),   INT_OPT(heartbeat_ms, 50, 600000),
    INT_OPT(dead_after_ms, 100, 3600000),     INT_OPT(drain_ms, 0, 600000),
    INT_OPT(hold_expiry_s, 1, 31536000), INT_OPT(verbose, 0, 2),
    STR_OPT(curve_key),  INT_OPT(dev_plain, 0, 1),
    INT_OPT(rate_limit, 0, 100000000),        INT_OPT(rate_burst, 1, 100000000),
    INT_OPT(node_inflight_max, 1, 10000000), INT_OPT(retention_days, 0, 36500),
    INT_OPT(max_connections, 0, 10000000),    INT_OPT(hello_timeout_ms, 100, 600000),
    INT_OPT(conn_queue_bytes, 65536, 1 << 30), INT_OPT(conn_stuck_ms, 100, 3600000),
    INT_OPT(retention_check_s, 1, 86400),     INT_OPT(retention_max_share, 1, 100),
    INT_OPT(retention_slice, 10, 100000000),  INT_OPT(clock_step_ms, 10, 86400000),
    INT_OPT(log_reserve_mb, 0, 100000000),
    STR_OPT(upstream),   STR_OPT(upstream_serves), STR_OPT(upstream_key),
    STR_OPT(upstream_switch_key),
    INT_OPT(no_record_delay_max_ms, 0, 60000),
};

int lex_switch_config_set(lex_switch_config_t *cfg, const char *name, const char *value, char *err,
                          size_t errlen)
{
    if (strcmp(name, "durability") == 0) {
        int d = lex_durability_from_name(value);
        if (d < 0) {
            snprintf(err, errlen, "durability must be sync, batch or none (got '%s')", value);
            return LEX_EINVAL;
        }
        cfg->durability = (lex_durability_t)d;
        return 0;
    }
    if (strcmp(name, "log_format") == 0) {
        if (strcmp(value, "text") != 0 && strcmp(value, "json") != 0) {
            snprintf(err, errlen, "log_format must be text or json (got '%s')", value);
            return LEX_EINVAL;
        }
        cfg->log_json = strcmp(value, "json") == 0;
        return 0;
    }
    if (strcmp(name, "log_level") == 0) {
        int level = lex_loglevel_from_name(value);
        if (level < 0) {
            snprintf(err, errlen, "log_level must be error, warn, info or debug (got '%s')",
                     value);
            return LEX_EINVAL;
        }
        cfg->log_level = level;
        return 0;
    }
    for (size_t i = 0; i < sizeof options / sizeof options[0]; i++) {
        const option_t *o = &options[i];
        if (strcmp(o->name, name) != 0)
            continue;
        char *field = (char *)cfg + o->offset;
        if (o->kind == OPT_STR) {
            if (strlen(value) >= LEX_PATH_MAX) {
                snprintf(err, errlen, "%s: value too long", name);
                return LEX_EINVAL;
            }
            strcpy(field, value);
            return 0;
        }
        char *end;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (errno || end == value || *end || v < o->min || v > o->max) {
            snprintf(err, errlen, "%s must be an integer from %d to %d (got '%s')", name, o->min,
                     o->max, value);
            return LEX_EINVAL;
        }
        *(int *)field = (int)v;
        return 0;
    }
    snprintf(err, errlen, "unknown option '%s'", name);
    return LEX_EINVAL;
}

#define NOPTIONS (sizeof options / sizeof options[0])

/* options with values of their own kind, set by name above */
static const char *const special_options[] = {"durability", "log_format", "log_level"};

const char *lex_switch_config_option(size_t i)
{
    if (i < NOPTIONS)
        return options[i].name;
    i -= NOPTIONS;
    return i < sizeof special_options / sizeof special_options[0] ? special_options[i] : NULL;
}

int lex_switch_config_load(lex_switch_config_t *cfg, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return LEX_EIO;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int lineno = 0, rc = 0;
    while ((got = getline(&line, &cap, f)) >= 0) {
        lineno++;
        size_t len = (size_t)got;
        if (len && line[len - 1] == '\n')
            len--;
        /* a NUL would cut the line short where the reader cannot see it */
        if (memchr(line, 0, len)) {
            snprintf(err, errlen, "%s:%d: NUL byte in the line", path, lineno);
            rc = LEX_EPARSE;
            break;
        }
        if (len > LEX_CONFIG_LINE_MAX) {
            snprintf(err, errlen, "%s:%d: line longer than %d characters", path, lineno,
                     LEX_CONFIG_LINE_MAX);
            rc = LEX_EPARSE;
            break;
        }
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        size_t n = strlen(p);
        while (n && strchr(" \t\r\n", p[n - 1]))
            p[--n] = 0;
        if (!*p)
            continue;
        char *eq = strchr(p, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%d: expected 'name = value'", path, lineno);
            rc = LEX_EPARSE;
            break;
        }
        *eq = 0;
        char *name = p, *value = eq + 1;
        n = strlen(name);
        while (n && (name[n - 1] == ' ' || name[n - 1] == '\t'))
            name[--n] = 0;
        while (*value == ' ' || *value == '\t')
            value++;
        char why[256];
        if (lex_switch_config_set(cfg, name, value, why, sizeof why) != 0) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
            rc = LEX_EPARSE;
            break;
        }
    }
    free(line);
    fclose(f);
    return rc;
}
