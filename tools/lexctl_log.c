/* lexctl_log.c: `lexctl tail`, `lexctl audit` and `lexctl verify`: read the
 * switch's audit log through the log-reader API (lex_auditlog.h), while the
 * switch runs or after it stopped. They never write to the log. */
#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "lex_auditlog.h"
#include "lex_directory.h"
#include "lex_envelope.h"
#include "lex_error.h"
#include "lex_status.h"
#include "lexctl.h"
#include "lex_query_text.h"

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

typedef enum { FMT_TABLE, FMT_JSONL, FMT_CSV } format_t;

typedef struct {
    format_t format;
    const lex_directory_t *directory; /* family of records that do not store it */
    const char *family;               /* filter applied here when a directory is given */
    size_t limit;
    size_t shown;
    uint64_t last_seq;
} printer_t;

static void iso_time(uint64_t us, char out[32])
{
    time_t s = (time_t)(us / 1000000u);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03uZ", (unsigned)(us / 1000u % 1000u));
}

/* A CSV field: quoted only when it needs to be. */
static void csv_str(const char *s)
{
    if (!strpbrk(s, ",\"\n")) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"')
            putchar('"');
        putchar(*s);
    }
    putchar('"');
}

/* The requesting agency's family and level: stored in the record, or
 * looked up in the directory for records written without one. */
static void requester_of(const printer_t *p, const lex_log_record_t *r, const char **family,
                         const char **level)
{
    *family = r->req_family;
    *level = r->req_level;
    if (r->req_family[0] || !p->directory)
        return;
    const lex_agency_t *a = lex_log_requester(r, p->directory);
    if (a) {
        *family = a->family;
        *level = lex_level_name(a->level);
    }
}

static void print_json_fields(FILE *f, const printer_t *p, const lex_log_record_t *r)
{
    char when[32];
    iso_time(r->time_us, when);
    const char *family, *level;
    requester_of(p, r, &family, &level);
    fprintf(f, "{\"seq\": %llu, \"time\": \"%s\", \"dir\": \"%s\", \"key\": ",
            (unsigned long long)r->seq, when, lex_direction_name(r->dir));
    lex_json_write_cstr(f, r->key);
    fprintf(f, ", \"src\": ");
    lex_json_write_cstr(f, r->src);
    fprintf(f, ", \"dst\": ");
    lex_json_write_cstr(f, r->dst);
    fprintf(f, ", \"id\": %llu, \"ref\": %llu, \"decision\": ", (unsigned long long)r->msg_id,
            (unsigned long long)r->ref);
    lex_json_write_cstr(f, r->decision);
    fprintf(f, ", \"rule\": ");
    lex_json_write_cstr(f, r->rule_id);
    fprintf(f, ", \"status\": %d, \"family\": ", r->status);
    lex_json_write_cstr(f, family);
    fprintf(f, ", \"level\": ");
    lex_json_write_cstr(f, level);
    fprintf(f, ", \"conn\": ");
    lex_json_write_cstr(f, r->conn);
}

static void print_record(const printer_t *p, const lex_log_record_t *r)
{
    char when[32];
    iso_time(r->time_us, when);
    if (p->format == FMT_JSONL) {
        print_json_fields(stdout, p, r);
        printf(", \"body_bytes\": %zu}\n", r->body_len);
        return;
    }
    const char *family, *level;
    requester_of(p, r, &family, &level);
    if (p->format == FMT_CSV) {
        printf("%llu,%s,%s,", (unsigned long long)r->seq, when, lex_direction_name(r->dir));
        csv_str(r->key);
        putchar(',');
        csv_str(r->src);
        putchar(',');
        csv_str(r->dst);
        printf(",%llu,%llu,", (unsigned long long)r->msg_id, (unsigned long long)r->ref);
        csv_str(r->decision);
        putchar(',');
        csv_str(r->rule_id);
        printf(",%d,", r->status);
        csv_str(family);
        putchar(',');
        csv_str(level);
        printf(",%zu\n", r->body_len);
        return;
    }
    printf("%8llu %s %-3s %-5s %-9s -> %-9s id=%-8llu %-7s", (unsigned long long)r->seq, when,
           lex_direction_name(r->dir), r->key, r->src[0] ? r->src : "-", r->dst[0] ? r->dst : "-",
           (unsigned long long)r->msg_id, r->decision);
    if (family[0])
        printf(" %s/%s", level, family);
    if (r->rule_id[0])
        printf(" rule=%s", r->rule_id);
    if (r->status)
        printf(" status=%s", lex_status_name(r->status));
    putchar('\n');
}

