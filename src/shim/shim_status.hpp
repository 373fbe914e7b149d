// What the shim knows of its container, and says when asked (the Status reply) and on disk
// (<state dir>/status, rewritten atomically on every change, read by the engine once the shim
// is gone). One record and one encoding for both.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "shim/health.hpp"

namespace tiffin::shim {

// docker's container states, those tiffin has.
enum class ContainerStatus {
  created,  // made, never started (or its start failed)
  running,
  paused,      // frozen
  restarting,  // exited; the restart policy starts it again after a delay
  exited,      // stopped for good
};

const char* status_name(ContainerStatus s);
std::optional<ContainerStatus> parse_status(std::string_view name);
// Running, paused or restarting: it holds (or is about to hold) processes and a shim.
inline bool is_active(ContainerStatus s) {
  return s == ContainerStatus::running || s == ContainerStatus::paused || s == ContainerStatus::restarting;
}

struct ShimStatus {
  ContainerStatus status = ContainerStatus::created;
  int pid = 0;  // the init's, while running or paused
  int exit_code = 0;
  int restart_count = 0;
  std::string started_at, finished_at;  // RFC 3339, UTC; empty until then
  std::optional<Error> error;           // why the last start failed
  Health health;                        // with a health check

  bool operator==(const ShimStatus&) const = default;
};

std::string encode_status(const ShimStatus& s);
// Tolerant of keys it does not know (a newer tiffin may have written them); Errc::corrupt
// otherwise.
Result<ShimStatus> decode_status(std::string_view text);

}  // namespace tiffin::shim
