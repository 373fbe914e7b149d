#include "common/hash.hpp"

#include <sodium.h>

#include <cstring>
#include <stdexcept>

namespace tiffin {
namespace {
struct SodiumInit {
  SodiumInit() {
    if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  }
};
const SodiumInit sodium_init_once;
static_assert(sizeof(crypto_generichash_state) <= 384);

}  // namespace

Hash blake2b256(std::span<const uint8_t> data) {
  Hash out;
  crypto_generichash(out.data(), out.size(), data.data(), data.size(), nullptr, 0);
  return out;
}

Blake2b::Blake2b() { crypto_generichash_init(reinterpret_cast<crypto_generichash_state*>(state_), nullptr, 0, 32); }
void Blake2b::update(std::span<const uint8_t> data) {
  crypto_generichash_update(reinterpret_cast<crypto_generichash_state*>(state_), data.data(), data.size());
}
void Blake2b::field(uint64_t v) {
  uint8_t le[8];
  for (int i = 0; i < 8; ++i) le[i] = static_cast<uint8_t>(v >> (8 * i));
  update(le);
}
void Blake2b::field(std::string_view s) {
  field(static_cast<uint64_t>(s.size()));
  update(s);
}
Hash Blake2b::finish() {
  Hash out;
  crypto_generichash_final(reinterpret_cast<crypto_generichash_state*>(state_), out.data(), out.size());
  return out;
}

}  // namespace tiffin
