// The WebSocket protocol of coreX's terminals (subprotocol "tty", as ttyd and threefoldtech/corex
// speak it): every message starts with one ASCII command byte.
//   browser → coreX: '0' + input bytes for the terminal; '1' + {"columns": C, "rows": R}
//   coreX → browser: '0' + output bytes of the terminal
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "common/error.hpp"

namespace tiffin::corex {

struct TtyInput {
  std::string data;
};
struct TtyResize {
  uint16_t columns = 0, rows = 0;
};
using TtyMessage = std::variant<TtyInput, TtyResize>;

// An unknown command byte, an empty message or a malformed size is invalid_input.
Result<TtyMessage> parse_tty_message(std::string_view message);
std::string tty_output(std::string_view data);

}  // namespace tiffin::corex
