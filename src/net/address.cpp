#include "net/address.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "common/text.hpp"

namespace tiffin::net {
namespace {

// Clears the bits of `bytes` after the first `prefix` (sets them, with `set`).
void fill_host_bits(uint8_t* bytes, size_t size, unsigned prefix, bool set) {
  for (size_t i = 0; i < size; ++i) {
    unsigned first_bit = static_cast<unsigned>(i) * 8;
    if (first_bit + 8 <= prefix) continue;
    uint8_t keep = first_bit >= prefix ? 0 : static_cast<uint8_t>(0xff << (8 - (prefix - first_bit)));
    bytes[i] = set ? static_cast<uint8_t>(bytes[i] | ~keep) : static_cast<uint8_t>(bytes[i] & keep);
  }
}

}  // namespace

Result<IpAddress> IpAddress::parse(std::string_view text) {
  std::string s(text);
  IpAddress a;
  if (s.find(':') == std::string::npos) {
    a.family_ = Family::v4;
    if (::inet_pton(AF_INET, s.c_str(), a.bytes_.data()) == 1) return a;
  } else {
    a.family_ = Family::v6;
    if (::inet_pton(AF_INET6, s.c_str(), a.bytes_.data()) == 1) return a;
  }
  return fail(Errc::invalid_input, "'" + printable(text) + "' is not an IP address");
}

IpAddress IpAddress::v4(uint32_t host_order) {
  IpAddress a;
  uint32_t be = htonl(host_order);
  std::memcpy(a.bytes_.data(), &be, 4);
  return a;
}

IpAddress IpAddress::from_bytes(Family f, const uint8_t* bytes) {
  IpAddress a;
  a.family_ = f;
  std::memcpy(a.bytes_.data(), bytes, f == Family::v4 ? 4 : 16);
  return a;
}

uint32_t IpAddress::v4_value() const {
  uint32_t be;
  std::memcpy(&be, bytes_.data(), 4);
  return ntohl(be);
}

bool IpAddress::is_unspecified() const {
  return std::all_of(bytes_.begin(), bytes_.begin() + static_cast<long>(size()), [](uint8_t b) { return b == 0; });
}

bool IpAddress::is_loopback() const {
  if (is_v4()) return bytes_[0] == 127;
  return std::all_of(bytes_.begin(), bytes_.begin() + 15, [](uint8_t b) { return b == 0; }) && bytes_[15] == 1;
}

std::string IpAddress::str() const {
  char buf[INET6_ADDRSTRLEN];
  ::inet_ntop(is_v4() ? AF_INET : AF_INET6, bytes_.data(), buf, sizeof buf);
  return buf;
}

IpAddress IpAddress::plus(uint64_t n) const {
  IpAddress r = *this;
  // Add n to the big-endian number, from the last byte up.
  unsigned carry = 0;
  for (size_t i = size(); i-- > 0;) {
    unsigned sum = r.bytes_[i] + static_cast<unsigned>(n & 0xff) + carry;
    r.bytes_[i] = static_cast<uint8_t>(sum);
    carry = sum >> 8;
    n >>= 8;
    if (n == 0 && carry == 0) break;
  }
  return r;
}

Cidr::Cidr(IpAddress a, unsigned prefix) : address_(a), prefix_(prefix) {}

Result<Cidr> Cidr::parse(std::string_view text, bool strict) {
  auto slash = text.find('/');
  IpAddress a = TRY(IpAddress::parse(text.substr(0, slash)));
  unsigned max = a.is_v4() ? 32 : 128;
  unsigned prefix = max;
  if (slash != std::string_view::npos) {
    auto p = parse_uint<unsigned>(text.substr(slash + 1));
    if (!p || *p > max)
      return fail(Errc::invalid_input, "'" + printable(text) + "' has no valid prefix length (0–" + std::to_string(max) + ")");
    prefix = *p;
  }
  Cidr c(a, prefix);
  if (strict && c.network() != a)
    return fail(Errc::invalid_input, "'" + printable(text) + "' has host bits set; the subnet is " + Cidr(c.network(), prefix).str());
  return c;
}

IpAddress Cidr::network() const {
  IpAddress n = address_;
  uint8_t b[16];
  std::memcpy(b, n.bytes(), n.size());
  fill_host_bits(b, n.size(), prefix_, false);
  return IpAddress::from_bytes(n.family(), b);
}

IpAddress Cidr::last() const {
  uint8_t b[16];
  std::memcpy(b, address_.bytes(), address_.size());
  fill_host_bits(b, address_.size(), prefix_, true);
  return IpAddress::from_bytes(address_.family(), b);
}

uint64_t Cidr::size() const {
  unsigned host_bits = (address_.is_v4() ? 32 : 128) - prefix_;
  return host_bits >= 63 ? (uint64_t{1} << 63) : (uint64_t{1} << host_bits);
}

bool Cidr::contains(const IpAddress& a) const {
  if (a.family() != family()) return false;
  return Cidr(a, prefix_).network() == network();
}

bool Cidr::contains(const Cidr& other) const { return other.prefix_ >= prefix_ && contains(other.address_); }

bool Cidr::overlaps(const Cidr& other) const { return contains(other) || other.contains(*this); }

std::string Cidr::str() const { return address_.str() + "/" + std::to_string(prefix_); }

Result<std::array<uint8_t, 6>> parse_mac(std::string_view text) {
  std::array<uint8_t, 6> mac{};
  auto parts = split(text, ':');
  bool ok = parts.size() == 6;
  for (size_t i = 0; ok && i < 6; ++i) {
    auto v = parts[i].size() == 2 ? parse_uint<uint8_t>(parts[i], 16) : std::nullopt;
    ok = v.has_value();
    if (ok) mac[i] = *v;
  }
  if (!ok) return fail(Errc::invalid_input, "'" + printable(text) + "' is not a MAC address (six hex pairs: 02:42:ac:11:00:02)");
  if (mac[0] & 1) return fail(Errc::invalid_input, "'" + printable(text) + "' is a multicast MAC address");
  return mac;
}

std::string format_mac(const std::array<uint8_t, 6>& mac) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < 6; ++i) {
    if (i) s += ':';
    s += hex[mac[i] >> 4];
    s += hex[mac[i] & 15];
  }
  return s;
}

}  // namespace tiffin::net
