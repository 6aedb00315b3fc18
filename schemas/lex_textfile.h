/* lex_textfile.h: whole text files: reading one (rules, directory, reports)
 * into a NUL-terminated buffer, refusing a NUL byte inside it (a parser
 * would stop there and quietly drop the rest); and writing one at once, so
 * that a reader (a script waiting for a ready file) never sees it half made. */
#ifndef LEX_TEXTFILE_H
#define LEX_TEXTFILE_H

#include <stddef.h>

/* Reads path into *text (free() it). Returns 0, LEX_EIO when it cannot be
 * opened or read, LEX_ETOOBIG over max bytes, LEX_EPARSE for a NUL byte, or
 * LEX_ENOMEM; err gets "path: reason" or "path:line: NUL byte in the file". */
int lex_textfile_read(const char *path, size_t max, char **text, char *err, size_t errlen);

/* Writes text to path.tmp, then renames it to path. 0 or LEX_EIO. */
int lex_textfile_write_atomic(const char *path, const char *text);

#endif
