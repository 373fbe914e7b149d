#include "zos/epoch.hpp"

#include "common/text.hpp"

namespace tiffin::zos {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

unsigned days_in_month(unsigned y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

// `n` decimal digits at `pos`, or nullopt.
std::optional<unsigned> digits(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return std::nullopt;
  for (size_t i = pos; i < pos + n; ++i)
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
  return parse_uint<unsigned>(s.substr(pos, n));
}

bool at(std::string_view s, size_t pos, char c) { return pos < s.size() && s[pos] == c; }

}  // namespace

Result<int64_t> parse_rfc3339(std::string_view text) {
  auto bad = [&](const char* why) {
    return fail(Errc::invalid_input, "'" + printable(text.substr(0, 64)) + "' is not an RFC 3339 time (" + why + ")");
  };
  // YYYY-MM-DDTHH:MM:SS
  auto year = digits(text, 0, 4), month = digits(text, 5, 2), day = digits(text, 8, 2);
  auto hour = digits(text, 11, 2), minute = digits(text, 14, 2), second = digits(text, 17, 2);
  if (!year || !month || !day || !hour || !minute || !second || !at(text, 4, '-') || !at(text, 7, '-') || !at(text, 13, ':') ||
      !at(text, 16, ':') || !(at(text, 10, 'T') || at(text, 10, 't')))
    return bad("expected 2006-01-02T15:04:05Z");
  if (*month < 1 || *month > 12 || *day < 1 || *day > days_in_month(*year, *month)) return bad("no such date");
  if (*hour > 23 || *minute > 59 || *second > 59) return bad("no such time of day");
  size_t pos = 19;
  if (at(text, pos, '.')) {
    size_t start = ++pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
    if (pos == start) return bad("empty fraction of a second");
  }
  int64_t offset = 0;
  if (at(text, pos, 'Z') || at(text, pos, 'z')) {
    ++pos;
  } else if (at(text, pos, '+') || at(text, pos, '-')) {
    auto oh = digits(text, pos + 1, 2), om = digits(text, pos + 4, 2);
    if (!oh || !om || !at(text, pos + 3, ':') || *oh > 23 || *om > 59) return bad("bad UTC offset");
    offset = (text[pos] == '-' ? -1 : 1) * static_cast<int64_t>(*oh * 3600 + *om * 60);
    pos += 6;
  } else {
    return bad("no time zone: end with Z or an offset like +02:00");
  }
  if (pos != text.size()) return bad("trailing characters");
  int64_t days = days_from_civil(*year, *month, *day);
  return days * 86400 + *hour * 3600 + *minute * 60 + *second - offset;
}

Result<int64_t> epoch_from_json(const nlohmann::json& v, const std::string& field) {
  if (v.is_number_integer()) {
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
      return fail(Errc::invalid_input, field + ": out of range");
    return v.get<int64_t>();
  }
  if (v.is_string()) return TRY_CTX(parse_rfc3339(v.get_ref<const std::string&>()), field);
  return fail(Errc::invalid_input, field + ": expected unix seconds (an integer) or an RFC 3339 time (a string)");
}

}  // namespace tiffin::zos
