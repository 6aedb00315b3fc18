/* query_text.c: human-facing message helpers (lex_query_text.h): typed
 * body building from field=value words, JSON printing of received
 * messages, and the scenario runner. */
#include <stdlib.h>
#include <string.h>
#include <msgpack.h>
#include "lex_body.h"
#include "lex_catalogue.h"
#include "lex_error.h"
#include "lex_query_text.h"
#include "lex_status.h"

int lex_query_body_from_words(const char *key, char *const *words, int nwords, lex_buf_t *body,
                              char *err, size_t errlen)
{
    const lex_msgdef_t *def = lex_catalogue_find(lex_catalogue_builtin(), key);
    if (!def) {
        snprintf(err, errlen, "unknown message key '%s'", key);
        return LEX_EUNKNOWNKEY;
    }
    msgpack_packer pk;
    msgpack_packer_init(&pk, body, lex_buf_write);
    msgpack_pack_map(&pk, (size_t)nwords);
    for (int i = 0; i < nwords; i++) {
        const char *eq = strchr(words[i], '=');
        if (!eq) {
            snprintf(err, errlen, "'%s' is not field=value", words[i]);
            return LEX_EINVAL;
        }
        char name[LEX_FIELD_NAME_MAX + 1];
        size_t n = (size_t)(eq - words[i]);
        if (n == 0 || n > LEX_FIELD_NAME_MAX) {
            snprintf(err, errlen, "bad field name in '%s'", words[i]);
            return LEX_EINVAL;
        }
        memcpy(name, words[i], n);
        name[n] = 0;
        int fi = lex_msgdef_field(def, name);
        if (fi < 0) {
            snprintf(err, errlen, "%s has no field '%s'", key, name);
            return LEX_EUNKNOWNFIELD;
        }
        lex_mp_pack_str(&pk, name);
        if (def->fields[fi].type == LEX_FT_INT) {
            char *end;
            long long v = strtoll(eq + 1, &end, 10);
            if (*end || end == eq + 1) {
                snprintf(err, errlen, "field '%s' wants an integer", name);
                return LEX_ETYPE;
            }
            msgpack_pack_int64(&pk, v);
        } else if (def->fields[fi].type == LEX_FT_STR) {
            lex_mp_pack_str(&pk, eq + 1);
        } else {
            snprintf(err, errlen, "field '%s' cannot be given on the command line", name);
            return LEX_ETYPE;
        }
    }
    return body->failed ? LEX_ENOMEM : 0;
}

void lex_json_write_string(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

void lex_json_write_cstr(FILE *f, const char *s)
{
    lex_json_write_string(f, s, strlen(s));
}

static void print_object(FILE *f, const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: fputs("null", f); break;
    case MSGPACK_OBJECT_BOOLEAN: fputs(o->via.boolean ? "true" : "false", f); break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER: fprintf(f, "%llu", (unsigned long long)o->via.u64); break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: fprintf(f, "%lld", (long long)o->via.i64); break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: fprintf(f, "%g", o->via.f64); break;
    case MSGPACK_OBJECT_STR: lex_json_write_string(f, o->via.str.ptr, o->via.str.size); break;
    case MSGPACK_OBJECT_BIN: fprintf(f, "\"<%u bytes>\"", o->via.bin.size); break;
    case MSGPACK_OBJECT_EXT: fputs("\"<ext>\"", f); break;
    case MSGPACK_OBJECT_ARRAY:
        fputc('[', f);
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            if (i)
                fputs(", ", f);
            print_object(f, &o->via.array.ptr[i]);
        }
        fputc(']', f);
        break;
    case MSGPACK_OBJECT_MAP:
        fputc('{', f);
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            if (i)
                fputs(", ", f);
            if (o->via.map.ptr[i].key.type == MSGPACK_OBJECT_STR)
                print_object(f, &o->via.map.ptr[i].key);
            else
                fputs("\"?\"", f);
            fputs(": ", f);
            print_object(f, &o->via.map.ptr[i].val);
        }
        fputc('}', f);
        break;
    }
}

void lex_msgpack_print_json(FILE *f, const msgpack_object *o)
{
    print_object(f, o);
}

void lex_message_print_json(FILE *f, const lex_message_t *m)
{
    fprintf(f, "{\"key\": \"%s\", \"src\": \"%s\", \"id\": %llu, \"ref\": %llu, \"ctl\": ",
            m->env.key, m->env.src, (unsigned long long)m->env.id,
            (unsigned long long)m->env.ref);
    lex_json_write_string(f, m->env.ctl, strlen(m->env.ctl));
    fputs(", \"body\": ", f);
    msgpack_unpacked up;
    if (lex_body_parse(m->body, m->body_len, &up) == 0) {
        print_object(f, &up.data);
        msgpack_unpacked_destroy(&up);
    } else {
        fputs("null", f);
    }
    fputs("}\n", f);
    fflush(f);
}

