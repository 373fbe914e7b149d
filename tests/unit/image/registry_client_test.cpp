// The registry client against a live registry: tests/e2e/test_registry_client.py starts
// Distribution's registry on 127.0.0.1, pushes an image and runs these with
//   REGISTRY_TEST_IMAGE     "127.0.0.1:<port>/<repo>:<tag>", the pushed image
//   REGISTRY_TEST_USER/PASS credentials when the registry wants them
//   REGISTRY_TEST_CORRUPT   optionally, "<repo>:<tag>" of an image whose first layer the test
//                           changed in the registry's storage
//   REGISTRY_TEST_CORRUPT_MANIFEST  optionally, "<repo>:<tag>@<digest>" of a manifest changed there
// Without REGISTRY_TEST_IMAGE they are skipped.
#include "image/registry_client.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "common/text.hpp"
#include "image/digest.hpp"
#include "test_support.hpp"

using namespace tiffin;
using namespace tiffin::image;

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

RegistryOptions options(bool with_credentials = true) {
  RegistryOptions o;
  if (with_credentials && !env("REGISTRY_TEST_USER").empty())
    o.credentials = Credentials{env("REGISTRY_TEST_USER"), env("REGISTRY_TEST_PASS")};
  if (!with_credentials) o.credentials = Credentials{};  // empty: never the user's own files
  o.attempts = 2;
  return o;
}

Result<void> collect(RegistryClient& c, const Reference& ref, const Descriptor& d, Bytes& out) {
  return c.blob(ref, d, [&](std::span<const uint8_t> data) -> Result<void> {
    out.insert(out.end(), data.begin(), data.end());
    return {};
  });
}

// The image's manifest for this host (through the index when there is one).
FetchedManifest image_manifest(RegistryClient& c, Reference ref) {
  auto m = c.manifest(ref);
  EXPECT_TRUE(m) << m.error().message;
  if (m->parsed.index) {
    auto d = select_platform(*m->parsed.index, host_platform());
    EXPECT_TRUE(d) << d.error().message;
    ref.digest = d->digest;
    m = c.manifest(ref);
    EXPECT_TRUE(m) << m.error().message;
  }
  EXPECT_TRUE(m->parsed.manifest);
  return *m;
}

class RegistryLive : public ::testing::Test {
 protected:
  void SetUp() override {
    if (env("REGISTRY_TEST_IMAGE").empty()) GTEST_SKIP() << "REGISTRY_TEST_IMAGE is not set";
    auto r = parse_reference(env("REGISTRY_TEST_IMAGE"));
    ASSERT_TRUE(r) << r.error().message;
    ref_ = *r;
  }
  Reference in_repo(const std::string& repo, const std::string& tag = "latest") {
    Reference r = ref_;
    r.repository = repo;
    r.tag = tag;
    r.digest.clear();
    return r;
  }
  Reference ref_;
};

}  // namespace

TEST_F(RegistryLive, PullsManifestConfigAndLayers) {
  RegistryClient c(options());
  FetchedManifest m = image_manifest(c, ref_);
  EXPECT_EQ(m.digest, sha256_digest(m.body));
  const Manifest& man = *m.parsed.manifest;
  Bytes config;
  ASSERT_TRUE(collect(c, ref_, man.config, config));
  auto doc = parse_image_config(config);
  ASSERT_TRUE(doc) << doc.error().message;
  EXPECT_EQ(doc->diff_ids.size(), man.layers.size());
  for (const auto& layer : man.layers) {
    Bytes data;
    auto r = collect(c, ref_, layer, data);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(data.size(), layer.size);
    EXPECT_EQ(sha256_digest(data), layer.digest);
    EXPECT_TRUE(*c.has_blob(ref_, layer.digest));
  }
  EXPECT_FALSE(*c.has_blob(ref_, "sha256:" + std::string(64, '0')));

  // By digest, and the digest a HEAD reports.
  Reference by_digest = ref_;
  by_digest.digest = m.digest;
  auto again = c.manifest(by_digest);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->body, m.body);
  auto head = c.manifest_digest(by_digest);
  ASSERT_TRUE(head && *head) << (head ? "none" : head.error().message);
  EXPECT_EQ(**head, m.digest);
}

TEST_F(RegistryLive, UnknownThingsAreNotFound) {
  RegistryClient c(options());
  auto m = c.manifest(in_repo(ref_.repository, "no-such-tag"));
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().kind, Errc::not_found);
  EXPECT_NE(m.error().message.find("manifest unknown"), std::string::npos) << m.error().message;
  EXPECT_NE(m.error().message.find("no-such-tag"), std::string::npos) << m.error().message;
  auto h = c.manifest_digest(in_repo(ref_.repository, "no-such-tag"));
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_FALSE(*h);
  Descriptor d{"application/octet-stream", "sha256:" + std::string(64, '1'), 10, std::nullopt, {}};
  auto b = c.blob(ref_, d, [](std::span<const uint8_t>) -> Result<void> { return {}; });
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().kind, Errc::not_found) << b.error().message;
}

