#include "hub/hub_token.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include "common/fd.hpp"
#include "common/hash.hpp"
#include "common/text.hpp"
#include "hub/flist_ref.hpp"

namespace tiffin::hub {
namespace {

using Mac = std::array<uint8_t, crypto_auth_hmacsha256_BYTES>;

Mac sign(const HubKey& key, const std::string& user, int64_t expiry) {
  std::string msg = "tiffin-hub-token-v1\n" + user + "\n" + std::to_string(expiry);
  Mac mac;
  crypto_auth_hmacsha256(mac.data(), reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), key.data());
  return mac;
}

int64_t now_unix() { return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count(); }

}  // namespace

Result<HubKey> load_hub_key(const std::string& path, bool create) {
  if (create && ::access(path.c_str(), F_OK) != 0) {
    if (sodium_init() < 0) return fail(Errc::internal, "sodium_init failed");
    HubKey key;
    randombytes_buf(key.data(), key.size());
    std::string hex = to_hex(key) + "\n";
    TRY_CTX(write_file_atomic(path, {reinterpret_cast<const uint8_t*>(hex.data()), hex.size()}, 0600), "writing hub key " + path);
    sodium_memzero(hex.data(), hex.size());
  }
  Bytes text = TRY_CTX(read_file(path, 4096), "reading hub key " + path);
  std::string_view s(reinterpret_cast<const char*>(text.data()), text.size());
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  auto key = hash_from_hex(s);
  sodium_memzero(text.data(), text.size());
  if (!key) return fail(Errc::invalid_input, path + ": not a hub key (64 hex characters)");
  return *key;
}

std::string issue_token(const HubKey& key, const std::string& user, std::chrono::seconds ttl) {
  int64_t expiry = now_unix() + ttl.count();
  return user + "." + std::to_string(expiry) + "." + to_hex(sign(key, user, expiry));
}

Result<std::string> verify_token(const HubKey& key, const std::string& token) {
  auto bad = [](const char* why) { return fail(Errc::invalid_input, std::string("invalid token: ") + why); };
  size_t mac_dot = token.rfind('.');
  if (mac_dot == std::string::npos || mac_dot == 0) return bad("malformed");
  size_t exp_dot = token.rfind('.', mac_dot - 1);
  if (exp_dot == std::string::npos) return bad("malformed");
  std::string user = token.substr(0, exp_dot);
  std::string exp_text = token.substr(exp_dot + 1, mac_dot - exp_dot - 1);
  auto mac = from_hex(std::string_view(token).substr(mac_dot + 1));
  auto expiry = parse_int<int64_t>(exp_text);
  if (!valid_name(user) || !mac || mac->size() != crypto_auth_hmacsha256_BYTES || !expiry || *expiry < 0) return bad("malformed");
  Mac want = sign(key, user, *expiry);
  if (sodium_memcmp(want.data(), mac->data(), want.size()) != 0) return bad("bad signature");
  if (*expiry < now_unix()) return bad("expired");
  return user;
}

}  // namespace tiffin::hub
