#include "shim/restart_policy.hpp"

#include <charconv>

namespace tiffin::shim {

std::string RestartPolicy::str() const {
  switch (kind) {
    case Kind::no: return "no";
    case Kind::on_failure: return max_retries ? "on-failure:" + std::to_string(max_retries) : "on-failure";
    case Kind::always: return "always";
    case Kind::unless_stopped: return "unless-stopped";
    case Kind::zos: return "zos";
  }
  return "no";
}

Result<RestartPolicy> parse_restart_policy(const std::string& text) {
  RestartPolicy p;
  if (text.empty() || text == "no") return p;
  if (text == "always") p.kind = RestartPolicy::Kind::always;
  else if (text == "unless-stopped") p.kind = RestartPolicy::Kind::unless_stopped;
  else if (text == "zos") p.kind = RestartPolicy::Kind::zos;
  else if (text == "on-failure") p.kind = RestartPolicy::Kind::on_failure;
  else if (text.starts_with("on-failure:")) {
    p.kind = RestartPolicy::Kind::on_failure;
    std::string n = text.substr(11);
    auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), p.max_retries);
    if (ec != std::errc() || end != n.data() + n.size() || p.max_retries < 0)
      return fail(Errc::invalid_input, "restart policy '" + text + "': the retry count must be a number ≥ 0");
  } else {
    return fail(Errc::invalid_input, "restart policy '" + text + "' is none of no, on-failure[:N], always, unless-stopped, zos");
  }
  return p;
}

std::optional<std::chrono::milliseconds> RestartTracker::after_exit(
    int exit_code, bool stopped_by_user, Clock::duration ran_for, Clock::time_point now) {
  using std::chrono::milliseconds;
  using Kind = RestartPolicy::Kind;
  if (stopped_by_user || policy_.kind == Kind::no) return std::nullopt;
  if (policy_.kind == Kind::zos) {
    failures_.push_back(now);
    while (!failures_.empty() && now - failures_.front() > std::chrono::minutes(1)) failures_.pop_front();
    if (failures_.size() >= 4) return std::nullopt;
    ++restarts_;
    return milliseconds(2000);
  }
  if (policy_.kind == Kind::on_failure) {
    if (exit_code == 0) return std::nullopt;
    if (policy_.max_retries && restarts_ >= policy_.max_retries) return std::nullopt;
  }
  if (ran_for >= std::chrono::seconds(10)) backoff_ = milliseconds(100);
  milliseconds delay = backoff_;
  backoff_ = std::min(backoff_ * 2, milliseconds(60000));
  ++restarts_;
  return delay;
}

}  // namespace tiffin::shim
