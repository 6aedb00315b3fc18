/* lexctl_access.c: the note every reading subcommand writes before it shows
 * anything (docs/LOG.md "Access records"): who runs it (the OS user), the
 * subcommand and its arguments, and the state or ORI it is limited to. The
 * note goes to the access journal in the data directory; the switch moves
 * it into the log. A read whose note cannot be written does not happen. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "lex_auditlog.h"
#include "lexctl.h"

int lexctl_access_note(const char *cmd, const char *data, int argc, char **argv,
                       const char *state, const char *ori)
{
    char current[4096];
    snprintf(current, sizeof current, "%s/CURRENT", data);
    if (access(current, F_OK) != 0)
        return 0; /* no log here to read: opening it fails and says so */
    char filter[256] = "";
    size_t used = 0;
    for (int i = 1; i < argc && used < sizeof filter - 1; i++) {
        int n = snprintf(filter + used, sizeof filter - used, "%s%s", used ? " " : "", argv[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    if (used >= sizeof filter)
        used = sizeof filter - 1;
    filter[used] = 0;
    lex_access_t a = {"lexctl", cmd, filter, state, ori};
    char err[600];
    if (lex_access_note(data, &a, err, sizeof err) != 0) {
        fprintf(stderr, "lexctl %s: refusing to read the log without a record of the read: %s\n",
                cmd, err);
        return 1;
    }
    return 0;
}
