// A process's recent output: the last `capacity` bytes it wrote to its terminal, so a browser
// that attaches late (or reconnects) sees what is on the screen, and /api/process/logs has
// something to show. Bounded: older bytes are dropped as new ones come.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tiffin::corex {

class OutputRing {
 public:
  explicit OutputRing(size_t capacity);
  void append(std::string_view data);
  // The kept bytes, oldest first (at most capacity()).
  std::string contents() const;
  size_t size() const { return buf_.size(); }
  size_t capacity() const { return cap_; }
  // Every byte ever appended, kept or not.
  uint64_t total() const { return total_; }

 private:
  size_t cap_;
  std::string buf_;
  size_t head_ = 0;
  uint64_t total_ = 0;
};

}  // namespace tiffin::corex
