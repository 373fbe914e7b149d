// Helpers for unit tests: temporary directories that remove themselves, and a real
// redis-server / http server on a loopback port that stop themselves.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/hash.hpp"

namespace tiffin::test {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A child process (a server) that is killed and reaped when this goes out of scope.
class Process {
 public:
  Process() = default;
  Process(Process&& o) noexcept : pid_(o.pid_) { o.pid_ = -1; }
  ~Process() { stop(); }
  static Process spawn(const std::vector<std::string>& argv, const std::string& cwd = "");
  void stop();
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

uint16_t free_port();

// A file's whole content ("" when it cannot be read).
std::string slurp(const std::string& path);
// Waits until something accepts TCP connections on 127.0.0.1:port.
bool wait_for_port(uint16_t port, int timeout_ms = 5000);

void write_text(const std::string& path, const std::string& content);
Bytes random_bytes(size_t n, uint32_t seed);

}  // namespace tiffin::test
