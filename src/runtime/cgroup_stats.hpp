// A container's resource usage read from its cgroup, on v1, v2 or hybrid hierarchies: what
// Zero-OS publishes as stats (DESIGN §3.2) and what `tiffin stats` shows.
#pragma once

#include <cstdint>
#include <string_view>

#include "runtime/cgroup.hpp"

namespace tiffin::runtime {

struct CgroupStats {
  uint64_t memory_usage = 0;  // bytes in use, page cache excluded (as docker reports it)
  uint64_t memory_limit = 0;  // bytes; 0 when unlimited
  uint64_t memory_cache = 0;  // page cache bytes
  uint64_t cpu_usage = 0;     // nanoseconds of CPU time used so far
  uint64_t pids_current = 0;
};

// Missing files (a controller not mounted) leave their fields 0.
CgroupStats read_cgroup_stats(const Cgroup& cgroup);

// The value of `key` in a "key value\n" file such as memory.stat or cpu.stat, or 0.
uint64_t stat_value(std::string_view text, std::string_view key);

}  // namespace tiffin::runtime
