// Docker's HEALTHCHECK as the shim keeps it: the probe's settings, a container's health (the
// State.Health of `inspect`) and the rules that fold one probe's result into it. Pure logic; the
// shim runs the probes (`<runtime> exec` on a timer) and records the result in its status.
//   · a probe that exits 0 makes the container healthy and ends a failing streak;
//   · any other result (a non-zero exit, a timeout, an exec that could not start) extends the
//     streak, except while the container is still starting within its start period; `retries`
//     failures in a row make it unhealthy;
//   · the log keeps the last 5 probes, each output cut at 4 KiB.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace tiffin::shim {

struct HealthSettings {
  std::vector<std::string> command;  // run inside the container (argv); empty: no health check
  std::chrono::milliseconds interval{30000}, timeout{30000}, start_period{0}, start_interval{5000};
  int retries = 3;

  bool enabled() const { return !command.empty(); }
  bool operator==(const HealthSettings&) const = default;
};

struct HealthProbe {
  std::string start, end;  // RFC 3339, UTC
  int exit_code = 0;       // -1: timed out or never ran
  std::string output;
  bool operator==(const HealthProbe&) const = default;
};

struct Health {
  std::string status;  // "" (no health check), "starting", "healthy", "unhealthy"
  int failing_streak = 0;
  std::vector<HealthProbe> log;  // oldest first
  bool operator==(const Health&) const = default;
};

inline constexpr size_t kHealthLogEntries = 5;
inline constexpr size_t kHealthOutputBytes = 4096;

// Folds a probe's result into `h`. `in_start_period`: the probe began within the start period
// after the container started.
void record_probe(Health& h, HealthProbe probe, bool in_start_period, int retries);

// How long after a probe (or the container's start) the next one runs: the start interval while
// the container is starting within its start period, the interval otherwise.
std::chrono::milliseconds next_probe_delay(const HealthSettings& s, const Health& h, bool in_start_period);

// docker's message for a probe that ran past its timeout.
std::string probe_timeout_message(std::chrono::milliseconds timeout);

}  // namespace tiffin::shim
