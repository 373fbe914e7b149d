// The hub's routes, driven without sockets.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/fd.hpp"
#include "flist/flist_edit.hpp"
#include "flist/flist_file.hpp"
#include "flist/pack.hpp"
#include "hub/hub_api.hpp"
#include "store/block_codec.hpp"
#include "test_support.hpp"

using namespace tiffin;
using namespace tiffin::hub;
using json = nlohmann::json;

namespace {

class HubApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = std::make_unique<HubRepository>(*HubRepository::open(dir_ / "hub", {.max_block = 1 << 20, .max_flist = 1 << 20}));
    key_ = *load_hub_key(dir_ / "hub.key", true);
    api_ = std::make_unique<HubApi>(*repo_, key_, "http://hub.test");
    alice_ = "Bearer " + issue_token(key_, "alice", std::chrono::seconds(600));
    // A small flist whose blocks are in a local store, not yet on the hub.
    std::string src = dir_ / "src";
    ::mkdir(src.c_str(), 0755);
    test::write_text(src + "/a", "alpha\n");
    std::ofstream(src + "/big", std::ios::binary) << std::string(3 * kBlockSize / 2, 'x') << "tail";
    local_ = *DirStore::open(dir_ / "local", true);
    Tree tree;
    ASSERT_TRUE(pack_directory(src, *local_, tree, {.progress = false}));
    tree.routes = {Route{0, 0xff, "dir://" + (dir_ / "local")}};
    ASSERT_TRUE(save_flist(dir_ / "x.fl", tree));
    for (const Node& n : tree.nodes)
      for (const BlockRef& b : n.blocks) ids_.push_back(b.id);
  }

  HubResponse call(std::string method, std::string target, std::string body = {}, std::string auth = {}) {
    HubRequest req{std::move(method), std::move(target), std::move(auth)};
    if (HubApi::streams_body(req.method, req.target)) {
      req.body_file = repo_->temp_path();
      test::write_text(req.body_file, body);
    } else {
      req.body = std::move(body);
    }
    return handle(req);
  }
  // The answer with a file body read into `body`, as a client would receive it.
  HubResponse handle(const HubRequest& req) {
    HubResponse r = api_->handle(req);
    if (r.file) {
      r.body.resize(r.content_length);
      auto got = read_full_at(r.file->get(), {reinterpret_cast<uint8_t*>(r.body.data()), r.body.size()}, r.file_offset);
      EXPECT_TRUE(got && *got == r.content_length);
    }
    return r;
  }
  std::string block(const Hash& id) {
    Bytes b = *local_->get(id);
    return std::string(b.begin(), b.end());
  }
  std::string flist_bytes() {
    Bytes b = *read_file(dir_ / "x.fl");
    return std::string(b.begin(), b.end());
  }
  void upload_blocks() {
    for (const Hash& id : ids_) ASSERT_EQ(call("PUT", "/blocks/" + to_hex(id), block(id), alice_).status, 201u);
  }

  test::TempDir dir_;
  std::unique_ptr<HubRepository> repo_;
  HubKey key_;
  std::unique_ptr<HubApi> api_;
  std::string alice_;
  std::shared_ptr<DirStore> local_;
  std::vector<Hash> ids_;
};

}  // namespace

TEST_F(HubApiTest, BlocksNeedATokenAndTheirOwnHash) {
  const Hash& id = ids_[0];
  std::string hex = to_hex(id);
  EXPECT_EQ(call("PUT", "/blocks/" + hex, block(id)).status, 401u);
  EXPECT_EQ(call("PUT", "/blocks/" + hex, block(id), "Bearer alice.1.00").status, 401u);
  EXPECT_EQ(call("PUT", "/blocks/" + hex, block(id) + "x", alice_).status, 400u) << "id must be the hash of the body";
  EXPECT_EQ(call("PUT", "/blocks/" + hex, std::string((1 << 20) + 1, 'a'), alice_).status, 400u) << "size limit";
  EXPECT_EQ(call("GET", "/" + hex.substr(0, 2) + "/" + hex).status, 404u);

  EXPECT_EQ(call("PUT", "/blocks/" + hex, block(id), alice_).status, 201u);
  auto got = call("GET", "/" + hex.substr(0, 2) + "/" + hex);
  EXPECT_EQ(got.status, 200u);
  EXPECT_EQ(got.body, block(id));
  EXPECT_EQ(call("GET", "/blocks/" + hex).body, block(id));
  auto head = call("HEAD", "/" + hex.substr(0, 2) + "/" + hex);
  EXPECT_EQ(head.status, 200u);
  EXPECT_EQ(head.content_length, block(id).size());
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(call("GET", "/zz/" + hex).status, 404u) << "prefix must match the id";
}

