// One network's names as the resolver looks them up: forward (name → addresses, with or without
// the search domain, case-insensitive) and reverse (address → names, for PTR queries).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dns/network_file.hpp"

namespace tiffin::dns {

class Zone {
 public:
  Zone() = default;
  explicit Zone(const NetworkFile& file);

  // The addresses of `name` (any case; "web" or "web.<search>"), in file order; nullptr when the
  // network has no such name.
  const std::vector<net::IpAddress>* find(std::string_view name) const;
  // Whether `name` is the search domain or under it: such names are the network's own and are
  // never forwarded (a missing one is NXDOMAIN here, not a question to the upstreams).
  bool owns(std::string_view name) const;
  // The names holding `address` (qualified with the search domain when there is one).
  std::vector<std::string> names_of(const net::IpAddress& address) const;

 private:
  std::string search_;
  std::map<std::string, std::vector<net::IpAddress>, std::less<>> by_name_;
  std::map<net::IpAddress, std::vector<std::string>> by_address_;
};

// A network as the resolver serves it: its file and the names looked up from it.
struct Network {
  NetworkFile file;
  Zone zone;
};

// The address a reverse name stands for: "4.3.2.10.in-addr.arpa" → 10.2.3.4, the 32-nibble
// ip6.arpa form → a v6 address (any case); nullopt for anything else (partial names too).
std::optional<net::IpAddress> parse_reverse_name(std::string_view name);

}  // namespace tiffin::dns
