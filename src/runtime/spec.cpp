#include "runtime/spec.hpp"

#include <sys/capability.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "common/fd.hpp"

namespace tiffin::runtime {
namespace {

using json = nlohmann::json;

const std::set<std::string> kNamespaces = {"pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"};
const std::set<std::string> kRlimits = {"RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_LOCKS",
    "RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_RSS", "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
    "RLIMIT_SIGPENDING", "RLIMIT_STACK"};
const std::set<std::string> kSeccompActions = {"SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY"};
const std::set<std::string> kSeccompOps = {
    "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"};
const std::set<std::string> kSeccompFlags = {
    "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};

std::unexpected<Error> bad(const std::string& path, const std::string& what) {
  return fail(Errc::invalid_input, "config.json: " + path + ": " + what);
}

// Typed access to an object's members; absent members leave `out` as it is.
class Obj {
 public:
  Obj(const json& j, std::string path) : j_(j), path_(std::move(path)) {}
  static Result<Obj> of(const json& j, const std::string& path) {
    if (!j.is_object()) return bad(path, "must be an object");
    return Obj(j, path);
  }
  std::string at(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  const json* find(const std::string& key) const {
    auto it = j_.find(key);
    return it == j_.end() || it->is_null() ? nullptr : &*it;
  }
  Result<Obj> obj(const std::string& key) const {
    static const json empty = json::object();
    const json* v = find(key);
    return of(v ? *v : empty, at(key));
  }
  Result<void> str(const std::string& key, std::string& out, bool required = false) const {
    const json* v = find(key);
    if (!v) return required ? Result<void>(bad(at(key), "is required")) : Result<void>();
    if (!v->is_string()) return bad(at(key), "must be a string");
    out = v->get<std::string>();
    return {};
  }
  // A string that, when present, must be an absolute path.
  Result<void> abs_path(const std::string& key, std::string& out, bool required = false) const {
    if (!find(key)) return str(key, out, required);
    TRY(str(key, out));
    if (out.empty() || out[0] != '/') return bad(at(key), "must be an absolute path");
    return {};
  }
  Result<void> boolean(const std::string& key, bool& out) const {
    const json* v = find(key);
    if (!v) return {};
    if (!v->is_boolean()) return bad(at(key), "must be true or false");
    out = v->get<bool>();
    return {};
  }
  template <class T>
  Result<void> number(const std::string& key, T& out) const {
    const json* v = find(key);
    if (!v) return {};
    return to_number(*v, at(key), out);
  }
  template <class T>
  Result<void> number(const std::string& key, std::optional<T>& out) const {
    const json* v = find(key);
    if (!v) return {};
    T value{};
    TRY(to_number(*v, at(key), value));
    out = value;
    return {};
  }
  Result<void> strings(const std::string& key, std::vector<std::string>& out) const {
    const json* v = find(key);
    if (!v) return {};
    if (!v->is_array()) return bad(at(key), "must be an array of strings");
    out.clear();
    for (const auto& s : *v) {
      if (!s.is_string()) return bad(at(key), "must be an array of strings");
      out.push_back(s.get<std::string>());
    }
    return {};
  }
  // Calls fn(element, path) for each element of an array member.
  template <class Fn>
  Result<void> each(const std::string& key, Fn fn) const {
    const json* v = find(key);
    if (!v) return {};
    if (!v->is_array()) return bad(at(key), "must be an array");
    for (size_t i = 0; i < v->size(); ++i) TRY(fn((*v)[i], at(key) + "[" + std::to_string(i) + "]"));
    return {};
  }

  template <class T>
  static Result<void> to_number(const json& v, const std::string& path, T& out) {
    if (!v.is_number_integer()) return bad(path, "must be an integer");
    if (v.is_number_unsigned()) {
      uint64_t u = v.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<T>::max())) return bad(path, "out of range");
      out = static_cast<T>(u);
      return {};
    }
    int64_t n = v.get<int64_t>();
    if constexpr (std::is_unsigned_v<T>) {
      if (n < 0 || static_cast<uint64_t>(n) > std::numeric_limits<T>::max()) return bad(path, "out of range");
    } else {
      if (n < std::numeric_limits<T>::min() || n > std::numeric_limits<T>::max()) return bad(path, "out of range");
    }
    out = static_cast<T>(n);
    return {};
  }

 private:
  const json& j_;
  std::string path_;
};

Result<void> check_capabilities(const std::vector<std::string>& caps, const std::string& path) {
  for (const auto& c : caps) {
    cap_value_t v;
    // libcap knows the names in lower case without the prefix, and "cap_…" forms too.
    std::string name = c;
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char ch) { return std::tolower(ch); });
    if (!name.starts_with("cap_") || cap_from_name(name.c_str(), &v) != 0) return bad(path, "unknown capability " + c);
  }
  return {};
}

