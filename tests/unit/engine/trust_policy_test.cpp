// The node's trust policy (engine/trust_policy.hpp): keys added, listed, removed and kept in
// <root>/trust.json; require-signed; and check_flist on flists signed here with the flist
// library's own API (signed, unsigned, changed after signing, signed by an unknown key).
#include <gtest/gtest.h>

#include <sys/stat.h>

#include "engine/engine.hpp"
#include "engine/trust_policy.hpp"
#include "flist/flist_edit.hpp"
#include "flist/flist_file.hpp"
#include "flist/signature.hpp"
#include "test_support.hpp"

namespace tiffin::engine {
namespace {

const std::string kFixture = std::string(TIFFIN_FIXTURES) + "/hello-world-latest.fl";

// A copy of the fixture at `path`, signed by each of `keys`.
void signed_copy(const std::string& path, const std::vector<const SigningKey*>& keys) {
  auto tree = load_flist(kFixture);
  ASSERT_TRUE(tree) << tree.error().message;
  for (const auto* k : keys) sign(*tree, *k);
  ASSERT_TRUE(save_flist(path, *tree));
}

std::string hex_of(const SigningKey& k) { return to_hex(k.public_key); }

TEST(TrustPolicy, AMissingFileIsTheDefault) {
  test::TempDir dir;
  auto p = TrustPolicy::load(dir.path());
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_FALSE(p->require_signed());
  EXPECT_TRUE(p->keys().empty());
  // Off, nothing is read: not even a file that does not exist.
  auto ok = p->check_flist(dir / "nothing.fl");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(*ok, "");
  EXPECT_TRUE(p->check_unsigned_source("registry image x"));
  struct stat st;
  EXPECT_NE(::stat(TrustPolicy::file_for(dir.path()).c_str(), &st), 0) << "reading writes nothing";
}

TEST(TrustPolicy, KeysAreAddedListedRemovedAndKept) {
  test::TempDir dir;
  auto a = generate_key(dir / "a");
  auto b = generate_key(dir / "b");
  ASSERT_TRUE(a && b);
  auto p = TrustPolicy::load(dir.path());
  ASSERT_TRUE(p);
  // The .pub file's text as keygen wrote it (hex and a newline), and upper case.
  std::string pub = test::slurp(dir / "a.pub");
  auto added = p->add_key(pub);
  ASSERT_TRUE(added) << added.error().message;
  EXPECT_EQ(*added, hex_of(*a));
  std::string upper = hex_of(*b);
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(*p->add_key("  " + upper + "\n"), hex_of(*b));
  EXPECT_TRUE(p->add_key(hex_of(*a))) << "adding a trusted key again changes nothing";
  std::vector<std::string> want = {hex_of(*a), hex_of(*b)};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(p->keys(), want);
  EXPECT_TRUE(p->trusts(hex_of(*a)));

  struct stat st;
  ASSERT_EQ(::stat(TrustPolicy::file_for(dir.path()).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  auto again = TrustPolicy::load(dir.path());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->keys(), want) << "kept in trust.json";

  auto gone = p->remove_key(hex_of(*a));
  ASSERT_TRUE(gone) << gone.error().message;
  EXPECT_EQ(p->keys(), std::vector<std::string>{hex_of(*b)});
  auto unknown = p->remove_key(hex_of(*a));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().kind, Errc::not_found);
  EXPECT_EQ(TrustPolicy::load(dir.path())->keys(), std::vector<std::string>{hex_of(*b)});
}

TEST(TrustPolicy, WhatIsNotAPublicKeyIsRefused) {
  test::TempDir dir;
  auto p = TrustPolicy::load(dir.path());
  ASSERT_TRUE(p);
  std::string zeros(64, '0'), identity = "01" + std::string(62, '0');
  for (const std::string& bad : {std::string("abcd"), std::string(64, 'g'), std::string(66, 'a'), zeros, identity, std::string()}) {
    auto r = p->add_key(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().kind, Errc::invalid_input) << bad;
  }
  EXPECT_TRUE(p->keys().empty());
  auto r = p->remove_key("nothex");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Errc::invalid_input);
}

TEST(TrustPolicy, ChangesOfTwoWritersAreBothKept) {
  test::TempDir dir;
  auto a = generate_key(dir / "a");
  auto b = generate_key(dir / "b");
  auto first = TrustPolicy::load(dir.path());
  auto second = TrustPolicy::load(dir.path());
  ASSERT_TRUE(first && second && a && b);
  ASSERT_TRUE(first->add_key(hex_of(*a)));
  ASSERT_TRUE(second->set_require_signed(true));  // loaded before the key went in
  ASSERT_TRUE(second->add_key(hex_of(*b)));
  auto now = TrustPolicy::load(dir.path());
  ASSERT_TRUE(now);
  EXPECT_TRUE(now->require_signed());
  EXPECT_EQ(now->keys().size(), 2u);
  EXPECT_EQ(second->keys().size(), 2u) << "a change re-reads the file";
}

TEST(TrustPolicy, AnUnreadablePolicyFailsClosed) {
  test::TempDir dir;
  for (const std::string& text : {std::string("{"), std::string("[]"), std::string(R"({"require_signed": "yes"})"),
           std::string(R"({"keys": ["abcd"]})"), std::string(R"({"keys": "x"})")}) {
    test::write_text(TrustPolicy::file_for(dir.path()), text);
    auto p = TrustPolicy::load(dir.path());
    ASSERT_FALSE(p) << text;
    EXPECT_EQ(p.error().kind, Errc::corrupt) << text;
    EXPECT_NE(p.error().message.find("trust.json"), std::string::npos) << p.error().message;
  }
  // Keys a newer version may add are left alone.
  test::write_text(TrustPolicy::file_for(dir.path()), R"({"require_signed": true, "keys": [], "later": 1})");
  auto p = TrustPolicy::load(dir.path());
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_TRUE(p->require_signed());
}

class TrustCheck : public ::testing::Test {
 protected:
  void SetUp() override {
    auto p = generate_key(dir / "publisher");
    auto o = generate_key(dir / "other");
    ASSERT_TRUE(p && o);
    publisher = *p;
    other = *o;
    auto policy = TrustPolicy::load(dir.path());
    ASSERT_TRUE(policy);
    ASSERT_TRUE(policy->add_key(hex_of(publisher)));
    ASSERT_TRUE(policy->set_require_signed(true));
  }
  TrustPolicy policy() { return *TrustPolicy::load(dir.path()); }
  // The refusal for `path`: its kind must be denied, the message is returned.
  std::string refusal(const std::string& path, const std::string& name = {}) {
    auto r = policy().check_flist(path, name);
    if (r) return "accepted, signed by " + *r;
    EXPECT_EQ(r.error().kind, Errc::denied) << r.error().message;
    return r.error().message;
  }

