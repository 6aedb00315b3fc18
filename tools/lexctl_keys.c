/* lexctl_keys.c: `lexctl keys gen NAME` makes a CURVE key pair for a node,
 * an operator or the switch, writes NAME.key (secret, 0600) and NAME.pub,
 * and prints the agency-directory line that binds the key to its role and
 * scope (agency, responder, operator, switch); `lexctl keys
 * show FILE` prints a key file's public key. Secrets are never printed. */
#include <stdio.h>
#include <string.h>
#include "lex_directory.h"
#include "lex_error.h"
#include "lex_keys.h"
#include "lexctl.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: lexctl keys gen NAME [--role ROLE --bind 'ORI ...' [--states ST,ST]\n"
        "                            [--keys DQ,RQ] [--broad]]\n"
        "       lexctl keys show FILE\n\n"
        "gen writes NAME.key (public and secret key, mode 0600) and NAME.pub (public key),\n"
        "never overwriting a file, and with --bind prints the agency-directory line that\n"
        "lets the key connect: '@key|PUBLIC|NAME|ROLE|SCOPE'. ROLE is what the key may be:\n"
        "  agency      a requester; --bind lists the ORIs it may claim (the default role)\n"
        "  responder   answers queries for the ORIs of --bind; --states NV makes it Nevada's\n"
        "              responder (the states it may register for); --keys DQ,RQ limits\n"
        "              the query keys it may answer (default: any)\n"
        "  operator    a review desk: --bind 'ILOPS0000' (exact ORIs of one state), or\n"
        "              --bind 'national ORI' for the switch's own operations desk\n"
        "  switch      a switch that joins this one; --bind lists the patterns it serves\n"
        "A pattern (NV*, ??DMV0000) binds more than one agency and needs --broad, which\n"
        "marks the line '|broad' (the switch warns about each at start). --operator is\n"
        "short for --role operator. A key for the switch itself needs no --bind.\n"
        "show prints the public key of a .key or .pub file.\n");
}

/* The scope field: the --bind list, then states= for a responder. */
typedef struct {
    const char *role, *bind, *states, *keys;
    int broad;
} binding_t;

static int build_line(char *line, size_t len, const char *public_z85, const char *label,
                      const binding_t *b)
{
    int n = snprintf(line, len, "@key|%s|%.31s|%s|%s%s%s%s%s%s\n", public_z85, label, b->role,
                     b->bind, b->states ? " states=" : "", b->states ? b->states : "",
                     b->keys ? " keys=" : "", b->keys ? b->keys : "", b->broad ? "|broad" : "");
    return n > 0 && (size_t)n < len ? 0 : -1;
}

static int keys_gen(int argc, char **argv)
{
    const char *name = NULL, *bind = NULL, *role = NULL, *states = NULL, *keys = NULL;
    int broad = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--bind") == 0 && i + 1 < argc)
            bind = argv[++i];
        else if (strcmp(argv[i], "--role") == 0 && i + 1 < argc)
            role = argv[++i];
        else if (strcmp(argv[i], "--states") == 0 && i + 1 < argc)
            states = argv[++i];
        else if (strcmp(argv[i], "--keys") == 0 && i + 1 < argc)
            keys = argv[++i];
        else if (strcmp(argv[i], "--operator") == 0)
            role = "operator";
        else if (strcmp(argv[i], "--broad") == 0)
            broad = 1;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] != '-' && !name)
            name = argv[i];
        else {
            fprintf(stderr, "lexctl keys gen: unexpected '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!name) {
        usage(stderr);
        return 2;
    }
    if (!bind && (role || states || keys || broad)) {
        fprintf(stderr, "lexctl keys gen: --role, --states, --keys and --broad need --bind\n");
        return 2;
    }
    if (!role)
        role = "agency";
    if (strcmp(role, "node") == 0) {
        fprintf(stderr, "lexctl keys gen: role 'node' is gone: use --role agency (a "
                        "requester) or --role responder (answers, --states for a state)\n");
        return 2;
    }
    const char *label = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
    const binding_t b = {role, bind, states, keys, broad};
    char line[LEX_KEY_LINE_MAX];
    if (bind) {
        /* build the directory line first and parse it, so a bad binding is
         * refused before any file is written */
        lex_keypair_t probe;
        lex_keypair_generate(&probe);
        lex_directory_t *dir = NULL;
        char err[512];
        if (build_line(line, sizeof line, probe.public_z85, label, &b) != 0) {
            fprintf(stderr, "lexctl keys gen: --bind is too long\n");
            return 2;
        }
        if (lex_directory_parse(line, "--bind", &dir, err, sizeof err) != 0) {
            /* "--bind:1: reason" */
            const char *why = strstr(err, ": ") ? strstr(err, ": ") + 2 : err;
            fprintf(stderr, "lexctl keys gen: %s%s\n", why,
                    strstr(why, "|broad") ? " (give --broad)" : "");
            return 2;
        }
        lex_directory_destroy(&dir);
    }
    lex_keypair_t kp;
    char err[1200];
    if (lex_keypair_generate(&kp) != 0) {
        fprintf(stderr, "lexctl keys gen: cannot make a key pair (libzmq without CURVE?)\n");
        return 1;
    }
    if (lex_keyfile_write(name, label, &kp, err, sizeof err) != 0) {
        fprintf(stderr, "lexctl keys gen: %s\n", err);
        return 1;
    }
    printf("wrote %s.key (secret: keep it private) and %s.pub\n", name, name);
    if (bind) {
        build_line(line, sizeof line, kp.public_z85, label, &b);
        printf("add this line to the switch's agency directory:\n%s", line);
    } else {
        printf("public key: %s\n", kp.public_z85);
    }
    memset(&kp, 0, sizeof kp);
    return 0;
}

int lexctl_keys(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "gen") == 0)
        return keys_gen(argc - 1, argv + 1);
    if (argc == 3 && strcmp(argv[1], "show") == 0 &&
        (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "show") == 0) {
        lex_keypair_t kp;
        char err[600];
        if (lex_keyfile_load(argv[2], &kp, err, sizeof err) != 0) {
            fprintf(stderr, "lexctl keys show: %s\n", err);
            return 1;
        }
        printf("%s\n", kp.public_z85);
        memset(&kp, 0, sizeof kp);
        return 0;
    }
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    usage(stderr);
    return 2;
}