int lex_query_send_and_wait(lex_node_t *node, lex_envelope_t *env, const void *body,
                            size_t body_len, int timeout_ms, int wait_review, FILE *out,
                            int *answers)
{
    int got = 0;
    int rc = lex_node_send(node, env, body, body_len);
    if (rc != 0)
        return rc;
    uint64_t deadline = lex_mono_us() + (uint64_t)timeout_ms * 1000u;
    int want = env->ndst ? (int)env->ndst : 1;
    while (got < want) {
        uint64_t now = lex_mono_us();
        if (now >= deadline)
            break;
        lex_message_t m;
        rc = lex_node_recv(node, &m, (int)((deadline - now) / 1000) + 1);
        if (rc != 0)
            continue;
        if (m.env.ref != env->id)
            continue; /* not ours (e.g. a late answer to an earlier query) */
        lex_message_print_json(out, &m);
        int held = 0;
        if (strcmp(m.env.key, "ST") == 0) {
            int code = 0;
            held = lex_status_parse(m.body, m.body_len, &code, NULL, 0) == 0 &&
                   code == LEX_ST_HELD;
        }
        if (held && wait_review)
            continue; /* the real answer comes after the state's review */
        got++;
        /* a refusal of the whole message (not per destination) ends it */
        if (strcmp(m.env.key, "ST") == 0 && env->ndst > 1 && strcmp(m.env.src, "LEXSWITCH") == 0) {
            int code = 0;
            char text[256];
            if (lex_status_parse(m.body, m.body_len, &code, text, sizeof text) == 0 &&
                strchr(text, ':') == NULL)
                break;
        }
    }
    if (answers)
        *answers = got;
    return got >= want ? 0 : LEX_ETIMEOUT;
}

/* Splits a line into words in place; returns the count. */
static int split_words(char *line, char **words, int max)
{
    int n = 0;
    char *save = NULL;
    for (char *w = strtok_r(line, " \t\r\n", &save); w && n < max;
         w = strtok_r(NULL, " \t\r\n", &save))
        words[n++] = w;
    return n;
}

int lex_scenario_oris(const char *path, char (**oris)[10])
{
    FILE *f = fopen(path, "r");
    if (!f)
        return LEX_EIO;
    char line[2048];
    int n = 0, cap = 0;
    *oris = NULL;
    while (fgets(line, sizeof line, f)) {
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        char *w[4];
        if (split_words(line, w, 4) < 1)
            continue;
        if (!lex_ori_valid(w[0]))
            continue;
        int dup = 0;
        for (int i = 0; i < n; i++)
            dup |= strcmp((*oris)[i], w[0]) == 0;
        if (dup)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char(*grown)[10] = realloc(*oris, (size_t)cap * sizeof *grown);
            if (!grown) {
                fclose(f);
                return LEX_ENOMEM;
            }
            *oris = grown;
        }
        strcpy((*oris)[n++], w[0]);
    }
    fclose(f);
    return n;
}

int lex_scenario_run(lex_node_t *node, const char *path, int timeout_ms, FILE *out)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return LEX_EIO;
    char line[2048];
    int lineno = 0, failed = 0;
    lex_buf_t body;
    lex_buf_init(&body);
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        char *w[64];
        int nw = split_words(line, w, 64);
        if (nw == 0)
            continue;
        char err[256] = "";
        lex_envelope_t env;
        lex_envelope_init(&env);
        if (nw < 3 || !lex_ori_valid(w[0]) || strlen(w[1]) > LEX_KEY_MAX) {
            fprintf(stderr, "%s:%d: expected ORI KEY DEST[,DEST] [field=value ...]\n", path,
                    lineno);
            failed++;
            continue;
        }
        strcpy(env.src, w[0]);
        strcpy(env.key, w[1]);
        int bad = 0;
        for (char *save = NULL, *d = strtok_r(w[2], ",", &save); d; d = strtok_r(NULL, ",", &save))
            bad |= lex_envelope_add_dst(&env, d) != 0;
        int nfields = 0;
        char *fields[64];
        for (int i = 3; i < nw; i++) {
            if (strncmp(w[i], "purpose=", 8) == 0)
                snprintf(env.purpose, sizeof env.purpose, "%s", w[i] + 8);
            else
                fields[nfields++] = w[i];
        }
        lex_buf_reset(&body);
        if (bad || lex_query_body_from_words(env.key, fields, nfields, &body, err, sizeof err)) {
            fprintf(stderr, "%s:%d: %s\n", path, lineno, bad ? "bad destination list" : err);
            failed++;
            continue;
        }
        snprintf(env.ctl, sizeof env.ctl, "line %d", lineno);
        if (lex_query_send_and_wait(node, &env, body.data, body.len, timeout_ms, 0, out, NULL) !=
            0) {
            fprintf(stderr, "%s:%d: no answer in time\n", path, lineno);
            failed++;
        }
    }
    lex_buf_free(&body);
    fclose(f);
    return failed;
}
