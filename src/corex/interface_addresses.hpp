// Where coreX listens: the addresses of one interface (Zero-OS passes --interface eth0), IPv6
// ones only when asked (--ipv6), never the wildcard address.
#pragma once

#include <boost/asio/ip/address.hpp>

#include <string>
#include <vector>

#include "common/error.hpp"

namespace tiffin::corex {

// IPv4 addresses of `name`, then (with ipv6) its IPv6 ones, link-local ones with their scope.
// An interface that does not exist is not_found; one without addresses gives an empty list.
Result<std::vector<boost::asio::ip::address>> interface_addresses(const std::string& name, bool ipv6);

}  // namespace tiffin::corex
