// Changing the trust policy: keys added and removed, require-signed switched. Apart from
// trust_policy.cpp because a key is checked with libsodium, which the lean tiffin (that only
// reads the policy) does not load.
#include <sodium.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "common/fd.hpp"
#include "common/hex.hpp"
#include "engine/trust_policy.hpp"

namespace tiffin::engine {

using json = nlohmann::json;

namespace {

// 32 bytes in hex, trimmed and in lower case; no check of what they are.
Result<Bytes> key_bytes(const std::string& key) {
  std::string text = key;
  auto space = [](unsigned char c) { return std::isspace(c) != 0; };
  while (!text.empty() && space(text.back())) text.pop_back();
  text.erase(text.begin(), std::find_if_not(text.begin(), text.end(), space));
  auto bytes = from_hex(text);
  if (!bytes || bytes->size() != crypto_sign_PUBLICKEYBYTES)
    return fail(Errc::invalid_input,
        "'" + text.substr(0, 80) +
            "' is not an ed25519 public key: expected 64 hex characters, as `tiffin flist keygen` writes in <key>.pub");
  return *bytes;
}

}  // namespace

Result<std::string> normalize_publisher_key(const std::string& key) {
  Bytes bytes = TRY(key_bytes(key));
  if (crypto_core_ed25519_is_valid_point(bytes.data()) != 1)
    return fail(Errc::invalid_input, to_hex(bytes) + " is not a valid ed25519 public key (not a point of the curve's main subgroup)");
  return to_hex(bytes);
}

Result<void> TrustPolicy::modify(const std::function<Result<void>(TrustPolicy&)>& change) {
  // Before the engine's first use, --root may not exist yet (Engine::open makes it 0700 too).
  std::error_code ec;
  if (std::filesystem::create_directories(root_, ec)) ::chmod(root_.c_str(), 0700);
  if (ec) return fail(Errc::io, "making " + root_ + ": " + ec.message());
  auto lock = TRY(lock_file(root_ + "/trust.lock"));
  TrustPolicy now = TRY(load(root_));
  TRY(change(now));
  json doc = {{"require_signed", now.require_signed_}, {"keys", now.keys_}};
  TRY_CTX(write_file_atomic(file_for(root_), doc.dump(2) + "\n", 0644), "writing the trust policy");
  *this = std::move(now);
  return {};
}

Result<std::string> TrustPolicy::add_key(const std::string& key) {
  std::string hex = TRY(normalize_publisher_key(key));
  TRY(modify([&](TrustPolicy& p) -> Result<void> {
    if (!p.trusts(hex)) p.keys_.insert(std::upper_bound(p.keys_.begin(), p.keys_.end(), hex), hex);
    return {};
  }));
  return hex;
}

Result<void> TrustPolicy::remove_key(const std::string& key) {
  std::string hex = to_hex(TRY(key_bytes(key)));  // what a hand-edited file holds may go too
  return modify([&](TrustPolicy& p) -> Result<void> {
    auto it = std::lower_bound(p.keys_.begin(), p.keys_.end(), hex);
    if (it == p.keys_.end() || *it != hex) return fail(Errc::not_found, "key " + hex + " is not trusted on this node");
    p.keys_.erase(it);
    return {};
  });
}

Result<void> TrustPolicy::set_require_signed(bool on) {
  return modify([&](TrustPolicy& p) -> Result<void> {
    p.require_signed_ = on;
    return {};
  });
}

}  // namespace tiffin::engine
