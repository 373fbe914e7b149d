// The text records the engine and the shim exchange (the shim's config, its status, the
// payloads of protocol messages): "key=value" lines, a key may repeat (lists), and in values
// '\\' and '\n' are written "\\\\" and "\\n", so any value round-trips. A format of its own on
// purpose: the shim stays small, with no JSON library in its process.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace tiffin::shim {

class Fields {
 public:
  Fields& add(std::string key, std::string value);
  Fields& add(std::string key, const char* value) { return add(std::move(key), std::string(value)); }
  Fields& add(std::string key, bool value) { return add(std::move(key), std::string(value ? "1" : "0")); }
  Fields& add(std::string key, int64_t value) { return add(std::move(key), std::to_string(value)); }
  Fields& add(std::string key, uint64_t value) { return add(std::move(key), std::to_string(value)); }
  Fields& add(std::string key, int value) { return add(std::move(key), static_cast<int64_t>(value)); }
  Fields& add(std::string key, unsigned value) { return add(std::move(key), static_cast<uint64_t>(value)); }
  Fields& add_all(const std::string& key, const std::vector<std::string>& values);

  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

std::string encode_fields(const Fields& f);
// Errc::corrupt for a line without '=', an empty key or a bad escape.
Result<Fields> decode_fields(std::string_view text);

// Typed reading of a record: each getter marks its key as known; finish() fails on a bad value,
// a missing required key, or (when strict) a key nobody asked for — so a misspelled key is an
// error, not silently ignored.
class FieldReader {
 public:
  FieldReader(const Fields& f, std::string what) : f_(f), what_(std::move(what)), used_(f.items().size(), false) {}

  std::string text(std::string_view key, std::string fallback = {});
  std::string required(std::string_view key);
  std::vector<std::string> list(std::string_view key);
  bool flag(std::string_view key, bool fallback = false);
  int64_t integer(std::string_view key, int64_t fallback = 0);
  uint64_t unsigned_integer(std::string_view key, uint64_t fallback = 0);
  bool has(std::string_view key) const;

  Result<void> finish(bool strict = true);

 private:
  const std::string* find(std::string_view key);
  void bad(std::string_view key, const std::string& why);

  const Fields& f_;
  std::string what_;
  std::vector<bool> used_;
  std::optional<Error> error_;
};

}  // namespace tiffin::shim
