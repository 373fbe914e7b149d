// A Zero-OS node's identity: an ed25519 key pair made from a 32-byte seed. Zero-OS names a node
// by the base58 (bitcoin alphabet) of its public key, signs what it reports about workloads with
// it, and users encrypt secret environment values to it (secret_env.hpp). The seed lives in one
// file, hex, mode 0600, made on first use; nothing else of it is ever written.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace tiffin::zos {

struct NodeIdentity {
  std::array<uint8_t, 32> seed{};
  std::array<uint8_t, 32> public_key{};
  std::array<uint8_t, 64> secret_key{};  // libsodium's form: seed ‖ public key

  std::string public_hex() const;  // 64 hex characters
  // base58 of the public key: how Zero-OS and its explorer name nodes.
  std::string node_id() const;
  // hex(ed25519 detached signature of `message`): 128 hex characters.
  std::string sign_hex(std::string_view message) const;
};

// 64 hex characters (either case); anything else is Errc::invalid_input saying what was wrong.
Result<NodeIdentity> identity_from_seed_hex(std::string_view hex);
Result<NodeIdentity> identity_from_seed(std::span<const uint8_t, 32> seed);

// The node's key: <path> holds the seed as hex + "\n", mode 0600. Made on first use from a random
// seed, written to a temporary file and linked into place (O_EXCL semantics: the name never shows a
// half-written key); missing parent directories are made 0700. A race with another process making
// it is fine: the loser reads the winner's. A key open to group or others (any of mode 077) is refused
// (Errc::denied), one that is not 64 hex characters is Errc::corrupt; both name the path.
Result<NodeIdentity> load_or_create_identity(const std::string& path);

// Checks hex(ed25519 signature) of `message` by the public key `public_hex`. Errc::denied
// "bad signature" when it does not match; Errc::invalid_input when a value is not hex of the
// right length (64 and 128 characters).
Result<void> verify_hex_signature(std::string_view public_hex, std::string_view message, std::string_view signature_hex);

// Base58 with the bitcoin alphabet: each leading zero byte is a '1'.
std::string base58_encode(std::span<const uint8_t> bytes);

}  // namespace tiffin::zos
