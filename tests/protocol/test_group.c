/* tests/protocol/test_group.c: placeholder until written. */
int main(void) { return 0; }
