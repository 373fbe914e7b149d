/* Tries the ways out of a container that the default profile must close, one per argument,
 * printing "<name> blocked <errno>" or "<name> ESCAPED". Built static so it runs in a busybox
 * rootfs. argv[1] is the pid of a host process (not in the container's pid namespace). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

static int failures_expected = 0, escaped = 0;

static void report(const char *name, int rc) {
  failures_expected++;
  if (rc < 0) printf("%s blocked %s\n", name, strerror(errno));
  else { printf("%s ESCAPED\n", name); escaped++; }
}

static int write_file(const char *path) {
  int fd = open(path, O_WRONLY);
  if (fd < 0) return -1;
  int rc = write(fd, "1", 1) == 1 ? 0 : -1;
  close(fd);
  return rc;
}

int main(int argc, char **argv) {
  const char *host_pid = argc > 1 ? argv[1] : "1";
  char path[256];
  mkdir("/dev/shm/m", 0755); /* /dev/shm is writable even with a read-only root */
  report("mount", mount("tmpfs", "/dev/shm/m", "tmpfs", 0, NULL));
  report("unshare-user", unshare(CLONE_NEWUSER));
  report("unshare-mount", unshare(CLONE_NEWNS));
  report("keyctl", (int)syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, "probe"));
  report("add_key", (int)syscall(SYS_add_key, "user", "probe", "x", 1, -3 /* session keyring */));
  report("sysrq-trigger", write_file("/proc/sysrq-trigger"));
  report("proc-sys", write_file("/proc/sys/kernel/domainname"));
  report("sys-write", write_file("/sys/kernel/uevent_helper"));
  report("ptrace-host", (int)ptrace(PTRACE_ATTACH, atoi(host_pid), 0, 0));
  snprintf(path, sizeof path, "/proc/%s/root/etc/hostname", host_pid);
  report("proc-host-root", open(path, O_RDONLY));
  report("mknod-disk", mknod("/dev/shm/sda", 0060600, makedev(8, 0)) == 0 ? open("/dev/shm/sda", O_RDONLY) : -1);
  report("chroot-escape-pivot", (int)syscall(SYS_pivot_root, "/tmp", "/tmp"));
  report("reboot", (int)syscall(SYS_reboot, 0xfee1dead, 672274793, 0x4321fedc, NULL));
  printf("escaped %d of %d\n", escaped, failures_expected);
  return escaped ? 1 : 0;
}
