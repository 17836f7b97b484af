/* src/protocol/group_calls.c: placeholder until written. */
typedef int ms_placeholder_group_calls;
