/* lexctl_repair.c: `lexctl repair`, and how `lexctl verify` words loss.
 * Repair salvages a log the switch refuses to open because its write-ahead
 * log is damaged (or its head fell behind its newest signed checkpoint),
 * through the log library (lex_auditlog_repair.h): it keeps every readable
 * record and writes one signed gap record naming the numbers lost, so
 * verify reports the loss from then on. The switch must be stopped. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lex_auditlog_repair.h"
#include "lex_error.h"
#include "lexctl.h"

int lexctl_repair(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, 0, 'd'},    {"witness", required_argument, 0, 'w'},
        {"lost-to", required_argument, 0, 'l'}, {"reason", required_argument, 0, 'r'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    const char *data = LEXCTL_DEFAULT_DATA;
    lex_log_repair_opts_t o = {0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:w:l:r:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'w': o.witness_dir = optarg; break;
        case 'l': o.lost_to = strtoull(optarg, NULL, 10); break;
        case 'r': o.reason = optarg; break;
        case 'h':
            printf("usage: lexctl repair [--data DIR] [--witness DIR] [--lost-to SEQ] [--reason TEXT]\n"
                   "Salvages an audit log the switch refuses to open because its write-ahead\n"
                   "log is damaged, or because its head is behind its newest signed checkpoint.\n"
                   "Keeps every record up to the damage and writes a signed gap record saying\n"
                   "which record numbers were lost and why; the switch then continues after\n"
                   "them (never reusing one), and `lexctl verify` reports the gap from then on.\n"
                   "--witness DIR and --lost-to SEQ say that numbers up to a higher one were\n"
                   "used. Stop the switch first. A damaged MANIFEST or a lost column family is\n"
                   "not repaired: restore the data directory from a backup.\n");
            return 0;
        default: return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "lexctl repair: unexpected '%s' (see --help)\n", argv[optind]);
        return 2;
    }
    lex_log_repair_t res;
    char err[1024] = "";
    int rc = lex_log_repair(data, &o, &res, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "lexctl repair: cannot repair %s: %s\n", data, err[0] ? err : lex_strerror(rc));
        return 1;
    }
    if (!res.gap_seq) {
        printf("%s\n", res.found);
        return 0;
    }
    printf("repaired %s: %s\n", data, res.found);
    if (res.lost_to >= res.lost_from)
        printf("gap record %llu: records %llu to %llu lost, signed; the switch continues at %llu\n",
               (unsigned long long)res.gap_seq, (unsigned long long)res.lost_from,
               (unsigned long long)res.lost_to, (unsigned long long)(res.gap_seq + 1));
    else
        printf("gap record %llu: an unknown number of records after %llu may be lost, signed; "
               "the switch continues at %llu\n", (unsigned long long)res.gap_seq,
               (unsigned long long)res.kept_to, (unsigned long long)(res.gap_seq + 1));
    return 0;
}

int lexctl_verify_report_loss(const lex_log_verify_t *res)
{
    if (res->damaged_ranges)
        printf("DAMAGED: records %llu to %llu cannot be read (%s)%s; %u damaged range%s, %llu "
               "records in all; the walk went on past them\n",
               (unsigned long long)res->damaged_from, (unsigned long long)res->damaged_to,
               res->damage_what, res->damaged_ranges > 1 ? ", the first of them" : "",
               res->damaged_ranges, res->damaged_ranges > 1 ? "s" : "",
               (unsigned long long)res->damaged);
    if (res->gaps) {
        if (res->gap_to >= res->gap_from)
            printf("GAP: records %llu to %llu were lost", (unsigned long long)res->gap_from,
                   (unsigned long long)res->gap_to);
        else
            printf("GAP: records after %llu may have been lost (how many is not known)",
                   (unsigned long long)(res->gap_from - 1));
        printf(" (signed gap record %llu%s%s)", (unsigned long long)res->gap_seq,
               res->gap_reason[0] ? ": " : "", res->gap_reason);
        if (res->gaps > 1)
            printf("; %llu gap records in all, %llu records lost", (unsigned long long)res->gaps,
                   (unsigned long long)res->gap_lost);
        putchar('\n');
    }
    if (res->fault == LEX_LOG_DAMAGED)
        return 1;
    return res->fault == LEX_LOG_GAP ? 3 : res->fault == LEX_LOG_OK ? 0 : 1;
}
