/* src/protocol/group_member.h: placeholder. */
