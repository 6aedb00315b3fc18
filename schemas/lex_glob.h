/* lex_glob.h: ORI patterns. `*` matches any run of characters, `?` one
 * character; everything else matches itself. Rules files use them for
 * requester ORIs and the agency directory uses them to bind a key to the
 * ORIs it may speak for (a state's own switch: "NV*"). */
#ifndef LEX_GLOB_H
#define LEX_GLOB_H

/* 1 when s matches the pattern, else 0. */
int lex_glob_match(const char *pattern, const char *s);

/* 1 when p is a well-formed ORI pattern: 1 to 9 characters of A-Z 0-9 * ?. */
int lex_glob_pattern_valid(const char *p);

#endif