TEST_F(RegistryLive, WrongSizeIsCorrupt) {
  RegistryClient c(options());
  FetchedManifest m = image_manifest(c, ref_);
  for (uint64_t size : {m.parsed.manifest->config.size - 1, m.parsed.manifest->config.size + 1}) {
    Descriptor d = m.parsed.manifest->config;
    d.size = size;
    Bytes out;
    auto r = collect(c, ref_, d, out);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, Errc::corrupt) << r.error().message;
    EXPECT_NE(r.error().message.find(d.digest), std::string::npos) << r.error().message;
  }
}

TEST_F(RegistryLive, PushesBlobsAndManifests) {
  RegistryClient c(options());
  FetchedManifest src = image_manifest(c, ref_);
  const std::string repo = "tiffin-test/pushed";
  Reference dst = in_repo(repo, "v1");
  // A new blob, larger than one upload chunk (chunked PATCHes, then the PUT).
  Bytes big = test::random_bytes((9 << 20) + 123, 7);
  Descriptor big_desc{media_type::oci_layer_gzip, sha256_digest(big), big.size(), std::nullopt, {}};
  auto send_all = [&](const Bytes& b) {
    return [&b](const BlobSink& sink) -> Result<void> {
      for (size_t off = 0; off < b.size(); off += 1 << 20)
        TRY(sink(std::span<const uint8_t>(b).subspan(off, std::min<size_t>(1 << 20, b.size() - off))));
      return {};
    };
  };
  auto up = c.upload_blob(dst, big_desc, "", send_all(big));
  ASSERT_TRUE(up) << up.error().message;
  EXPECT_TRUE(*c.has_blob(dst, big_desc.digest));
  Bytes back;
  ASSERT_TRUE(collect(c, dst, big_desc, back));
  EXPECT_EQ(back, big);

  // Blobs of the source image: mounted across repositories.
  Manifest man = *src.parsed.manifest;
  for (const Descriptor& d : std::vector<Descriptor>{man.config, man.layers[0]}) {
    auto r = c.upload_blob(
        dst, d, ref_.repository, [](const BlobSink&) -> Result<void> { return fail(Errc::internal, "a mount should not read the blob"); });
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(*c.has_blob(dst, d.digest));
  }
  // A small blob: one monolithic PUT.
  Bytes small = test::random_bytes(1000, 8);
  Descriptor small_desc{media_type::oci_layer_gzip, sha256_digest(small), small.size(), std::nullopt, {}};
  ASSERT_TRUE(c.upload_blob(dst, small_desc, "", send_all(small)));
  // Bytes that do not match their descriptor are never committed.
  Bytes other = test::random_bytes(1000, 9);
  Descriptor lie{media_type::oci_layer_gzip, sha256_digest(small), other.size(), std::nullopt, {}};
  lie.digest = "sha256:" + std::string(64, 'e');
  auto bad = c.upload_blob(dst, lie, "", send_all(other));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, Errc::corrupt) << bad.error().message;
  EXPECT_FALSE(*c.has_blob(dst, lie.digest));

  man.media_type = media_type::oci_manifest;
  man.layers = {man.layers[0], big_desc, small_desc};
  std::string text = manifest_to_json(man);
  std::span<const uint8_t> body(reinterpret_cast<const uint8_t*>(text.data()), text.size());
  auto digest = c.put_manifest(dst, body, media_type::oci_manifest);
  ASSERT_TRUE(digest) << digest.error().message;
  EXPECT_EQ(*digest, sha256_digest(body));
  auto fetched = c.manifest(dst);
  ASSERT_TRUE(fetched) << fetched.error().message;
  EXPECT_EQ(fetched->digest, *digest);
  ASSERT_TRUE(fetched->parsed.manifest);
  EXPECT_EQ(fetched->parsed.manifest->layers.size(), 3u);
  EXPECT_EQ(fetched->media_type, media_type::oci_manifest);
}

TEST_F(RegistryLive, Login) {
  RegistryClient good(options());
  auto r = good.check_login(ref_);
  EXPECT_TRUE(r) << r.error().message;
  if (env("REGISTRY_TEST_USER").empty()) return;
  RegistryOptions wrong = options();
  wrong.credentials->password += "-wrong";
  RegistryClient bad(wrong);
  r = bad.check_login(ref_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Errc::denied) << r.error().message;
  auto m = bad.manifest(ref_);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().kind, Errc::denied) << m.error().message;
}

