#include "runtime/lsm.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "common/fd.hpp"

namespace tiffin::runtime {
namespace {

bool file_says_yes(const char* path) {
  auto data = read_file(path, 64);
  return data && !data->empty() && (*data)[0] == 'Y';
}

Result<void> write_attr(const std::string& path, const std::string& value, const std::string& what) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd || ::write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size()))
    return fail_errno("setting the " + what + " '" + value + "'");
  return {};
}

}  // namespace

bool apparmor_enabled() {
  return file_says_yes("/sys/module/apparmor/parameters/enabled") && ::access("/sys/kernel/security/apparmor", F_OK) == 0;
}

bool selinux_enabled() { return ::access("/sys/fs/selinux/enforce", F_OK) == 0; }

Result<void> check_lsm_labels(const Process& p, const std::string& mount_label) {
  if (!p.apparmor_profile.empty() && !apparmor_enabled())
    return fail(Errc::unsupported, "config.json: process.apparmorProfile '" + p.apparmor_profile +
                                       "': this host has no AppArmor, and the container would run unconfined");
  if (!p.selinux_label.empty() && !selinux_enabled())
    return fail(Errc::unsupported,
        "config.json: process.selinuxLabel '" + p.selinux_label + "': this host has no SELinux, and the container would run unlabelled");
  if (!mount_label.empty())
    return fail(Errc::unsupported, "config.json: linux.mountLabel '" + mount_label +
                                       "': " + (selinux_enabled() ? "tiffin-oci does not label mounts" : "this host has no SELinux"));
  return {};
}

Result<void> apply_lsm_exec_labels(const Process& p) {
  TRY(check_lsm_labels(p));
  if (!p.apparmor_profile.empty()) {
    // The per-module file where the kernel has it (5.8+), else the shared one.
    std::string file = ::access("/proc/thread-self/attr/apparmor/exec", F_OK) == 0 ? "/proc/thread-self/attr/apparmor/exec"
                                                                                   : "/proc/thread-self/attr/exec";
    TRY(write_attr(file, "exec " + p.apparmor_profile, "AppArmor profile"));
  }
  if (!p.selinux_label.empty()) TRY(write_attr("/proc/thread-self/attr/exec", p.selinux_label, "SELinux label"));
  return {};
}

}  // namespace tiffin::runtime
