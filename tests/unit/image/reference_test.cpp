// Image references: docker's normalisation and grammar, with cases from distribution/reference's
// own tests (normalize_test.go, reference_test.go) as ParseNormalizedNamed sees them.
#include "image/reference.hpp"

#include <gtest/gtest.h>

using namespace tiffin;
using namespace tiffin::image;

namespace {

const std::string kDigest = "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

struct Good {
  std::string input, registry, repository, tag, digest;
};

}  // namespace

TEST(Reference, Normalises) {
  const std::vector<Good> cases = {
      {"alpine", "docker.io", "library/alpine", "latest", ""},
      {"alpine:3.19", "docker.io", "library/alpine", "3.19", ""},
      {"docker.io/alpine", "docker.io", "library/alpine", "latest", ""},
      {"docker.io/library/alpine", "docker.io", "library/alpine", "latest", ""},
      {"index.docker.io/library/alpine", "docker.io", "library/alpine", "latest", ""},
      {"index.docker.io/alpine", "docker.io", "library/alpine", "latest", ""},
      {"user/app:1.2", "docker.io", "user/app", "1.2", ""},
      {"docker.io/user/app", "docker.io", "user/app", "latest", ""},
      {"library/foo/bar", "docker.io", "library/foo/bar", "latest", ""},
      {"test_com", "docker.io", "library/test_com", "latest", ""},
      {"test.com:tag", "docker.io", "library/test.com", "tag", ""},
      {"test.com:5000", "docker.io", "library/test.com", "5000", ""},
      {"localhost:5000", "docker.io", "library/localhost", "5000", ""},
      {"test.com/repo:tag", "test.com", "repo", "tag", ""},
      {"test:5000/repo", "test:5000", "repo", "latest", ""},
      {"test:5000/repo:tag", "test:5000", "repo", "tag", ""},
      {"test:5000/repo@" + kDigest, "test:5000", "repo", "", kDigest},
      {"test:5000/repo:tag@" + kDigest, "test:5000", "repo", "tag", kDigest},
      {"localhost/repo", "localhost", "repo", "latest", ""},
      {"localhost:5000/a/b/c:v1", "localhost:5000", "a/b/c", "v1", ""},
      {"lowercase:Uppercase", "docker.io", "library/lowercase", "Uppercase", ""},
      {"sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com", "bar/baz/quux", "latest", ""},
      {"sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com", "bar/baz/quux", "some-long-tag", ""},
      {"b.gcr.io/test.example.com/my-app:test.example.com", "b.gcr.io", "test.example.com/my-app", "test.example.com", ""},
      {"xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com", "myimage", "xn--n3h.com", ""},
      {"foo_bar.com:8080", "docker.io", "library/foo_bar.com", "8080", ""},
      {"foo/foo_bar.com:8080", "docker.io", "foo/foo_bar.com", "8080", ""},
      {"192.168.1.1", "docker.io", "library/192.168.1.1", "latest", ""},
      {"192.168.1.1:tag", "docker.io", "library/192.168.1.1", "tag", ""},
      {"192.168.1.1/repo", "192.168.1.1", "repo", "latest", ""},
      {"192.168.1.1:5000/repo:5050", "192.168.1.1:5000", "repo", "5050", ""},
      {"[2001:db8::1]/repo", "[2001:db8::1]", "repo", "latest", ""},
      {"[2001:db8:1:2:3:4:5:6]/repo:tag", "[2001:db8:1:2:3:4:5:6]", "repo", "tag", ""},
      {"[2001:db8::1]:5000/repo@" + kDigest, "[2001:db8::1]:5000", "repo", "", kDigest},
      {"[::1]:5000/repo", "[::1]:5000", "repo", "latest", ""},
      // An uppercase first component can only be a host (repositories are lowercase).
      {"Uppercase/lowercase:tag", "Uppercase", "lowercase", "tag", ""},
      // Separators: '.', '_', '__' and any run of '-'.
      {"docker.io/a.b_c__d-e---f/g", "docker.io", "a.b_c__d-e---f/g", "latest", ""},
      {"docker://alpine:edge", "docker.io", "library/alpine", "edge", ""},
      {"docker://quay.io/ns/img@" + kDigest, "quay.io", "ns/img", "", kDigest},
      {"repo:" + std::string(128, 't'), "docker.io", "library/repo", std::string(128, 't'), ""},
      {"repo:_x.Y-z", "docker.io", "library/repo", "_x.Y-z", ""},
  };
  for (const auto& c : cases) {
    auto r = parse_reference(c.input);
    ASSERT_TRUE(r) << c.input << ": " << r.error().message;
    EXPECT_EQ(r->registry, c.registry) << c.input;
    EXPECT_EQ(r->repository, c.repository) << c.input;
    EXPECT_EQ(r->tag, c.tag) << c.input;
    EXPECT_EQ(r->digest, c.digest) << c.input;
  }
}

