// A container's local log, in the CRI log format containerd and Kubernetes use, one record a line:
//   <RFC 3339 time with ns, UTC> <stdout|stderr> <F|P> <content>
// F ends a line of the program's output; P is a piece of a longer one (split at kMaxLine) or
// what was left without a newline when the stream ended. The file rotates at a size: <path>
// becomes <path>.1, <path>.1 becomes <path>.2 …, keeping `max_files` files in all.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/fd.hpp"

namespace tiffin::shim {

inline constexpr size_t kMaxLine = 16 * 1024;

struct LogRecord {
  std::string time;    // as written
  std::string stream;  // stdout | stderr
  bool partial = false;
  std::string content;  // without the newline
};

// "2026-11-26T13:00:00.123456789Z" for the current time.
std::string log_timestamp();
std::string format_log_record(const LogRecord& r);
// Errc::corrupt for a line that is not a record.
Result<LogRecord> parse_log_record(std::string_view line);

class LogWriter {
 public:
  LogWriter(std::string path, uint64_t max_bytes, unsigned max_files)
      : path_(std::move(path)), max_bytes_(max_bytes), max_files_(max_files ? max_files : 1) {}
  Result<void> open();
  Result<void> write(const LogRecord& r);
  const std::string& path() const { return path_; }

 private:
  Result<void> rotate();
  std::string path_;
  uint64_t max_bytes_;
  unsigned max_files_;
  UniqueFd fd_;
  uint64_t size_ = 0;
};

// Splits one stream's output into lines for the log and Redis: complete lines, pieces of
// over-long ones, and (at the end) whatever is left.
class LineSplitter {
 public:
  using Sink = std::function<void(std::string_view line, bool partial)>;
  void feed(std::string_view data, const Sink& sink);
  void finish(const Sink& sink);

 private:
  std::string pending_;
};

// The files of a log, oldest first (<path>.N … <path>.1, <path>), those that exist.
std::vector<std::string> log_files(const std::string& path, unsigned max_files);

}  // namespace tiffin::shim
