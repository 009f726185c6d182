/*
 * Preloaded into gvisor sandboxes (LD_PRELOAD): statx(2) without AT_NO_AUTOMOUNT.
 *
 * Debian bookworm's runsc (2022-12) refuses statx with AT_NO_AUTOMOUNT as EINVAL, and
 * coreutils passes that flag on every call, so `ls -l`, `stat` and `du` fail inside gVisor.
 * Nothing is automounted inside a sandbox, so the flag changes nothing there: this wrapper
 * drops it and makes the system call. Built by scripts/register-gvisor-runtime.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *buf) {
  return (int)syscall(SYS_statx, dirfd, path, flags & ~AT_NO_AUTOMOUNT, mask, buf);
}
