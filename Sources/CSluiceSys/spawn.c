#define _GNU_SOURCE
#include <spawn.h>
#include "CSluiceSys.h"

int sluice_spawn_file_actions_addclosefrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

short sluice_spawn_setsid_flag(void) {
    return POSIX_SPAWN_SETSID;
}

int sluice_spawn_file_actions_addchdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}

#include <fcntl.h>
#include <unistd.h>
int sluice_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}