static int print_visit(const lex_log_record_t *r, void *arg)
{
    printer_t *p = arg;
    p->last_seq = r->seq;
    if (p->family && p->directory) {
        const char *family, *level;
        requester_of(p, r, &family, &level);
        if (strcmp(family, p->family) != 0)
            return 0;
    }
    print_record(p, r);
    p->shown++;
    return p->limit && p->shown >= p->limit;
}

/* "2025-03-01", "2025-03-01T14:30", "2025-03-01T14:30:05" (UTC, a trailing
 * Z allowed). A date alone as the end of a range means the whole day. */
static int parse_iso(const char *text, int end_of_range, uint64_t *us)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *rest = strptime(text, "%Y-%m-%d", &tm);
    if (!rest)
        return -1;
    int date_only = *rest == 0;
    if (*rest == 'T' || *rest == ' ') {
        const char *t = strptime(rest + 1, "%H:%M:%S", &tm);
        if (!t)
            t = strptime(rest + 1, "%H:%M", &tm);
        rest = t;
    }
    if (!rest || (*rest && strcmp(rest, "Z") != 0))
        return -1;
    time_t s = timegm(&tm);
    if (s < 0)
        return -1;
    if (date_only && end_of_range)
        s += 86400;
    *us = (uint64_t)s * 1000000u;
    return 0;
}

static int parse_format(const char *name, format_t *f)
{
    if (strcmp(name, "table") == 0)
        *f = FMT_TABLE;
    else if (strcmp(name, "jsonl") == 0 || strcmp(name, "json") == 0)
        *f = FMT_JSONL;
    else if (strcmp(name, "csv") == 0)
        *f = FMT_CSV;
    else
        return -1;
    return 0;
}

static int open_reader(const char *data, lex_log_t **log)
{
    char err[512];
    int rc = lex_log_open_reader(data, log, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "lexctl: cannot read the audit log in %s: %s\n", data, err);
    return rc;
}

int lexctl_tail(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, 0, 'd'}, {"lines", required_argument, 0, 'n'},
        {"follow", no_argument, 0, 'f'},     {"json", no_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'},       {0, 0, 0, 0}};
    const char *data = LEXCTL_DEFAULT_DATA;
    long lines = 20;
    int follow = 0, c;
    printer_t p = {0};
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:n:fjh", opts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'n': lines = atol(optarg); break;
        case 'f': follow = 1; break;
        case 'j': p.format = FMT_JSONL; break;
        case 'h':
            printf("usage: lexctl tail [--data DIR] [-n N] [--follow] [--json]\n"
                   "Prints the newest N audit-log records (default 20); --follow keeps\n"
                   "printing records as the switch commits them, until Ctrl-C.\n");
            return 0;
        default: return 2;
        }
    }
    if (lines < 0 || optind < argc) {
        fprintf(stderr, "lexctl tail: bad arguments (see --help)\n");
        return 2;
    }
    if (lexctl_access_note("tail", data, argc, argv, NULL, NULL) != 0)
        return 1;
    lex_log_t *log = NULL;
    if (open_reader(data, &log) != 0)
        return 1;
    uint64_t last = lex_log_last_seq(log);
    uint64_t from = last > (uint64_t)lines ? last - (uint64_t)lines + 1 : 1;
    int rc = lines ? lex_log_scan(log, from, 0, print_visit, &p) : 0;
    p.last_seq = last;
    signal(SIGINT, on_sigint);
    while (rc == 0 && follow && !interrupted) {
        fflush(stdout);
        usleep(200000);
        if ((rc = lex_log_refresh(log)) != 0)
            break;
        if (lex_log_last_seq(log) > p.last_seq)
            rc = lex_log_scan(log, p.last_seq + 1, 0, print_visit, &p);
    }
    if (rc != 0)
        fprintf(stderr, "lexctl tail: %s\n", lex_strerror(rc));
    lex_log_close(&log);
    return rc == 0 ? 0 : 1;
}

