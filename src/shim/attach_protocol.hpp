// The shim's attach socket (<run dir>/attach.sock, mode 0600, root only): what `tiffin run`
// (in the foreground), `attach` and `start -a` speak with it. Frames in both directions:
//   u8 type, u32 little-endian length, payload
// client → shim: stdin data, stdin closed, resize (u16 rows, u16 cols)
// shim → client: stdout data, stderr data, exit (i32 status as text), error (message)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace tiffin::shim {

enum class Frame : uint8_t { stdin_data = 0, stdout_data = 1, stderr_data = 2, resize = 3, exit = 4, stdin_close = 5, error = 6 };

inline constexpr size_t kFrameHeader = 5;
inline constexpr size_t kMaxFramePayload = 1 << 20;

std::string encode_frame(Frame type, std::string_view payload);
std::string encode_resize(uint16_t rows, uint16_t cols);

struct DecodedFrame {
  Frame type;
  std::string payload;
};
// Takes one frame off the front of `buffer` when it holds a whole one; Errc::corrupt for a
// frame no peer would send (unknown type, oversized).
Result<std::optional<DecodedFrame>> take_frame(std::string& buffer);
bool decode_resize(std::string_view payload, uint16_t& rows, uint16_t& cols);

}  // namespace tiffin::shim
