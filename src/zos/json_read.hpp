// Type-checked reads of the fields of a Zero-OS document, strict the way Go's encoding/json is
// strict (a string where a number belongs is an error, never a 0): absent or null is "not given"
// and keeps the default; anything of the wrong type is Errc::invalid_input naming the field by
// its path ("capacity.memory: expected an integer"). Private to src/zos.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace tiffin::zos::json_read {

using json = nlohmann::json;

inline std::string path(const std::string& prefix, std::string_view key) {
  return prefix.empty() ? std::string(key) : prefix + "." + std::string(key);
}

inline std::unexpected<Error> expected(const std::string& field, const char* what) {
  return fail(Errc::invalid_input, field + ": expected " + what);
}

// The field's value, or nullptr when absent or null.
inline const json* find(const json& obj, std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

inline Result<void> read(const json& obj, std::string_view key, const std::string& prefix, std::string& out) {
  const json* v = find(obj, key);
  if (!v) return {};
  if (!v->is_string()) return expected(path(prefix, key), "a string");
  out = v->get<std::string>();
  return {};
}

inline Result<void> read(const json& obj, std::string_view key, const std::string& prefix, bool& out) {
  const json* v = find(obj, key);
  if (!v) return {};
  if (!v->is_boolean()) return expected(path(prefix, key), "true or false");
  out = v->get<bool>();
  return {};
}

inline Result<void> read(const json& obj, std::string_view key, const std::string& prefix, int64_t& out) {
  const json* v = find(obj, key);
  if (!v) return {};
  if (!v->is_number_integer() || (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)))
    return expected(path(prefix, key), "an integer");
  out = v->get<int64_t>();
  return {};
}

inline Result<void> read(const json& obj, std::string_view key, const std::string& prefix, uint64_t& out) {
  const json* v = find(obj, key);
  if (!v) return {};
  if (!v->is_number_integer() || (!v->is_number_unsigned() && v->get<int64_t>() < 0))
    return expected(path(prefix, key), "a non-negative integer");
  out = v->get<uint64_t>();
  return {};
}

// An object field; nullptr when absent or null.
inline Result<const json*> object(const json& obj, std::string_view key, const std::string& prefix) {
  const json* v = find(obj, key);
  if (v && !v->is_object()) return expected(path(prefix, key), "an object");
  return v;
}

// A list field; nullptr when absent or null.
inline Result<const json*> list(const json& obj, std::string_view key, const std::string& prefix) {
  const json* v = find(obj, key);
  if (v && !v->is_array()) return expected(path(prefix, key), "a list");
  return v;
}

}  // namespace tiffin::zos::json_read
