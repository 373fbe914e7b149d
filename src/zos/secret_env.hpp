// Secret environment values of a Zero-OS container: encrypted by the user to the node's key so
// that only that node reads them (the explorer and anyone on the way see ciphertext). Zero-OS's
// two versions, with its ed25519 keys converted to X25519 (crypto_sign_ed25519_{pk,sk}_to_curve25519):
//  - version 0: hex(NaCl sealed box to the node's key): anonymous, anyone may have sent it;
//  - version 1: hex(24-byte nonce ‖ crypto_secretbox_easy) under key = BLAKE2b-256 (unkeyed) of
//    X25519(node secret, user public) (both sides compute the same shared secret), which binds
//    the value to the user who made it.
// Decryption failures say so without the value; plaintext is never logged, and intermediate
// keys are wiped (sodium_memzero).
#pragma once

#include <string>
#include <string_view>

#include "common/error.hpp"
#include "zos/node_identity.hpp"

namespace tiffin::zos {

// Errc::invalid_input when the value is not hex or too short to hold a box; Errc::denied when it
// does not open with this node's key ("secret_environment: cannot be decrypted with this node's
// key (wrong node or tampered value)").
Result<std::string> decrypt_secret_v0(const NodeIdentity& node, std::string_view hex);
// As v0; the user's ed25519 public key (64 hex characters) is the workload owner's.
Result<std::string> decrypt_secret_v1(const NodeIdentity& node, std::string_view user_public_hex, std::string_view hex);

// The user's side (for `tiffin deploy`, which encrypts plain values for the target node):
// Errc::invalid_input when the node's public key is not 64 hex characters of a usable key.
Result<std::string> encrypt_secret_v0(std::string_view node_public_hex, std::string_view plain);
Result<std::string> encrypt_secret_v1(const NodeIdentity& user, std::string_view node_public_hex, std::string_view plain);

}  // namespace tiffin::zos
