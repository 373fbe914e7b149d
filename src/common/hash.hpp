// BLAKE2b-256, rfs's hash for block ids and keys (libsodium). Hex and the Hash type are in hex.hpp.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "common/hex.hpp"

namespace tiffin {

// BLAKE2b with a 32-byte output (libsodium crypto_generichash), as rfs uses for ids and keys.
Hash blake2b256(std::span<const uint8_t> data);

// Incremental BLAKE2b-256 for digests over many pieces.
class Blake2b {
 public:
  Blake2b();
  void update(std::span<const uint8_t> data);
  void update(std::string_view s) { update({reinterpret_cast<const uint8_t*>(s.data()), s.size()}); }
  // Length-prefixed so that concatenations cannot collide ("ab"+"c" vs "a"+"bc").
  void field(std::string_view s);
  void field(uint64_t v);
  Hash finish();

 private:
  alignas(64) unsigned char state_[384];
};

}  // namespace tiffin
