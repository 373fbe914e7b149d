#include "zos/node_identity.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <set>
#include <thread>
#include <vector>

#include "common/hex.hpp"
#include "test_support.hpp"

namespace tiffin::zos {
namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::span<const uint8_t> bytes(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

// RFC 8032 §7.1, test 1: the seed, its public key and the signature of the empty message.
constexpr std::string_view kSeed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
constexpr std::string_view kPublic = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
constexpr std::string_view kEmptySignature =
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

TEST(ZosIdentity, Base58KnownVectors) {
  const uint8_t leading_zeros[] = {0x00, 0x00, 0x28, 0x7f, 0xb4, 0xcd};
  EXPECT_EQ(base58_encode(leading_zeros), "11233QC4");
  EXPECT_EQ(base58_encode(bytes("Hello World!")), "2NEpo7TZRRrLZSi2U");
  EXPECT_EQ(
      base58_encode(bytes("The quick brown fox jumps over the lazy dog.")), "USm3fpXnKG5EUBx2ndxBDMPVciP5hGey2Jh4NDv6gmeo1LkMeiKrLJUUBk6Z");
  EXPECT_EQ(base58_encode({}), "");
  const uint8_t zero[] = {0};
  EXPECT_EQ(base58_encode(zero), "1");
  const uint8_t ff[] = {0xff};
  EXPECT_EQ(base58_encode(ff), "5Q");
}

TEST(ZosIdentity, SeedHexGivesTheRfc8032KeyAndSignature) {
  auto id = identity_from_seed_hex(kSeed);
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(to_hex(id->seed), kSeed);
  EXPECT_EQ(id->public_hex(), kPublic);
  EXPECT_EQ(id->sign_hex(""), kEmptySignature);
  EXPECT_EQ(id->node_id(), base58_encode(id->public_key));
  // Upper case is the same seed.
  std::string upper(kSeed);
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(identity_from_seed_hex(upper)->public_hex(), kPublic);

  auto from_bytes = identity_from_seed(std::span<const uint8_t, 32>(id->seed));
  ASSERT_TRUE(from_bytes);
  EXPECT_EQ(from_bytes->secret_key, id->secret_key);
}

TEST(ZosIdentity, BadSeedHexIsInvalidInput) {
  auto short_seed = identity_from_seed_hex("abcd");
  ASSERT_FALSE(short_seed);
  EXPECT_EQ(short_seed.error().kind, Errc::invalid_input);
  EXPECT_TRUE(contains(short_seed.error().message, "64 hex characters")) << short_seed.error().message;
  std::string not_hex(64, 'g');
  auto bad = identity_from_seed_hex(not_hex);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, Errc::invalid_input);
  EXPECT_TRUE(contains(bad.error().message, "not hex")) << bad.error().message;
  EXPECT_FALSE(identity_from_seed_hex(std::string(kSeed) + "00"));
}

TEST(ZosIdentity, VerifyHexSignature) {
  auto id = *identity_from_seed_hex(kSeed);
  std::string sig = id.sign_hex("workload 7");
  EXPECT_EQ(sig.size(), 128u);
  EXPECT_TRUE(verify_hex_signature(kPublic, "workload 7", sig));
  EXPECT_TRUE(verify_hex_signature(kPublic, "", kEmptySignature));

  auto wrong_message = verify_hex_signature(kPublic, "workload 8", sig);
  ASSERT_FALSE(wrong_message);
  EXPECT_EQ(wrong_message.error().kind, Errc::denied);
  EXPECT_EQ(wrong_message.error().message, "bad signature");

  auto other = *identity_from_seed_hex(std::string(64, '1'));
  EXPECT_EQ(verify_hex_signature(other.public_hex(), "workload 7", sig).error().kind, Errc::denied);

  EXPECT_EQ(verify_hex_signature("xyz", "workload 7", sig).error().kind, Errc::invalid_input);
  EXPECT_EQ(verify_hex_signature(kPublic, "workload 7", sig.substr(2)).error().kind, Errc::invalid_input);
  EXPECT_EQ(verify_hex_signature(kPublic, "workload 7", std::string(128, 'z')).error().kind, Errc::invalid_input);
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST(ZosIdentity, LoadOrCreateMakesA0600KeyOnceAndKeepsIt) {
  test::TempDir dir;
  std::string path = dir / "zos/node/key";
  auto first = load_or_create_identity(path);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(mode_of(path), 0600u);
  EXPECT_EQ(mode_of(dir / "zos/node"), 0700u);
  EXPECT_EQ(mode_of(dir / "zos"), 0700u);
  EXPECT_EQ(test::slurp(path), to_hex(first->seed) + "\n");

  auto second = load_or_create_identity(path);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(second->public_key, first->public_key);
  EXPECT_EQ(second->seed, first->seed);

  // A key written by hand (the admin restoring a node) is read as it is.
  std::string restored = dir / "restored";
  test::write_text(restored, std::string(kSeed) + "\n");
  ::chmod(restored.c_str(), 0600);
  EXPECT_EQ(load_or_create_identity(restored)->public_hex(), kPublic);
}

TEST(ZosIdentity, ConcurrentCreatorsAgreeOnOneKey) {
  test::TempDir dir;
  std::string path = dir / "key";
  std::vector<std::string> keys(4);
  std::vector<std::thread> threads;
  for (auto& k : keys)
    threads.emplace_back([&path, &k] {
      auto id = load_or_create_identity(path);
      k = id ? id->public_hex() : id.error().message;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()).size(), 1u) << keys[0] << " " << keys[1];
  EXPECT_EQ(keys[0].size(), 64u) << keys[0];
}

TEST(ZosIdentity, LoadRefusesALooseOrMalformedKey) {
  test::TempDir dir;
  std::string path = dir / "key";
  ASSERT_TRUE(load_or_create_identity(path));
  ::chmod(path.c_str(), 0644);
  auto loose = load_or_create_identity(path);
  ASSERT_FALSE(loose);
  EXPECT_EQ(loose.error().kind, Errc::denied);
  EXPECT_TRUE(contains(loose.error().message, path)) << loose.error().message;
  EXPECT_TRUE(contains(loose.error().message, "0644")) << loose.error().message;

  std::string bad = dir / "bad";
  test::write_text(bad, "not a key\n");
  ::chmod(bad.c_str(), 0600);
  auto malformed = load_or_create_identity(bad);
  ASSERT_FALSE(malformed);
  EXPECT_EQ(malformed.error().kind, Errc::corrupt);
  EXPECT_TRUE(contains(malformed.error().message, bad)) << malformed.error().message;
  EXPECT_EQ(test::slurp(bad), "not a key\n") << "a malformed key is never replaced";

  std::string truncated = dir / "truncated";
  test::write_text(truncated, std::string(kSeed.substr(0, 40)) + "\n");
  ::chmod(truncated.c_str(), 0600);
  EXPECT_EQ(load_or_create_identity(truncated).error().kind, Errc::corrupt);

  EXPECT_EQ(load_or_create_identity(dir.path()).error().kind, Errc::corrupt) << "a directory is not a key";
}

}  // namespace
}  // namespace tiffin::zos
