/* lexctl_review.c: `lexctl review list|show|approve|deny`: a state's
 * operator looks at the queries its rules held for review and decides them.
 * It registers with the switch as the state's review desk (an ORI of family
 * OPS whose home is that state, by default <ST>OPS0000); the switch refuses
 * it any other state's holds. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <msgpack.h>
#include "lex_body.h"
#include "lex_error.h"
#include "lex_node.h"
#include "lex_query_text.h"
#include "lex_status.h"
#include "lexctl.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: lexctl review list            --state ST [options]\n"
        "       lexctl review show|approve|deny ID --state ST [options]\n"
        "A state's operator decides the queries its rules held for review.\n\n"
        "  -s, --state ST      the operator's state (required)\n"
        "  -o, --ori ORI       the review desk's ORI (default <ST>OPS0000)\n"
        "  -c, --connect EP    switch endpoint (default tcp://127.0.0.1:7400)\n"
        "      --note TEXT     a note kept with the decision in the audit log\n"
        "      --json          print the switch's answer as JSON\n");
}

int lexctl_review(int argc, char **argv)
{
    static const struct option opts[] = {
        {"state", required_argument, 0, 's'}, {"ori", required_argument, 0, 'o'},
        {"connect", required_argument, 0, 'c'}, {"note", required_argument, 0, 1},
        {"json", no_argument, 0, 2},          {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *state = NULL, *endpoint = "tcp://127.0.0.1:7400", *note = NULL;
    char ori[LEX_ORI_LEN + 1] = "";
    int json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:o:c:h", opts, NULL)) != -1) {
        switch (c) {
        case 's': state = optarg; break;
        case 'o': snprintf(ori, sizeof ori, "%s", optarg); break;
        case 'c': endpoint = optarg; break;
        case 1: note = optarg; break;
        case 2: json = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind >= argc || !state || !lex_state_valid(state)) {
        usage(stderr);
        return 2;
    }
    const char *op = argv[optind];
    int listing = strcmp(op, "list") == 0;
    if (!listing && strcmp(op, "show") && strcmp(op, "approve") && strcmp(op, "deny")) {
        fprintf(stderr, "lexctl review: unknown action '%s'\n", op);
        return 2;
    }
    char *end = NULL;
    unsigned long long id = 0;
    if (!listing) {
        if (optind + 1 >= argc || (id = strtoull(argv[optind + 1], &end, 10)) == 0 || *end) {
            fprintf(stderr, "lexctl review %s: give the hold's id\n", op);
            return 2;
        }
    }
    if (!ori[0])
        snprintf(ori, sizeof ori, "%sOPS0000", state);
    lex_buf_t body;
    lex_buf_init(&body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, lex_buf_write);
    msgpack_pack_map(&pk, 2 + !listing + (note != NULL));
    lex_mp_pack_kv_str(&pk, "op", op);
    lex_mp_pack_kv_str(&pk, "state", state);
    if (!listing)
        lex_mp_pack_kv_uint(&pk, "id", id);
    if (note)
        lex_mp_pack_kv_str(&pk, "note", note);

    int rc = LEX_ECLOSED;
    lex_node_t *node = lexctl_operator_connect("review", endpoint, ori);
    if (!node)
        goto cleanup;
    lex_envelope_t env;
    lex_envelope_init(&env);
    strcpy(env.key, "RVQ");
    if ((rc = lex_node_send(node, &env, body.data, body.len)) != 0)
        goto cleanup;
    lex_message_t m;
    uint64_t deadline = lex_mono_us() + 10000000u;
    rc = LEX_ETIMEOUT;
    while (lex_mono_us() < deadline) {
        if (lex_node_recv(node, &m, 200) != 0 || m.env.ref != env.id)
            continue;
        if (json) {
            lex_message_print_json(stdout, &m);
            rc = strcmp(m.env.key, "RVR") == 0 ? 0 : 1;
            break;
        }
        if (strcmp(m.env.key, "ST") == 0) {
            int code = 0;
            char text[256] = "";
            lex_status_parse(m.body, m.body_len, &code, text, sizeof text);
            printf("refused: %s (%s)\n", lex_status_name(code), text);
            rc = 1;
            break;
        }
        msgpack_unpacked up;
        if (lex_body_parse(m.body, m.body_len, &up) == 0) {
            const msgpack_object *held = lex_mp_get(&up.data, "held");
            for (uint32_t i = 0; held && i < held->via.array.size; i++) {
                const msgpack_object *h = &held->via.array.ptr[i];
                uint64_t hid = 0, exp = 0;
                char who[16] = "", agency[80] = "", key[16] = "", kind[16] = "", rule[64] = "";
                lex_mp_uint(lex_mp_get(h, "id"), &hid);
                lex_mp_uint(lex_mp_get(h, "expires_at"), &exp);
                lex_mp_str(lex_mp_get(h, "requester"), who, sizeof who);
                lex_mp_str(lex_mp_get(h, "agency"), agency, sizeof agency);
                lex_mp_str(lex_mp_get(h, "key"), key, sizeof key);
                lex_mp_str(lex_mp_get(h, "kind"), kind, sizeof kind);
                lex_mp_str(lex_mp_get(h, "rule"), rule, sizeof rule);
                printf("hold %-6llu %-9s %-4s %-10s rule=%s expires=%llu  %s\n",
                       (unsigned long long)hid, who, key, kind, rule, (unsigned long long)exp,
                       agency);
                if (lex_mp_get(h, "query")) {
                    printf("  query fields:");
                    const msgpack_object *qb = lex_mp_get(h, "query");
                    for (uint32_t k = 0; qb->type == MSGPACK_OBJECT_MAP && k < qb->via.map.size;
                         k++) {
                        const msgpack_object *kk = &qb->via.map.ptr[k].key,
                                             *vv = &qb->via.map.ptr[k].val;
                        if (kk->type == MSGPACK_OBJECT_STR && vv->type == MSGPACK_OBJECT_STR)
                            printf(" %.*s=%.*s", (int)kk->via.str.size, kk->via.str.ptr,
                                   (int)vv->via.str.size, vv->via.str.ptr);
                    }
                    printf("\n");
                }
            }
            char result[256] = "";
            lex_mp_str(lex_mp_get(&up.data, "result"), result, sizeof result);
            printf("%s\n", result);
            rc = strstr(result, "NOT") ? 1 : 0;
            msgpack_unpacked_destroy(&up);
        }
        break;
    }
    if (rc == LEX_ETIMEOUT)
        fprintf(stderr, "lexctl review: no answer from the switch\n");
cleanup:
    lex_node_destroy(&node);
    lex_buf_free(&body);
    return rc == 0 ? 0 : 1;
}
