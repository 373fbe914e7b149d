// Spec → config.json: the inverse of parse_spec for every field it reads, so that a Spec built in
// code (the engine's, `tiffin-oci spec`'s) is written once, by one function, and read back equal.
// Empty strings, lists and unset optionals are left out: parse_spec reads their absence as the
// same value.
#include <nlohmann/json.hpp>

#include "runtime/spec.hpp"

namespace tiffin::runtime {
namespace {

using json = nlohmann::json;

void put_str(json& j, const char* key, const std::string& v) {
  if (!v.empty()) j[key] = v;
}
void put_list(json& j, const char* key, const std::vector<std::string>& v) {
  if (!v.empty()) j[key] = v;
}
template <class T>
void put_opt(json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}

json capabilities_json(const Capabilities& c) {
  json j = json::object();
  put_list(j, "bounding", c.bounding);
  put_list(j, "effective", c.effective);
  put_list(j, "inheritable", c.inheritable);
  put_list(j, "permitted", c.permitted);
  put_list(j, "ambient", c.ambient);
  return j;
}

json process_json(const Process& p) {
  json user = {{"uid", p.user.uid}, {"gid", p.user.gid}};
  put_opt(user, "umask", p.user.umask);
  if (!p.user.additional_gids.empty()) user["additionalGids"] = p.user.additional_gids;
  json j = {{"terminal", p.terminal}, {"user", user}, {"args", p.args}, {"cwd", p.cwd}};
  if (p.console_size) j["consoleSize"] = {{"height", p.console_size->height}, {"width", p.console_size->width}};
  put_list(j, "env", p.env);
  if (json caps = capabilities_json(p.capabilities); !caps.empty()) j["capabilities"] = caps;
  if (!p.rlimits.empty()) {
    json& r = j["rlimits"] = json::array();
    for (const auto& l : p.rlimits) r.push_back({{"type", l.type}, {"soft", l.soft}, {"hard", l.hard}});
  }
  j["noNewPrivileges"] = p.no_new_privileges;
  put_opt(j, "oomScoreAdj", p.oom_score_adj);
  put_str(j, "apparmorProfile", p.apparmor_profile);
  put_str(j, "selinuxLabel", p.selinux_label);
  return j;
}

json hooks_json(const std::vector<Hook>& hooks) {
  json out = json::array();
  for (const auto& h : hooks) {
    json j = {{"path", h.path}};
    put_list(j, "args", h.args);
    put_list(j, "env", h.env);
    put_opt(j, "timeout", h.timeout);
    out.push_back(std::move(j));
  }
  return out;
}

json seccomp_object(const Seccomp& s) {
  json j = {{"defaultAction", s.default_action}};
  put_opt(j, "defaultErrnoRet", s.default_errno_ret);
  put_list(j, "architectures", s.architectures);
  put_list(j, "flags", s.flags);
  json& rules = j["syscalls"] = json::array();
  for (const auto& r : s.syscalls) {
    json rule = {{"names", r.names}, {"action", r.action}};
    put_opt(rule, "errnoRet", r.errno_ret);
    if (!r.args.empty()) {
      json& args = rule["args"] = json::array();
      for (const auto& a : r.args) args.push_back({{"index", a.index}, {"value", a.value}, {"valueTwo", a.value_two}, {"op", a.op}});
    }
    rules.push_back(std::move(rule));
  }
  return j;
}

json block_io_json(const BlockIO& b) {
  json j = json::object();
  put_opt(j, "weight", b.weight);
  put_opt(j, "leafWeight", b.leaf_weight);
  if (!b.weight_device.empty()) {
    json& list = j["weightDevice"] = json::array();
    for (const auto& w : b.weight_device) {
      json e = {{"major", w.major}, {"minor", w.minor}};
      put_opt(e, "weight", w.weight);
      put_opt(e, "leafWeight", w.leaf_weight);
      list.push_back(std::move(e));
    }
  }
  for (auto [key, list] : {std::pair{"throttleReadBpsDevice", &b.throttle_read_bps}, {"throttleWriteBpsDevice", &b.throttle_write_bps},
           {"throttleReadIOPSDevice", &b.throttle_read_iops}, {"throttleWriteIOPSDevice", &b.throttle_write_iops}}) {
    if (list->empty()) continue;
    json& out = j[key] = json::array();
    for (const auto& t : *list) out.push_back({{"major", t.major}, {"minor", t.minor}, {"rate", t.rate}});
  }
  return j;
}

json resources_json(const Resources& r) {
  json j = json::object();
  json mem = json::object(), cpu = json::object(), pids = json::object();
  put_opt(mem, "limit", r.memory_limit);
  put_opt(mem, "reservation", r.memory_reservation);
  put_opt(mem, "swap", r.memory_swap);
  put_opt(cpu, "shares", r.cpu_shares);
  put_opt(cpu, "quota", r.cpu_quota);
  put_opt(cpu, "period", r.cpu_period);
  put_str(cpu, "cpus", r.cpuset_cpus);
  put_str(cpu, "mems", r.cpuset_mems);
  put_opt(pids, "limit", r.pids_limit);
  put_opt(mem, "kernel", r.memory_kernel);
  put_opt(mem, "kernelTCP", r.memory_kernel_tcp);
  put_opt(mem, "swappiness", r.memory_swappiness);
  put_opt(mem, "disableOOMKiller", r.disable_oom_killer);
  put_opt(mem, "useHierarchy", r.use_hierarchy);
  put_opt(cpu, "burst", r.cpu_burst);
  put_opt(cpu, "realtimeRuntime", r.cpu_realtime_runtime);
  put_opt(cpu, "realtimePeriod", r.cpu_realtime_period);
  put_opt(cpu, "idle", r.cpu_idle);
  if (!r.block_io.empty()) j["blockIO"] = block_io_json(r.block_io);
  if (!r.hugepage_limits.empty()) {
    json& list = j["hugepageLimits"] = json::array();
    for (const auto& h : r.hugepage_limits) list.push_back({{"pageSize", h.page_size}, {"limit", h.limit}});
  }
  json net = json::object();
  put_opt(net, "classID", r.net_class_id);
  if (!r.net_priorities.empty()) {
    json& list = net["priorities"] = json::array();
    for (const auto& p : r.net_priorities) list.push_back({{"name", p.name}, {"priority", p.priority}});
  }
  if (!net.empty()) j["network"] = net;
  if (!r.rdma.empty()) {
    json& rdma = j["rdma"] = json::object();
    for (const auto& [dev, l] : r.rdma) {
      json& e = rdma[dev] = json::object();
      put_opt(e, "hcaHandles", l.hca_handles);
      put_opt(e, "hcaObjects", l.hca_objects);
    }
  }
  if (!r.unified.empty()) j["unified"] = r.unified;
  if (!mem.empty()) j["memory"] = mem;
  if (!cpu.empty()) j["cpu"] = cpu;
  if (!pids.empty()) j["pids"] = pids;
  if (!r.devices.empty()) {
    json& devices = j["devices"] = json::array();
    for (const auto& d : r.devices) {
      json rule = {{"allow", d.allow}, {"type", d.type}, {"access", d.access}};
      put_opt(rule, "major", d.major);
      put_opt(rule, "minor", d.minor);
      devices.push_back(std::move(rule));
    }
  }
  return j;
}

json mappings_json(const std::vector<IdMapping>& maps) {
  json out = json::array();
  for (const auto& m : maps) out.push_back({{"containerID", m.container_id}, {"hostID", m.host_id}, {"size", m.size}});
  return out;
}

json linux_json(const Linux& l) {
  json j = json::object();
  if (!l.namespaces.empty()) {
    json& ns = j["namespaces"] = json::array();
    for (const auto& n : l.namespaces) {
      json e = {{"type", n.type}};
      put_str(e, "path", n.path);
      ns.push_back(std::move(e));
    }
  }
  if (!l.uid_mappings.empty()) j["uidMappings"] = mappings_json(l.uid_mappings);
  if (!l.gid_mappings.empty()) j["gidMappings"] = mappings_json(l.gid_mappings);
  if (!l.sysctl.empty()) j["sysctl"] = l.sysctl;
  if (json r = resources_json(l.resources); !r.empty()) j["resources"] = r;
  put_str(j, "cgroupsPath", l.cgroups_path);
  if (l.seccomp) j["seccomp"] = seccomp_object(*l.seccomp);
  put_list(j, "maskedPaths", l.masked_paths);
  put_list(j, "readonlyPaths", l.readonly_paths);
  put_str(j, "rootfsPropagation", l.rootfs_propagation);
  put_str(j, "mountLabel", l.mount_label);
  if (!l.devices.empty()) {
    json& devices = j["devices"] = json::array();
    for (const auto& d : l.devices) {
      json e = {{"path", d.path}, {"type", d.type}, {"major", d.major}, {"minor", d.minor}};
      put_opt(e, "fileMode", d.file_mode);
      put_opt(e, "uid", d.uid);
      put_opt(e, "gid", d.gid);
      devices.push_back(std::move(e));
    }
  }
  return j;
}

std::string dump(const json& j, bool pretty) { return pretty ? j.dump(1, '\t') + "\n" : j.dump(); }

}  // namespace

std::string process_to_json(const Process& p) { return process_json(p).dump(); }

std::string spec_to_json(const Spec& s, bool pretty) {
  json j = {{"ociVersion", s.oci_version}, {"root", {{"path", s.root_path}, {"readonly", s.root_readonly}}}};
  if (!s.annotations.empty()) j["annotations"] = s.annotations;
  put_str(j, "hostname", s.hostname);
  put_str(j, "domainname", s.domainname);
  j["process"] = process_json(s.process);
  json& mounts = j["mounts"] = json::array();
  for (const auto& m : s.mounts) {
    json e = {{"destination", m.destination}};
    put_str(e, "type", m.type);
    put_str(e, "source", m.source);
    put_list(e, "options", m.options);
    mounts.push_back(std::move(e));
  }
  json hooks = json::object();
  for (auto [key, list] :
      {std::pair{"prestart", &s.hooks.prestart}, {"createRuntime", &s.hooks.create_runtime}, {"createContainer", &s.hooks.create_container},
          {"startContainer", &s.hooks.start_container}, {"poststart", &s.hooks.poststart}, {"poststop", &s.hooks.poststop}})
    if (!list->empty()) hooks[key] = hooks_json(*list);
  if (!hooks.empty()) j["hooks"] = hooks;
  j["linux"] = linux_json(s.linux);
  return dump(j, pretty);
}

std::string seccomp_to_json(const Seccomp& s, bool pretty) { return dump(seccomp_object(s), pretty); }

}  // namespace tiffin::runtime
