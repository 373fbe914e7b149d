#include "common/error.hpp"

#include <cstring>
#include <iterator>

#include "common/text.hpp"

namespace tiffin {

std::unexpected<Error> fail_errno(const std::string& what, int e) {
  Errc kind = Errc::io;
  if (e == ENOENT) kind = Errc::not_found;
  if (e == EEXIST) kind = Errc::conflict;
  // strerrordesc_np: the English text without gettext's locale machinery (the static binaries
  // would carry it), as tiffin's messages are English anyway.
  const char* text = ::strerrordesc_np(e);
  return std::unexpected(Error{kind, e, what + ": " + (text ? std::string(text) : "error " + std::to_string(e))});
}

namespace {

struct KindName {
  Errc kind;
  const char* wire;   // the enumerator's name: stable across versions
  const char* human;  // for messages
};

constexpr KindName kKinds[] = {
    {Errc::io, "io", "io"},
    {Errc::invalid_input, "invalid_input", "invalid input"},
    {Errc::not_found, "not_found", "not found"},
    {Errc::corrupt, "corrupt", "corrupt"},
    {Errc::conflict, "conflict", "conflict"},
    {Errc::denied, "denied", "denied"},
    {Errc::unavailable, "unavailable", "unavailable"},
    {Errc::unsupported, "unsupported", "unsupported"},
    {Errc::internal, "internal", "internal"},
    {Errc::program_not_found, "program_not_found", "program not found"},
    {Errc::program_not_executable, "program_not_executable", "program not executable"},
};

}  // namespace

const char* errc_name(Errc kind) {
  for (const auto& k : kKinds)
    if (k.kind == kind) return k.human;
  return "unknown";
}

std::string encode_error(const Error& e) {
  std::string out;
  for (const auto& k : kKinds)
    if (k.kind == e.kind) out = k.wire;
  if (out.empty()) out = "internal";
  out += ':' + std::to_string(e.sys_errno) + ':';
  for (char ch : e.message) {
    if (ch == '\\') out += "\\\\";
    else if (ch == '\n') out += "\\n";
    else out += ch;
  }
  return out;
}

Result<Error> decode_error(std::string_view text) {
  auto bad = [&] { return fail(Errc::corrupt, "not an encoded error: " + std::string(text.substr(0, 200))); };
  size_t c1 = text.find(':');
  if (c1 == std::string_view::npos) return bad();
  size_t c2 = text.find(':', c1 + 1);
  if (c2 == std::string_view::npos) return bad();
  Error e;
  bool known = false;
  for (const auto& k : kKinds)
    if (text.substr(0, c1) == k.wire) e.kind = k.kind, known = true;
  if (!known) return bad();
  auto sys_errno = parse_int<int>(text.substr(c1 + 1, c2 - c1 - 1));
  if (!sys_errno || *sys_errno < 0) return bad();
  e.sys_errno = *sys_errno;
  for (size_t i = c2 + 1; i < text.size(); ++i) {
    char ch = text[i];
    if (ch == '\n') return bad();
    if (ch != '\\') {
      e.message += ch;
      continue;
    }
    if (++i == text.size()) return bad();
    if (text[i] == 'n') e.message += '\n';
    else if (text[i] == '\\') e.message += '\\';
    else return bad();
  }
  return e;
}

int start_failure_exit_code(const Error& e) {
  switch (e.kind) {
    case Errc::program_not_found: return 127;
    case Errc::program_not_executable: return 126;
    default: return 125;
  }
}

}  // namespace tiffin
