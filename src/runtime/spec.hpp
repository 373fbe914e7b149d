// The OCI runtime-spec 1.1 configuration (config.json) as the runtime uses it, one typed model
// that is read (parse_spec) and written (spec_to_json): parsed strictly,
// so that a container is never created from a config that means something other than what it
// says. Unknown namespace types, capabilities, rlimits, seccomp actions or operators, relative
// mount destinations, empty or overlapping id mappings and a missing rootfs are all errors of kind
// Errc::invalid_input naming the field. Fields that only describe (annotations) or belong to other
// platforms (windows, solaris, vm) are ignored, as runc does; security labels and resources are
// parsed so that one asked for is applied or refused, never dropped.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace tiffin::runtime {

struct IdMapping {
  uint32_t container_id = 0, host_id = 0, size = 0;

  bool operator==(const IdMapping&) const = default;
};

struct Rlimit {
  std::string type;  // RLIMIT_NOFILE, …
  uint64_t soft = 0, hard = 0;

  bool operator==(const Rlimit&) const = default;
};

struct Capabilities {
  std::vector<std::string> bounding, effective, inheritable, permitted, ambient;

  bool operator==(const Capabilities&) const = default;
};

struct User {
  uint32_t uid = 0, gid = 0;
  std::optional<uint32_t> umask;
  std::vector<uint32_t> additional_gids;

  bool operator==(const User&) const = default;
};

struct ConsoleSize {
  uint32_t height = 0, width = 0;  // rows, columns
  bool operator==(const ConsoleSize&) const = default;
};

struct Process {
  bool terminal = false;
  std::optional<ConsoleSize> console_size;  // the pty's size before the program runs
  User user;
  std::vector<std::string> args, env;
  std::string cwd = "/";
  Capabilities capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::optional<int> oom_score_adj;
  std::string apparmor_profile, selinux_label;  // applied, or refused where the host lacks them (lsm.hpp)

  bool operator==(const Process&) const = default;
};

struct Mount {
  std::string destination, type, source;
  std::vector<std::string> options;

  bool operator==(const Mount&) const = default;
};

struct Hook {
  std::string path;
  std::vector<std::string> args, env;
  std::optional<int> timeout;  // seconds

  bool operator==(const Hook&) const = default;
};

struct Hooks {
  std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart, poststop;

  bool operator==(const Hooks&) const = default;
};

struct Namespace {
  std::string type;  // pid, network, mount, ipc, uts, user, cgroup, time
  std::string path;  // join this one instead of making a new one

  bool operator==(const Namespace&) const = default;
};

struct SeccompArg {
  uint32_t index = 0;
  uint64_t value = 0, value_two = 0;
  std::string op;  // SCMP_CMP_EQ, …

  bool operator==(const SeccompArg&) const = default;
};

struct SeccompRule {
  std::vector<std::string> names;
  std::string action;
  std::optional<uint32_t> errno_ret;
  std::vector<SeccompArg> args;

  bool operator==(const SeccompRule&) const = default;
};

struct Seccomp {
  std::string default_action;
  std::optional<uint32_t> default_errno_ret;
  std::vector<std::string> architectures, flags;
  std::vector<SeccompRule> syscalls;

  bool operator==(const Seccomp&) const = default;
};

struct Device {
  std::string path, type;  // c, b, u, p
  int64_t major = 0, minor = 0;
  std::optional<uint32_t> file_mode, uid, gid;

  bool operator==(const Device&) const = default;
};

struct DeviceRule {
  bool allow = false;
  std::string type = "a", access = "rwm";
  std::optional<int64_t> major, minor;

  bool operator==(const DeviceRule&) const = default;
};

// linux.resources.blockIO's per-device entries: weightDevice (weight and/or leafWeight) and the
// throttle lists (rate: bytes or operations per second).
struct WeightDevice {
  int64_t major = 0, minor = 0;
  std::optional<uint16_t> weight, leaf_weight;

  bool operator==(const WeightDevice&) const = default;
};

struct ThrottleDevice {
  int64_t major = 0, minor = 0;
  uint64_t rate = 0;

