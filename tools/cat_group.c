/* tools/cat_group.c: placeholder until written. */
typedef int ms_placeholder_cat_group;
