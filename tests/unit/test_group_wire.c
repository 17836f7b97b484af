/* tests/unit/test_group_wire.c: placeholder until written. */
int main(void) { return 0; }