Result<std::vector<IdMapping>> parse_mappings(const Obj& linux, const std::string& key) {
  std::vector<IdMapping> out;
  TRY(linux.each(key, [&](const json& e, const std::string& path) -> Result<void> {
    Obj m = TRY(Obj::of(e, path));
    IdMapping map;
    TRY(m.number("containerID", map.container_id));
    TRY(m.number("hostID", map.host_id));
    TRY(m.number("size", map.size));
    if (map.size == 0) return bad(path, "size must be positive");
    if (uint64_t(map.container_id) + map.size > (uint64_t(1) << 32) || uint64_t(map.host_id) + map.size > (uint64_t(1) << 32))
      return bad(path, "range wraps past 2^32");
    out.push_back(map);
    return {};
  }));
  // Container ranges must not overlap (the kernel refuses such a map).
  auto sorted = out;
  std::sort(sorted.begin(), sorted.end(), [](auto& a, auto& b) { return a.container_id < b.container_id; });
  for (size_t i = 1; i < sorted.size(); ++i)
    if (uint64_t(sorted[i - 1].container_id) + sorted[i - 1].size > sorted[i].container_id) return bad(linux.at(key), "mappings overlap");
  if (out.size() > 340) return bad(linux.at(key), "more than 340 mappings");
  return out;
}

Result<Process> parse_process(const Obj& p) {
  Process proc;
  TRY(p.boolean("terminal", proc.terminal));
  if (p.find("consoleSize")) {
    Obj size = TRY(p.obj("consoleSize"));
    ConsoleSize cs;
    TRY(size.number("height", cs.height));
    TRY(size.number("width", cs.width));
    proc.console_size = cs;
  }
  Obj user = TRY(p.obj("user"));
  TRY(user.number("uid", proc.user.uid));
  TRY(user.number("gid", proc.user.gid));
  TRY(user.number("umask", proc.user.umask));
  TRY(user.each("additionalGids", [&](const json& g, const std::string& path) -> Result<void> {
    uint32_t gid = 0;
    TRY(Obj::to_number(g, path, gid));
    proc.user.additional_gids.push_back(gid);
    return {};
  }));
  TRY(p.strings("args", proc.args));
  if (proc.args.empty()) return bad(p.at("args"), "must name a program");
  TRY(p.strings("env", proc.env));
  for (const auto& e : proc.env)
    if (e.find('=') == std::string::npos || e.front() == '=') return bad(p.at("env"), "'" + e + "' is not KEY=value");
  TRY(p.abs_path("cwd", proc.cwd));
  TRY(p.str("apparmorProfile", proc.apparmor_profile));
  TRY(p.str("selinuxLabel", proc.selinux_label));
  Obj caps = TRY(p.obj("capabilities"));
  for (auto [key, list] : {std::pair{"bounding", &proc.capabilities.bounding}, {"effective", &proc.capabilities.effective},
           {"inheritable", &proc.capabilities.inheritable}, {"permitted", &proc.capabilities.permitted},
           {"ambient", &proc.capabilities.ambient}}) {
    TRY(caps.strings(key, *list));
    TRY(check_capabilities(*list, caps.at(key)));
  }
  std::set<std::string> seen;
  TRY(p.each("rlimits", [&](const json& e, const std::string& path) -> Result<void> {
    Obj r = TRY(Obj::of(e, path));
    Rlimit limit;
    TRY(r.str("type", limit.type, true));
    if (!kRlimits.contains(limit.type)) return bad(path, "unknown rlimit " + limit.type);
    if (!seen.insert(limit.type).second) return bad(path, "duplicate rlimit " + limit.type);
    TRY(r.number("soft", limit.soft));
    TRY(r.number("hard", limit.hard));
    if (limit.soft > limit.hard) return bad(path, "soft limit above the hard limit");
    proc.rlimits.push_back(limit);
    return {};
  }));
  TRY(p.boolean("noNewPrivileges", proc.no_new_privileges));
  TRY(p.number("oomScoreAdj", proc.oom_score_adj));
  if (proc.oom_score_adj && (*proc.oom_score_adj < -1000 || *proc.oom_score_adj > 1000))
    return bad(p.at("oomScoreAdj"), "must be within -1000..1000");
  return proc;
}

