#include "zos/secret_env.hpp"

#include <array>
#include <vector>

#include "common/hex.hpp"
#include "zos/sodium_ready.hpp"

namespace tiffin::zos {
namespace {

using Key = std::array<uint8_t, 32>;

constexpr std::string_view kWhere = "secret_environment: ";

std::unexpected<Error> cannot_decrypt() {
  return fail(Errc::denied, std::string(kWhere) + "cannot be decrypted with this node's key (wrong node or tampered value)");
}

// A key that is wiped when it goes out of scope.
struct SecretKey {
  Key bytes{};
  ~SecretKey() { sodium_memzero(bytes.data(), bytes.size()); }
  uint8_t* data() { return bytes.data(); }
};

Result<std::vector<uint8_t>> ciphertext(std::string_view hex, size_t min_size) {
  auto bytes = from_hex(hex);
  if (!bytes) return fail(Errc::invalid_input, std::string(kWhere) + "the value is not hex");
  if (bytes->size() < min_size)
    return fail(Errc::invalid_input, std::string(kWhere) + "the value is too short to be encrypted (" + std::to_string(bytes->size()) +
                                         " bytes, at least " + std::to_string(min_size) + ")");
  return *bytes;
}

// An ed25519 public key given as hex, as X25519.
Result<Key> curve_public(std::string_view hex, const char* whose) {
  auto pk = from_hex(hex);
  Key out;
  if (!pk || pk->size() != crypto_sign_PUBLICKEYBYTES)
    return fail(Errc::invalid_input, std::string(kWhere) + whose + " public key: expected 64 hex characters");
  if (crypto_sign_ed25519_pk_to_curve25519(out.data(), pk->data()) != 0)
    return fail(Errc::invalid_input, std::string(kWhere) + whose + " public key is not a usable ed25519 key");
  return out;
}

// v1's key: BLAKE2b-256 of X25519(our secret, their public), both converted from ed25519.
Result<void> shared_key(const NodeIdentity& ours, const Key& their_curve_public, SecretKey& key) {
  SecretKey our_curve, shared;
  if (crypto_sign_ed25519_sk_to_curve25519(our_curve.data(), ours.secret_key.data()) != 0)
    return fail(Errc::internal, "converting an ed25519 secret key to X25519 failed");
  // Fails for a low-order public point, whose shared secret would be all zeros.
  if (crypto_scalarmult(shared.data(), our_curve.data(), their_curve_public.data()) != 0)
    return fail(Errc::invalid_input, std::string(kWhere) + "the other side's public key is not usable for key agreement");
  crypto_generichash(key.data(), key.bytes.size(), shared.data(), shared.bytes.size(), nullptr, 0);
  return {};
}

// The first `size` bytes of `buf` (one longer, so that an empty value still has a buffer).
// `s` as bytes; never a null pointer, even for an empty view.
const uint8_t* bytes_of(std::string_view s) { return reinterpret_cast<const uint8_t*>(s.empty() ? "" : s.data()); }

std::string take_plain(std::vector<uint8_t>& buf, size_t size) {
  std::string out(buf.begin(), buf.begin() + static_cast<long>(size));
  sodium_memzero(buf.data(), buf.size());
  return out;
}

}  // namespace

Result<std::string> decrypt_secret_v0(const NodeIdentity& node, std::string_view hex) {
  TRY(sodium_ready());
  auto sealed = TRY(ciphertext(hex, crypto_box_SEALBYTES));
  Key pk;
  SecretKey sk;
  if (crypto_sign_ed25519_pk_to_curve25519(pk.data(), node.public_key.data()) != 0 ||
      crypto_sign_ed25519_sk_to_curve25519(sk.data(), node.secret_key.data()) != 0)
    return fail(Errc::internal, "the node's key cannot be converted to X25519");
  size_t size = sealed.size() - crypto_box_SEALBYTES;
  std::vector<uint8_t> plain(size + 1);
  if (crypto_box_seal_open(plain.data(), sealed.data(), sealed.size(), pk.data(), sk.data()) != 0) return cannot_decrypt();
  return take_plain(plain, size);
}

Result<std::string> decrypt_secret_v1(const NodeIdentity& node, std::string_view user_public_hex, std::string_view hex) {
  TRY(sodium_ready());
  Key user = TRY(curve_public(user_public_hex, "the user's"));
  auto boxed = TRY(ciphertext(hex, crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES));
  SecretKey key;
  TRY(shared_key(node, user, key));
  const uint8_t* nonce = boxed.data();
  const uint8_t* box = boxed.data() + crypto_secretbox_NONCEBYTES;
  size_t box_size = boxed.size() - crypto_secretbox_NONCEBYTES;
  size_t size = box_size - crypto_secretbox_MACBYTES;
  std::vector<uint8_t> plain(size + 1);
  if (crypto_secretbox_open_easy(plain.data(), box, box_size, nonce, key.data()) != 0) return cannot_decrypt();
  return take_plain(plain, size);
}

Result<std::string> encrypt_secret_v0(std::string_view node_public_hex, std::string_view plain) {
  TRY(sodium_ready());
  Key node = TRY(curve_public(node_public_hex, "the node's"));
  std::vector<uint8_t> sealed(crypto_box_SEALBYTES + plain.size());
  if (crypto_box_seal(sealed.data(), bytes_of(plain), plain.size(), node.data()) != 0)
    return fail(Errc::internal, "crypto_box_seal failed");
  return to_hex(sealed);
}

Result<std::string> encrypt_secret_v1(const NodeIdentity& user, std::string_view node_public_hex, std::string_view plain) {
  TRY(sodium_ready());
  Key node = TRY(curve_public(node_public_hex, "the node's"));
  SecretKey key;
  TRY(shared_key(user, node, key));
  std::vector<uint8_t> out(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plain.size());
  randombytes_buf(out.data(), crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(out.data() + crypto_secretbox_NONCEBYTES, bytes_of(plain), plain.size(), out.data(), key.data());
  return to_hex(out);
}

}  // namespace tiffin::zos
