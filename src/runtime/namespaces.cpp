#include "runtime/namespaces.hpp"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <algorithm>

namespace tiffin::runtime {

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

int namespace_flag(const std::string& type) {
  if (type == "pid") return CLONE_NEWPID;
  if (type == "network") return CLONE_NEWNET;
  if (type == "mount") return CLONE_NEWNS;
  if (type == "ipc") return CLONE_NEWIPC;
  if (type == "uts") return CLONE_NEWUTS;
  if (type == "user") return CLONE_NEWUSER;
  if (type == "cgroup") return CLONE_NEWCGROUP;
  if (type == "time") return CLONE_NEWTIME;
  return 0;
}

std::string namespace_proc_name(const std::string& type) {
  if (type == "network") return "net";
  if (type == "mount") return "mnt";
  return type;
}

namespace {

// User first; mount last, because after it paths resolve in the container.
int join_rank(const std::string& type) {
  if (type == "user") return 0;
  if (type == "mount") return 2;
  return 1;
}

void sort_for_joining(std::vector<NamespaceToJoin>& list) {
  std::stable_sort(list.begin(), list.end(), [](auto& a, auto& b) { return join_rank(a.type) < join_rank(b.type); });
}

}  // namespace

Result<std::vector<NamespaceToJoin>> open_spec_namespaces(const std::vector<Namespace>& namespaces) {
  std::vector<NamespaceToJoin> out;
  for (const auto& ns : namespaces) {
    if (ns.path.empty()) continue;
    UniqueFd fd(::open(ns.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return fail_errno("joining " + ns.type + " namespace " + ns.path);
    // Checked here, before anything is made, rather than by setns in the init (EINVAL).
    int type = ::ioctl(fd.get(), NS_GET_NSTYPE);
    if (type < 0)
      return fail(Errc::invalid_input, "config.json: linux.namespaces: " + ns.type + " namespace " + ns.path + " is not a namespace");
    if (type != namespace_flag(ns.type))
      return fail(Errc::invalid_input, "config.json: linux.namespaces: " + ns.path + " is not a " + ns.type + " namespace");
    out.push_back({ns.type, std::move(fd), ns.path});
  }
  sort_for_joining(out);
  return out;
}

Result<std::vector<NamespaceToJoin>> open_process_namespaces(pid_t pid, const std::vector<Namespace>& namespaces) {
  std::vector<NamespaceToJoin> out;
  for (const auto& ns : namespaces) {
    std::string path = "/proc/" + std::to_string(pid) + "/ns/" + namespace_proc_name(ns.type);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return fail_errno("opening " + path);
    out.push_back({ns.type, std::move(fd), path});
  }
  sort_for_joining(out);
  return out;
}

Result<void> join_namespaces(const std::vector<NamespaceToJoin>& list, const std::vector<std::string>& types) {
  for (const auto& ns : list) {
    if (!types.empty() && std::find(types.begin(), types.end(), ns.type) == types.end()) continue;
    if (::setns(ns.fd.get(), namespace_flag(ns.type)) != 0) return fail_errno("joining " + ns.type + " namespace " + ns.path);
  }
  return {};
}

int namespaces_to_create(const std::vector<Namespace>& namespaces) {
  int flags = 0;
  for (const auto& ns : namespaces)
    if (ns.path.empty()) flags |= namespace_flag(ns.type);
  return flags;
}

}  // namespace tiffin::runtime
