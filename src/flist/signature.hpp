// Publisher signatures: ed25519 over a canonical digest of an flist's tree, blocks, tags,
// routes and image config. The digest depends only on content (paths, not inode numbers), so
// an flist re-saved by tiffin keeps its signatures valid; changing a tag or a route does not.
#pragma once

#include <string>
#include <vector>

#include "flist/tree.hpp"

namespace tiffin {

Hash flist_digest(const Tree& tree);

struct SigningKey {
  Bytes secret;      // 64 bytes (libsodium's ed25519 secret key: seed ‖ public key)
  Bytes public_key;  // 32 bytes
};

// Writes <path> (secret, hex, mode 0600) and <path>.pub (public, hex). Refuses to overwrite.
Result<SigningKey> generate_key(const std::string& path);
Result<SigningKey> load_secret_key(const std::string& path);
// A file holding a hex public key, or the hex itself.
Result<Bytes> load_public_key(const std::string& path_or_hex);

// The signature of `key` over the tree.
Signature signature_for(const Tree& tree, const SigningKey& key);
// Adds (or replaces) the signature of `key` on the tree.
void sign(Tree& tree, const SigningKey& key);

struct SignatureCheck {
  Bytes public_key;
  bool valid;
};
std::vector<SignatureCheck> verify(const Tree& tree);

}  // namespace tiffin
