// Exec instances of the Engine API: POST /containers/{id}/exec makes one (what to run), POST
// /exec/{id}/start runs it, GET /exec/{id}/json says how it went. docker keeps them in the
// daemon's memory; so does `tiffin serve` (an exec is a moment of a session, not state).
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "engine/engine.hpp"

namespace tiffin::api {

struct ExecInstance {
  std::string id, container;
  engine::ExecRequest request;
  bool attach_stdin = false, attach_stdout = true, attach_stderr = true;
  bool running = false;
  std::optional<int> exit_code;
  int pid = 0;
};

class ExecStore {
 public:
  void put(const ExecInstance& e) {
    std::lock_guard lock(mu_);
    if (execs_.size() >= 4096) execs_.erase(execs_.begin());  // bounded: the oldest ids go first
    execs_[e.id] = e;
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
};

}  // namespace tiffin::api
