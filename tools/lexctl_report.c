/* lexctl_report.c: `lexctl report`, a state's transparency report: how many
 * queries the state received, by requesting agency level and family, by
 * message key and by month, and what became of them (allowed, redacted,
 * denied, held for review, refused by the switch). It reads only the log's
 * rollups (lex_log_rollups), so a year of national traffic takes a moment,
 * and prints text, CSV, JSON or an HTML page (lexctl_report_html.c). Each
 * format ends with who looked at the state's records: the access records
 * (lex_log_scan_access) limited to the state, and the national ones. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "lex_auditlog.h"
#include "lex_envelope.h"
#include "lex_error.h"
#include "lexctl.h"
#include "lexctl_report.h"
#include "lex_query_text.h"

const char *const report_outcome_names[REPORT_OUTCOMES] = {"allowed", "redacted", "denied",
                                                           "held", "refused"};
const char *const report_outcome_colors[REPORT_OUTCOMES] = {"#59a14f", "#edc948", "#e15759",
                                                            "#4e79a7", "#9c9c9c"};
static const char *const rollup_decisions[REPORT_OUTCOMES] = {"allow", "redact", "deny",
                                                              "review", "refuse"};

typedef enum { OUT_TEXT, OUT_CSV, OUT_JSON, OUT_HTML } out_format_t;

static report_line_t *view_line(report_view_t *v, const char *label)
{
    for (size_t i = 0; i < v->count; i++)
        if (strcmp(v->lines[i].label, label) == 0)
            return &v->lines[i];
    if (v->count == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 32;
        report_line_t *lines = realloc(v->lines, cap * sizeof *lines);
        if (!lines)
            return NULL;
        v->lines = lines;
        v->cap = cap;
    }
    report_line_t *l = &v->lines[v->count++];
    memset(l, 0, sizeof *l);
    snprintf(l->label, sizeof l->label, "%s", label);
    return l;
}

static void add_to(report_line_t *l, int outcome, uint64_t n)
{
    l->n[outcome] += n;
    l->total += n;
}

static int collect_row(const lex_log_rollup_t *row, void *arg)
{
    report_t *r = arg;
    int outcome = -1;
    for (int i = 0; i < REPORT_OUTCOMES; i++)
        if (strcmp(row->decision, rollup_decisions[i]) == 0)
            outcome = i;
    if (outcome < 0)
        return 0;
    char agency[40];
    snprintf(agency, sizeof agency, "%s %s", row->level[0] ? row->level : "unknown",
             row->family[0] ? row->family : "(not in directory)");
    report_line_t *a = view_line(&r->agencies, agency), *k = view_line(&r->keys, row->key),
                  *m = view_line(&r->months, row->month);
    if (!a || !k || !m)
        return -1;
    snprintf(a->level, sizeof a->level, "%s", row->level);
    snprintf(a->family, sizeof a->family, "%s", row->family);
    add_to(&r->all, outcome, row->count);
    add_to(a, outcome, row->count);
    add_to(k, outcome, row->count);
    add_to(m, outcome, row->count);
    return 0;
}

/* ---- who looked ---- */

/* 1 when an access touched the state's records: limited to the state or
 * one of its ORIs, or national (unlimited). */
static int access_touches(const lex_access_info_t *a, const char *state)
{
    if (strcmp(a->tool, "wire") == 0)
        return !a->state[0] || strcmp(a->state, state) == 0;
    if (a->state[0])
        return strcmp(a->state, state) == 0;
    if (a->ori[0])
        return strncmp(a->ori, state, 2) == 0;
    return 1;
}

