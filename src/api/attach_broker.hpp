// docker's clients attach and wait before they start (run: create, attach, wait, start), but a
// tiffin container has no shim until it starts, and an --rm container leaves no record of its
// exit code once its shim took it down. So the broker holds such an attach until a start
// through this server hands it the started shim's session, and every start through this
// server keeps a session that hears the exit (the attach's, or one of its own), whose code the
// broker hands to the waits of that container.
#pragma once

#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "engine/engine.hpp"

namespace tiffin::api {

class AttachBroker {
 public:
  struct Waiter {
    bool with_stdin = false;
    std::promise<Result<engine::ShimConnection>> session;
  };

  // An attach waiting for the container's start; the start answers through the promise.
  std::shared_ptr<Waiter> wait_for_start(const std::string& id, bool with_stdin) {
    auto w = std::make_shared<Waiter>();
    w->with_stdin = with_stdin;
    std::lock_guard lock(mu_);
    waiting_[id] = w;
    return w;
  }
  // The start's side: the attach waiting for `id`, if any (taken: one start serves it).
  std::shared_ptr<Waiter> take(const std::string& id) {
    std::lock_guard lock(mu_);
    auto it = waiting_.find(id);
    if (it == waiting_.end()) return nullptr;
    auto w = std::move(it->second);
    waiting_.erase(it);
    return w;
  }
  // An attach that gave up (its client left); false when a start took it already (its session
  // is on its way through the promise).
  bool forget(const std::string& id, const std::shared_ptr<Waiter>& w) {
    std::lock_guard lock(mu_);
    auto it = waiting_.find(id);
    if (it == waiting_.end() || it->second != w) return false;
    waiting_.erase(it);
    return true;
  }

  // ---- exits
  struct ExitWatch {
    std::promise<int> code;
  };
  // A wait's interest in the next exit of `id` (taken before it looks at the container).
  std::shared_ptr<ExitWatch> watch_exit(const std::string& id) {
    auto w = std::make_shared<ExitWatch>();
    std::lock_guard lock(mu_);
    watches_.emplace(id, w);
    return w;
  }
  void forget_exit(const std::string& id, const std::shared_ptr<ExitWatch>& w) {
    std::lock_guard lock(mu_);
    for (auto [a, b] = watches_.equal_range(id); a != b; ++a)
      if (a->second == w) {
        watches_.erase(a);
        return;
      }
  }
  // A start through this server holds a session that will hear the exit of `id`.
  void observing(const std::string& id, bool on) {
    std::lock_guard lock(mu_);
    if (on) observed_.insert(id);
    else observed_.erase(id);
  }
  bool observed(const std::string& id) {
    std::lock_guard lock(mu_);
    return observed_.contains(id);
  }
  // The run ended with `code`: every wait for it hears.
  void exited(const std::string& id, int code) {
    std::lock_guard lock(mu_);
    observed_.erase(id);
    for (auto [a, b] = watches_.equal_range(id); a != b; ++a) a->second->code.set_value(code);
    watches_.erase(id);
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Waiter>> waiting_;
  std::multimap<std::string, std::shared_ptr<ExitWatch>> watches_;
  std::set<std::string> observed_;
};

}  // namespace tiffin::api
