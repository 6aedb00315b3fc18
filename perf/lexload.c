/* lexload.c: placeholder until the load generator lands. */
int main(void) { return 0; }