Result<std::vector<Hook>> parse_hooks(const Obj& hooks, const std::string& key) {
  std::vector<Hook> out;
  TRY(hooks.each(key, [&](const json& e, const std::string& path) -> Result<void> {
    Obj h = TRY(Obj::of(e, path));
    Hook hook;
    TRY(h.abs_path("path", hook.path, true));
    TRY(h.strings("args", hook.args));
    TRY(h.strings("env", hook.env));
    TRY(h.number("timeout", hook.timeout));
    if (hook.timeout && *hook.timeout <= 0) return bad(path + ".timeout", "must be positive");
    out.push_back(std::move(hook));
    return {};
  }));
  return out;
}

Result<Seccomp> parse_seccomp(const Obj& s) {
  Seccomp sc;
  TRY(s.str("defaultAction", sc.default_action, true));
  if (!kSeccompActions.contains(sc.default_action)) return bad(s.at("defaultAction"), "unknown action " + sc.default_action);
  TRY(s.number("defaultErrnoRet", sc.default_errno_ret));
  TRY(s.strings("architectures", sc.architectures));
  TRY(s.strings("flags", sc.flags));
  for (const auto& f : sc.flags)
    if (!kSeccompFlags.contains(f)) return bad(s.at("flags"), "unknown flag " + f);
  TRY(s.each("syscalls", [&](const json& e, const std::string& path) -> Result<void> {
    Obj r = TRY(Obj::of(e, path));
    SeccompRule rule;
    TRY(r.strings("names", rule.names));
    if (rule.names.empty()) return bad(path + ".names", "must name at least one syscall");
    TRY(r.str("action", rule.action, true));
    if (!kSeccompActions.contains(rule.action)) return bad(path + ".action", "unknown action " + rule.action);
    TRY(r.number("errnoRet", rule.errno_ret));
    TRY(r.each("args", [&](const json& a, const std::string& apath) -> Result<void> {
      Obj o = TRY(Obj::of(a, apath));
      SeccompArg arg;
      TRY(o.number("index", arg.index));
      if (arg.index > 5) return bad(apath + ".index", "syscalls have at most 6 arguments");
      TRY(o.number("value", arg.value));
      TRY(o.number("valueTwo", arg.value_two));
      TRY(o.str("op", arg.op, true));
      if (!kSeccompOps.contains(arg.op)) return bad(apath + ".op", "unknown operator " + arg.op);
      rule.args.push_back(arg);
      return {};
    }));
    sc.syscalls.push_back(std::move(rule));
    return {};
  }));
  return sc;
}

Result<void> opt_boolean(const Obj& o, const std::string& key, std::optional<bool>& out) {
  if (!o.find(key)) return {};
  bool v = false;
  TRY(o.boolean(key, v));
  out = v;
  return {};
}

Result<BlockIO> parse_block_io(const Obj& b) {
  BlockIO io;
  auto weight = [](const Obj& o, const std::string& key, std::optional<uint16_t>& out) -> Result<void> {
    TRY(o.number(key, out));
    if (out && (*out < 10 || *out > 1000)) return bad(o.at(key), "must be 10 to 1000");
    return {};
  };
  TRY(weight(b, "weight", io.weight));
  TRY(weight(b, "leafWeight", io.leaf_weight));
  auto device = [](const Obj& d, int64_t& major, int64_t& minor) -> Result<void> {
    if (!d.find("major") || !d.find("minor")) return bad(d.at("major"), "major and minor are required");
    TRY(d.number("major", major));
    TRY(d.number("minor", minor));
    if (major < 0 || minor < 0) return bad(d.at("major"), "must not be negative");
    return {};
  };
  TRY(b.each("weightDevice", [&](const json& e, const std::string& path) -> Result<void> {
    Obj d = TRY(Obj::of(e, path));
    WeightDevice w;
    TRY(device(d, w.major, w.minor));
    TRY(weight(d, "weight", w.weight));
    TRY(weight(d, "leafWeight", w.leaf_weight));
    io.weight_device.push_back(w);
    return {};
  }));
  for (auto [key, list] : {std::pair{"throttleReadBpsDevice", &io.throttle_read_bps}, {"throttleWriteBpsDevice", &io.throttle_write_bps},
           {"throttleReadIOPSDevice", &io.throttle_read_iops}, {"throttleWriteIOPSDevice", &io.throttle_write_iops}}) {
    TRY(b.each(key, [&](const json& e, const std::string& path) -> Result<void> {
      Obj d = TRY(Obj::of(e, path));
      ThrottleDevice t;
      TRY(device(d, t.major, t.minor));
      if (!d.find("rate")) return bad(path + ".rate", "is required");
      TRY(d.number("rate", t.rate));
      list->push_back(t);
      return {};
    }));
  }
  return io;
}

