/* tools/cat_group.h: placeholder. */