TEST_F(RegistryLive, DetectsCorruptBlob) {
  if (env("REGISTRY_TEST_CORRUPT").empty()) GTEST_SKIP() << "REGISTRY_TEST_CORRUPT is not set";
  RegistryClient c(options());
  auto r = parse_reference(ref_.registry + "/" + env("REGISTRY_TEST_CORRUPT"));
  ASSERT_TRUE(r);
  FetchedManifest m = image_manifest(c, *r);
  Bytes out;
  auto b = collect(c, *r, m.parsed.manifest->layers[0], out);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().kind, Errc::corrupt);
  EXPECT_NE(b.error().message.find("digest mismatch"), std::string::npos) << b.error().message;
  EXPECT_NE(b.error().message.find(m.parsed.manifest->layers[0].digest), std::string::npos) << b.error().message;
}

// A registry faked by test_registry_client.py (REGISTRY_FAKE = "127.0.0.1:<port>"): a bearer
// challenge, a blob redirected to another host that breaks the first transfer half way.
TEST(RegistryFake, RedirectedBlobResumes) {
  if (env("REGISTRY_FAKE").empty()) GTEST_SKIP() << "REGISTRY_FAKE is not set";
  auto ref = parse_reference(env("REGISTRY_FAKE") + "/fake/blob");
  ASSERT_TRUE(ref);
  auto size = parse_uint(env("REGISTRY_FAKE_SIZE"));
  ASSERT_TRUE(size);
  Descriptor d{"application/octet-stream", env("REGISTRY_FAKE_DIGEST"), *size, std::nullopt, {}};
  RegistryClient c(options(false));
  Bytes out;
  auto r = collect(c, *ref, d, out);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(out.size(), *size);
  EXPECT_EQ(sha256_digest(out), d.digest);
}

// The fake's upload answers with a relative Location ("/uploads/u1?_state=s").
TEST(RegistryFake, UploadFollowsRelativeLocation) {
  if (env("REGISTRY_FAKE").empty()) GTEST_SKIP() << "REGISTRY_FAKE is not set";
  auto ref = parse_reference(env("REGISTRY_FAKE") + "/fake/blob");
  ASSERT_TRUE(ref);
  Bytes data = test::random_bytes(1000, 3);
  Descriptor d{media_type::oci_layer_gzip, sha256_digest(data), data.size(), std::nullopt, {}};
  RegistryClient c(options(false));
  auto r = c.upload_blob(*ref, d, "", [&](const BlobSink& sink) { return sink(data); });
  ASSERT_TRUE(r) << r.error().message;
}

// The user's files hold an identity token for the fake: login works through OAuth2's refresh
// grant; with a wrong token it is denied.
TEST(RegistryFake, StoredIdentityToken) {
  if (env("REGISTRY_FAKE").empty()) GTEST_SKIP() << "REGISTRY_FAKE is not set";
  auto ref = parse_reference(env("REGISTRY_FAKE") + "/fake/blob");
  ASSERT_TRUE(ref);
  RegistryClient c{RegistryOptions{}};
  auto r = c.check_login(*ref);
  ASSERT_TRUE(r) << r.error().message;
  RegistryOptions wrong;
  wrong.credentials = Credentials{"<token>", "other"};
  RegistryClient w(wrong);
  r = w.check_login(*ref);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Errc::denied) << r.error().message;
}

// REGISTRY_TEST_CORRUPT_MANIFEST = "<repo>:<tag>@<digest>": a manifest whose stored bytes the
// test changed: by digest and by tag (Docker-Content-Digest), the body is refused.
TEST_F(RegistryLive, DetectsCorruptManifest) {
  if (env("REGISTRY_TEST_CORRUPT_MANIFEST").empty()) GTEST_SKIP() << "REGISTRY_TEST_CORRUPT_MANIFEST is not set";
  RegistryClient c(options());
  auto by_digest = parse_reference(ref_.registry + "/" + env("REGISTRY_TEST_CORRUPT_MANIFEST"));
  ASSERT_TRUE(by_digest) << by_digest.error().message;
  ASSERT_FALSE(by_digest->digest.empty());
  for (bool use_digest : {true, false}) {
    Reference r = *by_digest;
    if (!use_digest) r.digest.clear();
    auto m = c.manifest(r);
    ASSERT_FALSE(m) << r.str();
    EXPECT_EQ(m.error().kind, Errc::corrupt) << m.error().message;
    EXPECT_NE(m.error().message.find(by_digest->digest), std::string::npos) << m.error().message;
  }
}