int lexctl_audit(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, 0, 'd'},     {"ori", required_argument, 0, 'o'},
        {"state", required_argument, 0, 's'},    {"key", required_argument, 0, 'k'},
        {"decision", required_argument, 0, 'D'}, {"family", required_argument, 0, 'F'},
        {"id", required_argument, 0, 'i'},       {"from", required_argument, 0, 'f'},
        {"to", required_argument, 0, 't'},       {"format", required_argument, 0, 'm'},
        {"directory", required_argument, 0, 'r'}, {"json", no_argument, 0, 'j'},
        {"limit", required_argument, 0, 'l'},    {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *data = LEXCTL_DEFAULT_DATA, *dir_path = NULL;
    printer_t p = {0};
    lex_log_query_t q = {0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:o:s:k:D:F:i:f:t:m:r:jl:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'o': q.ori = optarg; break;
        case 's': q.state = optarg; break;
        case 'k': q.key = optarg; break;
        case 'D': q.decision = optarg; break;
        case 'F': q.family = optarg; break;
        case 'i':
            q.has_id = 1;
            q.msg_id = strtoull(optarg, NULL, 10);
            break;
        case 'f':
            if (parse_iso(optarg, 0, &q.from_us) != 0) {
                fprintf(stderr, "lexctl audit: --from '%s' is not a date (2025-03-01 or "
                                "2025-03-01T14:30:00)\n", optarg);
                return 2;
            }
            break;
        case 't':
            if (parse_iso(optarg, 1, &q.to_us) != 0) {
                fprintf(stderr, "lexctl audit: --to '%s' is not a date (2025-03-31 or "
                                "2025-03-31T23:59:59)\n", optarg);
                return 2;
            }
            break;
        case 'm':
            if (parse_format(optarg, &p.format) != 0) {
                fprintf(stderr, "lexctl audit: --format is table, jsonl or csv\n");
                return 2;
            }
            break;
        case 'r': dir_path = optarg; break;
        case 'j': p.format = FMT_JSONL; break;
        case 'l': p.limit = (size_t)atol(optarg); break;
        case 'h':
            printf("usage: lexctl audit [--data DIR] [--ori ORI] [--state ST] [--family F]\n"
                   "                    [--key K] [--decision D] [--id N] [--from DATE] [--to DATE]\n"
                   "                    [--format table|jsonl|csv] [--directory FILE] [--limit N]\n"
                   "Lists the audit-log records that match every filter given, oldest first.\n"
                   "--ori/--state match the source or the destination; --family the requesting\n"
                   "agency's family (stored in records the switch wrote with a directory; for\n"
                   "older records give --directory FILE); --from/--to are UTC, --to a date\n"
                   "alone includes that whole day. Table output ends with the count.\n");
            return 0;
        default: return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "lexctl audit: unexpected '%s' (see --help)\n", argv[optind]);
        return 2;
    }
    if (q.ori && !lex_ori_valid(q.ori)) {
        fprintf(stderr, "lexctl audit: '%s' is not a 9-character ORI\n", q.ori);
        return 2;
    }
    if (q.state && !lex_state_valid(q.state)) {
        fprintf(stderr, "lexctl audit: '%s' is not a state code\n", q.state);
        return 2;
    }
    lex_directory_t *directory = NULL;
    if (dir_path) {
        char err[256];
        if (lex_directory_load(dir_path, &directory, err, sizeof err) != 0) {
            fprintf(stderr, "lexctl audit: %s\n", err);
            return 1;
        }
        p.directory = directory;
        p.family = q.family; /* checked here, so older records count too */
        q.family = NULL;
    }
    lex_log_t *log = NULL;
    if (lexctl_access_note("audit", data, argc, argv, q.state, q.ori) != 0 ||
        open_reader(data, &log) != 0) {
        lex_directory_destroy(&directory);
        return 1;
    }
    if (p.format == FMT_CSV)
        printf("seq,time,dir,key,src,dst,id,ref,decision,rule,status,family,level,body_bytes\n");
    int rc = lex_log_query(log, &q, print_visit, &p);
    if (rc != 0)
        fprintf(stderr, "lexctl audit: %s\n", lex_strerror(rc));
    else if (p.format == FMT_TABLE)
        printf("%zu records\n", p.shown);
    lex_log_close(&log);
    lex_directory_destroy(&directory);
    return rc == 0 ? 0 : 1;
}

typedef struct {
    FILE *out;
    printer_t p;
    uint64_t from_us, to_us;
    size_t written;
} exporter_t;

static void hex_field(FILE *f, const char *name, const uint8_t *bytes, size_t n)
{
    char hex[2 * 32 + 1];
    sodium_bin2hex(hex, sizeof hex, bytes, n);
    fprintf(f, ", \"%s\": \"%s\"", name, hex);
}

