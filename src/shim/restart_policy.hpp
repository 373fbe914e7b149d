// When a container that exited starts again (docker's --restart, plus Zero-OS's rule):
//   no               never
//   on-failure[:N]   after a non-zero exit, at most N times (unlimited without N)
//   always           after any exit
//   unless-stopped   as always (a `tiffin stop` never restarts, under any policy)
//   zos              Zero-OS: after any exit, 2 s later; gives up after 4 failures in a minute
// Backoff for the docker policies: 100 ms doubling to 1 min, back to 100 ms once a run lasted
// 10 s.
#pragma once

#include <chrono>
#include <deque>
#include <optional>
#include <string>

#include "common/error.hpp"

namespace tiffin::shim {

struct RestartPolicy {
  enum class Kind { no, on_failure, always, unless_stopped, zos } kind = Kind::no;
  int max_retries = 0;  // on-failure: 0 = unlimited

  std::string str() const;
};

Result<RestartPolicy> parse_restart_policy(const std::string& text);

class RestartTracker {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RestartTracker(RestartPolicy p) : policy_(p) {}

  // After an exit: how long to wait before starting again, or nullopt to stay stopped.
  // `ran_for` is how long the run that just ended lasted.
  std::optional<std::chrono::milliseconds> after_exit(
      int exit_code, bool stopped_by_user, Clock::duration ran_for, Clock::time_point now = Clock::now());
  int restarts() const { return restarts_; }

 private:
  RestartPolicy policy_;
  int restarts_ = 0;
  std::chrono::milliseconds backoff_{100};
  std::deque<Clock::time_point> failures_;  // zos: within the last minute
};

}  // namespace tiffin::shim
