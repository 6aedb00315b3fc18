/* lexctl_sample.c: `lexctl sample`: prints a few people and vehicles of a
 * state's synthetic population (the ones `lexnode state` answers about), so
 * a user trying the network by hand has real licence numbers, names and
 * plates to ask for. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include "lex_envelope.h"
#include "lex_population.h"
#include "lexctl.h"

int lexctl_sample(int argc, char **argv)
{
    static const struct option opts[] = {{"state", required_argument, 0, 's'},
                                         {"count", required_argument, 0, 'n'},
                                         {"drivers", required_argument, 0, 'd'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *state = "NV";
    long count = 5, drivers = 20000;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:n:d:h", opts, NULL)) != -1) {
        switch (c) {
        case 's': state = optarg; break;
        case 'n': count = atol(optarg); break;
        case 'd': drivers = atol(optarg); break;
        case 'h':
            printf("usage: lexctl sample [--state ST] [--count N] [--drivers N]\n"
                   "Prints N drivers and vehicles of a state's synthetic population\n"
                   "(--drivers must match the responder's, default 20000).\n");
            return 0;
        default: return 2;
        }
    }
    if (!lex_state_valid(state) || count < 1 || drivers < 1 || optind < argc) {
        fprintf(stderr, "lexctl sample: bad arguments (see --help)\n");
        return 2;
    }
    lex_population_t *pop = NULL;
    if (lex_population_new(state, (uint32_t)drivers, (uint32_t)drivers, &pop) != 0) {
        fprintf(stderr, "lexctl sample: cannot build the population\n");
        return 1;
    }
    printf("%-12s %-28s %-10s %-3s %-9s %s\n", "licence", "name", "dob", "sex", "plate", "vin");
    for (long i = 0; i < count; i++) {
        uint32_t idx = (uint32_t)((uint64_t)i * 7919u % (uint64_t)drivers);
        lex_driver_t d;
        lex_vehicle_t v;
        lex_population_driver(pop, idx, &d);
        lex_population_vehicle(pop, idx, &v);
        printf("%-12s %-28s %-10s %-3s %-9s %s\n", d.lic, d.name, d.dob, d.sex, v.plate, v.vin);
    }
    lex_population_destroy(&pop);
    return 0;
}