static void b64_field(FILE *f, const char *name, const void *bytes, size_t n)
{
    size_t len = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc(len);
    if (!b64)
        return;
    sodium_bin2base64(b64, len, bytes, n, sodium_base64_VARIANT_ORIGINAL);
    fprintf(f, ", \"%s\": \"%s\"", name, b64);
    free(b64);
}

static int export_visit(const lex_log_record_t *r, void *arg)
{
    exporter_t *x = arg;
    if (x->to_us && r->time_us >= x->to_us)
        return 1;
    if (r->time_us < x->from_us)
        return 0;
    print_json_fields(x->out, &x->p, r);
    b64_field(x->out, "envelope", r->envelope ? r->envelope : "", r->envelope_len);
    b64_field(x->out, "body", r->body ? r->body : "", r->body_len);
    hex_field(x->out, "prev", r->prev_hash, 32);
    hex_field(x->out, "hash", r->hash, 32);
    fputs("}\n", x->out);
    x->written++;
    return 0;
}

int lexctl_export(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, 0, 'd'}, {"from", required_argument, 0, 'f'},
        {"to", required_argument, 0, 't'},   {"out", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},       {0, 0, 0, 0}};
    const char *data = LEXCTL_DEFAULT_DATA, *out_path = NULL;
    uint64_t from_us = 0, to_us = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:f:t:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'f':
        case 't':
            if (parse_iso(optarg, c == 't', c == 'f' ? &from_us : &to_us) != 0) {
                fprintf(stderr, "lexctl export: '%s' is not a date (2025-03-01 or "
                                "2025-03-01T14:30:00)\n", optarg);
                return 2;
            }
            break;
        case 'o': out_path = optarg; break;
        case 'h':
            printf("usage: lexctl export [--data DIR] [--from DATE] [--to DATE] [--out FILE]\n"
                   "Writes audit-log records as JSON lines, oldest first: every field, the\n"
                   "envelope and body frames in base64, and each record's prev and own\n"
                   "hash in hex, so the export can be checked link by link elsewhere.\n");
            return 0;
        default: return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "lexctl export: unexpected '%s' (see --help)\n", argv[optind]);
        return 2;
    }
    if (lexctl_access_note("export", data, argc, argv, NULL, NULL) != 0)
        return 1;
    exporter_t x = {.out = stdout, .from_us = from_us, .to_us = to_us};
    if (out_path && !(x.out = fopen(out_path, "w"))) {
        fprintf(stderr, "lexctl export: cannot write %s: %s\n", out_path, strerror(errno));
        return 1;
    }
    lex_log_t *log = NULL;
    int rc = open_reader(data, &log);
    if (rc == 0) {
        uint64_t from_seq = from_us ? lex_log_seq_at_time(log, from_us) : 1;
        rc = from_seq ? lex_log_scan(log, from_seq, 0, export_visit, &x) : 0;
        if (rc != 0)
            fprintf(stderr, "lexctl export: %s\n", lex_strerror(rc));
        lex_log_close(&log);
    }
    if (out_path && fclose(x.out) != 0 && rc == 0) {
        fprintf(stderr, "lexctl export: writing %s failed\n", out_path);
        rc = LEX_EIO;
    }
    if (rc == 0 && out_path)
        fprintf(stderr, "lexctl export: %zu records to %s\n", x.written, out_path);
    return rc == 0 ? 0 : 1;
}

static const char *fault_name(lex_log_fault_t f)
{
    switch (f) {
    case LEX_LOG_OK: return "intact";
    case LEX_LOG_CHANGED: return "CHANGED";
    case LEX_LOG_REMOVED: return "REMOVED";
    case LEX_LOG_MISPLACED: return "REORDERED";
    case LEX_LOG_UNREADABLE: return "UNREADABLE";
    case LEX_LOG_ADDED: return "ADDED";
    case LEX_LOG_BAD_CHECKPOINT: return "BAD CHECKPOINT";
    case LEX_LOG_DAMAGED: return "DAMAGED";
    case LEX_LOG_GAP: return "GAP";
    case LEX_LOG_YOUNG_CUT: return "YOUNG CUT";
    }
    return "?";
}

