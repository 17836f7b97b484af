/* src/protocol/group_member.c: placeholder until written. */
typedef int ms_placeholder_group_member;
