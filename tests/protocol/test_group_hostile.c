/* tests/protocol/test_group_hostile.c: placeholder until written. */
int main(void) { return 0; }
