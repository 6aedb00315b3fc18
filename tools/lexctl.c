/* lexctl.c: the operator's command-line tool. main() only dispatches to the
 * subcommand files (lexctl_send.c, lexctl_log.c, lexctl_rules.c); each one
 * parses its own flags and talks to the switch or reads its log. */
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include "lexctl.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} subcommand_t;

static const subcommand_t subcommands[] = {
    {"send", lexctl_send, "send one query through a switch and print the answer"},
    {"tail", lexctl_tail, "print the newest audit-log records (--follow to keep watching)"},
    {"audit", lexctl_audit, "search the audit log by ORI, state, family, key, decision, id, time"},
    {"export", lexctl_export, "write audit-log records as JSON lines (with frames and hashes)"},
    {"report", lexctl_report, "a state's transparency report from the audit log's running counts"},
    {"verify", lexctl_verify, "walk the log's chain and checkpoints; name gaps, damage, young cuts"},
    {"repair", lexctl_repair, "salvage a log with a damaged WAL and record the loss (signed gap)"},
    {"witness", lexctl_witness, "keep a switch's signed audit-log checkpoints outside its data dir"},
    {"retention", lexctl_retention, "show or confirm a retention cut that waits (over the share)"},
    {"rules", lexctl_rules, "check rules files, or test what a state's rules decide"},
    {"status", lexctl_status, "show a running switch (as an operator): rates, queues, nodes"},
    {"review", lexctl_review, "a state operator lists, shows, approves or denies held queries"},
    {"directory", lexctl_directory, "print the simulation's agency directory; reload a switch's (keys too)"},
    {"sample", lexctl_sample, "print real subjects of a state's synthetic population"},
    {"keys", lexctl_keys, "make CURVE key pairs and the directory line that binds them"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: lexctl COMMAND [options]   (lexctl COMMAND --help for its options)\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        fprintf(f, "  %-10s %s\n", subcommands[i].name, subcommands[i].summary);
    fprintf(f, "\nCommands that connect to a switch with CURVE take, anywhere on the line:\n"
               "  --key-file FILE     this operator's or node's key file (or env LEX_KEY)\n"
               "  --switch-key FILE   the switch's public key file (or env LEX_SWITCH_KEY)\n");
}

/* Takes --key and --switch-key out of argv into the environment libnode
 * reads, so every subcommand accepts them the same way. */
static int take_key_flags(int *argc, char **argv)
{
    int out = 0;
    for (int i = 0; i < *argc; i++) {
        const char *env = strcmp(argv[i], "--key-file") == 0     ? "LEX_KEY"
                          : strcmp(argv[i], "--switch-key") == 0 ? "LEX_SWITCH_KEY"
                                                                 : NULL;
        if (!env) {
            argv[out++] = argv[i];
            continue;
        }
        if (i + 1 >= *argc) {
            fprintf(stderr, "lexctl: %s wants a file\n", argv[i]);
            return -1;
        }
        setenv(env, argv[++i], 1);
    }
    argv[out] = NULL;
    *argc = out;
    return 0;
}

int main(int argc, char **argv)
{
    umask(077); /* exports, reports and keys hold what only their owner may read */
    if (take_key_flags(&argc, argv) != 0)
        return 2;
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        if (strcmp(argv[1], subcommands[i].name) == 0)
            return subcommands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "lexctl: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
