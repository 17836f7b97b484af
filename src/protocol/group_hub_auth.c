/* src/protocol/group_hub_auth.c: placeholder until written. */
typedef int ms_placeholder_group_hub_auth;
