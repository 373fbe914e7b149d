#include "runtime/cgroup_settings.hpp"

namespace tiffin::runtime {
namespace {

std::string device_rule(const std::string& type, std::optional<int64_t> major, std::optional<int64_t> minor, const std::string& access) {
  auto num = [](std::optional<int64_t> n) { return n && *n >= 0 ? std::to_string(*n) : std::string("*"); };
  if (type == "a") return "a";
  return type + " " + num(major) + ":" + num(minor) + " " + access;
}

// The devices every container may use, whatever its rules say (as runc and crun allow).
const std::vector<std::string>& default_allowed_devices() {
  static const std::vector<std::string> rules = {"c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm", "c 5:0 rwm", "c 5:2 rwm",
      "c 136:* rwm", "c 10:200 rwm", "c *:* m", "b *:* m"};
  return rules;
}

}  // namespace

uint64_t cpu_shares_to_weight(uint64_t shares) {
  if (shares == 0) return 0;
  if (shares < 2) shares = 2;
  if (shares > 262144) shares = 262144;
  return 1 + ((shares - 2) * 9999) / 262142;
}

std::vector<CgroupWrite> cgroup_v1_writes(const Resources& r) {
  std::vector<CgroupWrite> w;
  if (r.memory_limit) w.push_back({"memory", "memory.limit_in_bytes", std::to_string(*r.memory_limit)});
  if (r.memory_swap) w.push_back({"memory", "memory.memsw.limit_in_bytes", std::to_string(*r.memory_swap)});
  if (r.memory_reservation) w.push_back({"memory", "memory.soft_limit_in_bytes", std::to_string(*r.memory_reservation)});
  if (r.cpu_shares) w.push_back({"cpu", "cpu.shares", std::to_string(*r.cpu_shares)});
  // The period first: a quota is checked against the period in force.
  if (r.cpu_period) w.push_back({"cpu", "cpu.cfs_period_us", std::to_string(*r.cpu_period)});
  if (r.cpu_quota) w.push_back({"cpu", "cpu.cfs_quota_us", std::to_string(*r.cpu_quota)});
  if (!r.cpuset_cpus.empty()) w.push_back({"cpuset", "cpuset.cpus", r.cpuset_cpus});
  if (!r.cpuset_mems.empty()) w.push_back({"cpuset", "cpuset.mems", r.cpuset_mems});
  if (r.pids_limit) w.push_back({"pids", "pids.max", *r.pids_limit > 0 ? std::to_string(*r.pids_limit) : "max"});
  if (!r.devices.empty()) {
    for (const auto& d : r.devices)
      w.push_back({"devices", d.allow ? "devices.allow" : "devices.deny", device_rule(d.type, d.major, d.minor, d.access)});
    for (const auto& rule : default_allowed_devices()) w.push_back({"devices", "devices.allow", rule});
  }
  return w;
}

std::vector<CgroupWrite> cgroup_v2_writes(const Resources& r) {
  std::vector<CgroupWrite> w;
  auto limit = [](int64_t v) { return v < 0 ? std::string("max") : std::to_string(v); };
  if (r.memory_limit) w.push_back({"", "memory.max", limit(*r.memory_limit)});
  if (r.memory_reservation) w.push_back({"", "memory.low", limit(*r.memory_reservation)});
  if (r.memory_swap) {
    // v1's swap is memory + swap; v2 limits swap alone.
    std::string swap = "max";
    if (*r.memory_swap >= 0 && r.memory_limit && *r.memory_limit >= 0)
      swap = std::to_string(std::max<int64_t>(0, *r.memory_swap - *r.memory_limit));
    w.push_back({"", "memory.swap.max", swap});
  }
  if (r.cpu_shares) w.push_back({"", "cpu.weight", std::to_string(cpu_shares_to_weight(*r.cpu_shares))});
  if (r.cpu_quota || r.cpu_period) {
    std::string quota = r.cpu_quota && *r.cpu_quota > 0 ? std::to_string(*r.cpu_quota) : "max";
    w.push_back({"", "cpu.max", quota + " " + std::to_string(r.cpu_period.value_or(100000))});
  }
  if (!r.cpuset_cpus.empty()) w.push_back({"", "cpuset.cpus", r.cpuset_cpus});
  if (!r.cpuset_mems.empty()) w.push_back({"", "cpuset.mems", r.cpuset_mems});
  if (r.pids_limit) w.push_back({"", "pids.max", *r.pids_limit > 0 ? std::to_string(*r.pids_limit) : "max"});
  return w;
}

}  // namespace tiffin::runtime
