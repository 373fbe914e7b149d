// Runs fn(0) … fn(n-1) on `threads` threads (0: two per core, for work that mixes I/O and CPU),
// each taking the next index as it finishes one. The first error stops further work and is
// returned; calls already running finish.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "common/error.hpp"

namespace tiffin {

inline Result<void> parallel_for(size_t n, unsigned threads, const std::function<Result<void>(size_t)>& fn) {
  if (!threads) threads = std::max(2u, 2 * std::thread::hardware_concurrency());
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::optional<Error> error;
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < std::min<size_t>(threads, std::max<size_t>(n, 1)); ++t)
    pool.emplace_back([&] {
      for (size_t k; !failed && (k = next++) < n;) {
        if (auto r = fn(k); !r) {
          std::lock_guard lock(mu);
          if (!error) error = std::move(r.error());
          failed = true;
        }
      }
    });
  for (auto& t : pool) t.join();
  if (error) return std::unexpected(std::move(*error));
  return {};
}

}  // namespace tiffin
