// Parsing of store URLs (docs/DESIGN.md §3.1) and of rfs-style store specs "[xx-xx=]url".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace tiffin {

struct StoreUrl {
  std::string scheme;  // dir, http, https, zdb, s3
  std::string user, password;
  std::string host;
  uint16_t port = 0;  // 0: the scheme's default
  std::string path;   // for dir://: the directory; otherwise what follows host[:port], with its leading '/'
  std::string original;

  // The URL with the password removed, as it is written into an flist's routes.
  std::string public_url() const;
};

Result<StoreUrl> parse_store_url(std::string_view url);

// "00-7f=dir:///x" → range and URL; a bare URL covers 00-ff.
struct StoreSpec {
  uint8_t start = 0x00, end = 0xff;
  std::string url;
};
Result<StoreSpec> parse_store_spec(std::string_view spec);

}  // namespace tiffin
