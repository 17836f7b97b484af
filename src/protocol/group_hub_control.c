/* src/protocol/group_hub_control.c: placeholder until written. */
typedef int ms_placeholder_group_hub_control;