  test::TempDir dir;
  SigningKey publisher, other;
};

TEST_F(TrustCheck, ASignatureByATrustedKeyPasses) {
  signed_copy(dir / "signed.fl", {&publisher});
  auto r = policy().check_flist(dir / "signed.fl");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, hex_of(publisher));
  // Beside an untrusted one, in either order.
  signed_copy(dir / "both.fl", {&other, &publisher});
  EXPECT_EQ(policy().check_flist(dir / "both.fl").value_or(""), hex_of(publisher));
}

TEST_F(TrustCheck, UnsignedIsRefusedNamingTheFlist) {
  std::string m = refusal(kFixture, "busybox:latest");
  EXPECT_NE(m.find("busybox:latest"), std::string::npos) << m;
  EXPECT_NE(m.find("unsigned"), std::string::npos) << m;
  EXPECT_NE(refusal(kFixture).find(kFixture), std::string::npos) << "named by its path without a name";
}

TEST_F(TrustCheck, SignedByAnUntrustedKeyIsRefused) {
  signed_copy(dir / "other.fl", {&other});
  std::string m = refusal(dir / "other.fl");
  EXPECT_NE(m.find("signed by " + hex_of(other) + ", which this node does not trust"), std::string::npos) << m;
}

TEST_F(TrustCheck, ContentChangedAfterSigningIsRefused) {
  signed_copy(dir / "tampered.fl", {&publisher});
  // An edit in place (tag set), as anyone with the file can make: the signature row stays.
  ASSERT_TRUE(set_tags(dir / "tampered.fl", {{"version", "evil"}}));
  std::string m = refusal(dir / "tampered.fl");
  EXPECT_NE(m.find("does not match its content"), std::string::npos) << m;
  EXPECT_NE(m.find(hex_of(publisher)), std::string::npos) << m;
  // The trusted publisher's broken signature is what is reported, not another's valid one.
  auto tree = load_flist(dir / "tampered.fl");
  ASSERT_TRUE(tree);
  sign(*tree, other);
  ASSERT_TRUE(save_flist(dir / "tampered2.fl", *tree));
  EXPECT_NE(refusal(dir / "tampered2.fl").find("does not match its content"), std::string::npos);
  // Signed by nobody trusted, and broken.
  signed_copy(dir / "other.fl", {&other});
  ASSERT_TRUE(set_tags(dir / "other.fl", {{"version", "2"}}));
  EXPECT_NE(refusal(dir / "other.fl").find("does not match its content"), std::string::npos);
}

