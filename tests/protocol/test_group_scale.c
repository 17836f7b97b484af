/* tests/protocol/test_group_scale.c: placeholder until written. */
int main(void) { return 0; }