TEST_F(HubApiTest, MetricsAreForTheHostOrTokenHolders) {
  HubRequest req{"GET", "/metrics"};
  EXPECT_EQ(handle(req).status, 404u) << "no page until the server sets one";
  api_->set_metrics_page([] { return std::string("tiffin_hub_open_connections 3\n"); });
  req.client = "127.0.0.1";
  auto local = handle(req);
  EXPECT_EQ(local.status, 200u);
  EXPECT_EQ(local.body, "tiffin_hub_open_connections 3\n");
  EXPECT_TRUE(local.content_type.starts_with("text/plain"));
  req.client = "192.0.2.7";
  EXPECT_EQ(handle(req).status, 401u) << "from elsewhere it needs a token";
  req.authorization = alice_;
  EXPECT_EQ(handle(req).status, 200u);
}

TEST_F(HubApiTest, RangeRequests) {
  upload_blocks();
  std::string hex = to_hex(ids_[0]);
  std::string whole = block(ids_[0]);
  HubRequest req{"GET", "/blocks/" + hex, "", "bytes=2-9"};
  auto r = handle(req);
  EXPECT_EQ(r.status, 206u);
  EXPECT_EQ(r.body, whole.substr(2, 8));
  req.range = "bytes=-4";
  EXPECT_EQ(handle(req).body, whole.substr(whole.size() - 4));
  req.range = "bytes=5-";
  EXPECT_EQ(handle(req).body, whole.substr(5));
  req.range = "bytes=" + std::to_string(whole.size()) + "-";
  EXPECT_EQ(api_->handle(req).status, 416u);
  req.range = "bytes=9-2";
  EXPECT_EQ(api_->handle(req).status, 416u);
  req.range = "bytes=0-1,4-5";  // several ranges: the whole file is a valid answer
  EXPECT_EQ(api_->handle(req).status, 200u);
  for (const char* junk : {"bytes=abc-", "bytes=-abc", "bytes=1-x", "bytes=+1-2", "bytes=99999999999999999999-"}) {
    req.range = junk;
    EXPECT_EQ(api_->handle(req).status, 416u) << junk;
  }
}

TEST_F(HubApiTest, MalformedEscapesAreBadRequests) {
  auto plain = call("GET", "/api/flist/alice");
  auto escaped = call("GET", "/api/flist/%61lice");
  EXPECT_EQ(escaped.status, plain.status);
  EXPECT_EQ(escaped.body, plain.body);
  for (const char* target : {"/api/flist/%zz", "/api/flist/%4", "/api/flist/a%", "/api/flist/%+1", "/api/flist/%-1"}) {
    auto r = call("GET", target);
    EXPECT_EQ(r.status, 400u) << target;
    EXPECT_NE(r.body.find("malformed escape"), std::string::npos) << r.body;
  }
}

TEST_F(HubApiTest, MissingListsWhatTheHubLacks) {
  json ids = json::array();
  for (const Hash& id : ids_) ids.push_back(to_hex(id));
  auto r = call("POST", "/api/blocks/missing", ids.dump());
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(json::parse(r.body).size(), ids_.size());
  upload_blocks();
  EXPECT_EQ(json::parse(call("POST", "/api/blocks/missing", ids.dump()).body).size(), 0u);
  EXPECT_EQ(call("POST", "/api/blocks/missing", "{not json").status, 400u);
  EXPECT_EQ(call("POST", "/api/blocks/missing", R"(["abc"])").status, 400u);
}