Result<Resources> parse_resources(const Obj& r) {
  Resources res;
  Obj mem = TRY(r.obj("memory"));
  TRY(mem.number("limit", res.memory_limit));
  TRY(mem.number("reservation", res.memory_reservation));
  TRY(mem.number("swap", res.memory_swap));
  Obj cpu = TRY(r.obj("cpu"));
  TRY(cpu.number("shares", res.cpu_shares));
  TRY(cpu.number("quota", res.cpu_quota));
  TRY(cpu.number("period", res.cpu_period));
  TRY(cpu.str("cpus", res.cpuset_cpus));
  TRY(cpu.str("mems", res.cpuset_mems));
  TRY(mem.number("kernel", res.memory_kernel));
  TRY(mem.number("kernelTCP", res.memory_kernel_tcp));
  // -1 is how runc's callers say "not set".
  if (const json* sw = mem.find("swappiness"); sw && !(sw->is_number_integer() && sw->get<int64_t>() == -1)) {
    TRY(mem.number("swappiness", res.memory_swappiness));
    if (*res.memory_swappiness > 100) return bad(mem.at("swappiness"), "must be 0 to 100");
  }
  TRY(opt_boolean(mem, "disableOOMKiller", res.disable_oom_killer));
  TRY(opt_boolean(mem, "useHierarchy", res.use_hierarchy));
  TRY(cpu.number("burst", res.cpu_burst));
  TRY(cpu.number("realtimeRuntime", res.cpu_realtime_runtime));
  TRY(cpu.number("realtimePeriod", res.cpu_realtime_period));
  TRY(cpu.number("idle", res.cpu_idle));
  Obj pids = TRY(r.obj("pids"));
  TRY(pids.number("limit", res.pids_limit));
  res.block_io = TRY(parse_block_io(TRY(r.obj("blockIO"))));
  TRY(r.each("hugepageLimits", [&](const json& e, const std::string& path) -> Result<void> {
    Obj h = TRY(Obj::of(e, path));
    HugepageLimit limit;
    TRY(h.str("pageSize", limit.page_size, true));
    // The kernel's names: a number and KB, MB or GB ("2MB"), as in hugetlb.2MB.max.
    auto digits = limit.page_size.find_first_not_of("0123456789");
    if (digits == 0 || digits == std::string::npos || !std::set<std::string>{"KB", "MB", "GB"}.contains(limit.page_size.substr(digits)))
      return bad(path + ".pageSize", "'" + limit.page_size + "' is not a page size such as 2MB");
    if (!h.find("limit")) return bad(path + ".limit", "is required");
    TRY(h.number("limit", limit.limit));
    res.hugepage_limits.push_back(limit);
    return {};
  }));
  Obj net = TRY(r.obj("network"));
  TRY(net.number("classID", res.net_class_id));
  TRY(net.each("priorities", [&](const json& e, const std::string& path) -> Result<void> {
    Obj p = TRY(Obj::of(e, path));
    NetPriority prio;
    TRY(p.str("name", prio.name, true));
    if (prio.name.empty() || prio.name.find_first_of(" \n/") != std::string::npos) return bad(path + ".name", "is not an interface name");
    TRY(p.number("priority", prio.priority));
    res.net_priorities.push_back(prio);
    return {};
  }));
  if (const json* rd = r.find("rdma")) {
    if (!rd->is_object()) return bad(r.at("rdma"), "must be an object");
    for (const auto& [dev, v] : rd->items()) {
      Obj o = TRY(Obj::of(v, r.at("rdma") + "." + dev));
      if (dev.empty() || dev.find_first_of(" \n/") != std::string::npos) return bad(r.at("rdma"), "invalid device " + dev);
      RdmaLimit limit;
      TRY(o.number("hcaHandles", limit.hca_handles));
      TRY(o.number("hcaObjects", limit.hca_objects));
      res.rdma[dev] = limit;
    }
  }
  if (const json* u = r.find("unified")) {
    if (!u->is_object()) return bad(r.at("unified"), "must be an object of strings");
    for (const auto& [file, v] : u->items()) {
      // A file of the container's own cgroup directory, nothing else.
      if (!v.is_string() || file.empty() || file[0] == '.' || file.find('/') != std::string::npos || file.find('.') == std::string::npos)
        return bad(r.at("unified"), "invalid entry " + file);
      res.unified[file] = v.get<std::string>();
    }
  }
  TRY(r.each("devices", [&](const json& e, const std::string& path) -> Result<void> {
    Obj d = TRY(Obj::of(e, path));
    DeviceRule rule;
    TRY(d.boolean("allow", rule.allow));
    TRY(d.str("type", rule.type));
    if (rule.type != "a" && rule.type != "c" && rule.type != "b") return bad(path + ".type", "must be a, c or b");
    TRY(d.str("access", rule.access));
    if (rule.access.find_first_not_of("rwm") != std::string::npos) return bad(path + ".access", "must be made of r, w, m");
    TRY(d.number("major", rule.major));
    TRY(d.number("minor", rule.minor));
    res.devices.push_back(rule);
    return {};
  }));
  return res;
}

