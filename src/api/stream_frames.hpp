// docker's multiplexed stream (attach and logs without a terminal): each piece of output as an
// 8-byte header — the stream (0 stdin, 1 stdout, 2 stderr), three zero bytes, the length as a
// big-endian u32 — then the bytes. With a terminal the stream is raw.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tiffin::api {

enum class StreamKind : uint8_t { stdin_ = 0, stdout_ = 1, stderr_ = 2 };

inline std::string frame(StreamKind kind, std::string_view data) {
  std::string out(8, '\0');
  out[0] = static_cast<char>(kind);
  auto n = static_cast<uint32_t>(data.size());
  out[4] = static_cast<char>(n >> 24);
  out[5] = static_cast<char>(n >> 16);
  out[6] = static_cast<char>(n >> 8);
  out[7] = static_cast<char>(n);
  out.append(data);
  return out;
}

}  // namespace tiffin::api