TEST_F(HubApiTest, FlistUploadNeedsItsBlocksAndTheRightUser) {
  EXPECT_EQ(call("PUT", "/api/flist/alice/x", flist_bytes()).status, 401u);
  auto bob = "Bearer " + issue_token(key_, "bob", std::chrono::seconds(60));
  EXPECT_EQ(call("PUT", "/api/flist/alice/x", flist_bytes(), bob).status, 403u);
  auto r = call("PUT", "/api/flist/alice/x", flist_bytes(), alice_);
  EXPECT_EQ(r.status, 409u) << r.body;
  EXPECT_EQ(call("GET", "/alice/x.fl").status, 404u) << "a refused upload leaves nothing";

  upload_blocks();
  r = call("PUT", "/api/flist/alice/x:v1", flist_bytes(), alice_);
  ASSERT_EQ(r.status, 201u) << r.body;
  EXPECT_EQ(call("GET", "/alice/x:v1.fl").body, flist_bytes());
  EXPECT_EQ(call("GET", "/alice/x.fl").status, 404u) << "only v1 was pushed, not latest";
  auto info = json::parse(call("GET", "/api/flist/alice/x:v1").body);
  EXPECT_EQ(info["size"], flist_bytes().size());
  EXPECT_EQ(info["md5"].get<std::string>().size(), 32u);
  EXPECT_EQ(call("GET", "/alice/x:v1.fl.md5").body, info["md5"].get<std::string>() + "\n");
  EXPECT_EQ(json::parse(call("GET", "/api/flist").body), json::array({"alice"}));

  // Garbage that is neither an flist nor a tar archive.
  EXPECT_EQ(call("PUT", "/api/flist/alice/junk", "SQLite format 3" + std::string(1, '\0') + "garbage", alice_).status, 400u);
  EXPECT_EQ(call("PUT", "/api/flist/alice/junk", "plain words", alice_).status, 400u);
  EXPECT_EQ(call("GET", "/alice/junk.fl").status, 404u);
  for (const char* t : {"/api/flist/alice/..", "/api/flist/alice/%2e%2e%2fbob", "/api/flist/.x/y", "/api/flist/alice/a%zz"})
    EXPECT_EQ(call("PUT", t, flist_bytes(), alice_).status >= 400u, true) << t;
  EXPECT_EQ(call("GET", "/api/flist/alice").body.find(".."), std::string::npos);
}

TEST_F(HubApiTest, LinksTagsAndDelete) {
  upload_blocks();
  ASSERT_EQ(call("PUT", "/api/flist/alice/x:v1", flist_bytes(), alice_).status, 201u);
  auto bob = "Bearer " + issue_token(key_, "bob", std::chrono::seconds(60));
  EXPECT_EQ(call("PUT", "/api/flist/bob/y/link", R"({"target": "alice/nope"})", bob).status, 404u);
  auto r = call("PUT", "/api/flist/bob/y/link", R"({"target": "alice/x:v1"})", bob);
  ASSERT_EQ(r.status, 201u) << r.body;
  EXPECT_EQ(call("GET", "/bob/y.fl").body, flist_bytes()) << "links are followed";
  auto listing = json::parse(call("GET", "/api/flist/bob").body);
  ASSERT_EQ(listing.size(), 1u);
  EXPECT_EQ(listing[0]["type"], "symlink");
  EXPECT_EQ(listing[0]["target"], "alice/x:v1");
  // Tag latest of alice/x as v1, then a cycle is refused.
  ASSERT_EQ(call("PUT", "/api/flist/alice/x/link", R"({"target": "alice/x:v1"})", alice_).status, 201u);
  ASSERT_EQ(call("PUT", "/api/flist/alice/z/link", R"({"target": "alice/x"})", alice_).status, 201u);
  EXPECT_EQ(call("DELETE", "/api/flist/alice/x").status, 401u);
  EXPECT_EQ(call("DELETE", "/api/flist/alice/x", "", alice_).status, 204u);
  ASSERT_EQ(call("PUT", "/api/flist/alice/x/link", R"({"target": "alice/z"})", alice_).status, 404u) << "z is dangling now";

  EXPECT_EQ(call("DELETE", "/api/flist/alice/x:v1", "", bob).status, 403u);
  EXPECT_EQ(call("DELETE", "/api/flist/alice/x:v1", "", alice_).status, 204u);
  EXPECT_EQ(call("GET", "/bob/y.fl").status, 404u) << "a dangling link serves nothing";
  EXPECT_EQ(call("DELETE", "/api/flist/alice/x:v1", "", alice_).status, 404u);
}

