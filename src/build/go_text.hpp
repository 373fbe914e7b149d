// Text as Go sees it, for code that must match a Go original byte for byte (buildkit's shell
// lexer, moby's patternmatcher): the width of the rune at a position (utf8.DecodeRuneInString,
// where a byte that starts no valid sequence is a rune of its own), unicode.IsSpace and
// strings.TrimSpace. Internal to src/build.
#pragma once

#include <cstddef>
#include <string_view>

namespace tiffin::build::go_text {

// The rune at s[i] (i < s.size()) and its width in bytes; an invalid sequence is U+FFFD, 1 byte.
struct Rune {
  char32_t value;
  size_t width;
};

inline Rune decode_rune(std::string_view s, size_t i) {
  auto at = [&](size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u; };
  auto cont = [&](size_t k, unsigned lo = 0x80, unsigned hi = 0xBF) { return at(k) >= lo && at(k) <= hi; };
  const unsigned b0 = at(0);
  constexpr Rune bad{0xFFFD, 1};
  if (b0 < 0x80) return {b0, 1};
  if (b0 >= 0xC2 && b0 <= 0xDF) return cont(1) ? Rune{((b0 & 0x1Fu) << 6) | (at(1) & 0x3Fu), 2} : bad;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    // E0 needs A0.. (no overlong forms), ED stops at 9F (no surrogates).
    bool ok = b0 == 0xE0 ? cont(1, 0xA0) : b0 == 0xED ? cont(1, 0x80, 0x9F) : cont(1);
    if (!ok || !cont(2)) return bad;
    return {((b0 & 0x0Fu) << 12) | ((at(1) & 0x3Fu) << 6) | (at(2) & 0x3Fu), 3};
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    // F0 needs 90.. (no overlong forms), F4 stops at 8F (nothing past U+10FFFF).
    bool ok = b0 == 0xF0 ? cont(1, 0x90) : b0 == 0xF4 ? cont(1, 0x80, 0x8F) : cont(1);
    if (!ok || !cont(2) || !cont(3)) return bad;
    return {((b0 & 0x07u) << 18) | ((at(1) & 0x3Fu) << 12) | ((at(2) & 0x3Fu) << 6) | (at(3) & 0x3Fu), 4};
  }
  return bad;
}

inline size_t rune_width(std::string_view s, size_t i) { return decode_rune(s, i).width; }

// unicode.IsSpace: the ASCII spaces, NEL, NBSP and the other White_Space code points.
inline bool is_space(char32_t r) {
  switch (r) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000: return true;
    default: return r >= 0x2000 && r <= 0x200A;
  }
}

// strings.TrimSpace.
inline std::string_view trim_space(std::string_view s) {
  size_t b = 0;
  while (b < s.size()) {
    Rune r = decode_rune(s, b);
    if (!is_space(r.value) || (r.value == 0xFFFD && r.width == 1)) break;
    b += r.width;
  }
  size_t e = s.size();
  while (e > b) {
    // The last rune: a space is 1 to 3 bytes and ends at e exactly when it decodes to a width
    // that reaches e (what utf8.DecodeLastRuneInString finds).
    size_t k = 1;
    while (k <= 3 && k <= e - b && !(decode_rune(s, e - k).width == k && is_space(decode_rune(s, e - k).value))) ++k;
    if (k > 3 || k > e - b) break;
    e -= k;
  }
  return s.substr(b, e - b);
}

}  // namespace tiffin::build::go_text
