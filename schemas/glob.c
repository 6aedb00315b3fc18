/* glob.c: the ORI pattern matcher shared by the rules engine and the key
 * bindings of the agency directory. Patterns are at most a few characters,
 * so the simple backtracking form is enough. */
#include <string.h>
#include "lex_envelope.h"
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

int lex_glob_pattern_valid(const char *p)
{
    size_t n = strlen(p);
    if (n == 0 || n > LEX_ORI_LEN)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '*' ||
              p[i] == '?'))
            return 0;
    return 1;
}
