/* lexctl_reload.c: what `lexctl rules reload` and `lexctl directory reload`
 * share: signal the switch whose data directory is given (SIGHUP, by its
 * pid file) and wait until it has written the outcome of that reload to a
 * status file in the same directory ("<generation> ok|refused <message>"). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lexctl.h"

/* Reads "<generation> ok|refused <message>" from <data>/<name>. */
static int read_status(const char *data, const char *name, unsigned long long *gen, char *state,
                       char *msg, size_t msglen)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", data, name);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[1200] = "";
    int ok = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    int used = 0;
    if (!ok || sscanf(line, "%llu %15s %n", gen, state, &used) != 2)
        return -1;
    snprintf(msg, msglen, "%s", line + used);
    msg[strcspn(msg, "\n")] = 0;
    return 0;
}

int lexctl_reload(const char *cmd, const char *status_name, int argc, char **argv)
{
    static const struct option opts[] = {{"data", required_argument, 0, 'd'},
                                         {"timeout-ms", required_argument, 0, 't'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *data = LEXCTL_DEFAULT_DATA;
    long timeout_ms = 5000;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 't': timeout_ms = atol(optarg); break;
        case 'h':
            printf("usage: lexctl %s reload [--data DIR] [--timeout-ms N]\n"
                   "Asks the switch whose data directory is DIR to reload its %s (SIGHUP\n"
                   "reloads the rules and the directory), and prints the outcome: exit 0\n"
                   "when the new one is in force, 1 when the switch refused it (the old one\n"
                   "stays in force; the reason names file and line) or did not answer.\n",
                   cmd, cmd);
            return 0;
        default: return 2;
        }
    }
    char what[32];
    snprintf(what, sizeof what, "%s reload", cmd);
    if (lexctl_access_note(what, data, argc, argv, NULL, NULL) != 0)
        return 1;
    char path[1024], msg[1024], state[16];
    snprintf(path, sizeof path, "%s/lexswitch.pid", data);
    FILE *f = fopen(path, "r");
    long pid = 0;
    if (!f || fscanf(f, "%ld", &pid) != 1 || pid <= 0) {
        if (f)
            fclose(f);
        fprintf(stderr, "lexctl %s reload: no running switch with data directory %s\n", cmd, data);
        return 1;
    }
    fclose(f);
    unsigned long long before = 0, gen = 0;
    read_status(data, status_name, &before, state, msg, sizeof msg);
    if (kill((pid_t)pid, SIGHUP) != 0) {
        fprintf(stderr, "lexctl %s reload: cannot signal switch %ld: %s\n", cmd, pid,
                strerror(errno));
        return 1;
    }
    for (long waited = 0; waited <= timeout_ms; waited += 20) {
        if (read_status(data, status_name, &gen, state, msg, sizeof msg) == 0 && gen > before) {
            printf("%s: %s\n", strcmp(state, "ok") == 0 ? "reloaded" : "REFUSED", msg);
            return strcmp(state, "ok") == 0 ? 0 : 1;
        }
        usleep(20000);
    }
    fprintf(stderr, "lexctl %s reload: the switch did not report within %ld ms\n", cmd,
            timeout_ms);
    return 1;
}
