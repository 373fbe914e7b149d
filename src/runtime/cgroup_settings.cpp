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

std::string dev(int64_t major, int64_t minor) { return std::to_string(major) + ":" + std::to_string(minor); }

CgroupWrite write(std::string controller, std::string file, std::string value, std::string field) {
  return CgroupWrite{std::move(controller), std::move(file), std::move(value), std::move(field), "", "", false, ""};
}

CgroupWrite refusal(std::string controller, std::string field, std::string why) {
  return CgroupWrite{std::move(controller), "", "", std::move(field), "", "", false, std::move(why)};
}

// The fields v1 and v2 both have, each under its own version's file names.
struct ThrottleList {
  const std::vector<ThrottleDevice>* list;
  const char* field;
  const char* v1_file;
  const char* v2_key;
};

std::vector<ThrottleList> throttles(const BlockIO& b) {
  return {{&b.throttle_read_bps, "blockIO.throttleReadBpsDevice", "blkio.throttle.read_bps_device", "rbps"},
      {&b.throttle_write_bps, "blockIO.throttleWriteBpsDevice", "blkio.throttle.write_bps_device", "wbps"},
      {&b.throttle_read_iops, "blockIO.throttleReadIOPSDevice", "blkio.throttle.read_iops_device", "riops"},
      {&b.throttle_write_iops, "blockIO.throttleWriteIOPSDevice", "blkio.throttle.write_iops_device", "wiops"}};
}

std::string rdma_value(const std::string& device, const RdmaLimit& l) {
  auto n = [](std::optional<uint32_t> v) { return v ? std::to_string(*v) : std::string("max"); };
  return device + " hca_handle=" + n(l.hca_handles) + " hca_object=" + n(l.hca_objects);
}

// The files v1 and v2 name alike.
void same_in_both(const Resources& r, std::vector<CgroupWrite>& w) {
  if (r.cpu_idle) w.push_back(write("cpu", "cpu.idle", std::to_string(*r.cpu_idle), "cpu.idle"));
  if (!r.cpuset_cpus.empty()) w.push_back(write("cpuset", "cpuset.cpus", r.cpuset_cpus, "cpu.cpus"));
  if (!r.cpuset_mems.empty()) w.push_back(write("cpuset", "cpuset.mems", r.cpuset_mems, "cpu.mems"));
  if (r.pids_limit) w.push_back(write("pids", "pids.max", *r.pids_limit > 0 ? std::to_string(*r.pids_limit) : "max", "pids.limit"));
  for (const auto& [device, l] : r.rdma) w.push_back(write("rdma", "rdma.max", rdma_value(device, l), "rdma"));
}

}  // namespace

