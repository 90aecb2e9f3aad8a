#define _GNU_SOURCE
#include <spawn.h>
#include "CSluiceSys.h"

int sluice_spawn_file_actions_addclosefrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

short sluice_spawn_setsid_flag(void) {
    return POSIX_SPAWN_SETSID;
}
