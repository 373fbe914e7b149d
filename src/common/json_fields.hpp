// Type-checked reads of untrusted JSON (manifests, configs, registry replies, Engine API
// bodies): a field that is absent or null is "not given"; one of the wrong type is
// Errc::invalid_input naming the field.
// Nothing here throws: documents are parsed with parse(…, nullptr, false) and only read through
// these checks.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace tiffin::json_fields {

using json = nlohmann::json;

// `where` is the document's name for messages ("manifest", "image config").
inline std::unexpected<Error> wrong(const std::string& where, std::string_view key, const char* want) {
  return fail(Errc::invalid_input, where + ": field \"" + std::string(key) + "\" must be " + want);
}

inline const json* field(const json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

inline Result<std::string> string(const json& obj, std::string_view key, const std::string& where, bool required = false) {
  const json* v = field(obj, key);
  if (!v) {
    if (required) return fail(Errc::invalid_input, where + ": field \"" + std::string(key) + "\" is missing");
    return std::string();
  }
  if (!v->is_string()) return wrong(where, key, "a string");
  return v->get<std::string>();
}

inline Result<std::vector<std::string>> strings(const json& obj, std::string_view key, const std::string& where) {
  std::vector<std::string> out;
  const json* v = field(obj, key);
  if (!v) return out;
  if (!v->is_array()) return wrong(where, key, "a list of strings");
  for (const auto& e : *v) {
    if (!e.is_string()) return wrong(where, key, "a list of strings");
    out.push_back(e.get<std::string>());
  }
  return out;
}

// {"80/tcp": {}, …}: docker's set of keys (ExposedPorts, Volumes).
inline Result<std::vector<std::string>> key_set(const json& obj, std::string_view key, const std::string& where) {
  std::vector<std::string> out;
  const json* v = field(obj, key);
  if (!v) return out;
  if (!v->is_object()) return wrong(where, key, "an object");
  for (const auto& [k, _] : v->items()) out.push_back(k);
  return out;
}

inline Result<std::map<std::string, std::string>> string_map(const json& obj, std::string_view key, const std::string& where) {
  std::map<std::string, std::string> out;
  const json* v = field(obj, key);
  if (!v) return out;
  if (!v->is_object()) return wrong(where, key, "an object of strings");
  for (const auto& [k, e] : v->items()) {
    if (!e.is_string()) return wrong(where, std::string(key) + "." + k, "a string");
    out[k] = e.get<std::string>();
  }
  return out;
}

inline Result<std::optional<uint64_t>> unsigned_number(const json& obj, std::string_view key, const std::string& where) {
  const json* v = field(obj, key);
  if (!v) return std::optional<uint64_t>();
  if (v->is_number_unsigned()) return std::optional<uint64_t>(v->get<uint64_t>());
  if (v->is_number_integer() && v->get<int64_t>() >= 0) return std::optional<uint64_t>(static_cast<uint64_t>(v->get<int64_t>()));
  return wrong(where, key, "a non-negative integer");
}

inline Result<bool> boolean(const json& obj, std::string_view key, const std::string& where) {
  const json* v = field(obj, key);
  if (!v) return false;
  if (!v->is_boolean()) return wrong(where, key, "true or false");
  return v->get<bool>();
}

inline Result<int64_t> integer(const json& obj, std::string_view key, const std::string& where) {
  const json* v = field(obj, key);
  if (!v) return int64_t{0};
  if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) return wrong(where, key, "an integer");
  if (!v->is_number_integer()) return wrong(where, key, "an integer");
  return v->get<int64_t>();
}

}  // namespace tiffin::json_fields
