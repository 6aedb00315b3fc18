/* lexctl.h: the subcommands of lexctl, one file each (lexctl_<name>.c).
 * Each takes the arguments after its name (argv[0] is the subcommand name)
 * and returns the process exit code: 0 ok, 1 failure, 2 usage error. */
#ifndef LEXCTL_H
#define LEXCTL_H

#include "lex_auditlog.h"

int lexctl_send(int argc, char **argv);    /* lexctl_send.c */
int lexctl_tail(int argc, char **argv);    /* lexctl_log.c */
int lexctl_audit(int argc, char **argv);   /* lexctl_log.c */
int lexctl_verify(int argc, char **argv);  /* lexctl_log.c */
int lexctl_export(int argc, char **argv);  /* lexctl_log.c */
int lexctl_report(int argc, char **argv);  /* lexctl_report.c */
int lexctl_rules(int argc, char **argv);   /* lexctl_rules.c */
int lexctl_directory(int argc, char **argv); /* lexctl_directory.c */
int lexctl_sample(int argc, char **argv);
int lexctl_keys(int argc, char **argv);       /* lexctl_keys.c */
int lexctl_review(int argc, char **argv);  /* lexctl_review.c */
int lexctl_status(int argc, char **argv);  /* lexctl_status.c */
int lexctl_repair(int argc, char **argv);  /* lexctl_repair.c */
int lexctl_witness(int argc, char **argv); /* lexctl_witness.c */

/* For lexctl verify: prints the damaged ranges and gap records the walk
 * crossed and returns the exit code (0 intact, 1 broken or damaged, 3 only
 * recorded gaps; lexctl_repair.c); compares a witness directory's
 * checkpoints with the log, printing the verdict, 0 or 1 (lexctl_witness.c). */
int lexctl_verify_report_loss(const lex_log_verify_t *res);
int lexctl_verify_witness(lex_log_t *log, const char *dir, const char *pubkey, const char *data);
int lexctl_retention(int argc, char **argv); /* lexctl_retention.c */

/* Registers with the switch at endpoint as the operator desk ORI and waits
 * for WELCOME (lexctl_operator.c); on failure prints why, as "lexctl CMD:
 * ...", and returns NULL. */
struct lex_node;
struct lex_node *lexctl_operator_connect(const char *cmd, const char *endpoint, const char *ori);

/* Writes the access note of a read of the log in data (lexctl_access.c)
 * before anything is shown: argv are the subcommand's arguments, state/ori
 * what the read is limited to (NULL = national). 0, or 1 after printing
 * why, and the command must then stop. */
int lexctl_access_note(const char *cmd, const char *data, int argc, char **argv,
                       const char *state, const char *ori);

/* `lexctl CMD reload`: SIGHUP to the switch of --data DIR, then waits for
 * <DIR>/<status_name> to report the outcome (lexctl_reload.c). */
int lexctl_reload(const char *cmd, const char *status_name, int argc, char **argv);

/* Default data directory of the switch, shared by the log subcommands. */
#define LEXCTL_DEFAULT_DATA "lexswitch-data"

#endif
