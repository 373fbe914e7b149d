#include "shim/attach_protocol.hpp"

namespace tiffin::shim {

std::string encode_frame(Frame type, std::string_view payload) {
  std::string out;
  out.reserve(kFrameHeader + payload.size());
  out += static_cast<char>(type);
  uint32_t n = static_cast<uint32_t>(payload.size());
  for (int i = 0; i < 4; ++i) out += static_cast<char>((n >> (8 * i)) & 0xff);
  out.append(payload);
  return out;
}

std::string encode_resize(uint16_t rows, uint16_t cols) {
  std::string p = {static_cast<char>(rows & 0xff), static_cast<char>(rows >> 8), static_cast<char>(cols & 0xff),
                   static_cast<char>(cols >> 8)};
  return encode_frame(Frame::resize, p);
}

bool decode_resize(std::string_view p, uint16_t& rows, uint16_t& cols) {
  if (p.size() != 4) return false;
  auto b = [&](size_t i) { return static_cast<uint16_t>(static_cast<uint8_t>(p[i])); };
  rows = static_cast<uint16_t>(b(0) | (b(1) << 8));
  cols = static_cast<uint16_t>(b(2) | (b(3) << 8));
  return true;
}

Result<std::optional<DecodedFrame>> take_frame(std::string& buffer) {
  if (buffer.size() < kFrameHeader) return std::optional<DecodedFrame>{};
  uint8_t type = static_cast<uint8_t>(buffer[0]);
  if (type > static_cast<uint8_t>(Frame::error)) return fail(Errc::corrupt, "attach: unknown frame type " + std::to_string(type));
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n |= static_cast<uint32_t>(static_cast<uint8_t>(buffer[1 + i])) << (8 * i);
  if (n > kMaxFramePayload) return fail(Errc::corrupt, "attach: frame of " + std::to_string(n) + " bytes");
  if (buffer.size() < kFrameHeader + n) return std::optional<DecodedFrame>{};
  DecodedFrame f{static_cast<Frame>(type), buffer.substr(kFrameHeader, n)};
  buffer.erase(0, kFrameHeader + n);
  return std::optional<DecodedFrame>{std::move(f)};
}

}  // namespace tiffin::shim
