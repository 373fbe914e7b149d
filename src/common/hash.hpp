// 32-byte digests (BLAKE2b-256 block ids and keys) and their hex form.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tiffin {

using Hash = std::array<uint8_t, 32>;
using Bytes = std::vector<uint8_t>;

std::string to_hex(std::span<const uint8_t> bytes);
// Parses lower- or upper-case hex; nullopt on odd length or a non-hex character.
std::optional<Bytes> from_hex(std::string_view hex);
std::optional<Hash> hash_from_hex(std::string_view hex);

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
