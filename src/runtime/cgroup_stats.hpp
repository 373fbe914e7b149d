// A container's resource usage read from its cgroup, on v1, v2 or hybrid hierarchies: what
// Zero-OS publishes as stats (docs/DESIGN.md §3.2) and what `tiffin stats` shows. Reading needs only the
// cgroup's directories (from the container's state, or cgroup_dirs_from_proc of its init's pid),
// not the Cgroup class: a monitor that links this and cgroup_layout alone does not pull in
// cgroup.cpp (std::filesystem, resources, freezing; a CTest checks it).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/cgroup_layout.hpp"

namespace tiffin::runtime {

class Cgroup;

struct CgroupStats {
  uint64_t memory_usage = 0;  // bytes in use, page cache excluded (as docker reports it)
  uint64_t memory_limit = 0;  // bytes; 0 when unlimited
  uint64_t memory_cache = 0;  // page cache bytes
  uint64_t cpu_usage = 0;     // nanoseconds of CPU time used so far
  uint64_t pids_current = 0;
};

// `dirs`: the cgroup's directory in each hierarchy. Missing files (a controller not mounted)
// leave their fields 0.
CgroupStats read_cgroup_stats(CgroupMode mode, const std::vector<std::string>& dirs);
// The same for a Cgroup at hand.
CgroupStats read_cgroup_stats(const Cgroup& cgroup);

// The value of `key` in a "key value\n" file such as memory.stat or cpu.stat, or 0.
uint64_t stat_value(std::string_view text, std::string_view key);

}  // namespace tiffin::runtime