TEST_F(TrustCheck, RemovingTheKeyOrTheSwitchDecidesAgain) {
  signed_copy(dir / "signed.fl", {&publisher});
  auto p = policy();
  ASSERT_TRUE(p.remove_key(hex_of(publisher)));
  EXPECT_NE(refusal(dir / "signed.fl").find("does not trust"), std::string::npos);
  ASSERT_TRUE(p.set_require_signed(false));
  EXPECT_EQ(policy().check_flist(kFixture).value_or("x"), "");
}

TEST_F(TrustCheck, ImagesMadeHereAreRefusedUpFront) {
  auto r = policy().check_unsigned_source("registry image docker.io/library/alpine:latest");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Errc::denied);
  EXPECT_NE(r.error().message.find("docker.io/library/alpine:latest"), std::string::npos) << r.error().message;
}

TEST_F(TrustCheck, AFileThatIsNoFlistIsAnErrorNotAPass) {
  test::write_text(dir / "junk.fl", "not sqlite");
  auto r = policy().check_flist(dir / "junk.fl");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().kind, Errc::denied);
}

TEST_F(TrustCheck, TheSignerShown) {
  signed_copy(dir / "both.fl", {&other, &publisher});
  auto trusted = policy().keys();
  auto checks = verify_flist(dir / "both.fl");
  ASSERT_TRUE(checks) << checks.error().message;
  FlistSigner s = flist_signer(*checks, trusted);
  EXPECT_EQ(s.key, hex_of(publisher)) << "a trusted signer first";
  EXPECT_TRUE(s.trusted);
  s = flist_signer(*checks, {});
  EXPECT_TRUE(s.key == hex_of(other) || s.key == hex_of(publisher)) << "else a valid one: " << s.key;
  EXPECT_FALSE(s.trusted);
  EXPECT_EQ(flist_signer(*verify_flist(kFixture), trusted).key, "");
  ASSERT_TRUE(set_tags(dir / "both.fl", {{"x", "y"}}));
  EXPECT_EQ(flist_signer(*verify_flist(dir / "both.fl"), trusted).key, "") << "no valid signature";
}

TEST_F(TrustCheck, RecordedChecksDecideAsTheFlistDoes) {
  // What Engine::image_signatures records and reads back (and `flist verify --format json` prints).
  signed_copy(dir / "both.fl", {&other, &publisher});
  ASSERT_TRUE(set_tags(dir / "both.fl", {{"x", "y"}}));
  auto checks = verify_flist(dir / "both.fl");
  ASSERT_TRUE(checks);
  std::string text = signatures_to_json(*checks);
  auto back = signatures_from_json(text);
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_EQ(back->size(), 2u);
  for (size_t i = 0; i < back->size(); ++i) {
    EXPECT_EQ((*back)[i].public_key, (*checks)[i].public_key);
    EXPECT_EQ((*back)[i].valid, (*checks)[i].valid);
  }
  auto from_record = policy().check_signatures(*back, "busybox");
  auto from_file = policy().check_flist(dir / "both.fl", "busybox");
  ASSERT_FALSE(from_record);
  ASSERT_FALSE(from_file);
  EXPECT_EQ(from_record.error().message, from_file.error().message);
  EXPECT_EQ(signatures_to_json({}), "[]");
  EXPECT_TRUE(signatures_from_json("[]")->empty());
  for (const char* bad : {"", "{}", "[1]", R"([{"public_key": "zz", "valid": true}])", R"([{"public_key": "ab"}])"})
    EXPECT_FALSE(signatures_from_json(bad)) << bad;
}

}  // namespace
}  // namespace tiffin::engine
