// Standard base64 (RFC 4648 §4, with padding): registry credentials' "auth" values and HTTP
// Basic authorization (image/credentials, coreX). Plain C++, so tiffin-corex needs no OpenSSL.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tiffin {

std::string base64_encode(std::string_view in);
// nullopt when malformed: a length not a multiple of 4, a byte outside the alphabet, padding
// anywhere but at the end.
std::optional<std::string> base64_decode(std::string_view in);

}  // namespace tiffin
