// The network file: everything tiffin-dns knows about one network, written by the engine as
// `<dns-dir>/<network>.conf` (temp file + rename, so the resolver reads a whole file or the old
// one). Line-based; `#` starts a comment; blank lines are ignored:
//
//   listen 10.89.0.1            the network's gateway (port 53), or ADDR:PORT / [V6]:PORT
//   upstream 127.0.0.1:5353     where other names go, in order (port 53 when not given)
//   search tiffin               optional: names may be qualified with this domain (web.tiffin)
//   record web 10.89.0.2        a name's address (v4 or v6); repeated lines add addresses
//
// A file is taken whole or not at all: the first bad line refuses it with "<path>:<line>: what"
// and the resolver keeps serving the version it loaded before (if any). A half-applied file
// could lose a record, an upstream or the isolation between networks without anyone noticing;
// refusing it keeps the last good state and says which line to fix.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "net/address.hpp"

namespace tiffin::dns {

struct Endpoint {
  net::IpAddress address;
  uint16_t port = 53;
  std::string str() const;  // "10.89.0.1:53", "[fd00::1]:53"
  auto operator<=>(const Endpoint&) const = default;
};

// "ADDR", "ADDR:PORT", "[V6]" or "[V6]:PORT" (a bare v6 address has no port).
Result<Endpoint> parse_endpoint(std::string_view text, uint16_t default_port = 53);

struct NameRecord {
  std::string name;  // lowercase
  net::IpAddress address;
  bool operator==(const NameRecord&) const = default;
};

struct NetworkFile {
  std::string network;  // the file's name without ".conf" (not in the file itself)
  std::vector<Endpoint> listen;
  std::vector<Endpoint> upstreams;
  std::string search;  // lowercase; empty when none
  std::vector<NameRecord> records;
  bool operator==(const NetworkFile&) const = default;
};

// `text` is the file's content, `path` only names it in errors.
Result<NetworkFile> parse_network_file(std::string_view network, std::string_view text, std::string_view path);

// The file's text, which parse_network_file reads back as `f` (what the engine writes).
std::string format_network_file(const NetworkFile& f);

// The network a directory entry describes: "<network>.conf" with a name of letters, digits,
// '-', '_' and '.' not starting with '.', so temp files (".tmp.…") and the resolver's own files
// are never read as networks. Empty when the entry is not a network file.
std::string network_of_file(std::string_view filename);

// Whether `name` may be a record name or a search domain: dotted labels of letters, digits,
// '-' and '_', each 1..63 bytes, at most 253 in all.
bool valid_hostname(std::string_view name);

}  // namespace tiffin::dns