Result<Linux> parse_linux(const Obj& l) {
  Linux linux;
  std::set<std::string> types;
  TRY(l.each("namespaces", [&](const json& e, const std::string& path) -> Result<void> {
    Obj n = TRY(Obj::of(e, path));
    Namespace ns;
    TRY(n.str("type", ns.type, true));
    if (!kNamespaces.contains(ns.type)) return bad(path + ".type", "unknown namespace " + ns.type);
    if (!types.insert(ns.type).second) return bad(path + ".type", "namespace " + ns.type + " given twice");
    TRY(n.abs_path("path", ns.path));
    linux.namespaces.push_back(ns);
    return {};
  }));
  linux.uid_mappings = TRY(parse_mappings(l, "uidMappings"));
  linux.gid_mappings = TRY(parse_mappings(l, "gidMappings"));
  if (!linux.uid_mappings.empty() && !linux.has_namespace("user")) return bad(l.at("uidMappings"), "id mappings need a user namespace");
  if (const json* s = l.find("sysctl")) {
    if (!s->is_object()) return bad(l.at("sysctl"), "must be an object of strings");
    for (const auto& [k, v] : s->items()) {
      if (!v.is_string() || k.empty() || k.find("..") != std::string::npos || k.find('/') != std::string::npos)
        return bad(l.at("sysctl"), "invalid entry " + k);
      linux.sysctl[k] = v.get<std::string>();
    }
  }
  linux.resources = TRY(parse_resources(TRY(l.obj("resources"))));
  TRY(l.str("cgroupsPath", linux.cgroups_path));
  if (l.find("seccomp")) linux.seccomp = TRY(parse_seccomp(TRY(l.obj("seccomp"))));
  for (auto [key, list] : {std::pair{"maskedPaths", &linux.masked_paths}, {"readonlyPaths", &linux.readonly_paths}}) {
    TRY(l.strings(key, *list));
    for (const auto& p : *list)
      if (p.empty() || p[0] != '/') return bad(l.at(key), "'" + p + "' is not absolute");
  }
  TRY(l.str("rootfsPropagation", linux.rootfs_propagation));
  TRY(l.str("mountLabel", linux.mount_label));
  static const std::set<std::string> props = {
      "", "private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable", "runbindable"};
  if (!props.contains(linux.rootfs_propagation)) return bad(l.at("rootfsPropagation"), "unknown mode " + linux.rootfs_propagation);
  TRY(l.each("devices", [&](const json& e, const std::string& path) -> Result<void> {
    Obj d = TRY(Obj::of(e, path));
    Device dev;
    TRY(d.abs_path("path", dev.path, true));
    TRY(d.str("type", dev.type, true));
    if (dev.type != "c" && dev.type != "b" && dev.type != "u" && dev.type != "p") return bad(path + ".type", "must be c, b, u or p");
    TRY(d.number("major", dev.major));
    TRY(d.number("minor", dev.minor));
    TRY(d.number("fileMode", dev.file_mode));
    TRY(d.number("uid", dev.uid));
    TRY(d.number("gid", dev.gid));
    linux.devices.push_back(dev);
    return {};
  }));
  return linux;
}

}  // namespace

