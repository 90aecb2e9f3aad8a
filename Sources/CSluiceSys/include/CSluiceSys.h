#ifndef CSLUICESYS_H
#define CSLUICESYS_H
#include <spawn.h>

/// posix_spawn_file_actions_addclosefrom_np (glibc >= 2.34), which Swift cannot see without _GNU_SOURCE.
int sluice_spawn_file_actions_addclosefrom(posix_spawn_file_actions_t *actions, int from);

/// POSIX_SPAWN_SETSID (glibc >= 2.26).
short sluice_spawn_setsid_flag(void);


/// posix_spawn_file_actions_addchdir_np (glibc >= 2.29).
int sluice_spawn_file_actions_addchdir(posix_spawn_file_actions_t *actions, const char *path);

/// pipe2(fds, O_CLOEXEC).
int sluice_pipe_cloexec(int fds[2]);
#endif
