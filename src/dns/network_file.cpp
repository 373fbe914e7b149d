#include "dns/network_file.hpp"

#include "common/text.hpp"
#include "dns/dns_message.hpp"

namespace tiffin::dns {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  for (;;) {
    s = trim(s);
    if (s.empty()) return out;
    size_t end = s.find_first_of(" \t");
    out.push_back(s.substr(0, end));
    s.remove_prefix(end == std::string_view::npos ? s.size() : end);
  }
}

}  // namespace

std::string Endpoint::str() const {
  std::string a = address.str();
  return (address.is_v4() ? a : "[" + a + "]") + ":" + std::to_string(port);
}

Result<Endpoint> parse_endpoint(std::string_view text, uint16_t default_port) {
  Endpoint e;
  e.port = default_port;
  std::string_view addr = text, port;
  bool has_port = false;
  if (text.starts_with('[')) {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return fail(Errc::invalid_input, "'" + std::string(text) + "': no closing ']'");
    addr = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (!rest.starts_with(':')) return fail(Errc::invalid_input, "'" + std::string(text) + "': expected ':PORT' after ']'");
      port = rest.substr(1);
      has_port = true;
    }
  } else if (size_t colon = text.find(':'); colon != std::string_view::npos && text.find(':', colon + 1) == std::string_view::npos) {
    addr = text.substr(0, colon);
    port = text.substr(colon + 1);
    has_port = true;
  }
  e.address = TRY_CTX(net::IpAddress::parse(addr), "'" + std::string(text) + "'");
  if (!has_port) return e;
  auto p = parse_uint<uint16_t>(port);
  if (!p || *p == 0) return fail(Errc::invalid_input, "'" + std::string(text) + "': bad port");
  e.port = *p;
  return e;
}

bool valid_hostname(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok || ++label > max_label) return false;
  }
  return label > 0;
}

std::string format_network_file(const NetworkFile& f) {
  std::string out = "# tiffin-dns network file (written by tiffin; see src/dns/network_file.hpp)\n";
  for (const auto& e : f.listen) out += "listen " + e.str() + "\n";
  for (const auto& e : f.upstreams) out += "upstream " + e.str() + "\n";
  if (!f.search.empty()) out += "search " + f.search + "\n";
  for (const auto& r : f.records) out += "record " + r.name + " " + r.address.str() + "\n";
  return out;
}

std::string network_of_file(std::string_view filename) {
  constexpr std::string_view suffix = ".conf";
  if (!filename.ends_with(suffix) || filename.size() == suffix.size() || filename.starts_with('.')) return {};
  std::string_view name = filename.substr(0, filename.size() - suffix.size());
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return {};
  }
  return std::string(name);
}

Result<NetworkFile> parse_network_file(std::string_view network, std::string_view text, std::string_view path) {
  NetworkFile f;
  f.network = network;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    auto w = words(line);
    if (w.empty()) continue;
    auto bad = [&](const std::string& what) {
      return fail(Errc::invalid_input, std::string(path) + ":" + std::to_string(line_no) + ": " + what);
    };
    auto want = [&](size_t n, const char* usage) -> Result<void> {
      if (w.size() != n) return bad(std::string("expected '") + usage + "'");
      return {};
    };
    auto endpoint = [&](std::string_view s) -> Result<Endpoint> {
      auto e = parse_endpoint(s);
      if (!e) return bad(e.error().message);
      return e;
    };
    if (w[0] == "listen") {
      TRY(want(2, "listen ADDRESS[:PORT]"));
      Endpoint e = TRY(endpoint(w[1]));
      if (e.address.is_unspecified()) return bad("listen needs a specific address, not " + e.address.str());
      f.listen.push_back(e);
    } else if (w[0] == "upstream") {
      TRY(want(2, "upstream ADDRESS[:PORT]"));
      Endpoint e = TRY(endpoint(w[1]));
      if (e.address.is_unspecified()) return bad("upstream " + e.address.str() + " is not an address");
      f.upstreams.push_back(e);
    } else if (w[0] == "search") {
      TRY(want(2, "search DOMAIN"));
      if (!f.search.empty()) return bad("a second search domain");
      if (!valid_hostname(w[1])) return bad("'" + printable(w[1]) + "' is not a domain name");
      f.search = lowercase(w[1]);
    } else if (w[0] == "record") {
      TRY(want(3, "record NAME ADDRESS"));
      if (!valid_hostname(w[1])) return bad("'" + printable(w[1]) + "' is not a host name");
      auto a = net::IpAddress::parse(w[2]);
      if (!a) return bad(a.error().message);
      f.records.push_back({lowercase(w[1]), *a});
    } else {
      return bad("unknown keyword '" + printable(w[0]) + "'");
    }
  }
  if (f.listen.empty()) return fail(Errc::invalid_input, std::string(path) + ": no listen address");
  return f;
}

}  // namespace tiffin::dns
