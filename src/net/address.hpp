// IP addresses and prefixes (CIDR) as the network code and the user see them: parsed strictly
// ("10.0.0.1/24" is a host address with its prefix; a network's subnet must have no host bits),
// printed in the kernel's canonical form, and compared without string games. IPv4 and IPv6.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace tiffin::net {

class IpAddress {
 public:
  enum class Family : uint8_t { v4, v6 };

  IpAddress() = default;
  // "10.1.2.3" or "fd00::1" (no brackets, no zone, no prefix); Errc::invalid_input otherwise.
  static Result<IpAddress> parse(std::string_view text);
  static IpAddress v4(uint32_t host_order);
  static IpAddress from_bytes(Family f, const uint8_t* bytes);

  Family family() const { return family_; }
  bool is_v4() const { return family_ == Family::v4; }
  // 4 or 16 bytes in network order.
  const uint8_t* bytes() const { return bytes_.data(); }
  size_t size() const { return is_v4() ? 4 : 16; }
  // The IPv4 address as a number (host order); only for v4.
  uint32_t v4_value() const;
  bool is_unspecified() const;  // 0.0.0.0 or ::
  bool is_loopback() const;     // 127/8 or ::1

  std::string str() const;
  // The address `n` after this one (wrapping within the family); for walking a range.
  IpAddress plus(uint64_t n) const;

  auto operator<=>(const IpAddress&) const = default;

 private:
  Family family_ = Family::v4;
  std::array<uint8_t, 16> bytes_{};
};

class Cidr {
 public:
  Cidr() = default;
  // "10.88.0.0/16"; a bare address means /32 or /128. With `strict` host bits must be zero
  // (a subnet); without, "10.88.0.5/16" is kept as written (an interface address).
  static Result<Cidr> parse(std::string_view text, bool strict);
  Cidr(IpAddress a, unsigned prefix);

  const IpAddress& address() const { return address_; }
  unsigned prefix() const { return prefix_; }
  IpAddress::Family family() const { return address_.family(); }
  // The network address (host bits cleared) and the last address of the prefix.
  IpAddress network() const;
  IpAddress last() const;
  // How many addresses the prefix holds, saturated at 2^63 (IPv6 /64 and wider).
  uint64_t size() const;

  bool contains(const IpAddress& a) const;
  bool contains(const Cidr& other) const;
  bool overlaps(const Cidr& other) const;

  std::string str() const;  // "10.88.0.0/16"
  auto operator<=>(const Cidr&) const = default;

 private:
  IpAddress address_;
  unsigned prefix_ = 0;
};

// A MAC address "02:42:ac:11:00:02"; Errc::invalid_input unless six hex pairs, unicast.
Result<std::array<uint8_t, 6>> parse_mac(std::string_view text);
std::string format_mac(const std::array<uint8_t, 6>& mac);

}  // namespace tiffin::net
