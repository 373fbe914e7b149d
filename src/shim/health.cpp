#include "shim/health.hpp"

#include <algorithm>

namespace tiffin::shim {

void record_probe(Health& h, HealthProbe probe, bool in_start_period, int retries) {
  if (probe.output.size() > kHealthOutputBytes) probe.output.resize(kHealthOutputBytes);
  bool passed = probe.exit_code == 0;
  h.log.push_back(std::move(probe));
  if (h.log.size() > kHealthLogEntries) h.log.erase(h.log.begin(), h.log.end() - kHealthLogEntries);
  if (passed) {
    h.failing_streak = 0;
    h.status = "healthy";
    return;
  }
  // A container that never passed may fail as often as it likes while it is starting.
  if (h.status == "starting" && in_start_period) return;
  ++h.failing_streak;
  if (h.failing_streak >= std::max(retries, 1)) h.status = "unhealthy";
}

std::chrono::milliseconds next_probe_delay(const HealthSettings& s, const Health& h, bool in_start_period) {
  if (h.status == "starting" && in_start_period && s.start_interval.count() > 0) return s.start_interval;
  return s.interval;
}

std::string probe_timeout_message(std::chrono::milliseconds timeout) {
  auto ms = timeout.count();
  std::string d = ms % 1000 ? std::to_string(ms) + "ms" : std::to_string(ms / 1000) + "s";
  return "Health check exceeded timeout (" + d + ")";
}

}  // namespace tiffin::shim
