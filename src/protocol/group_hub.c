/* src/protocol/group_hub.c: placeholder until written. */
typedef int ms_placeholder_group_hub;