TEST_F(HubApiTest, TarUploadBecomesAnFlistOfThisHub) {
  std::string tar = dir_ / "src.tar";
  ASSERT_EQ(std::system(("tar -C " + (dir_ / "src") + " -cf " + tar + " .").c_str()), 0);
  Bytes content = *read_file(tar);
  auto r = call("PUT", "/api/flist/alice/fromtar", std::string(content.begin(), content.end()), alice_);
  ASSERT_EQ(r.status, 201u) << r.body;
  std::string fl = dir_ / "fromtar.fl";
  test::write_text(fl, call("GET", "/alice/fromtar.fl").body);
  auto tree = load_flist(fl);
  ASSERT_TRUE(tree) << tree.error().what();
  ASSERT_EQ(tree->routes.size(), 1u);
  EXPECT_EQ(tree->routes[0].url, "http://hub.test");
  json ids = json::array();
  for (const Node& n : tree->nodes)
    for (const BlockRef& b : n.blocks) ids.push_back(to_hex(b.id));
  EXPECT_GE(ids.size(), 3u);
  EXPECT_EQ(json::parse(call("POST", "/api/blocks/missing", ids.dump()).body).size(), 0u) << "its blocks are on the hub";
}

TEST_F(HubApiTest, NonUtf8TargetsGetAnErrorNotACrash) {
  // Found by hub_api_fuzz: the error message quoted the target and JSON serialisation threw.
  auto r = call("DELETE", "/a\xff\xff\x0c/fuzz/x:v1");
  EXPECT_EQ(r.status, 404u);
  EXPECT_TRUE(json::accept(r.body)) << r.body;
  r = call("POST", "/api/blocks/missing", "[\"\xff\"]");
  EXPECT_EQ(r.status, 400u);
}

TEST_F(HubApiTest, DigestsFollowAReplacedFlist) {
  upload_blocks();
  ASSERT_EQ(call("PUT", "/api/flist/alice/x", flist_bytes(), alice_).status, 201u);
  std::string first = call("GET", "/alice/x.fl.md5").body;
  EXPECT_EQ(call("GET", "/alice/x.fl.md5").body, first) << "asked twice, same answer";
  // The same blocks, other bytes: a tag makes a new flist under the same name.
  ASSERT_TRUE(set_tags(dir_ / "x.fl", {{"version", "2"}}));
  ASSERT_EQ(call("PUT", "/api/flist/alice/x", flist_bytes(), alice_).status, 201u);
  std::string second = call("GET", "/alice/x.fl.md5").body;
  EXPECT_NE(second, first);
  EXPECT_EQ(json::parse(call("GET", "/api/flist/alice/x").body)["md5"].get<std::string>() + "\n", second);
}

TEST_F(HubApiTest, LayerChainsAreServedByTheirId) {
  std::string id(64, 'a');
  EXPECT_EQ(call("GET", "/api/layers/" + id).status, 404u);
  ::mkdir((dir_ / "hub/layers").c_str(), 0755);
  test::write_text(dir_ / ("hub/layers/" + id + ".fl"), "chain flist");
  HubResponse r = call("GET", "/api/layers/" + id);
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "chain flist");
  // Only ids: no way to name another file of the hub.
  for (const char* bad : {"/api/layers/..%2Fhub.key", "/api/layers/AAAA", "/api/layers/zz"})
    EXPECT_EQ(call("GET", bad).status, 400u) << bad;
  EXPECT_EQ(call("PUT", "/api/layers/" + id, "x", alice_).status, 404u);
}