bool Linux::has_namespace(const std::string& type) const {
  return std::any_of(namespaces.begin(), namespaces.end(), [&](const Namespace& n) { return n.type == type; });
}

Result<Spec> parse_spec(const std::string& text, const std::string& bundle) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return fail(Errc::invalid_input, "config.json is not valid JSON");
  Obj top = TRY(Obj::of(j, ""));
  Spec spec;
  TRY(top.str("ociVersion", spec.oci_version, true));
  if (!spec.oci_version.starts_with("1.")) return bad("ociVersion", "unsupported version " + spec.oci_version);
  if (const json* a = top.find("annotations")) {
    if (!a->is_object()) return bad("annotations", "must be an object of strings");
    for (const auto& [k, v] : a->items()) {
      if (!v.is_string()) return bad("annotations." + k, "must be a string");
      spec.annotations[k] = v.get<std::string>();
    }
  }
  Obj root = TRY(top.obj("root"));
  std::string path;
  TRY(root.str("path", path, true));
  if (path.empty()) return bad("root.path", "is empty");
  spec.root_path = (std::filesystem::path(bundle) / path).lexically_normal().string();
  if (path[0] == '/') spec.root_path = std::filesystem::path(path).lexically_normal().string();
  TRY(root.boolean("readonly", spec.root_readonly));
  TRY(top.str("hostname", spec.hostname));
  TRY(top.str("domainname", spec.domainname));
  if (!top.find("process")) return bad("process", "is required");
  spec.process = TRY(parse_process(TRY(top.obj("process"))));
  TRY(top.each("mounts", [&](const json& e, const std::string& mpath) -> Result<void> {
    Obj m = TRY(Obj::of(e, mpath));
    Mount mount;
    TRY(m.abs_path("destination", mount.destination, true));
    TRY(m.str("type", mount.type));
    TRY(m.str("source", mount.source));
    TRY(m.strings("options", mount.options));
    spec.mounts.push_back(std::move(mount));
    return {};
  }));
  Obj hooks = TRY(top.obj("hooks"));
  spec.hooks.prestart = TRY(parse_hooks(hooks, "prestart"));
  spec.hooks.create_runtime = TRY(parse_hooks(hooks, "createRuntime"));
  spec.hooks.create_container = TRY(parse_hooks(hooks, "createContainer"));
  spec.hooks.start_container = TRY(parse_hooks(hooks, "startContainer"));
  spec.hooks.poststart = TRY(parse_hooks(hooks, "poststart"));
  spec.hooks.poststop = TRY(parse_hooks(hooks, "poststop"));
  spec.linux = TRY(parse_linux(TRY(top.obj("linux"))));
  if (!spec.hostname.empty() && !spec.linux.has_namespace("uts")) return bad("hostname", "setting a hostname needs a uts namespace");
  return spec;
}

Result<Spec> load_spec(const std::string& bundle) {
  std::string file = bundle + "/config.json";
  Bytes text = TRY_CTX(read_file(file, size_t(16) << 20), "reading " + file);
  Spec spec = TRY(parse_spec(std::string(text.begin(), text.end()), bundle));
  struct stat st;
  if (::stat(spec.root_path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return fail(Errc::invalid_input, "config.json: root.path: " + spec.root_path + " is not a directory");
  return spec;
}

Result<Process> parse_process_json(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return fail(Errc::invalid_input, "process.json is not valid JSON");
  return parse_process(TRY(Obj::of(j, "process")));
}

Result<Resources> parse_resources_json(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return fail(Errc::invalid_input, "resources are not valid JSON");
  return parse_resources(TRY(Obj::of(j, "resources")));
}

}  // namespace tiffin::runtime