int lexctl_verify(int argc, char **argv)
{
    static const struct option opts[] = {{"data", required_argument, 0, 'd'},
                                         {"key", required_argument, 0, 'k'},
                                         {"retention-days", required_argument, 0, 'r'},
                                         {"witness", required_argument, 0, 'w'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *data = LEXCTL_DEFAULT_DATA, *pubkey = NULL, *witness = NULL;
    long min_days = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:k:r:w:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'k': pubkey = optarg; break;
        case 'w': witness = optarg; break;
        case 'r':
            min_days = strtol(optarg, NULL, 10);
            if (min_days <= 0) {
                fprintf(stderr, "lexctl verify: --retention-days wants a number of days\n");
                return 2;
            }
            break;
        case 'h':
            printf("usage: lexctl verify [--data DIR] [--key PUBLIC-KEY-FILE] [--retention-days N]\n"
                   "                     [--witness DIR]\n"
                   "Walks the whole audit log: every record in order and linked to the one\n"
                   "before, the head entry, and every signed checkpoint (public key from\n"
                   "--key, default DIR/audit-sign.pub; keep a copy away from the switch).\n"
                   "Exits 0 when intact, 1 naming the first changed, removed or reordered\n"
                   "record otherwise. Retention cuts are checked too: each must have removed\n"
                   "only records older than its period by the log's proved times (and, with\n"
                   "--retention-days, a period at least that long). Table blocks that fail\n"
                   "their checksum are reported as DAMAGED with their record range, and the\n"
                   "walk goes on past them (exit 1); records given up by `lexctl repair` are\n"
                   "reported as a GAP (exit 3). --witness DIR also checks every checkpoint a\n"
                   "witness kept (lexctl witness) against the log: a log truncated, rolled\n"
                   "back or rewritten exits 1.\n");
            return 0;
        default: return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "lexctl verify: bad arguments (see --help)\n");
        return 2;
    }
    if (lexctl_access_note("verify", data, argc, argv, NULL, NULL) != 0)
        return 1;
    lex_log_t *log = NULL;
    if (open_reader(data, &log) != 0)
        return 1;
    lex_log_verify_t res;
    int rc = lex_log_verify_full(log, pubkey, &res);
    if (rc == 0 && min_days)
        rc = lex_log_verify_cuts(log, (uint64_t)min_days * 86400000000ull, &res);
    if (rc == 0) {
        printf("chain intact: %llu records", (unsigned long long)res.records);
        if (res.records)
            printf(" (%llu to %llu)", (unsigned long long)res.first_seq,
                   (unsigned long long)res.last_seq);
        printf(", %llu checkpoints", (unsigned long long)res.checkpoints);
        if (res.signed_ok)
            printf(" with good signatures (last at record %llu)\n",
                   (unsigned long long)res.last_checkpoint);
        else
            printf(" (signatures NOT checked: no public key)\n");
        if (res.base) {
            char when[32];
            iso_time(res.base_time_us, when);
            printf("the log starts at record %llu: records 1 to %llu were removed by retention "
                   "(up to the checkpoint signed %s)\n", (unsigned long long)(res.base + 1),
                   (unsigned long long)res.base, when);
        }
        if (res.cuts) {
            char when[32];
            iso_time(res.cut_reckoned_us, when);
            printf("retention: %llu cuts, each older than its period; the newest at %s "
                   "(switch's reckoning) by a period of %.1f days removed records proved "
                   "%.1f days old\n",
                   (unsigned long long)res.cuts, when, (double)res.cut_period_us / 86400e6,
                   (double)(res.cut_reckoned_us - res.cut_proved_us) / 86400e6);
        }
    } else if (res.fault == LEX_LOG_GAP || res.fault == LEX_LOG_DAMAGED) {
        printf("chain NOT intact: %llu records verified (%llu to %llu), and records lost:\n",
               (unsigned long long)res.records, (unsigned long long)res.first_seq,
               (unsigned long long)res.last_seq);
    } else if (res.bad_seq) {
        printf("chain BROKEN at record %llu: %s: %s\n", (unsigned long long)res.bad_seq,
               fault_name(res.fault), res.what);
    } else {
        printf("cannot verify: %s%s%s\n", lex_strerror(rc), res.what[0] ? ": " : "", res.what);
    }
    int code = res.bad_seq || rc == 0 ? lexctl_verify_report_loss(&res) : 1;
    if (witness && lexctl_verify_witness(log, witness, pubkey, data) != 0)
        code = 1;
    lex_log_close(&log);
    return code;
}
