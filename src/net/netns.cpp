#include "net/netns.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "common/fd.hpp"

namespace tiffin::net {
namespace {

// Brings up lo in the calling thread's network namespace (a new one has it down).
Result<void> loopback_up() {
  UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) return fail_errno("socket");
  ifreq ifr{};
  std::strcpy(ifr.ifr_name, "lo");
  if (::ioctl(sock.get(), SIOCGIFFLAGS, &ifr) != 0) return fail_errno("reading the flags of lo");
  ifr.ifr_flags |= IFF_UP;
  if (::ioctl(sock.get(), SIOCSIFFLAGS, &ifr) != 0) return fail_errno("bringing up lo");
  return {};
}

}  // namespace

bool netns_mounted(const std::string& path) {
  struct statfs st {};
  return ::statfs(path.c_str(), &st) == 0 && st.f_type == NSFS_MAGIC;
}

Result<void> create_netns(const std::string& path) {
  if (netns_mounted(path)) return fail(Errc::conflict, "a network namespace is mounted on " + path + " already");
  UniqueFd file(::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0444));
  if (!file) return fail_errno("creating " + path);
  file.reset();
  // A thread of our own enters the new namespace (unshare affects only the calling thread for
  // CLONE_NEWNET), so the process stays where it was without a fork.
  Result<void> made;
  std::thread maker([&] {
    made = [&]() -> Result<void> {
      if (::unshare(CLONE_NEWNET) != 0) return fail_errno("creating a network namespace");
      TRY(loopback_up());
      if (::mount("/proc/thread-self/ns/net", path.c_str(), nullptr, MS_BIND, nullptr) != 0)
        return fail_errno("mounting the network namespace on " + path);
      return {};
    }();
  });
  maker.join();
  if (!made) ::unlink(path.c_str());
  return made;
}

Result<void> run_in_netns(const std::string& path, const std::function<Result<void>()>& fn) {
  UniqueFd ns(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns) return fail_errno("opening the network namespace " + path);
  Result<void> result;
  std::thread runner([&] {
    if (::setns(ns.get(), CLONE_NEWNET) != 0) {
      result = fail_errno("entering the network namespace " + path);
      return;
    }
    result = fn();
  });
  runner.join();
  return result;
}

Result<void> remove_netns(const std::string& path) {
  for (int i = 0; i < 8 && netns_mounted(path); ++i)
    if (::umount2(path.c_str(), MNT_DETACH) != 0) return fail_errno("unmounting " + path);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return fail_errno("removing " + path);
  return {};
}

}  // namespace tiffin::net
