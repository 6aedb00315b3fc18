/* lexctl_rules.c: `lexctl rules check FILE...` validates rules files the
 * way the switch loads them; `lexctl rules test` answers which rule of a
 * state decides a given requester's query and what the requester gets. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "lex_directory.h"
#include "lex_envelope.h"
#include "lex_error.h"
#include "lex_policy.h"
#include "lex_query_kind.h"
#include "lex_status.h"
#include "lexctl.h"

static int rules_check(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        printf("usage: lexctl rules check FILE...\n"
               "Validates <STATE>.rules files; prints file:line: reason for the first\n"
               "error of each bad file and exits 1 if any is bad.\n");
        return argc < 2 ? 2 : 0;
    }
    int bad = 0;
    for (int i = 1; i < argc; i++) {
        lex_policy_t *p = NULL;
        char err[512];
        if (lex_policy_new(&p) != 0)
            return 1;
        if (lex_policy_load_file(p, argv[i], err, sizeof err) != 0) {
            printf("%s\n", err);
            bad = 1;
        } else {
            const char *base = strrchr(argv[i], '/');
            char state[3] = {0};
            memcpy(state, base ? base + 1 : argv[i], 2);
            lex_action_t act;
            int st;
            lex_policy_default(p, state, &act, &st);
            printf("%s: ok (%zu rules, default %s%s%s)\n", argv[i],
                   lex_policy_rule_count(p, state), lex_action_name(act),
                   act == LEX_ACT_DENY ? " " : "", act == LEX_ACT_DENY ? lex_status_name(st) : "");
        }
        lex_policy_destroy(&p);
    }
    return bad;
}

static int rules_test(int argc, char **argv)
{
    static const struct option opts[] = {
        {"rules", required_argument, 0, 'r'}, {"directory", required_argument, 0, 'D'},
        {"ori", required_argument, 0, 'o'},   {"state", required_argument, 0, 's'},
        {"key", required_argument, 0, 'k'},   {"purpose", required_argument, 0, 'p'},
        {"kind", required_argument, 0, 'K'},  {"at", required_argument, 0, 'a'},
        {"help", no_argument, 0, 'h'},        {0, 0, 0, 0}};
    const char *rules = NULL, *dirpath = NULL, *ori = NULL, *state = NULL, *key = NULL,
               *purpose = "", *kind = "";
    int64_t at = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "r:D:o:s:k:p:K:a:h", opts, NULL)) != -1) {
        switch (c) {
        case 'r': rules = optarg; break;
        case 'D': dirpath = optarg; break;
        case 'o': ori = optarg; break;
        case 's': state = optarg; break;
        case 'k': key = optarg; break;
        case 'p': purpose = optarg; break;
        case 'K': kind = optarg; break;
        case 'a': at = atoll(optarg); break;
        case 'h':
            printf("usage: lexctl rules test --rules DIR|FILE --directory FILE --ori ORI\n"
                   "                         --state ST --key KEY [--purpose P] [--kind KIND]\n"
                   "                         [--at UNIX-SECONDS]\n"
                   "Says which of the state's rules decides this requester's query and\n"
                   "what the requester would receive. KIND: by-number, by-name, by-plate,\n"
                   "by-vin, photo, plate-reader (default: from the key). --at evaluates\n"
                   "from/until conditions at that time instead of now.\n");
            return 0;
        default: return 2;
        }
    }
    if (!rules || !ori || !state || !key || optind < argc) {
        fprintf(stderr, "lexctl rules test: --rules, --ori, --state and --key are required\n");
        return 2;
    }
    if (!lex_state_valid(state) || !lex_ori_valid(ori)) {
        fprintf(stderr, "lexctl rules test: bad state code or ORI\n");
        return 2;
    }
    char err[512];
    lex_policy_t *p = NULL;
    lex_directory_t *dir = NULL;
    int rc = lex_policy_new(&p);
    struct stat sb;
    if (rc == 0)
        rc = stat(rules, &sb) == 0 && S_ISDIR(sb.st_mode) ? lex_policy_load_dir(p, rules, err, sizeof err)
                                                          : lex_policy_load_file(p, rules, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "lexctl rules test: %s\n", err);
        goto cleanup;
    }
    if (dirpath && (rc = lex_directory_load(dirpath, &dir, err, sizeof err)) != 0) {
        fprintf(stderr, "lexctl rules test: %s\n", err);
        goto cleanup;
    }
    const lex_agency_t *a = dir ? lex_directory_find(dir, ori) : NULL;
    if (!a)
        printf("warning: %s is not in the directory: only rules on ori and key can match it\n",
               ori);
    else
        printf("requester %s: %s, level %s, family %s, home %s\n", a->ori, a->name,
               lex_level_name(a->level), a->family, a->home_state);
    if (!kind[0]) /* keys with one kind; DQ and RQ depend on the body: say --kind */
        kind = lex_query_kind(key, "", 0);
    lex_policy_subject_t sub = {.ori = ori, .agency = a, .key = key, .purpose = purpose,
                                .kind = kind, .now_s = at};
    lex_decision_t d;
    lex_policy_decide(p, state, &sub, &d);
    const char *file;
    int line = lex_policy_rule_source(p, state, d.rule_id, &file);
    printf("%s: rule %s", state, d.rule_id);
    if (line)
        printf(" (%s:%d)", file, line);
    printf(" -> %s: ", lex_action_name(d.action));
    if (d.action == LEX_ACT_DENY) {
        printf("requester receives ST %s (%d)\n", lex_status_name(d.deny_status), d.deny_status);
    } else if (d.action == LEX_ACT_REDACT) {
        printf("query forwarded; these fields are removed from the response:");
        for (size_t i = 0; i < d.nredact; i++)
            printf(" %s", d.redact[i]);
        printf("\n");
    } else {
        printf("query forwarded, response delivered whole\n");
    }
cleanup:
    lex_policy_destroy(&p);
    lex_directory_destroy(&dir);
    return rc == 0 ? 0 : 1;
}

int lexctl_rules(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "reload") == 0)
        return lexctl_reload("rules", "rules-status", argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "check") == 0)
        return rules_check(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "test") == 0)
        return rules_test(argc - 1, argv + 1);
    FILE *f = argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr;
    fprintf(f, "usage: lexctl rules check FILE...\n"
               "       lexctl rules test --rules DIR|FILE --directory FILE --ori ORI --state ST "
               "--key KEY [--purpose P] [--kind K]\n"
               "       lexctl rules reload [--data DIR]\n");
    return f == stdout ? 0 : 2;
}
