#include "net/etc_files.hpp"

#include <sstream>

namespace tiffin::net {

std::string hosts_file(const std::string& hostname, const std::vector<std::string>& own_addresses, const std::vector<HostsEntry>& extra) {
  std::string out = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";
  if (own_addresses.empty()) out += "127.0.1.1\t" + hostname + "\n";
  for (const auto& a : own_addresses) out += a + "\t" + hostname + "\n";
  for (const auto& e : extra) {
    out += e.address;
    for (size_t i = 0; i < e.names.size(); ++i) out += (i ? " " : "\t") + e.names[i];
    out += "\n";
  }
  return out;
}

std::string format_resolv_conf(const ResolvConf& r) {
  std::string out;
  for (const auto& ns : r.nameservers) out += "nameserver " + ns + "\n";
  auto line = [&](const char* key, const std::vector<std::string>& words) {
    if (words.empty()) return;
    out += key;
    for (const auto& w : words) out += " " + w;
    out += "\n";
  };
  line("search", r.search);
  line("options", r.options);
  return out;
}

ResolvConf parse_resolv_conf(std::string_view text) {
  ResolvConf r;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string key, word;
    words >> key;
    if (key == "nameserver") {
      if (words >> word) r.nameservers.push_back(word);
    } else if (key == "search" || key == "domain") {
      r.search.clear();  // the last search/domain line wins, as in glibc
      while (words >> word) r.search.push_back(word);
    } else if (key == "options") {
      while (words >> word) r.options.push_back(word);
    }
  }
  return r;
}

}  // namespace tiffin::net
