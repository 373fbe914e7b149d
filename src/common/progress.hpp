// A one-line progress display for long operations. It draws only when stderr is a
// terminal, at most ten times a second, so scripts and logs stay quiet.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace tiffin {

class Progress {
 public:
  // total_bytes may be 0 when unknown (a tar on stdin).
  Progress(std::string label, uint64_t total_bytes, bool enabled);
  ~Progress();
  void add(uint64_t bytes, uint64_t items = 0);
  void finish();
  static bool stderr_is_terminal();

 private:
  void draw(bool final);
  std::string label_;
  uint64_t total_;
  bool enabled_;
  std::atomic<uint64_t> bytes_{0}, items_{0};
  std::chrono::steady_clock::time_point start_, last_draw_;
  std::mutex draw_mu_;
  bool finished_ = false;
};

std::string human_bytes(uint64_t bytes);

}  // namespace tiffin
