/* fuzz_directory.c: the agency directory loader, lex_directory_load, as the
 * switch and nodes call it on a file. An accepted directory must hold only
 * well-formed entries, each found again by its ORI; a refused one must say
 * which line and why, and a file with a NUL byte in it must be refused. */
#include <stdio.h>
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
    lex_directory_destroy(&dir);
    FUZZ_CHECK(dir == NULL);
    return 0;
}
