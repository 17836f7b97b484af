/* src/api/msock_group.c: placeholder until written. */
typedef int ms_placeholder_msock_group;
