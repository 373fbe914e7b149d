#include "image/www_authenticate.hpp"

#include <cctype>

namespace tiffin::image {
namespace {

bool token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~/").find(c) != std::string_view::npos;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::vector<Challenge> parse_www_authenticate(std::string_view v) {
  std::vector<Challenge> out;
  size_t i = 0;
  auto skip = [&] {
    while (i < v.size() && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) ++i;
  };
  auto token = [&] {
    size_t start = i;
    while (i < v.size() && token_char(v[i])) ++i;
    return v.substr(start, i - start);
  };
  skip();
  while (i < v.size()) {
    std::string_view scheme = token();
    if (scheme.empty()) break;
    Challenge c{lower(scheme), {}};
    // auth-params: name = token | quoted-string, comma separated, until the next scheme (a
    // token not followed by '=').
    while (true) {
      skip();
      size_t mark = i;
      std::string_view name = token();
      size_t j = i;
      while (j < v.size() && (v[j] == ' ' || v[j] == '\t')) ++j;
      if (name.empty() || j >= v.size() || v[j] != '=') {
        i = mark;
        break;
      }
      i = j + 1;
      while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) ++i;
      std::string value;
      if (i < v.size() && v[i] == '"') {
        ++i;
        while (i < v.size() && v[i] != '"') {
          if (v[i] == '\\' && i + 1 < v.size()) ++i;
          value += v[i++];
        }
        if (i >= v.size()) return out;  // unterminated quote
        ++i;
      } else {
        value = token();
      }
      c.params[lower(name)] = value;
    }
    out.push_back(std::move(c));
    skip();
  }
  return out;
}

}  // namespace tiffin::image
