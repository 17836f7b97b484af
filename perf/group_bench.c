/* perf/group_bench.c: placeholder until written. */
int main(void) { return 0; }
