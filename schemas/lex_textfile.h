/* lex_textfile.h: reads a whole text file (rules, directory, reports) into
 * one NUL-terminated buffer. A NUL byte inside the file is refused with its
 * line: a parser would stop there and quietly drop the rest. */
#ifndef LEX_TEXTFILE_H
#define LEX_TEXTFILE_H

#include <stddef.h>

/* Reads path into *text (free() it). Returns 0, LEX_EIO when it cannot be
 * opened or read, LEX_ETOOBIG over max bytes, LEX_EPARSE for a NUL byte, or
 * LEX_ENOMEM; err gets "path: reason" or "path:line: NUL byte in the file". */
int lex_textfile_read(const char *path, size_t max, char **text, char *err, size_t errlen);

#endif
