/* src/protocol/group_wire.c: placeholder until written. */
typedef int ms_placeholder_group_wire;
