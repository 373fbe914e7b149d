#include "dns/tcp_stream.hpp"

#include <unistd.h>

#include <cerrno>

namespace tiffin::dns {

void append_frame(Bytes& out, std::span<const uint8_t> message) {
  out.push_back(static_cast<uint8_t>(message.size() >> 8));
  out.push_back(static_cast<uint8_t>(message.size()));
  out.insert(out.end(), message.begin(), message.end());
}

std::optional<size_t> complete_frame(std::span<const uint8_t> buffered) {
  if (buffered.size() < 2) return std::nullopt;
  size_t whole = 2 + (size_t(buffered[0]) << 8 | buffered[1]);
  if (buffered.size() < whole) return std::nullopt;
  return whole;
}

ReadStatus read_available(int fd, Bytes& into, size_t limit) {
  uint8_t buf[16384];
  while (into.size() < limit) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      into.insert(into.end(), buf, buf + n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return ReadStatus::open;
    return ReadStatus::closed;
  }
  return ReadStatus::open;
}

}  // namespace tiffin::dns
