#include "net/sysctl.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "common/fd.hpp"

namespace tiffin::net {
namespace {

// The file for `key`; a key is a relative path of plain names, so that a link name taken from
// user input ("../../..") cannot point the write anywhere else.
Result<std::string> sysctl_path(std::string_view key) {
  bool ok = !key.empty() && key.front() != '/';
  size_t start = 0;
  while (ok && start <= key.size()) {
    size_t end = key.find('/', start);
    if (end == std::string_view::npos) end = key.size();
    std::string_view part = key.substr(start, end - start);
    ok = !part.empty() && part != "." && part != "..";
    start = end + 1;
  }
  if (!ok) return fail(Errc::invalid_input, "'" + std::string(key) + "' is not a sysctl key");
  return "/proc/sys/" + std::string(key);
}

}  // namespace

Result<void> write_sysctl(std::string_view key, std::string_view value) {
  std::string path = TRY(sysctl_path(key));
  std::string what = "setting " + std::string(key) + " to " + std::string(value);
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return fail_errno(what);
  // A sysctl takes its value in one write; a partial one would be refused by the kernel anyway.
  for (;;) {
    ssize_t n = ::write(fd.get(), value.data(), value.size());
    if (n == static_cast<ssize_t>(value.size())) return {};
    if (n < 0 && errno == EINTR) continue;
    return n < 0 ? fail_errno(what) : fail(Errc::io, what + ": short write");
  }
}

Result<std::string> read_sysctl(std::string_view key) {
  std::string path = TRY(sysctl_path(key));
  Bytes data = TRY_CTX(read_file(path, 1 << 16), "reading " + std::string(key));
  std::string text(data.begin(), data.end());
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

}  // namespace tiffin::net
