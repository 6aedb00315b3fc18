/* lexctl_log.c: `lexctl tail`, `lexctl audit` and `lexctl verify`: read the
 * switch's audit log through the log-reader API (lex_auditlog.h), while the
 * switch runs or after it stopped. They never write to the log. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "lex_auditlog.h"
#include "lex_envelope.h"
#include "lex_error.h"
#include "lex_status.h"
#include "lexctl.h"

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

typedef struct {
    int json;
    const char *key;        /* filters, NULL = any */
    const char *decision;
    const char *ori;
    const char *state;
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

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            printf("\\u%04x", (unsigned char)*s);
        else
            putchar(*s);
    }
    putchar('"');
}

static void print_record(const printer_t *p, const lex_log_record_t *r)
{
    char when[32];
    iso_time(r->time_us, when);
    if (p->json) {
        printf("{\"seq\": %llu, \"time\": \"%s\", \"dir\": \"%s\", \"key\": ",
               (unsigned long long)r->seq, when, lex_direction_name(r->dir));
        json_str(r->key);
        printf(", \"src\": ");
        json_str(r->src);
        printf(", \"dst\": ");
        json_str(r->dst);
        printf(", \"id\": %llu, \"ref\": %llu, \"decision\": ", (unsigned long long)r->msg_id,
               (unsigned long long)r->ref);
        json_str(r->decision);
        printf(", \"rule\": ");
        json_str(r->rule_id);
        printf(", \"status\": %d, \"conn\": ", r->status);
        json_str(r->conn);
        printf(", \"body_bytes\": %zu}\n", r->body_len);
        return;
    }
    printf("%8llu %s %-3s %-5s %-9s -> %-9s id=%-8llu %-7s", (unsigned long long)r->seq, when,
           lex_direction_name(r->dir), r->key, r->src[0] ? r->src : "-", r->dst[0] ? r->dst : "-",
           (unsigned long long)r->msg_id, r->decision);
    if (r->rule_id[0])
        printf(" rule=%s", r->rule_id);
    if (r->status)
        printf(" status=%s", lex_status_name(r->status));
    putchar('\n');
}

static int matches(const printer_t *p, const lex_log_record_t *r)
{
    if (p->key && strcmp(p->key, r->key) != 0)
        return 0;
    if (p->decision && strcmp(p->decision, r->decision) != 0)
        return 0;
    if (p->ori && strcmp(p->ori, r->src) != 0 && strcmp(p->ori, r->dst) != 0)
        return 0;
    if (p->state) {
        int in_src = strncmp(r->src, p->state, 2) == 0, in_dst = strncmp(r->dst, p->state, 2) == 0;
        if (!in_src && !in_dst)
            return 0;
    }
    return 1;
}

static int print_visit(const lex_log_record_t *r, void *arg)
{
    printer_t *p = arg;
    p->last_seq = r->seq;
    if (!matches(p, r))
        return 0;
    print_record(p, r);
    p->shown++;
    return p->limit && p->shown >= p->limit;
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
        case 'j': p.json = 1; break;
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
        {"data", required_argument, 0, 'd'}, {"ori", required_argument, 0, 'o'},
        {"state", required_argument, 0, 's'}, {"key", required_argument, 0, 'k'},
        {"decision", required_argument, 0, 'D'}, {"json", no_argument, 0, 'j'},
        {"limit", required_argument, 0, 'l'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *data = LEXCTL_DEFAULT_DATA;
    printer_t p = {0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:o:s:k:D:jl:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'o': p.ori = optarg; break;
        case 's': p.state = optarg; break;
        case 'k': p.key = optarg; break;
        case 'D': p.decision = optarg; break;
        case 'j': p.json = 1; break;
        case 'l': p.limit = (size_t)atol(optarg); break;
        case 'h':
            printf("usage: lexctl audit [--data DIR] (--ori ORI | --state ST) [--key K]\n"
                   "                    [--decision allow|deny|redact|refuse|status] [--json]\n"
                   "                    [--limit N]\n"
                   "Lists the audit-log records that concern an ORI or a state (as source\n"
                   "or destination), oldest first, then how many matched.\n");
            return 0;
        default: return 2;
        }
    }
    if ((!p.ori && !p.state) || optind < argc) {
        fprintf(stderr, "lexctl audit: give --ori or --state (see --help)\n");
        return 2;
    }
    if (p.ori && !lex_ori_valid(p.ori)) {
        fprintf(stderr, "lexctl audit: '%s' is not a 9-character ORI\n", p.ori);
        return 2;
    }
    if (p.state && !lex_state_valid(p.state)) {
        fprintf(stderr, "lexctl audit: '%s' is not a state code\n", p.state);
        return 2;
    }
    lex_log_t *log = NULL;
    if (open_reader(data, &log) != 0)
        return 1;
    int rc = p.ori ? lex_log_scan_ori(log, p.ori, print_visit, &p)
                   : lex_log_scan_state(log, p.state, print_visit, &p);
    if (rc != 0)
        fprintf(stderr, "lexctl audit: %s\n", lex_strerror(rc));
    else if (!p.json)
        printf("%zu records\n", p.shown);
    lex_log_close(&log);
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
    }
    return "?";
}

int lexctl_verify(int argc, char **argv)
{
    static const struct option opts[] = {{"data", required_argument, 0, 'd'},
                                         {"key", required_argument, 0, 'k'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *data = LEXCTL_DEFAULT_DATA, *pubkey = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:k:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'k': pubkey = optarg; break;
        case 'h':
            printf("usage: lexctl verify [--data DIR] [--key PUBLIC-KEY-FILE]\n"
                   "Walks the whole audit log: every record in order and linked to the one\n"
                   "before, the head entry, and every signed checkpoint (public key from\n"
                   "--key, default DIR/audit-sign.pub; keep a copy away from the switch).\n"
                   "Exits 0 when intact, 1 naming the first changed, removed or reordered\n"
                   "record otherwise.\n");
            return 0;
        default: return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "lexctl verify: bad arguments (see --help)\n");
        return 2;
    }
    lex_log_t *log = NULL;
    if (open_reader(data, &log) != 0)
        return 1;
    lex_log_verify_t res;
    int rc = lex_log_verify_full(log, pubkey, &res);
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
    } else if (res.bad_seq) {
        printf("chain BROKEN at record %llu: %s: %s\n", (unsigned long long)res.bad_seq,
               fault_name(res.fault), res.what);
    } else {
        printf("cannot verify: %s%s%s\n", lex_strerror(rc), res.what[0] ? ": " : "", res.what);
    }
    lex_log_close(&log);
    return rc == 0 ? 0 : 1;
}
