/* dirline.c: splitting and trimming the '|'-separated fields of an agency
 * directory line, shared by the agency parser (directory.c) and the key
 * binding parser (keybind.c). */
#include "dirline_internal.h"

#include <string.h>

char *lex_dirline_trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = 0;
    return s;
}

int lex_dirline_split(char *line, char **parts, int max)
{
    int n = 0;
    char *p = line;
    while (n < max) {
        parts[n++] = p;
        char *bar = strchr(p, '|');
        if (!bar)
            break;
        *bar = 0;
        p = bar + 1;
    }
    for (int i = 0; i < n; i++)
        parts[i] = lex_dirline_trim(parts[i]);
    return n;
}
