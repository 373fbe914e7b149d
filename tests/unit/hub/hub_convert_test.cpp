// Conversion requests on the hub, without a registry: how they are told apart from uploads,
// parsed, named, authorized, and how a failing registry is answered (a gateway error).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "hub/hub_api.hpp"
#include "hub/hub_convert.hpp"
#include "test_support.hpp"

using namespace tiffin;
using namespace tiffin::hub;
using json = nlohmann::json;

TEST(HubConvert, JsonBodiesAreConversionsNotUploads) {
  EXPECT_TRUE(HubApi::is_json("application/json"));
  EXPECT_TRUE(HubApi::is_json("Application/JSON; charset=utf-8"));
  EXPECT_TRUE(HubApi::is_json(" application/json "));
  EXPECT_FALSE(HubApi::is_json(""));
  EXPECT_FALSE(HubApi::is_json("application/octet-stream"));
  EXPECT_FALSE(HubApi::is_json("application/x-www-form-urlencoded"));  // curl --data-binary
  EXPECT_FALSE(HubApi::is_json("application/jsonx"));
  EXPECT_TRUE(HubApi::streams_body("PUT", "/api/flist/u/n:t", ""));
  EXPECT_TRUE(HubApi::streams_body("PUT", "/api/flist/u/n:t", "application/octet-stream"));
  EXPECT_FALSE(HubApi::streams_body("PUT", "/api/flist/u/n:t", "application/json"));
  EXPECT_FALSE(HubApi::streams_body("PUT", "/api/flist/u/n:t/link", ""));
}

TEST(HubConvert, ParsesRequests) {
  auto r = parse_convert_request(R"({"image": "localhost:5000/app:1", "platform": "linux/arm64"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->image, "localhost:5000/app:1");
  EXPECT_EQ(r->platform, "linux/arm64");
  r = parse_convert_request(R"({"image": "alpine"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->platform, "");
  for (const char* bad : {"", "[]", "{}", R"({"image": 3})", R"({"image": ""})", R"({"image": "a", "platform": 1})", "{"})
    EXPECT_EQ(parse_convert_request(bad).error().kind, Errc::invalid_input) << bad;
}

TEST(HubConvert, NamesFlistsAfterTheRepositoryAndTag) {
  EXPECT_EQ(flist_ref_for_image("u", "localhost:5000/ns/app:1.2")->str(), "u/app:1.2");
  EXPECT_EQ(flist_ref_for_image("u", "127.0.0.1:5000/base")->str(), "u/base:latest");
  EXPECT_EQ(flist_ref_for_image("u", "alpine")->str(), "u/alpine:latest");
  std::string hex(64, 'a');
  EXPECT_EQ(flist_ref_for_image("u", "localhost:5000/app:1@sha256:" + hex)->str(), "u/app:sha256-" + hex);
  EXPECT_FALSE(flist_ref_for_image("u", "Not A Ref"));
  EXPECT_FALSE(flist_ref_for_image("bad/user", "alpine"));
}

TEST(HubConvert, ParsesHubNamespaces) {
  auto ns = parse_hub_namespace("http://127.0.0.1:8080/alice");
  ASSERT_TRUE(ns);
  EXPECT_EQ(ns->base, "http://127.0.0.1:8080");
  EXPECT_EQ(ns->user, "alice");
  ns = parse_hub_namespace("https://hub.example/prefix/bob/");
  ASSERT_TRUE(ns);
  EXPECT_EQ(ns->base, "https://hub.example/prefix");
  EXPECT_EQ(ns->user, "bob");
  EXPECT_FALSE(parse_hub_namespace("http://127.0.0.1:8080"));
  EXPECT_FALSE(parse_hub_namespace("127.0.0.1:8080/alice"));
  EXPECT_FALSE(parse_hub_namespace("http:///alice"));
}

TEST(HubConvert, UpstreamErrorsAreTheRegistrys) {
  EXPECT_TRUE(is_upstream_error(Error{Errc::unavailable, 0, "x"}));
  EXPECT_TRUE(is_upstream_error(Error{Errc::corrupt, 0, "x"}));
  EXPECT_FALSE(is_upstream_error(Error{Errc::not_found, 0, "x"}));
  EXPECT_FALSE(is_upstream_error(Error{Errc::io, 0, "x"}));
}

class HubConvertApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = std::make_unique<HubRepository>(*HubRepository::open(dir_ / "hub"));
    key_ = *load_hub_key(dir_ / "hub.key", true);
    api_ = std::make_unique<HubApi>(*repo_, key_, "http://hub.test");
    alice_ = "Bearer " + issue_token(key_, "alice", std::chrono::seconds(600));
  }
  HubResponse put(const std::string& target, const std::string& body, const std::string& auth) {
    HubRequest req{"PUT", target, auth};
    req.content_type = "application/json";
    req.body = body;
    return api_->handle(req);
  }
  test::TempDir dir_;
  std::unique_ptr<HubRepository> repo_;
  HubKey key_;
  std::unique_ptr<HubApi> api_;
  std::string alice_;
};

TEST_F(HubConvertApiTest, NeedsTheUsersTokenAndAGoodRequest) {
  std::string body = R"({"image": "127.0.0.1:1/app:1"})";
  EXPECT_EQ(put("/api/flist/alice/app:1", body, "").status, 401u);
  EXPECT_EQ(put("/api/flist/alice/app:1", body, "Bearer alice.1.nope").status, 401u);
  std::string bob = "Bearer " + issue_token(key_, "bob", std::chrono::seconds(600));
  EXPECT_EQ(put("/api/flist/alice/app:1", body, bob).status, 403u);
  EXPECT_EQ(put("/api/flist/alice/app:1", "not json", alice_).status, 400u);
  auto bad_ref = put("/api/flist/alice/app:1", R"({"image": "UPPER/Case::x"})", alice_);
  EXPECT_EQ(bad_ref.status, 400u);
  EXPECT_TRUE(json::parse(bad_ref.body).contains("error"));
  EXPECT_EQ(put("/api/flist/alice/app:1", R"({"image": "127.0.0.1:1/app:1", "platform": "no/such/thing/here"})", alice_).status, 400u);
}

TEST_F(HubConvertApiTest, ADeadRegistryIsABadGateway) {
  // Port 1 on loopback: nobody listens, the connection is refused at once.
  auto r = put("/api/flist/alice/app:1", R"({"image": "127.0.0.1:1/app:1"})", alice_);
  EXPECT_EQ(r.status, 502u) << r.body;
  EXPECT_TRUE(json::parse(r.body).contains("error"));
  EXPECT_EQ(repo_->list("alice").error().kind, Errc::not_found);  // nothing was written
}
