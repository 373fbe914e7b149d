#include "corex/tty_message.hpp"

#include <nlohmann/json.hpp>

namespace tiffin::corex {

namespace {

Result<uint16_t> dimension(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer())
    return fail(Errc::invalid_input, std::string("resize: \"") + key + "\" must be an integer");
  auto v = it->get<int64_t>();
  if (v < 1 || v > 4096) return fail(Errc::invalid_input, std::string("resize: \"") + key + "\" out of range (1..4096)");
  return static_cast<uint16_t>(v);
}

}  // namespace

Result<TtyMessage> parse_tty_message(std::string_view message) {
  if (message.empty()) return fail(Errc::invalid_input, "empty terminal message");
  std::string_view rest = message.substr(1);
  switch (message[0]) {
    case '0': return TtyMessage{TtyInput{std::string(rest)}};
    case '1': {
      auto j = nlohmann::json::parse(rest, nullptr, false);
      if (j.is_discarded() || !j.is_object()) return fail(Errc::invalid_input, "resize: not a JSON object");
      TtyResize r;
      r.columns = TRY(dimension(j, "columns"));
      r.rows = TRY(dimension(j, "rows"));
      return TtyMessage{r};
    }
    default: return fail(Errc::invalid_input, "unknown terminal message type " + std::to_string(static_cast<unsigned char>(message[0])));
  }
}

std::string tty_output(std::string_view data) {
  std::string out;
  out.reserve(data.size() + 1);
  out += '0';
  out += data;
  return out;
}

}  // namespace tiffin::corex
