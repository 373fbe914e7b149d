#include "shim/fields.hpp"

#include "common/text.hpp"

namespace tiffin::shim {

Fields& Fields::add(std::string key, std::string value) {
  items_.emplace_back(std::move(key), std::move(value));
  return *this;
}

Fields& Fields::add_all(const std::string& key, const std::vector<std::string>& values) {
  for (const auto& v : values) add(key, v);
  return *this;
}

std::string encode_fields(const Fields& f) {
  std::string out;
  for (const auto& [key, value] : f.items()) {
    out += key;
    out += '=';
    for (char ch : value) {
      if (ch == '\\') out += "\\\\";
      else if (ch == '\n') out += "\\n";
      else out += ch;
    }
    out += '\n';
  }
  return out;
}

Result<Fields> decode_fields(std::string_view text) {
  Fields f;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty()) continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) return fail(Errc::corrupt, "not key=value: " + std::string(line.substr(0, 100)));
    std::string value;
    for (size_t i = eq + 1; i < line.size(); ++i) {
      if (line[i] != '\\') {
        value += line[i];
        continue;
      }
      if (++i == line.size() || (line[i] != 'n' && line[i] != '\\'))
        return fail(Errc::corrupt, "bad escape in " + std::string(line.substr(0, eq)));
      value += line[i] == 'n' ? '\n' : '\\';
    }
    f.add(std::string(line.substr(0, eq)), std::move(value));
  }
  return f;
}

const std::string* FieldReader::find(std::string_view key) {
  const std::string* found = nullptr;
  for (size_t i = 0; i < f_.items().size(); ++i) {
    if (f_.items()[i].first != key) continue;
    used_[i] = true;
    if (found) bad(key, "given twice");  // only lists repeat
    else found = &f_.items()[i].second;
  }
  return found;
}

bool FieldReader::has(std::string_view key) const {
  for (const auto& item : f_.items())
    if (item.first == key) return true;
  return false;
}

void FieldReader::bad(std::string_view key, const std::string& why) {
  if (!error_) error_ = Error{Errc::corrupt, 0, what_ + ": " + std::string(key) + ": " + why};
}

std::string FieldReader::text(std::string_view key, std::string fallback) {
  const std::string* v = find(key);
  return v ? *v : fallback;
}

std::string FieldReader::required(std::string_view key) {
  const std::string* v = find(key);
  if (!v || v->empty()) bad(key, "required");
  return v ? *v : std::string();
}

std::vector<std::string> FieldReader::list(std::string_view key) {
  std::vector<std::string> out;
  for (size_t i = 0; i < f_.items().size(); ++i) {
    if (f_.items()[i].first != key) continue;
    used_[i] = true;
    out.push_back(f_.items()[i].second);
  }
  return out;
}

bool FieldReader::flag(std::string_view key, bool fallback) {
  const std::string* v = find(key);
  if (!v) return fallback;
  if (*v != "0" && *v != "1") bad(key, "not 0 or 1: " + *v);
  return *v == "1";
}

int64_t FieldReader::integer(std::string_view key, int64_t fallback) {
  const std::string* v = find(key);
  if (!v) return fallback;
  auto n = parse_int<int64_t>(*v);
  if (!n) bad(key, "not a number: " + *v);
  return n.value_or(fallback);
}

uint64_t FieldReader::unsigned_integer(std::string_view key, uint64_t fallback) {
  const std::string* v = find(key);
  if (!v) return fallback;
  auto n = parse_uint<uint64_t>(*v);
  if (!n) bad(key, "not a number: " + *v);
  return n.value_or(fallback);
}

Result<void> FieldReader::finish(bool strict) {
  if (error_) return std::unexpected(*error_);
  if (strict)
    for (size_t i = 0; i < used_.size(); ++i)
      if (!used_[i]) return fail(Errc::corrupt, what_ + ": unknown key " + f_.items()[i].first);
  return {};
}

}  // namespace tiffin::shim
