// The stats record Zero-OS publishes every 2 s (and `tiffin stats --format json` prints):
//   {"timestamp": <unix s>, "memory_usage": B, "memory_limit": B, "memory_cache": B,
//    "cpu_usage": <ns>, "pids_current": N}
// Formatted here only, without a JSON library (the shim uses it).
#pragma once

#include <cstdint>
#include <string>

#include "runtime/cgroup_stats.hpp"

namespace tiffin::shim {

std::string stats_json(const runtime::CgroupStats& s, int64_t unix_time);

}  // namespace tiffin::shim
