// Small text helpers for the line- and field-based files the kernel and /etc keep, and for
// numbers typed by users. Numbers are parsed here and nowhere else: std::sto* throw, atoi
// cannot fail, and both accept what the user did not mean ("12abc", " 7", "-1" as unsigned).
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace tiffin {

// RFC 3986's percent-encoding: every byte but the unreserved ones (letters, digits, -._~) as %XX;
// for a query value or a URL path segment.
std::string percent_encode(std::string_view s);
// Its inverse (with `plus_is_space`, a form's '+' is a space); nullopt for a bad %-escape.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space);

// Splits on `sep`, keeping empty fields ("a::b" → "a", "", "b").
// Whether `s` is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool valid_utf8(std::string_view s);
std::vector<std::string> split(std::string_view s, char sep);

// `s` fit for a message on one line: names in flists and tars are bytes and may hold control
// characters or NUL, which must not reach a terminal or a log raw. Backslash, \n, \t and \r are
// escaped as in C, other bytes below 0x20 and 0x7f as \xNN; everything else (UTF-8 too) is kept.
std::string printable(std::string_view s);

// The whole of `s` as an unsigned number in `base` (no sign, no spaces, no overflow of T), or
// nullopt.
template <class T = uint64_t>
std::optional<T> parse_uint(std::string_view s, int base = 10) {
  static_assert(std::is_unsigned_v<T>);
  T v{};
  if (s.empty() || s[0] == '+' || s[0] == '-') return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// The whole of `s` as a signed decimal number of type T, or nullopt.
template <class T = int64_t>
std::optional<T> parse_int(std::string_view s) {
  static_assert(std::is_signed_v<T>);
  T v{};
  if (s.empty() || s[0] == '+') return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// The whole of `s` as a finite decimal number ("1700000000.5"), or nullopt.
inline std::optional<double> parse_decimal(std::string_view s) {
  double v = 0;
  if (s.empty() || s[0] == '+') return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::fixed);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

}  // namespace tiffin