TEST(Reference, Refuses) {
  const std::vector<std::string> bad = {
      "", ":justtag", "@" + kDigest, "repo@sha256:ffffffffffffffffffffffffffffffffff",
      "validname@invaliddigest:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", "repo@sha512:" + std::string(128, 'f'),
      "repo@sha256:FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", "Uppercase:tag", "test:5000/Uppercase/lowercase:tag",
      "aa/asdf$$^/aa", "[2001:db8::1]", "[2001:db8::1]:5000", "[2001:db8::1]:tag", "[fe80::1%eth0]:5000/repo",
      "[fe80::1%@invalidzone]:5000/repo", "a___b", "a..b", "a._b", "-a", "a-", "a//b", "a/", "/a", "repo:" + std::string(129, 't'),
      "repo:.tag", "repo:-tag", "repo:", "repo@", "host:/repo", "-host.com/repo", "host-.com/repo", "ho_st.com/repo", "docker://",
      std::string(64, 'a'),                                                                // an image id, not a name
      "a b", std::string("a\0b", 3), std::string(128, 'a') + "/" + std::string(128, 'b'),  // 265 with "docker.io/"
  };
  for (const auto& s : bad) {
    auto r = parse_reference(s);
    EXPECT_FALSE(r) << "accepted \"" << s << "\" as " << r->str();
    if (!r) {
      EXPECT_EQ(r.error().kind, Errc::invalid_input) << s;
    }
  }
}

TEST(Reference, ExplainsUppercase) {
  auto r = parse_reference("Ubuntu");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("must be lowercase"), std::string::npos) << r.error().message;
  r = parse_reference("host:5000/MyApp:v1");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("(MyApp) must be lowercase"), std::string::npos) << r.error().message;
  r = parse_reference(std::string(64, 'f'));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("64-byte hexadecimal"), std::string::npos);
}

TEST(Reference, NameLength) {
  // 255 characters of "docker.io/" + path are allowed, 256 are not.
  std::string path(245 - 2, 'a');
  EXPECT_TRUE(parse_reference("u/" + path)) << path.size();
  EXPECT_FALSE(parse_reference("u/" + path + "a"));
  auto long_tag = parse_reference("u/" + path + ":" + std::string(128, 't'));
  EXPECT_TRUE(long_tag);  // the tag does not count
}

TEST(Reference, Strings) {
  auto r = *parse_reference("alpine");
  EXPECT_EQ(r.str(), "docker.io/library/alpine:latest");
  EXPECT_EQ(r.familiar(), "alpine:latest");
  EXPECT_EQ(r.reference(), "latest");
  EXPECT_EQ(r.api_host(), "registry-1.docker.io");
  EXPECT_FALSE(r.loopback());

  r = *parse_reference("user/app:1.2");
  EXPECT_EQ(r.familiar(), "user/app:1.2");
  r = *parse_reference("library/foo/bar:1");
  EXPECT_EQ(r.familiar(), "library/foo/bar:1");  // "library/" is dropped only for one component

  r = *parse_reference("host:5000/r@" + kDigest);
  EXPECT_EQ(r.str(), "host:5000/r@" + kDigest);
  EXPECT_EQ(r.familiar(), "host:5000/r@" + kDigest);
  EXPECT_EQ(r.reference(), kDigest);
  EXPECT_EQ(r.api_host(), "host:5000");

  r = *parse_reference("host:5000/r:v1@" + kDigest);
  EXPECT_EQ(r.reference(), kDigest);  // the digest wins
  EXPECT_EQ(r.str(), "host:5000/r:v1@" + kDigest);
}

TEST(Reference, Loopback) {
  for (const char* s : {"localhost/r", "localhost:5000/r", "127.0.0.1:5000/r", "127.1.2.3/r", "[::1]:5000/r", "[::1]/r"})
    EXPECT_TRUE(parse_reference(s)->loopback()) << s;
  for (const char* s :
      {"alpine", "quay.io/r", "128.0.0.1:5000/r", "127.0.0.1.nip.io/r", "localhost.example.com/r", "[::2]:5000/r", "127.0.0.256/r"})
    EXPECT_FALSE(parse_reference(s)->loopback()) << s;
}
