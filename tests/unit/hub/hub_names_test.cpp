#include <gtest/gtest.h>

#include "hub/flist_ref.hpp"
#include "hub/hub_token.hpp"
#include "test_support.hpp"

using namespace tiffin;
using namespace tiffin::hub;

TEST(FlistRef, ParsesNamesTagsAndTheZeroHubSuffix) {
  auto r = parse_flist_ref("alice/ubuntu-22.04.fl");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->name, "ubuntu-22.04");
  EXPECT_EQ(r->tag, "latest");
  r = parse_flist_ref("alice/web:v2");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->tag, "v2");
  EXPECT_EQ(r->file_name(), "web:v2.fl");
  for (const char* bad :
      {"alice", "alice/", "/web", "../x/y", "alice/..", "alice/.hidden", "a/b/c", "alice/x:", "alice/x:../y", "al ice/x", "alice/-rf"})
    EXPECT_FALSE(parse_flist_ref(bad)) << bad;
}

TEST(FlistRef, ParsesHubLocations) {
  auto loc = parse_hub_location("http://127.0.0.1:8080/alice/web:v1");
  ASSERT_TRUE(loc) << loc.error().what();
  EXPECT_EQ(loc->base, "http://127.0.0.1:8080");
  EXPECT_EQ(loc->ref.str(), "alice/web:v1");
  loc = parse_hub_location("https://hub.example/prefix/bob/x.fl");
  ASSERT_TRUE(loc);
  EXPECT_EQ(loc->base, "https://hub.example/prefix");
  for (const char* bad : {"ftp://h/a/b", "http://h/only", "http:///a/b", "alice/web", "http://h/a/../b"})
    EXPECT_FALSE(parse_hub_location(bad)) << bad;
}

TEST(HubToken, VerifiesUserSignatureAndExpiry) {
  test::TempDir dir;
  auto key = load_hub_key(dir / "hub.key", true);
  ASSERT_TRUE(key) << key.error().what();
  auto again = load_hub_key(dir / "hub.key", false);
  ASSERT_TRUE(again);
  EXPECT_EQ(*key, *again) << "the key is made once and kept";

  std::string token = issue_token(*key, "alice", std::chrono::seconds(60));
  auto user = verify_token(*key, token);
  ASSERT_TRUE(user) << user.error().what();
  EXPECT_EQ(*user, "alice");

  // Another user's name on the same signature, another key, a flipped bit, expiry.
  std::string forged = "bob" + token.substr(5);
  EXPECT_FALSE(verify_token(*key, forged));
  HubKey other = *key;
  other[0] ^= 1;
  EXPECT_FALSE(verify_token(other, token));
  std::string flipped = token;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  EXPECT_FALSE(verify_token(*key, flipped));
  auto expired = verify_token(*key, issue_token(*key, "alice", std::chrono::seconds(-1)));
  ASSERT_FALSE(expired);
  EXPECT_NE(expired.error().what().find("expired"), std::string::npos);
  for (const char* junk : {"", ".", "..", "alice..", "alice.x.y", "alice.1.zz"}) EXPECT_FALSE(verify_token(*key, junk)) << junk;
  // An expiry that is not a number (or does not fit one) is malformed, with a well-formed MAC too.
  std::string mac = token.substr(token.rfind('.'));
  for (std::string expiry : {"x", "12a", " 12", "+12", "-12", "0x10", "99999999999999999999"}) {
    auto r = verify_token(*key, "alice." + expiry + mac);
    ASSERT_FALSE(r) << expiry;
    EXPECT_EQ(r.error().kind, Errc::invalid_input) << expiry;
    EXPECT_EQ(r.error().what(), "invalid token: malformed") << expiry;
  }
}

TEST(HubToken, RefusesAMalformedKeyFile) {
  test::TempDir dir;
  test::write_text(dir / "bad.key", "not hex\n");
  EXPECT_FALSE(load_hub_key(dir / "bad.key", false));
  EXPECT_FALSE(load_hub_key(dir / "absent.key", false));
}
