/* src/protocol/group_hub.h: placeholder. */
