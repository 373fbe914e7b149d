// Exec instances of the Engine API: POST /containers/{id}/exec makes one (what to run), POST
// /exec/{id}/start runs it, GET /exec/{id}/json says how it went. docker keeps them in the
// daemon's memory; so does `tiffin serve` (an exec is a moment of a session, not state).
#pragma once

#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "engine/engine.hpp"

namespace tiffin::api {

struct ExecInstance {
  std::string id, container;
  engine::ExecRequest request;
  bool attach_stdin = false, attach_stdout = true, attach_stderr = true;
  bool running = false, started = false;
  std::optional<int> exit_code;
  int pid = 0;
  std::shared_ptr<UniqueFd> terminal;  // the pty master while it runs with one (for resize)
};

class ExecStore {
 public:
  void put(const ExecInstance& e) {
    std::lock_guard lock(mu_);
    // Bounded: the oldest that is not running goes first.
    if (execs_.size() >= 4096)
      for (auto it = order_.begin(); it != order_.end(); ++it)
        if (auto x = execs_.find(*it); x == execs_.end() || !x->second.running) {
          execs_.erase(*it);
          order_.erase(it);
          break;
        }
    execs_[e.id] = e;
    order_.push_back(e.id);
  }
  // Marks it running, once: false when it ran (or runs) already.
  bool try_start(const std::string& id) {
    std::lock_guard lock(mu_);
    auto it = execs_.find(id);
    if (it == execs_.end() || it->second.running || it->second.exit_code || it->second.started) return false;
    it->second.running = it->second.started = true;
    return true;
  }
  std::optional<ExecInstance> get(const std::string& id) {
    std::lock_guard lock(mu_);
    auto it = execs_.find(id);
    return it == execs_.end() ? std::nullopt : std::optional(it->second);
  }
  template <class F>
  void update(const std::string& id, F f) {
    std::lock_guard lock(mu_);
    if (auto it = execs_.find(id); it != execs_.end()) f(it->second);
  }

 private:
  std::mutex mu_;
  std::map<std::string, ExecInstance> execs_;
  std::list<std::string> order_;  // ids, oldest first
};

}  // namespace tiffin::api
