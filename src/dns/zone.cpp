#include "dns/zone.hpp"

#include <algorithm>

#include "common/text.hpp"
#include "dns/dns_message.hpp"

namespace tiffin::dns {

Zone::Zone(const NetworkFile& file) : search_(file.search) {
  for (const auto& r : file.records) {
    auto& addrs = by_name_[r.name];
    if (std::find(addrs.begin(), addrs.end(), r.address) != addrs.end()) continue;
    addrs.push_back(r.address);
    by_address_[r.address].push_back(search_.empty() ? r.name : r.name + "." + search_);
  }
}

const std::vector<net::IpAddress>* Zone::find(std::string_view name) const {
  std::string key = lowercase(name);
  if (auto it = by_name_.find(key); it != by_name_.end()) return &it->second;
  if (!search_.empty() && key.size() > search_.size() + 1 && key.ends_with(search_) && key[key.size() - search_.size() - 1] == '.') {
    key.resize(key.size() - search_.size() - 1);
    if (auto it = by_name_.find(key); it != by_name_.end()) return &it->second;
  }
  return nullptr;
}

bool Zone::owns(std::string_view name) const {
  if (search_.empty()) return false;
  std::string key = lowercase(name);
  return key == search_ || (key.size() > search_.size() && key.ends_with(search_) && key[key.size() - search_.size() - 1] == '.');
}

std::vector<std::string> Zone::names_of(const net::IpAddress& address) const {
  auto it = by_address_.find(address);
  return it == by_address_.end() ? std::vector<std::string>{} : it->second;
}

std::optional<net::IpAddress> parse_reverse_name(std::string_view name) {
  std::string n = lowercase(name);
  auto labels = split(n, '.');
  if (n.ends_with(".in-addr.arpa") && labels.size() == 6) {
    uint8_t b[4];
    for (int i = 0; i < 4; ++i) {
      const std::string& l = labels[3 - i];
      auto v = parse_uint<uint8_t>(l);
      if (!v || (l.size() > 1 && l[0] == '0')) return std::nullopt;
      b[i] = *v;
    }
    return net::IpAddress::from_bytes(net::IpAddress::Family::v4, b);
  }
  if (n.ends_with(".ip6.arpa") && labels.size() == 34) {
    uint8_t b[16] = {};
    for (int i = 0; i < 32; ++i) {
      const std::string& l = labels[31 - i];
      auto v = l.size() == 1 ? parse_uint<uint8_t>(l, 16) : std::nullopt;
      if (!v) return std::nullopt;
      b[i / 2] |= static_cast<uint8_t>(i % 2 == 0 ? *v << 4 : *v);
    }
    return net::IpAddress::from_bytes(net::IpAddress::Family::v6, b);
  }
  return std::nullopt;
}

}  // namespace tiffin::dns