static int collect_access(const lex_log_record_t *rec, void *arg)
{
    report_t *r = arg;
    lex_access_info_t a;
    if (lex_access_info(rec, &a) != 0) {
        /* an unreadable journal entry: shown, since it may have touched anyone */
        memset(&a, 0, sizeof a);
        snprintf(a.cmd, sizeof a.cmd, "%.31s", rec->rule_id);
        a.time_us = rec->time_us;
    }
    if (!access_touches(&a, r->state))
        return 0;
    char month[8];
    time_t secs = (time_t)(a.time_us / 1000000u);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(month, sizeof month, "%Y-%m", &tm);
    if ((r->from[0] && strcmp(month, r->from) < 0) || (r->to[0] && strcmp(month, r->to) > 0))
        return 0;
    if (r->nlooked == r->looked_cap) {
        size_t cap = r->looked_cap ? r->looked_cap * 2 : 16;
        report_access_t *grown = realloc(r->looked, cap * sizeof *grown);
        if (!grown)
            return -1;
        r->looked = grown;
        r->looked_cap = cap;
    }
    report_access_t *l = &r->looked[r->nlooked++];
    memset(l, 0, sizeof *l);
    strftime(l->when, sizeof l->when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (strcmp(a.tool, "lexctl") == 0)
        snprintf(l->who, sizeof l->who, "%s (uid %llu)", a.who, (unsigned long long)a.uid);
    else
        snprintf(l->who, sizeof l->who, "%s %s", a.who[0] ? a.who : "(no key)", a.ori);
    snprintf(l->how, sizeof l->how, "%s", a.tool);
    snprintf(l->cmd, sizeof l->cmd, "%s", a.cmd);
    snprintf(l->filter, sizeof l->filter, "%s", a.filter);
    snprintf(l->scope, sizeof l->scope, "%s",
             a.state[0] ? a.state : strcmp(a.tool, "lexctl") == 0 && a.ori[0] ? a.ori : "national");
    l->seq = rec->seq;
    return 0;
}

static int by_when(const void *a, const void *b)
{
    return strcmp(((const report_access_t *)a)->when, ((const report_access_t *)b)->when);
}

static void text_looked(FILE *f, const report_t *r)
{
    fprintf(f, "\nWho looked at this state's records (reads of the log and operator requests "
               "limited to %s, and national ones)\n", r->state);
    if (!r->nlooked)
        fprintf(f, "  no one\n");
    for (size_t i = 0; i < r->nlooked; i++) {
        const report_access_t *l = &r->looked[i];
        fprintf(f, "  %s  %-24s %-6s %-14s %-9s %s", l->when, l->who, l->how, l->cmd, l->scope,
                l->filter);
        if (l->seq)
            fprintf(f, "  (record %llu)\n", (unsigned long long)l->seq);
        else
            fprintf(f, "  (in the access journal)\n");
    }
}

static int by_total(const void *a, const void *b)
{
    const report_line_t *x = a, *y = b;
    if (x->total != y->total)
        return x->total < y->total ? 1 : -1;
    return strcmp(x->label, y->label);
}

static int by_label(const void *a, const void *b)
{
    return strcmp(((const report_line_t *)a)->label, ((const report_line_t *)b)->label);
}

/* "YYYY-MM" with a real month; 0 when it is one. */
static int parse_month(const char *s, int *y, int *m)
{
    char tail;
    if (strlen(s) != 7 || s[4] != '-' || sscanf(s, "%4d-%2d%c", y, m, &tail) != 2 || *y < 1970 ||
        *m < 1 || *m > 12)
        return -1;
    return 0;
}

/* Every month from the first to the last gets a line, zero or not, so the
 * month chart has no holes; --from/--to widen the range to what was asked. */
static int fill_months(report_t *r)
{
    char first[8] = "", last[8] = "";
    for (size_t i = 0; i < r->months.count; i++) {
        const char *m = r->months.lines[i].label;
        if (!first[0] || strcmp(m, first) < 0)
            snprintf(first, sizeof first, "%.7s", m);
        if (!last[0] || strcmp(m, last) > 0)
            snprintf(last, sizeof last, "%.7s", m);
    }
    if (r->from[0])
        snprintf(first, sizeof first, "%s", r->from);
    if (r->to[0])
        snprintf(last, sizeof last, "%s", r->to);
    int y, m, ly, lm;
    if (!first[0] || parse_month(first, &y, &m) != 0 || parse_month(last, &ly, &lm) != 0)
        return 0;
    for (int guard = 0; (y < ly || (y == ly && m <= lm)) && guard < 1200; guard++) {
        char label[16];
        snprintf(label, sizeof label, "%04d-%02d", y, m);
        if (!view_line(&r->months, label))
            return LEX_ENOMEM;
        if (++m > 12) {
            m = 1;
            y++;
        }
    }
    return 0;
}

/* ---- text ---- */

static void text_header(FILE *f, int width)
{
    fprintf(f, "  %-*s %10s", width, "", "queries");
    for (int i = 0; i < REPORT_OUTCOMES; i++)
        fprintf(f, " %9s", report_outcome_names[i]);
    fputc('\n', f);
}

static void text_line(FILE *f, int width, const report_line_t *l)
{
    fprintf(f, "  %-*s %10llu", width, l->label, (unsigned long long)l->total);
    for (int i = 0; i < REPORT_OUTCOMES; i++)
        fprintf(f, " %9llu", (unsigned long long)l->n[i]);
    fputc('\n', f);
}

static void text_view(FILE *f, const char *title, const report_view_t *v)
{
    int width = 12;
    for (size_t i = 0; i < v->count; i++)
        if ((int)strlen(v->lines[i].label) > width)
            width = (int)strlen(v->lines[i].label);
    fprintf(f, "\n%s\n", title);
    text_header(f, width);
    for (size_t i = 0; i < v->count; i++)
        text_line(f, width, &v->lines[i]);
}

static void percent(FILE *f, uint64_t n, uint64_t total)
{
    fprintf(f, "%.1f%%", total ? 100.0 * (double)n / (double)total : 0.0);
}

static void write_text(FILE *f, const report_t *r)
{
    fprintf(f, "Transparency report for %s: queries the state received through the switch\n",
            r->state);
    fprintf(f, "Months: %s to %s (UTC). Made %s from the audit log's running counts.\n",
            r->months.count ? r->months.lines[0].label : "-",
            r->months.count ? r->months.lines[r->months.count - 1].label : "-", r->generated);
    fprintf(f, "\n%llu queries: ", (unsigned long long)r->all.total);
    for (int i = 0; i < REPORT_OUTCOMES; i++) {
        fprintf(f, "%s%llu %s (", i ? ", " : "", (unsigned long long)r->all.n[i],
                report_outcome_names[i]);
        percent(f, r->all.n[i], r->all.total);
        fputc(')', f);
    }
    fputs(".\n", f);
    text_view(f, "By requesting agency (level and family)", &r->agencies);
    text_view(f, "By message key", &r->keys);
    text_view(f, "By month", &r->months);
    fprintf(f, "\nallowed: forwarded to the state; redacted: forwarded, fields removed from the "
               "answer;\ndenied: refused by the state's rules; held: held for review by the "
               "state's operators;\nrefused: the switch could not deliver it (no node of the "
               "state connected, busy,\nrate limit, shutting down). A query to several states "
               "counts once for each.\n");
    if (r->log_base)
        fprintf(f, "Records up to %llu were removed by retention; their counts remain here.\n",
                (unsigned long long)r->log_base);
    text_looked(f, r);
}

/* ---- CSV and JSON ---- */

static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void csv_line(FILE *f, const report_t *r, const char *view, const char *month,
                     const char *level, const char *family, const char *key,
                     const report_line_t *l)
{
    fprintf(f, "%s,%s,", r->state, view);
    csv_field(f, month);
    fputc(',', f);
    csv_field(f, level);
    fputc(',', f);
    csv_field(f, family);
    fputc(',', f);
    csv_field(f, key);
    fprintf(f, ",%llu", (unsigned long long)l->total);
    for (int i = 0; i < REPORT_OUTCOMES; i++)
        fprintf(f, ",%llu", (unsigned long long)l->n[i]);
    fputs(",,,,,,,\n", f);
}

/* A "looked" row: the count columns empty, the access columns filled. */
static void csv_looked(FILE *f, const report_t *r, const report_access_t *l)
{
    fprintf(f, "%s,looked,%.7s,,,,", r->state, l->when);
    for (int i = 0; i <= REPORT_OUTCOMES; i++)
        fputc(',', f);
    csv_field(f, l->when);
    fputc(',', f);
    csv_field(f, l->who);
    fputc(',', f);
    csv_field(f, l->how);
    fputc(',', f);
    csv_field(f, l->cmd);
    fputc(',', f);
    csv_field(f, l->filter);
    fputc(',', f);
    csv_field(f, l->scope);
    fprintf(f, ",%llu\n", (unsigned long long)l->seq);
}

static void write_csv(FILE *f, const report_t *r)
{
    fprintf(f, "state,view,month,level,family,key,queries");
    for (int i = 0; i < REPORT_OUTCOMES; i++)
        fprintf(f, ",%s", report_outcome_names[i]);
    fputs(",when,who,how,command,filter,scope,record\n", f);
    csv_line(f, r, "all", "", "", "", "", &r->all);
    for (size_t i = 0; i < r->agencies.count; i++)
        csv_line(f, r, "agency", "", r->agencies.lines[i].level, r->agencies.lines[i].family, "",
                 &r->agencies.lines[i]);
    for (size_t i = 0; i < r->keys.count; i++)
        csv_line(f, r, "key", "", "", "", r->keys.lines[i].label, &r->keys.lines[i]);
    for (size_t i = 0; i < r->months.count; i++)
        csv_line(f, r, "month", r->months.lines[i].label, "", "", "", &r->months.lines[i]);
    for (size_t i = 0; i < r->nlooked; i++)
        csv_looked(f, r, &r->looked[i]);
}

static void json_counts(FILE *f, const report_line_t *l)
{
    fprintf(f, "\"queries\": %llu", (unsigned long long)l->total);
    for (int i = 0; i < REPORT_OUTCOMES; i++)
        fprintf(f, ", \"%s\": %llu", report_outcome_names[i], (unsigned long long)l->n[i]);
}

static void json_view(FILE *f, const char *name, const report_view_t *v, int agency)
{
    fprintf(f, ",\n  \"%s\": [", name);
    for (size_t i = 0; i < v->count; i++) {
        const report_line_t *l = &v->lines[i];
        fprintf(f, "%s\n    {", i ? "," : "");
        if (agency) {
            fprintf(f, "\"level\": ");
            lex_json_write_cstr(f, l->level);
            fprintf(f, ", \"family\": ");
            lex_json_write_cstr(f, l->family);
        } else {
            fprintf(f, "\"%s\": ", strcmp(name, "by_month") == 0 ? "month" : "key");
            lex_json_write_cstr(f, l->label);
        }
        fprintf(f, ", ");
        json_counts(f, l);
        fputc('}', f);
    }
    fprintf(f, "%s]", v->count ? "\n  " : "");
}

static void write_json(FILE *f, const report_t *r)
{
    fprintf(f, "{\n  \"state\": \"%s\",\n  \"from\": \"%s\",\n  \"to\": \"%s\",\n"
               "  \"generated\": \"%s\",\n  \"log_base\": %llu,\n  \"all\": {",
            r->state, r->months.count ? r->months.lines[0].label : "",
            r->months.count ? r->months.lines[r->months.count - 1].label : "", r->generated,
            (unsigned long long)r->log_base);
    json_counts(f, &r->all);
    fputc('}', f);
    json_view(f, "by_agency", &r->agencies, 1);
    json_view(f, "by_key", &r->keys, 0);
    json_view(f, "by_month", &r->months, 0);
    fprintf(f, ",\n  \"looked\": [");
    for (size_t i = 0; i < r->nlooked; i++) {
        const report_access_t *l = &r->looked[i];
        fprintf(f, "%s\n    {\"when\": \"%s\", \"who\": ", i ? "," : "", l->when);
        lex_json_write_cstr(f, l->who);
        fprintf(f, ", \"how\": ");
        lex_json_write_cstr(f, l->how);
        fprintf(f, ", \"command\": ");
        lex_json_write_cstr(f, l->cmd);
        fprintf(f, ", \"filter\": ");
        lex_json_write_cstr(f, l->filter);
        fprintf(f, ", \"scope\": ");
        lex_json_write_cstr(f, l->scope);
        fprintf(f, ", \"record\": %llu}", (unsigned long long)l->seq);
    }
    fprintf(f, "%s]\n}\n", r->nlooked ? "\n  " : "");
}

/* ---- the command ---- */

static void usage(FILE *f)
{
    fprintf(f, "usage: lexctl report --state ST [--from YYYY-MM] [--to YYYY-MM]\n"
               "                     [--format text|csv|json|html] [--out FILE] [--data DIR]\n"
               "A state's transparency report: the queries it received through the switch,\n"
               "by requesting agency level and family, by key and by month, each split into\n"
               "allowed, redacted, denied, held and refused. Read from the audit log's\n"
               "running counts (no scan of the records), so it takes about a second for a\n"
               "year. Months are UTC and both ends are included. --out writes to FILE.\n");
}

static int parse_format(const char *s, out_format_t *f)
{
    static const char *const names[] = {"text", "csv", "json", "html"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *f = (out_format_t)i;
            return 0;
        }
    return -1;
}

static void free_report(report_t *r)
{
    free(r->agencies.lines);
    free(r->keys.lines);
    free(r->months.lines);
    free(r->looked);
}

int lexctl_report(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, 0, 'd'}, {"state", required_argument, 0, 's'},
        {"from", required_argument, 0, 'f'}, {"to", required_argument, 0, 't'},
        {"format", required_argument, 0, 'm'}, {"out", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},       {0, 0, 0, 0}};
    const char *data = LEXCTL_DEFAULT_DATA, *state = NULL, *out_path = NULL;
    report_t r;
    memset(&r, 0, sizeof r);
    out_format_t format = OUT_TEXT;
    int c, y, m;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:s:f:t:m:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 's': state = optarg; break;
        case 'f':
        case 't':
            if (parse_month(optarg, &y, &m) != 0) {
                fprintf(stderr, "lexctl report: --%s '%s' is not a month (YYYY-MM)\n",
                        c == 'f' ? "from" : "to", optarg);
                return 2;
            }
            snprintf(c == 'f' ? r.from : r.to, sizeof r.from, "%s", optarg);
            break;
        case 'm':
            if (parse_format(optarg, &format) != 0) {
                fprintf(stderr, "lexctl report: --format is text, csv, json or html\n");
                return 2;
            }
            break;
        case 'o': out_path = optarg; break;
        case 'h': usage(stdout); return 0;
        default: return 2;
        }
    }
    if (optind < argc || !state) {
        fprintf(stderr, "lexctl report: %s (see --help)\n",
                state ? "unexpected arguments" : "--state is required");
        return 2;
    }
    if (!lex_state_valid(state)) {
        fprintf(stderr, "lexctl report: '%s' is not a state code\n", state);
        return 2;
    }
    if (r.from[0] && r.to[0] && strcmp(r.from, r.to) > 0) {
        fprintf(stderr, "lexctl report: --from %s is after --to %s\n", r.from, r.to);
        return 2;
    }
    snprintf(r.state, sizeof r.state, "%s", state);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(r.generated, sizeof r.generated, "%Y-%m-%dT%H:%M:%SZ", &tm);

    if (lexctl_access_note("report", data, argc, argv, state, NULL) != 0)
        return 1;
    lex_log_t *log = NULL;
    char err[512];
    if (lex_log_open_reader(data, &log, err, sizeof err) != 0) {
        fprintf(stderr, "lexctl report: cannot read the audit log in %s: %s\n", data, err);
        return 1;
    }
    int rc = lex_log_rollups(log, state, r.from[0] ? r.from : NULL, r.to[0] ? r.to : NULL,
                             collect_row, &r);
    r.log_base = lex_log_base(log);
    if (rc == 0)
        rc = lex_log_scan_access(log, collect_access, &r);
    lex_log_close(&log);
    if (rc == 0)
        rc = lex_access_pending(data, collect_access, &r); /* not yet in the chain */
    if (rc == 0 && r.nlooked)
        qsort(r.looked, r.nlooked, sizeof *r.looked, by_when);
    if (rc == 0)
        rc = fill_months(&r);
    if (rc != 0) {
        fprintf(stderr, "lexctl report: %s\n", lex_strerror(rc));
        free_report(&r);
        return 1;
    }
    snprintf(r.all.label, sizeof r.all.label, "all");
    if (r.agencies.count) /* an empty view has no array at all */
        qsort(r.agencies.lines, r.agencies.count, sizeof *r.agencies.lines, by_total);
    if (r.keys.count)
        qsort(r.keys.lines, r.keys.count, sizeof *r.keys.lines, by_total);
    if (r.months.count)
        qsort(r.months.lines, r.months.count, sizeof *r.months.lines, by_label);

    FILE *f = out_path ? fopen(out_path, "w") : stdout;
    if (!f) {
        fprintf(stderr, "lexctl report: cannot write %s: %s\n", out_path, strerror(errno));
        free_report(&r);
        return 1;
    }
    switch (format) {
    case OUT_TEXT: write_text(f, &r); break;
    case OUT_CSV: write_csv(f, &r); break;
    case OUT_JSON: write_json(f, &r); break;
    case OUT_HTML: rc = lexctl_report_html(f, &r); break;
    }
    if (ferror(f))
        rc = LEX_EIO;
    if (out_path && fclose(f) != 0)
        rc = LEX_EIO;
    if (rc != 0)
        fprintf(stderr, "lexctl report: writing %s failed\n", out_path ? out_path : "the report");
    free_report(&r);
    return rc == 0 ? 0 : 1;
}
