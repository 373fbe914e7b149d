#include <nlohmann/json.hpp>

#include "oci/oci_cli.hpp"
#include "runtime/lsm.hpp"

namespace tiffin::oci {

// What this runtime implements, in runc's `features` format (runtime-spec features.md).
void add_features(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("features", "print the features this runtime implements as JSON");
  cmd->callback([&g] {
    run_verb(g, []() -> Result<int> {
      using json = nlohmann::json;
      json j = {{"ociVersionMin", "1.0.0"}, {"ociVersionMax", "1.1.0"},
          {"hooks", {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}},
          {"mountOptions", {"async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "lazytime", "mand", "noatime",
                               "nodev", "nodiratime", "noexec", "nolazytime", "nomand", "norelatime", "nostrictatime", "nosuid", "private",
                               "rbind", "relatime", "remount", "ro", "rprivate", "rshared", "rslave", "runbindable", "rw", "shared",
                               "slave", "strictatime", "suid", "sync", "tmpcopyup", "unbindable"}},
          {"linux", {{"namespaces", {"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"}}, {"capabilities", json::array()},
                        {"cgroup", {{"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false}, {"rdma", false}}},
                        {"seccomp", {{"enabled", true},
                                        {"actions", {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                                                        "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"}},
                                        {"operators", {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
                                                          "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"}},
                                        {"archs", {"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32"}},
                                        {"supportedFlags",
                                            {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"}}}},
                        {"apparmor", {{"enabled", runtime::apparmor_enabled()}}}, {"selinux", {{"enabled", runtime::selinux_enabled()}}}}},
          {"annotations", {{"org.opencontainers.runc.checkpoint.enabled", "false"}}}};
      std::printf("%s\n", j.dump(2).c_str());
      return 0;
    });
  });
}

}  // namespace tiffin::oci
