/* lexctl_keys.c: `lexctl keys gen NAME` makes a CURVE key pair for a node,
 * an operator or the switch, writes NAME.key (secret, 0600) and NAME.pub,
 * and prints the agency-directory line that binds the key; `lexctl keys
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
        "usage: lexctl keys gen NAME [--bind 'ORI|PATTERN ...'] [--operator]\n"
        "       lexctl keys show FILE\n\n"
        "gen writes NAME.key (public and secret key, mode 0600) and NAME.pub (public key),\n"
        "never overwriting a file, and prints the agency-directory line that lets the key\n"
        "connect: '@key|PUBLIC|label|node|PATTERNS'. --bind gives the ORIs or patterns\n"
        "(NV*, ??DMV0000) the key may speak for; --operator makes a review-desk key, bound\n"
        "to exact ORIs of one state. A key for the switch itself needs no --bind.\n"
        "show prints the public key of a .key or .pub file.\n");
}

static int keys_gen(int argc, char **argv)
{
    const char *name = NULL, *bind = NULL;
    int operator = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--bind") == 0 && i + 1 < argc)
            bind = argv[++i];
        else if (strcmp(argv[i], "--operator") == 0)
            operator = 1;
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
    const char *label = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
    char line[2048] = "";
    if (bind) {
        /* build the directory line first and parse it, so a bad binding is
         * refused before any file is written */
        lex_keypair_t probe;
        lex_keypair_generate(&probe);
        snprintf(line, sizeof line, "@key|%s|%.31s|%s|%s\n", probe.public_z85, label,
                 operator ? "operator" : "node", bind);
        lex_directory_t *dir = NULL;
        char err[512];
        if (lex_directory_parse(line, "--bind", &dir, err, sizeof err) != 0) {
            fprintf(stderr, "lexctl keys gen: %s\n", err);
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
    if (bind)
        printf("add this line to the switch's agency directory:\n@key|%s|%.31s|%s|%s\n",
               kp.public_z85, label, operator ? "operator" : "node", bind);
    else
        printf("public key: %s\n", kp.public_z85);
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
