/* textfile.c: whole-file reads and atomic writes of text files (lex_textfile.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lex_error.h"
#include "lex_textfile.h"

static int fail(char *err, size_t errlen, int rc, const char *path, const char *why)
{
    if (err && errlen)
        snprintf(err, errlen, "%s: %s", path, why);
    return rc;
}

int lex_textfile_read(const char *path, size_t max, char **text, char *err, size_t errlen)
{
    *text = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(err, errlen, LEX_EIO, path, strerror(errno));
    size_t cap = 4096, len = 0;
    char *buf = NULL;
    int rc = 0;
    for (;;) {
        char *grown = realloc(buf, cap + 1);
        if (!grown) {
            rc = fail(err, errlen, LEX_ENOMEM, path, "out of memory");
            break;
        }
        buf = grown;
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap)
            break;
        if (cap > max) {
            rc = fail(err, errlen, LEX_ETOOBIG, path, "file too large");
            break;
        }
        cap *= 2;
    }
    if (rc == 0 && ferror(f))
        rc = fail(err, errlen, LEX_EIO, path, "read failed");
    if (rc == 0 && len > max)
        rc = fail(err, errlen, LEX_ETOOBIG, path, "file too large");
    fclose(f);
    if (rc == 0) {
        buf[len] = 0;
        const char *nul = memchr(buf, 0, len);
        if (nul) {
            size_t line = 1;
            for (const char *c = buf; c < nul; c++)
                line += *c == '\n';
            if (err && errlen)
                snprintf(err, errlen, "%s:%zu: NUL byte in the file", path, line);
            rc = LEX_EPARSE;
        }
    }
    if (rc != 0) {
        free(buf);
        return rc;
    }
    *text = buf;
    return 0;
}

int lex_textfile_write_atomic(const char *path, const char *text)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return LEX_EIO;
    FILE *f = fopen(tmp, "w");
    if (!f)
        return LEX_EIO;
    int bad = fputs(text, f) < 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        remove(tmp);
        return LEX_EIO;
    }
    return 0;
}
