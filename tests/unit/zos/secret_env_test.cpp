#include "zos/secret_env.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <array>
#include <vector>

#include "common/hex.hpp"

namespace tiffin::zos {
namespace {

NodeIdentity identity(uint8_t first) {
  std::array<uint8_t, 32> seed;
  for (size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<uint8_t>(first + i);
  return *identity_from_seed(seed);
}

const NodeIdentity kNode = identity(1);
const NodeIdentity kUser = identity(100);
const NodeIdentity kOther = identity(200);

const uint8_t* bytes(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

// Version 0 made with libsodium directly: a sealed box to the node's key converted to X25519.
std::string seal_v0(const NodeIdentity& to, const std::string& plain) {
  std::array<uint8_t, 32> curve_pk;
  EXPECT_EQ(crypto_sign_ed25519_pk_to_curve25519(curve_pk.data(), to.public_key.data()), 0);
  std::vector<uint8_t> sealed(crypto_box_SEALBYTES + plain.size());
  EXPECT_EQ(crypto_box_seal(sealed.data(), bytes(plain), plain.size(), curve_pk.data()), 0);
  return to_hex(sealed);
}

// Version 1 made by hand: key = BLAKE2b-256(X25519(user secret, node public)), nonce ‖ secretbox.
std::string box_v1(const NodeIdentity& from, const NodeIdentity& to, const std::string& plain) {
  std::array<uint8_t, 32> from_sk, to_pk, shared, key;
  EXPECT_EQ(crypto_sign_ed25519_sk_to_curve25519(from_sk.data(), from.secret_key.data()), 0);
  EXPECT_EQ(crypto_sign_ed25519_pk_to_curve25519(to_pk.data(), to.public_key.data()), 0);
  EXPECT_EQ(crypto_scalarmult(shared.data(), from_sk.data(), to_pk.data()), 0);
  EXPECT_EQ(crypto_generichash(key.data(), key.size(), shared.data(), shared.size(), nullptr, 0), 0);
  std::vector<uint8_t> out(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plain.size());
  for (size_t i = 0; i < crypto_secretbox_NONCEBYTES; ++i) out[i] = static_cast<uint8_t>(0xa0 + i);
  EXPECT_EQ(crypto_secretbox_easy(out.data() + crypto_secretbox_NONCEBYTES, bytes(plain), plain.size(), out.data(), key.data()), 0);
  return to_hex(out);
}

// The hex with one bit of byte `i` flipped.
std::string flipped(std::string hex, size_t i) {
  auto b = *from_hex(hex);
  b[i] ^= 0x01;
  return to_hex(b);
}

void expect_cannot_decrypt(const Result<std::string>& r, const char* what) {
  ASSERT_FALSE(r) << what;
  EXPECT_EQ(r.error().kind, Errc::denied) << what;
  EXPECT_EQ(r.error().message, "secret_environment: cannot be decrypted with this node's key (wrong node or tampered value)") << what;
}

void expect_invalid(const Result<std::string>& r, const char* what) {
  ASSERT_FALSE(r) << what;
  EXPECT_EQ(r.error().kind, Errc::invalid_input) << what;
  EXPECT_TRUE(r.error().message.starts_with("secret_environment: ")) << r.error().message;
}

TEST(ZosSecretEnv, V0OpensALibsodiumSealedBox) {
  std::string hex = seal_v0(kNode, "hunter2");
  auto plain = decrypt_secret_v0(kNode, hex);
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(*plain, "hunter2");
  EXPECT_EQ(*decrypt_secret_v0(kNode, seal_v0(kNode, "")), "");
}

TEST(ZosSecretEnv, V0RefusesWhatItCannotOpen) {
  std::string hex = seal_v0(kNode, "hunter2");
  expect_cannot_decrypt(decrypt_secret_v0(kOther, hex), "another node");
  expect_cannot_decrypt(decrypt_secret_v0(kNode, flipped(hex, 0)), "flipped ephemeral key");
  expect_cannot_decrypt(decrypt_secret_v0(kNode, flipped(hex, hex.size() / 2 - 1)), "flipped ciphertext");
  expect_invalid(decrypt_secret_v0(kNode, hex.substr(0, 2 * (crypto_box_SEALBYTES - 1))), "short");
  expect_invalid(decrypt_secret_v0(kNode, "abcd"), "short");
  expect_invalid(decrypt_secret_v0(kNode, "zz" + hex.substr(2)), "not hex");
  expect_invalid(decrypt_secret_v0(kNode, hex.substr(1)), "odd length");
}

TEST(ZosSecretEnv, V1OpensAHandMadeBox) {
  std::string hex = box_v1(kUser, kNode, "s3cr3t value");
  auto plain = decrypt_secret_v1(kNode, kUser.public_hex(), hex);
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(*plain, "s3cr3t value");
  EXPECT_EQ(*decrypt_secret_v1(kNode, kUser.public_hex(), box_v1(kUser, kNode, "")), "");
}

TEST(ZosSecretEnv, V1RefusesWrongKeysAndTampering) {
  std::string hex = box_v1(kUser, kNode, "s3cr3t value");
  expect_cannot_decrypt(decrypt_secret_v1(kNode, kOther.public_hex(), hex), "another user");
  expect_cannot_decrypt(decrypt_secret_v1(kOther, kUser.public_hex(), hex), "another node");
  expect_cannot_decrypt(decrypt_secret_v1(kNode, kUser.public_hex(), flipped(hex, 0)), "flipped nonce");
  expect_cannot_decrypt(decrypt_secret_v1(kNode, kUser.public_hex(), flipped(hex, hex.size() / 2 - 1)), "flipped ciphertext");
  expect_invalid(decrypt_secret_v1(kNode, kUser.public_hex(), hex.substr(0, 2 * 39)), "short");
  expect_invalid(decrypt_secret_v1(kNode, kUser.public_hex(), "not hex"), "not hex");
  expect_invalid(decrypt_secret_v1(kNode, "abcd", hex), "user key too short");
  expect_invalid(decrypt_secret_v1(kNode, std::string(64, 'x'), hex), "user key not hex");
}

TEST(ZosSecretEnv, EncryptDecryptRoundTrips) {
  for (std::string plain : {std::string(), std::string("a"), std::string("with\nnewline and \0 nul", 22), std::string(4096, 'z')}) {
    auto v0 = encrypt_secret_v0(kNode.public_hex(), plain);
    ASSERT_TRUE(v0) << v0.error().message;
    EXPECT_EQ(*decrypt_secret_v0(kNode, *v0), plain);
    expect_cannot_decrypt(decrypt_secret_v0(kOther, *v0), "v0 to another node");

    auto v1 = encrypt_secret_v1(kUser, kNode.public_hex(), plain);
    ASSERT_TRUE(v1) << v1.error().message;
    EXPECT_EQ(*decrypt_secret_v1(kNode, kUser.public_hex(), *v1), plain);
    expect_cannot_decrypt(decrypt_secret_v1(kNode, kOther.public_hex(), *v1), "v1 from another user");
  }
  // Each encryption is fresh (a new ephemeral key or nonce).
  EXPECT_NE(*encrypt_secret_v0(kNode.public_hex(), "x"), *encrypt_secret_v0(kNode.public_hex(), "x"));
  EXPECT_NE(*encrypt_secret_v1(kUser, kNode.public_hex(), "x"), *encrypt_secret_v1(kUser, kNode.public_hex(), "x"));
  expect_invalid(encrypt_secret_v0("abcd", "x"), "bad node key");
  expect_invalid(encrypt_secret_v1(kUser, std::string(64, 'q'), "x"), "bad node key");
}

}  // namespace
}  // namespace tiffin::zos