  bool operator==(const ThrottleDevice&) const = default;
};

struct BlockIO {
  std::optional<uint16_t> weight, leaf_weight;  // 10..1000
  std::vector<WeightDevice> weight_device;
  std::vector<ThrottleDevice> throttle_read_bps, throttle_write_bps, throttle_read_iops, throttle_write_iops;

  bool empty() const { return *this == BlockIO{}; }
  bool operator==(const BlockIO&) const = default;
};

struct HugepageLimit {
  std::string page_size;  // "2MB", "1GB", "64KB"
  uint64_t limit = 0;     // bytes

  bool operator==(const HugepageLimit&) const = default;
};

struct NetPriority {
  std::string name;  // interface
  uint32_t priority = 0;

  bool operator==(const NetPriority&) const = default;
};

struct RdmaLimit {
  std::optional<uint32_t> hca_handles, hca_objects;

  bool operator==(const RdmaLimit&) const = default;
};

// Every field of linux.resources: a field given is applied or create fails (Errc::unsupported
// naming it); none is ignored.
struct Resources {
  std::optional<int64_t> memory_limit, memory_reservation, memory_swap;
  std::optional<uint64_t> cpu_shares;
  std::optional<int64_t> cpu_quota;
  std::optional<uint64_t> cpu_period;
  std::string cpuset_cpus, cpuset_mems;
  std::optional<int64_t> pids_limit;
  std::vector<DeviceRule> devices;
  std::optional<int64_t> memory_kernel, memory_kernel_tcp;
  std::optional<uint64_t> memory_swappiness;  // 0..100
  std::optional<bool> disable_oom_killer, use_hierarchy;
  std::optional<uint64_t> cpu_burst;
  std::optional<int64_t> cpu_realtime_runtime;
  std::optional<uint64_t> cpu_realtime_period;
  std::optional<int64_t> cpu_idle;
  BlockIO block_io;
  std::vector<HugepageLimit> hugepage_limits;
  std::optional<uint32_t> net_class_id;
  std::vector<NetPriority> net_priorities;
  std::map<std::string, RdmaLimit> rdma;       // by device name
  std::map<std::string, std::string> unified;  // cgroup v2 file → value

  bool operator==(const Resources&) const = default;
};

struct Linux {
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uid_mappings, gid_mappings;
  std::map<std::string, std::string> sysctl;
  Resources resources;
  std::string cgroups_path;
  std::optional<Seccomp> seccomp;
  std::vector<std::string> masked_paths, readonly_paths;
  std::string rootfs_propagation;
  std::vector<Device> devices;
  std::string mount_label;  // SELinux; refused (lsm.hpp)

  bool has_namespace(const std::string& type) const;

  bool operator==(const Linux&) const = default;
};

struct Spec {
  std::string oci_version;
  std::map<std::string, std::string> annotations;
  std::string root_path;  // absolute: resolved against the bundle
  bool root_readonly = false;
  std::string hostname, domainname;
  Process process;
  std::vector<Mount> mounts;
  Hooks hooks;
  Linux linux;

  bool operator==(const Spec&) const = default;
};

// config.json text for `spec`, the inverse of parse_spec: every field it reads is written, so
// parse_spec(spec_to_json(s), bundle) == s. root.path is written as held (a relative one
// resolves against the bundle when read back). `pretty`: tab-indented lines, as runc's spec.
std::string spec_to_json(const Spec& spec, bool pretty = false);
// linux.seccomp alone, as spec_to_json writes it.
std::string seccomp_to_json(const Seccomp& seccomp, bool pretty = false);

// Parses config.json text; relative root paths resolve against `bundle`.
Result<Spec> parse_spec(const std::string& json_text, const std::string& bundle);
// Reads <bundle>/config.json and checks that the rootfs exists.
Result<Spec> load_spec(const std::string& bundle);
// A process object alone, as `exec --process` takes it, and its text.
Result<Process> parse_process_json(const std::string& json_text);
std::string process_to_json(const Process& process);
// The linux.resources object alone, as `update --resources` takes it.
Result<Resources> parse_resources_json(const std::string& json_text);

}  // namespace tiffin::runtime
