#include "zos/node_capacity.hpp"

#include <sys/sysinfo.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "common/text.hpp"

namespace tiffin::zos {

using json = nlohmann::json;

std::vector<Disk> host_disks() {
  std::vector<Disk> out;
  std::error_code ec;
  for (const auto& d : std::filesystem::directory_iterator("/sys/block", ec)) {
    std::string name = d.path().filename().string();
    if (name.starts_with("loop") || name.starts_with("ram") || name.starts_with("dm-") || name.starts_with("zram")) continue;
    // sysfs files say they are 4096 bytes long whatever they hold: read as streams.
    std::string sectors, rotational;
    std::ifstream(d.path() / "size") >> sectors;
    std::ifstream(d.path() / "queue" / "rotational") >> rotational;
    auto n = parse_uint<uint64_t>(sectors);
    if (!n) continue;
    out.push_back({name, *n * 512, rotational == "1" ? "hdd" : "ssd"});
  }
  std::sort(out.begin(), out.end(), [](const Disk& a, const Disk& b) { return a.name < b.name; });
  return out;
}

json disks_json(const std::vector<Disk>& disks) {
  json out = json::array();
  for (const auto& d : disks) out.push_back({{"name", d.name}, {"size", d.size}, {"type", d.type}});
  return out;
}

json node_capacity(ZosNode& node) {
  struct sysinfo si {};
  ::sysinfo(&si);
  int64_t cpu = 0, memory = 0;
  uint64_t disk = 0;
  size_t count = 0;
  if (auto all = node.list(std::nullopt)) {
    for (const auto& rec : *all)
      if (auto w = parse_workload_text(rec.workload)) {
        cpu += w->capacity.cpu;
        memory += w->capacity.memory;
        disk += w->capacity.disk_size;
        ++count;
      }
  }
  return {{"node_id", node.identity().node_id()}, {"cpus", ::sysconf(_SC_NPROCESSORS_ONLN)},
      {"memory", static_cast<uint64_t>(si.totalram) * si.mem_unit}, {"disks", disks_json(host_disks())},
      {"reserved", {{"workloads", count}, {"cpu", cpu}, {"memory_mib", memory}, {"disk_mib", disk}}}};
}

}  // namespace tiffin::zos
