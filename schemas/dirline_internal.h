/* dirline_internal.h: the fields of one line of the agency directory, for
 * the two parsers of its lines: directory.c (agency lines) and keybind.c
 * (`@key` lines). Internal to schemas/. */
#ifndef LEX_DIRLINE_INTERNAL_H
#define LEX_DIRLINE_INTERNAL_H

/* Splits line in place at '|' into at most max fields, each trimmed of
 * spaces, tabs and a trailing CR; the last field keeps any further bars.
 * parts gets pointers into line. Returns how many fields. */
int lex_dirline_split(char *line, char **parts, int max);

/* Trims spaces, tabs and a trailing CR at both ends, in place. */
char *lex_dirline_trim(char *s);

#endif
