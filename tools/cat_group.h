/* cat_group.h: msockcat's group modes: --group-hub routes until stopped; --group makes a
 * client's calls to the hub, then sends and receives on msockcat's usual schedule. */
#ifndef CAT_GROUP_H
#define CAT_GROUP_H

#include <stdbool.h>

#include "cat_io.h"

/* --group-hub: applies --max-conns to the open hub; before its endpoints start. */
enum cat_step cat_group_hub_configure(struct cat_run *run);

/* --group-hub: serves until SIGINT or SIGTERM, then returns CAT_STEP_DONE. */
enum cat_step cat_group_hub_run(struct cat_run *run);

/* --group, once dialed: makes the calls --whoami, --create, --join, --list-groups and --peers
 * in that order, printing their answers on standard output; then points run's hooks at the
 * group and says whether the schedule sends (--data to the group or the --relay ids) and
 * receives (with an output format, or after a --join without data). CAT_STEP_DONE when it
 * does neither: the calls were all there was to do. */
enum cat_step cat_group_client_start(struct cat_run *run, bool *sends, bool *receives);

#endif
