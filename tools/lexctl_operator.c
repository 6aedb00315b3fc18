/* lexctl_operator.c: the connection the operator subcommands (status,
 * review) open to a running switch: one node speaking for the operator's
 * desk ORI, with the key from LEX_KEY/LEX_SWITCH_KEY when CURVE is on. */
#include <stdio.h>
#include "lex_error.h"
#include "lex_node.h"
#include "lexctl.h"

lex_node_t *lexctl_operator_connect(const char *cmd, const char *endpoint, const char *ori)
{
    const char *oris[] = {ori};
    lex_node_config_t nc = {.endpoint = endpoint, .role = "operator", .oris = oris, .noris = 1};
    lex_node_t *node = NULL;
    int rc = lex_node_new(&nc, &node);
    if (rc == 0)
        rc = lex_node_wait_ready(node, 5000);
    if (rc != 0) {
        fprintf(stderr, "lexctl %s: cannot register with %s as %s: %s\n", cmd, endpoint, ori,
                node ? lex_node_error(node) : lex_strerror(rc));
        lex_node_destroy(&node);
        return NULL;
    }
    return node;
}
