/* lexctl_send.c: `lexctl send`: registers as one ORI, sends one message
 * through a switch, prints every answer (one per destination) as JSON, and
 * exits 0 when all answers came, 1 otherwise. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lex_error.h"
#include "lex_node.h"
#include "lex_query_text.h"
#include "lexctl.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: lexctl send --ori ORI --to DEST[,DEST...] [options] KEY [field=value ...]\n"
        "Sends one message (e.g. DQ lic=A12345678) and prints each answer as JSON.\n\n"
        "  -c, --connect EP     switch endpoint (default tcp://127.0.0.1:7400)\n"
        "  -o, --ori ORI        the requester ORI to speak as (must be in the switch's directory)\n"
        "  -t, --to LIST        destination state codes or ORIs, comma-separated\n"
        "  -p, --purpose CODE   purpose code (default C)\n"
        "      --ctl TEXT       control field echoed back in answers\n"
        "      --timeout-ms N   how long to wait for answers (default 10000)\n"
        "      --wait-review    when the query is held for review, wait for the answer\n"
        "                       that follows the state's decision\n"
        "example:\n"
        "  lexctl send --ori CA0190000 --to NV DQ name=SMITH,JOHN dob=1980-02-03\n");
}

int lexctl_send(int argc, char **argv)
{
    static const struct option opts[] = {
        {"connect", required_argument, 0, 'c'}, {"ori", required_argument, 0, 'o'},
        {"to", required_argument, 0, 't'},      {"purpose", required_argument, 0, 'p'},
        {"ctl", required_argument, 0, 1},       {"timeout-ms", required_argument, 0, 2},
        {"wait-review", no_argument, 0, 3},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    const char *endpoint = "tcp://127.0.0.1:7400", *ori = NULL, *purpose = "C", *ctl = "";
    char *to = NULL;
    int timeout_ms = 10000, wait_review = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+c:o:t:p:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': endpoint = optarg; break;
        case 'o': ori = optarg; break;
        case 't': to = optarg; break;
        case 'p': purpose = optarg; break;
        case 1: ctl = optarg; break;
        case 2: timeout_ms = atoi(optarg); break;
        case 3: wait_review = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!ori || !to || optind >= argc || timeout_ms <= 0) {
        usage(stderr);
        return 2;
    }
    if (!lex_ori_valid(ori)) {
        fprintf(stderr, "lexctl send: '%s' is not a 9-character ORI\n", ori);
        return 2;
    }
    lex_envelope_t env;
    lex_envelope_init(&env);
    snprintf(env.key, sizeof env.key, "%s", argv[optind]);
    strcpy(env.src, ori);
    snprintf(env.purpose, sizeof env.purpose, "%s", purpose);
    snprintf(env.ctl, sizeof env.ctl, "%s", ctl);
    for (char *save = NULL, *d = strtok_r(to, ",", &save); d; d = strtok_r(NULL, ",", &save))
        if (lex_envelope_add_dst(&env, d) != 0) {
            fprintf(stderr, "lexctl send: bad or too many destinations\n");
            return 2;
        }
    lex_buf_t body;
    lex_buf_init(&body);
    char err[256];
    int rc = lex_query_body_from_words(env.key, argv + optind + 1, argc - optind - 1, &body, err,
                                       sizeof err);
    if (rc != 0) {
        fprintf(stderr, "lexctl send: %s\n", err);
        lex_buf_free(&body);
        return 2;
    }
    const char *oris[] = {ori};
    lex_node_config_t nc = {.endpoint = endpoint, .role = "tool", .oris = oris, .noris = 1};
    lex_node_t *node = NULL;
    rc = lex_node_new(&nc, &node);
    if (rc == 0)
        rc = lex_node_wait_ready(node, timeout_ms);
    if (rc != 0) {
        fprintf(stderr, "lexctl send: cannot register with %s as %s: %s\n", endpoint, ori,
                node ? lex_node_error(node) : lex_strerror(rc));
    } else {
        int answers = 0;
        rc = lex_query_send_and_wait(node, &env, body.data, body.len, timeout_ms, wait_review,
                                     stdout, &answers);
        if (rc != 0)
            fprintf(stderr, "lexctl send: %d of %u answers arrived in time\n", answers,
                    env.ndst ? env.ndst : 1);
    }
    lex_node_destroy(&node);
    lex_buf_free(&body);
    return rc == 0 ? 0 : 1;
}
