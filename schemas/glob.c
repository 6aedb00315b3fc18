/* glob.c: the ORI pattern matcher shared by the rules engine and the key
 * bindings of the agency directory. Patterns are at most a few characters,
 * so the simple backtracking form is enough. */
#include "lex_glob.h"

int lex_glob_match(const char *pat, const char *s)
{
    for (; *pat; pat++, s++) {
        if (*pat == '*') {
            while (pat[1] == '*')
                pat++;
            if (!pat[1])
                return 1;
            for (; *s; s++)
                if (lex_glob_match(pat + 1, s))
                    return 1;
            return 0;
        }
        if (!*s || (*pat != '?' && *pat != *s))
            return 0;
    }
    return *s == 0;
}
