/* fuzz_directory.c: the agency directory loader, lex_directory_load, as the
 * switch and nodes call it on a file. An accepted directory must hold only
 * well-formed entries, each found again by its ORI, and key bindings whose
 * wildcards are all marked broad and that read back the same when written;
 * a refused one must say which line and why, and a file with a NUL byte in
 * it must be refused. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz.h"
#include "lex_directory.h"
#include "lex_envelope.h"
#include "lex_error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[600];
    FUZZ_CHECK(fuzz_tmp_write("agencies.txt", data, size, path, sizeof path) == 0);
    lex_directory_t *dir = NULL;
    char err[1024] = "";
    int rc = lex_directory_load(path, &dir, err, sizeof err);
    if (memchr(data, 0, size)) /* nothing after a NUL may be quietly dropped */
        FUZZ_CHECK(rc == LEX_EPARSE && strstr(err, "NUL byte") != NULL);
    if (rc != 0) {
        FUZZ_CHECK(rc == LEX_EPARSE || rc == LEX_ENOMEM);
        FUZZ_CHECK(dir == NULL);
        if (rc == LEX_EPARSE)
            FUZZ_CHECK(strncmp(err, path, strlen(path)) == 0);
        return 0;
    }
    FUZZ_CHECK(dir != NULL);
    for (size_t i = 0; i < lex_directory_count(dir); i++) {
        const lex_agency_t *a = lex_directory_at(dir, i);
        FUZZ_CHECK(lex_ori_valid(a->ori));
        FUZZ_CHECK(lex_state_valid(a->home_state));
        FUZZ_CHECK(a->family[0] != 0);
        FUZZ_CHECK(strcmp(lex_level_name(a->level), "unknown") != 0);
        FUZZ_CHECK(lex_directory_find(dir, a->ori) == a);
    }
    FUZZ_CHECK(lex_directory_at(dir, lex_directory_count(dir)) == NULL);
    for (size_t i = 0; i < lex_directory_key_count(dir); i++) {
        const lex_keybind_t *k = lex_directory_key_at(dir, i);
        FUZZ_CHECK(k->npatterns > 0);
        FUZZ_CHECK(k->broad == lex_keybind_is_wild(k));
        FUZZ_CHECK(strcmp(lex_key_role_name(k->role), "unknown") != 0);
        FUZZ_CHECK(!k->national || k->role == LEX_KEY_OPERATOR);
        FUZZ_CHECK(k->role == LEX_KEY_RESPONDER || (k->nstates == 0 && k->nkeys == 0));
        FUZZ_CHECK(lex_directory_key(dir, k->public_z85) == k);
        char *line = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&line, &len);
        FUZZ_CHECK(f != NULL);
        lex_directory_write_key(f, k);
        fclose(f);
        lex_directory_t *again = NULL;
        FUZZ_CHECK(lex_directory_parse(line, "w", &again, err, sizeof err) == 0);
        FUZZ_CHECK(lex_keybind_equal(lex_directory_key_at(again, 0), k));
        lex_directory_destroy(&again);
        free(line);
    }
    lex_directory_destroy(&dir);
    FUZZ_CHECK(dir == NULL);
    return 0;
}
