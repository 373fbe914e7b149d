// The rfs block format (docs/DESIGN.md §3.1), byte-compatible with ThreeFold rfs:
//   key    = BLAKE2b-256(plain)
//   sealed = AES-256-GCM(key, nonce = key[0..12], snappy_raw(plain)) || 16-byte tag
//   id     = BLAKE2b-256(sealed)
// snappy_raw is compressed as rfs's snap crate does (store/snappy_encoder.hpp): the ids are rfs's.
// Convergent encryption: equal plain text gives an equal block, so stores de-duplicate.
#pragma once

#include <span>

#include "common/error.hpp"
#include "common/hash.hpp"

namespace tiffin {

inline constexpr size_t kBlockSize = 512 * 1024;  // files are cut into chunks of this size
// The number of blocks a file of `size` bytes is cut into.
constexpr uint64_t block_count(uint64_t size) { return (size + kBlockSize - 1) / kBlockSize; }

struct EncodedBlock {
  Hash id;
  Hash key;
  Bytes sealed;
};

EncodedBlock encode_block(std::span<const uint8_t> plain);

// Verifies that `sealed` hashes to `id` and that its GCM tag is valid under `key`, then
// decompresses. Wrong bytes from a store are an Errc::corrupt error, never data. One hash per
// block: the id pins the sealed bytes the flist's author made with that key, and GCM
// authenticates the decryption, so no store can change what a flist reads. (GCM is not
// key-committing: an author could make one sealed block that opens under two keys, but only in
// flists of their own, whose content they choose anyway; the node cache still checks hits
// against the key, and a conformance check can too: key_matches.) The rvalue form decrypts in
// place, without a copy.
Result<Bytes> decode_block(const Hash& id, const Hash& key, std::span<const uint8_t> sealed);
Result<Bytes> decode_block(const Hash& id, const Hash& key, Bytes&& sealed);
// Whether `plain` is the content `key` names (rfs: key = BLAKE2b-256(plain)).
inline bool key_matches(const Hash& key, std::span<const uint8_t> plain) { return blake2b256(plain) == key; }

}  // namespace tiffin
