#include "shim/stats_record.hpp"

namespace tiffin::shim {

std::string stats_json(const runtime::CgroupStats& s, int64_t unix_time) {
  return "{\"timestamp\":" + std::to_string(unix_time) + ",\"memory_usage\":" + std::to_string(s.memory_usage) +
         ",\"memory_limit\":" + std::to_string(s.memory_limit) + ",\"memory_cache\":" + std::to_string(s.memory_cache) +
         ",\"cpu_usage\":" + std::to_string(s.cpu_usage) + ",\"pids_current\":" + std::to_string(s.pids_current) + "}";
}

}  // namespace tiffin::shim
