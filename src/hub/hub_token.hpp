// Write tokens of the hub: "<user>.<expiry unix s>.<hex HMAC-SHA256>", signed with the hub's
// secret key. A token lets its user write (blocks, flists, links, deletes) in its own namespace
// until it expires; reads need none. Verification is constant-time and checks the expiry.
#pragma once

#include <array>
#include <chrono>
#include <string>

#include "common/error.hpp"

namespace tiffin::hub {

using HubKey = std::array<uint8_t, 32>;

// Reads the key (64 hex characters) from `path`; with `create`, makes a new random one first
// when the file does not exist (mode 0600, written atomically).
Result<HubKey> load_hub_key(const std::string& path, bool create);

std::string issue_token(const HubKey& key, const std::string& user, std::chrono::seconds ttl);

// The token's user, or Errc::invalid_input (malformed, bad signature, expired).
Result<std::string> verify_token(const HubKey& key, const std::string& token);

}  // namespace tiffin::hub
