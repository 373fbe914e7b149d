// Docker's reference grammar (distribution/reference: regexp.go and normalize.go), written out
// as small scanners instead of regular expressions so every refusal can say what was wrong.
#include "image/reference.hpp"

#include <algorithm>
#include <cctype>

#include "common/text.hpp"

namespace tiffin::image {
namespace {

constexpr size_t kNameMax = 255;  // distribution's NameTotalLengthMax, over "domain/path"
constexpr std::string_view kDefaultDomain = "docker.io";
constexpr std::string_view kOfficialPrefix = "library/";

bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool word(char c) { return alnum(c) || c == '_'; }

// path-component: [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*
bool path_component(std::string_view s) {
  size_t i = 0;
  auto run = [&] {
    size_t start = i;
    while (i < s.size() && lower_alnum(s[i])) ++i;
    return i > start;
  };
  if (!run()) return false;
  while (i < s.size()) {
    if (s[i] == '.') {
      ++i;
    } else if (s[i] == '_') {
      ++i;
      if (i < s.size() && s[i] == '_') ++i;
    } else if (s[i] == '-') {
      while (i < s.size() && s[i] == '-') ++i;
    } else {
      return false;
    }
    if (!run()) return false;
  }
  return true;
}

bool path_ok(std::string_view path) {
  for (const auto& c : split(path, '/'))
    if (!path_component(c)) return false;
  return true;
}

// domain-name-component: [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
bool domain_component(std::string_view s) {
  if (s.empty() || !alnum(s.front()) || !alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return alnum(c) || c == '-'; });
}

// host (a domain name or a bracketed IPv6 address) and an optional :port.
bool domain_ok(std::string_view d) {
  std::string_view host = d, port;
  if (d.starts_with('[')) {
    size_t close = d.find(']');
    if (close == std::string_view::npos || close < 2) return false;
    std::string_view addr = d.substr(1, close - 1);
    if (!std::all_of(addr.begin(), addr.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) || c == ':'; }))
      return false;
    std::string_view rest = d.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return false;
      port = rest.substr(1);
      if (port.empty()) return false;
    }
    host = {};
  } else if (size_t colon = d.find(':'); colon != std::string_view::npos) {
    host = d.substr(0, colon);
    port = d.substr(colon + 1);
    if (port.empty()) return false;
  }
  if (!std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
  if (!d.starts_with('[')) {
    for (const auto& c : split(host, '.'))
      if (!domain_component(c)) return false;
  }
  return true;
}

// tag: [\w][\w.-]{0,127}
bool tag_ok(std::string_view t) {
  if (t.empty() || t.size() > 128 || !word(t[0])) return false;
  return std::all_of(t.begin(), t.end(), [](char c) { return word(c) || c == '.' || c == '-'; });
}

bool hex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The domain part of "host[:port]" or "[v6]:port", without the port.
std::string_view host_of(std::string_view registry) {
  if (registry.starts_with('[')) return registry.substr(0, registry.find(']') + 1);
  return registry.substr(0, registry.find(':'));
}

}  // namespace

Result<Reference> parse_reference(std::string_view text) {
  const std::string quoted = "\"" + printable(text) + "\"";
  auto bad = [&](const std::string& why) { return fail(Errc::invalid_input, "invalid reference format: " + quoted + ": " + why); };
  std::string_view s = text;
  if (s.starts_with("docker://")) s.remove_prefix(9);
  if (s.empty()) return fail(Errc::invalid_input, "invalid reference format: repository name must have at least one component");
  if (hex64(s))
    return fail(Errc::invalid_input, "invalid repository name (" + std::string(s) + "), cannot specify 64-byte hexadecimal strings");

  // normalize.go's splitDockerDomain.
  Reference ref;
  std::string remainder;
  size_t slash = s.find('/');
  if (slash == std::string_view::npos) {
    ref.registry = kDefaultDomain;
    remainder = std::string(kOfficialPrefix) + std::string(s);
  } else {
    std::string_view first = s.substr(0, slash), rest = s.substr(slash + 1);
    if (first == "localhost" || first.find_first_of(".:") != std::string_view::npos || lower(first) != first) {
      ref.registry = first == "index.docker.io" ? std::string(kDefaultDomain) : std::string(first);
      remainder = rest;
    } else {
      ref.registry = kDefaultDomain;
      remainder = s;
    }
    if (ref.registry == kDefaultDomain && remainder.find('/') == std::string::npos) remainder = std::string(kOfficialPrefix) + remainder;
  }

  std::string_view r = remainder;
  if (size_t at = r.find('@'); at != std::string_view::npos) {
    std::string_view d = r.substr(at + 1);
    r = r.substr(0, at);
    size_t colon = d.find(':');
    if (colon == std::string_view::npos) return bad("invalid digest format");
    if (d.substr(0, colon) != "sha256") return bad("unsupported digest algorithm \"" + printable(d.substr(0, colon)) + "\"");
    if (!hex64(d.substr(colon + 1))) return bad("invalid digest: not 64 lowercase hexadecimal digits");
    ref.digest = d;
  }
  if (size_t colon = r.find(':'); colon != std::string_view::npos) {
    std::string_view t = r.substr(colon + 1);
    r = r.substr(0, colon);
    if (!tag_ok(t)) return bad("invalid tag \"" + printable(t) + "\" ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})");
    ref.tag = t;
  }
  if (lower(r) != r) return fail(Errc::invalid_input, "invalid reference format: repository name (" + printable(r) + ") must be lowercase");
  if (r.empty() || !path_ok(r)) return bad("repository name components are lowercase letters and digits joined by '.', '_', '__' or '-'");
  if (!domain_ok(ref.registry)) return bad("invalid registry host \"" + printable(ref.registry) + "\"");
  if (ref.registry.size() + 1 + r.size() > kNameMax) return bad("repository name must not be more than 255 characters");
  ref.repository = r;
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  return ref;
}

std::string Reference::str() const {
  std::string out = registry + "/" + repository;
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest;
  return out;
}

std::string Reference::familiar() const {
  std::string name = registry + "/" + repository;
  if (registry == kDefaultDomain) {
    name = repository;
    if (name.starts_with(kOfficialPrefix) && name.find('/', kOfficialPrefix.size()) == std::string::npos)
      name = name.substr(kOfficialPrefix.size());
  }
  if (!tag.empty()) name += ":" + tag;
  if (!digest.empty()) name += "@" + digest;
  return name;
}

std::string Reference::api_host() const { return registry == kDefaultDomain ? "registry-1.docker.io" : registry; }

bool Reference::loopback() const {
  std::string_view host = host_of(registry);
  if (host == "localhost" || host == "[::1]") return true;
  // 127.0.0.0/8, written as a dotted quad.
  auto parts = split(host, '.');
  if (parts.size() != 4 || parts[0] != "127") return false;
  return std::all_of(parts.begin(), parts.end(), [](const std::string& p) { return parse_uint<uint8_t>(p).has_value(); });
}

}  // namespace tiffin::image
