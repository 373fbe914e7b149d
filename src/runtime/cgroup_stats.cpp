#include "runtime/cgroup_stats.hpp"

#include <string>

#include "common/fd.hpp"
#include "common/text.hpp"
#include "runtime/cgroup.hpp"  // only Cgroup's inline accessors: no code of cgroup.cpp

namespace tiffin::runtime {
namespace {

std::string read_small(const std::string& path) {
  auto data = read_file(path, 1 << 16);
  return data ? std::string(data->begin(), data->end()) : std::string();
}

// The number a one-value file holds; "max" (no limit) and a missing file are 0.
uint64_t read_number(const std::string& path) {
  std::string s = read_small(path);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return parse_uint(s).value_or(0);
}

}  // namespace

uint64_t stat_value(std::string_view text, std::string_view key) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (line.size() > key.size() && line.starts_with(key) && line[key.size()] == ' ') {
      return parse_uint(line.substr(key.size() + 1)).value_or(0);
    }
    pos = end + 1;
  }
  return 0;
}

CgroupStats read_cgroup_stats(CgroupMode mode, const std::vector<std::string>& dirs) {
  CgroupStats s;
  if (mode == CgroupMode::v2) {
    std::string dir = controller_dir(dirs, "");
    if (dir.empty()) return s;
    std::string mem_stat = read_small(dir + "/memory.stat");
    s.memory_cache = stat_value(mem_stat, "file");
    uint64_t current = read_number(dir + "/memory.current");
    s.memory_usage = current > s.memory_cache ? current - s.memory_cache : current;
    s.memory_limit = read_number(dir + "/memory.max");
    s.cpu_usage = stat_value(read_small(dir + "/cpu.stat"), "usage_usec") * 1000;
    s.pids_current = read_number(dir + "/pids.current");
    return s;
  }
  // v1 (and the v1 side of hybrid, where these controllers live).
  if (std::string mem = controller_dir(dirs, "memory"); !mem.empty()) {
    std::string mem_stat = read_small(mem + "/memory.stat");
    s.memory_cache = stat_value(mem_stat, "total_cache");
    uint64_t usage = read_number(mem + "/memory.usage_in_bytes");
    s.memory_usage = usage > s.memory_cache ? usage - s.memory_cache : usage;
    uint64_t limit = read_number(mem + "/memory.limit_in_bytes");
    // v1 reports "no limit" as a huge page-aligned number.
    s.memory_limit = limit >= (uint64_t(1) << 62) ? 0 : limit;
  }
  if (std::string cpu = controller_dir(dirs, "cpuacct"); !cpu.empty()) s.cpu_usage = read_number(cpu + "/cpuacct.usage");
  if (std::string pids = controller_dir(dirs, "pids"); !pids.empty()) s.pids_current = read_number(pids + "/pids.current");
  return s;
}

CgroupStats read_cgroup_stats(const Cgroup& cg) { return read_cgroup_stats(cg.mode(), cg.dirs()); }

}  // namespace tiffin::runtime
