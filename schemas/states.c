/* states.c: the jurisdictions with a motor-vehicle responder (lex_states.h). */
#include <pthread.h>
#include <string.h>
#include "lex_states.h"

const char *const lex_states[] = {
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN",
    "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV",
    "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN",
    "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "DC", "PR", "GU", "VI", "AS", "MP",
    NULL};

const char *const lex_state_names[] = {
    "Alabama", "Alaska", "Arizona", "Arkansas", "California", "Colorado", "Connecticut",
    "Delaware", "Florida", "Georgia", "Hawaii", "Idaho", "Illinois", "Indiana", "Iowa",
    "Kansas", "Kentucky", "Louisiana", "Maine", "Maryland", "Massachusetts", "Michigan",
    "Minnesota", "Mississippi", "Missouri", "Montana", "Nebraska", "Nevada",
    "New Hampshire", "New Jersey", "New Mexico", "New York", "North Carolina",
    "North Dakota", "Ohio", "Oklahoma", "Oregon", "Pennsylvania", "Rhode Island",
    "South Carolina", "South Dakota", "Tennessee", "Texas", "Utah", "Vermont", "Virginia",
    "Washington", "West Virginia", "Wisconsin", "Wyoming", "District of Columbia",
    "Puerto Rico", "Guam", "U.S. Virgin Islands", "American Samoa",
    "Northern Mariana Islands", NULL};

const size_t lex_state_count = sizeof lex_states / sizeof lex_states[0] - 1;

/* 26 x 26 table from two letters to index + 1 (0 = not a state), built on
 * first use: the switch asks this for every message. */
static signed char state_table[26 * 26];
static pthread_once_t state_table_once = PTHREAD_ONCE_INIT;

static void build_state_table(void)
{
    for (size_t i = 0; i < lex_state_count; i++)
        state_table[(lex_states[i][0] - 'A') * 26 + (lex_states[i][1] - 'A')] = (signed char)(i + 1);
}

int lex_state_index(const char *code)
{
    if (!code || code[0] < 'A' || code[0] > 'Z' || code[1] < 'A' || code[1] > 'Z' || code[2])
        return -1;
    pthread_once(&state_table_once, build_state_table);
    return state_table[(code[0] - 'A') * 26 + (code[1] - 'A')] - 1;
}