uint64_t cpu_shares_to_weight(uint64_t shares) {
  if (shares == 0) return 0;
  if (shares < 2) shares = 2;
  if (shares > 262144) shares = 262144;
  return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t blkio_weight_to_io_weight(uint64_t weight) {
  if (weight < 10) weight = 10;
  if (weight > 1000) weight = 1000;
  return 1 + (weight - 10) * 9999 / 990;
}

std::string v2_controller_name(const std::string& v1_name) { return v1_name == "blkio" ? "io" : v1_name; }

std::vector<CgroupWrite> cgroup_v1_writes(const Resources& r) {
  std::vector<CgroupWrite> w;
  if (r.memory_limit) w.push_back(write("memory", "memory.limit_in_bytes", std::to_string(*r.memory_limit), "memory.limit"));
  if (r.memory_swap) w.push_back(write("memory", "memory.memsw.limit_in_bytes", std::to_string(*r.memory_swap), "memory.swap"));
  if (r.memory_reservation)
    w.push_back(write("memory", "memory.soft_limit_in_bytes", std::to_string(*r.memory_reservation), "memory.reservation"));
  // -1 is no limit, which is what a cgroup has anyway.
  if (r.memory_kernel && *r.memory_kernel != -1) {
    // Since Linux 5.16 the file takes any value and limits nothing: read back to know.
    CgroupWrite k = write("memory", "memory.kmem.limit_in_bytes", std::to_string(*r.memory_kernel), "memory.kernel");
    k.verify = true;
    w.push_back(k);
  }
  if (r.memory_kernel_tcp && *r.memory_kernel_tcp != -1)
    w.push_back(write("memory", "memory.kmem.tcp.limit_in_bytes", std::to_string(*r.memory_kernel_tcp), "memory.kernelTCP"));
  if (r.memory_swappiness) w.push_back(write("memory", "memory.swappiness", std::to_string(*r.memory_swappiness), "memory.swappiness"));
  if (r.disable_oom_killer)
    w.push_back(write("memory", "memory.oom_control", *r.disable_oom_killer ? "1" : "0", "memory.disableOOMKiller"));
  if (r.use_hierarchy) w.push_back(write("memory", "memory.use_hierarchy", *r.use_hierarchy ? "1" : "0", "memory.useHierarchy"));
  if (r.cpu_shares) w.push_back(write("cpu", "cpu.shares", std::to_string(*r.cpu_shares), "cpu.shares"));
  // The period first: a quota is checked against the period in force.
  if (r.cpu_period) w.push_back(write("cpu", "cpu.cfs_period_us", std::to_string(*r.cpu_period), "cpu.period"));
  if (r.cpu_quota) w.push_back(write("cpu", "cpu.cfs_quota_us", std::to_string(*r.cpu_quota), "cpu.quota"));
  if (r.cpu_burst) w.push_back(write("cpu", "cpu.cfs_burst_us", std::to_string(*r.cpu_burst), "cpu.burst"));
  if (r.cpu_realtime_period) w.push_back(write("cpu", "cpu.rt_period_us", std::to_string(*r.cpu_realtime_period), "cpu.realtimePeriod"));
  if (r.cpu_realtime_runtime)
    w.push_back(write("cpu", "cpu.rt_runtime_us", std::to_string(*r.cpu_realtime_runtime), "cpu.realtimeRuntime"));
  same_in_both(r, w);
  const BlockIO& b = r.block_io;
  // runc's choice: the CFQ files where they are, else BFQ's (same values).
  if (b.weight) {
    CgroupWrite x = write("blkio", "blkio.weight", std::to_string(*b.weight), "blockIO.weight");
    x.alt_file = "blkio.bfq.weight";
    w.push_back(x);
  }
  if (b.leaf_weight) w.push_back(write("blkio", "blkio.leaf_weight", std::to_string(*b.leaf_weight), "blockIO.leafWeight"));
  for (const auto& d : b.weight_device) {
    if (d.weight) {
      CgroupWrite x =
          write("blkio", "blkio.weight_device", dev(d.major, d.minor) + " " + std::to_string(*d.weight), "blockIO.weightDevice");
      x.alt_file = "blkio.bfq.weight_device";
      w.push_back(x);
    }
    if (d.leaf_weight)
      w.push_back(write("blkio", "blkio.leaf_weight_device", dev(d.major, d.minor) + " " + std::to_string(*d.leaf_weight),
          "blockIO.weightDevice.leafWeight"));
  }
  for (const auto& t : throttles(b))
    for (const auto& d : *t.list) w.push_back(write("blkio", t.v1_file, dev(d.major, d.minor) + " " + std::to_string(d.rate), t.field));
  for (const auto& h : r.hugepage_limits)
    w.push_back(write("hugetlb", "hugetlb." + h.page_size + ".limit_in_bytes", std::to_string(h.limit), "hugepageLimits"));
  if (r.net_class_id) w.push_back(write("net_cls", "net_cls.classid", std::to_string(*r.net_class_id), "network.classID"));
  for (const auto& p : r.net_priorities)
    w.push_back(write("net_prio", "net_prio.ifpriomap", p.name + " " + std::to_string(p.priority), "network.priorities"));
  if (!r.unified.empty()) w.push_back(refusal("unified", "unified", "cgroup v2 files, and this host has no cgroup v2 hierarchy"));
  if (!r.devices.empty()) {
    for (const auto& d : r.devices)
      w.push_back(write("devices", d.allow ? "devices.allow" : "devices.deny", device_rule(d.type, d.major, d.minor, d.access), "devices"));
    for (const auto& rule : default_allowed_devices()) w.push_back(write("devices", "devices.allow", rule, "devices"));
  }
  return w;
}

std::vector<CgroupWrite> cgroup_v2_writes(const Resources& r) {
  std::vector<CgroupWrite> w;
  auto limit = [](int64_t v) { return v < 0 ? std::string("max") : std::to_string(v); };
  if (r.memory_limit) w.push_back(write("memory", "memory.max", limit(*r.memory_limit), "memory.limit"));
  if (r.memory_reservation) w.push_back(write("memory", "memory.low", limit(*r.memory_reservation), "memory.reservation"));
  if (r.memory_swap) {
    // v1's swap is memory + swap; v2 limits swap alone.
    std::string swap = "max";
    if (*r.memory_swap >= 0 && r.memory_limit && *r.memory_limit >= 0)
      swap = std::to_string(std::max<int64_t>(0, *r.memory_swap - *r.memory_limit));
    w.push_back(write("memory", "memory.swap.max", swap, "memory.swap"));
  }
  if (r.memory_kernel && *r.memory_kernel != -1)
    w.push_back(refusal("memory", "memory.kernel", "cgroup v2 has no kernel memory limit (memory.max covers kernel memory)"));
  if (r.memory_kernel_tcp && *r.memory_kernel_tcp != -1)
    w.push_back(refusal("memory", "memory.kernelTCP", "cgroup v2 has no separate TCP memory limit (memory.max covers it)"));
  if (r.memory_swappiness) w.push_back(refusal("memory", "memory.swappiness", "cgroup v2 has no per-cgroup swappiness"));
  if (r.disable_oom_killer && *r.disable_oom_killer)
    w.push_back(refusal("memory", "memory.disableOOMKiller", "cgroup v2 cannot disable the OOM killer for a cgroup"));
  if (r.use_hierarchy && !*r.use_hierarchy) w.push_back(refusal("memory", "memory.useHierarchy", "cgroup v2 is always hierarchical"));
  if (r.cpu_shares) w.push_back(write("cpu", "cpu.weight", std::to_string(cpu_shares_to_weight(*r.cpu_shares)), "cpu.shares"));
  if (r.cpu_quota || r.cpu_period) {
    std::string quota = r.cpu_quota && *r.cpu_quota > 0 ? std::to_string(*r.cpu_quota) : "max";
    w.push_back(
        write("cpu", "cpu.max", quota + " " + std::to_string(r.cpu_period.value_or(100000)), r.cpu_quota ? "cpu.quota" : "cpu.period"));
  }
  if (r.cpu_burst) w.push_back(write("cpu", "cpu.max.burst", std::to_string(*r.cpu_burst), "cpu.burst"));
  if (r.cpu_realtime_period || r.cpu_realtime_runtime)
    w.push_back(refusal("cpu", r.cpu_realtime_runtime ? "cpu.realtimeRuntime" : "cpu.realtimePeriod",
        "cgroup v2 has no real-time CPU bandwidth (cpu.rt_*)"));
  same_in_both(r, w);
  const BlockIO& b = r.block_io;
  // runc's choice: BFQ's weight as it is where BFQ is, else io.weight on its 1..10000 scale.
  if (b.weight) {
    CgroupWrite x = write("blkio", "io.bfq.weight", std::to_string(*b.weight), "blockIO.weight");
    x.alt_file = "io.weight";
    x.alt_value = std::to_string(blkio_weight_to_io_weight(*b.weight));
    w.push_back(x);
  }
  if (b.leaf_weight) w.push_back(refusal("blkio", "blockIO.leafWeight", "cgroup v2 has no leaf weights"));
  for (const auto& d : b.weight_device) {
    if (d.weight) {
      CgroupWrite x = write("blkio", "io.bfq.weight", dev(d.major, d.minor) + " " + std::to_string(*d.weight), "blockIO.weightDevice");
      x.alt_file = "io.weight";
      x.alt_value = dev(d.major, d.minor) + " " + std::to_string(blkio_weight_to_io_weight(*d.weight));
      w.push_back(x);
    }
    if (d.leaf_weight) w.push_back(refusal("blkio", "blockIO.weightDevice.leafWeight", "cgroup v2 has no leaf weights"));
  }
  for (const auto& t : throttles(b))
    for (const auto& d : *t.list)
      w.push_back(write("blkio", "io.max", dev(d.major, d.minor) + " " + t.v2_key + "=" + std::to_string(d.rate), t.field));
  for (const auto& h : r.hugepage_limits)
    w.push_back(write("hugetlb", "hugetlb." + h.page_size + ".max", std::to_string(h.limit), "hugepageLimits"));
  if (r.net_class_id) w.push_back(refusal("net_cls", "network.classID", "cgroup v2 has no net_cls controller"));
  if (!r.net_priorities.empty()) w.push_back(refusal("net_prio", "network.priorities", "cgroup v2 has no net_prio controller"));
  for (const auto& [file, value] : r.unified) w.push_back(write("unified", file, value, "unified." + file));
  return w;
}

}  // namespace tiffin::runtime
