/* lexctl_directory.c: `lexctl directory`: prints the simulation's synthetic
 * agency directory, to start a switch and nodes by hand with the same
 * agencies lexsim uses; `lexctl directory reload` makes a running switch
 * load its directory file and key bindings again. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lex_simdir.h"
#include "lexctl.h"

int lexctl_directory(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "reload") == 0)
        return lexctl_reload("directory", "directory-status", argc - 1, argv + 1);
    static const struct option opts[] = {{"locals", required_argument, 0, 'l'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int locals = 40, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "l:h", opts, NULL)) != -1) {
        switch (c) {
        case 'l': locals = atoi(optarg); break;
        case 'h':
            printf("usage: lexctl directory [--locals N]\n"
                   "       lexctl directory reload [--data DIR]   (--help for more)\n"
                   "Prints the simulation's agency directory (N local agencies per state,\n"
                   "default 40), the format of docs/PROTOCOL.md \"Agency directory\".\n");
            return 0;
        default: return 2;
        }
    }
    if (locals < 1 || optind < argc) {
        fprintf(stderr, "lexctl directory: --locals wants a number >= 1\n");
        return 2;
    }
    return lex_simdir_write(stdout, (unsigned)locals) > 0 ? 0 : 1;
}
