/* lexctl.c: the operator's command-line tool. main() only dispatches to the
 * subcommand files (lexctl_send.c, lexctl_log.c, lexctl_rules.c); each one
 * parses its own flags and talks to the switch or reads its log. */
#include <stdio.h>
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
    {"verify", lexctl_verify, "walk the audit log's hash chain and report the first broken link"},
    {"rules", lexctl_rules, "check rules files, or test what a state's rules decide"},
    {"review", lexctl_review, "a state operator lists, shows, approves or denies held queries"},
    {"directory", lexctl_directory, "print the simulation's agency directory"},
    {"sample", lexctl_sample, "print real subjects of a state's synthetic population"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: lexctl COMMAND [options]   (lexctl COMMAND --help for its options)\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        fprintf(f, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
}

int main(int argc, char **argv)
{
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
