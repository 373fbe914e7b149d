// Prefetch profiles on the hub: reports learnt and merged, served, refused; carried by pull.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/fd.hpp"
#include "flist/flist_file.hpp"
#include "flist/flist_profile.hpp"
#include "flist/pack.hpp"
#include "hub/hub_api.hpp"
#include "hub/hub_client.hpp"
#include "hub/hub_server.hpp"
#include "hub/push.hpp"
#include "store/block_codec.hpp"
#include "test_support.hpp"

using namespace tiffin;
using namespace tiffin::hub;
using json = nlohmann::json;

namespace {

Hash foreign_id(uint8_t b) {
  Hash h{};
  h.fill(b);
  return h;
}

std::string json_ids(const std::vector<Hash>& ids) {
  json a = json::array();
  for (const Hash& h : ids) a.push_back(to_hex(h));
  return a.dump();
}

// A packed flist of a few blocks, its blocks in a local store.
struct Packed {
  std::string fl;
  std::vector<Hash> blocks;
};

Packed pack_flist(const test::TempDir& dir, const std::string& name) {
  std::string src = dir / ("src-" + name);
  ::mkdir(src.c_str(), 0755);
  test::write_text(src + "/a", "alpha " + name + "\n");
  test::write_text(src + "/b", "beta " + name + "\n");
  std::ofstream(src + "/big", std::ios::binary) << std::string(3 * kBlockSize / 2, 'x') << name;
  auto store = *DirStore::open(dir / "local", true);
  Tree tree;
  EXPECT_TRUE(pack_directory(src, *store, tree, {.progress = false}));
  tree.routes = {Route{0, 0xff, "dir://" + (dir / "local")}};
  Packed p{dir / (name + ".fl"), tree.block_ids()};
  EXPECT_TRUE(save_flist(p.fl, tree));
  return p;
}

class HubProfileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = std::make_unique<HubRepository>(*HubRepository::open(dir_ / "hub"));
    key_ = *load_hub_key(dir_ / "hub.key", true);
    api_ = std::make_unique<HubApi>(*repo_, key_, "http://hub.test");
    alice_ = "Bearer " + issue_token(key_, "alice", std::chrono::seconds(600));
    bob_ = "Bearer " + issue_token(key_, "bob", std::chrono::seconds(600));
    x_ = pack_flist(dir_, "x");
    auto local = *DirStore::open(dir_ / "local", false);
    for (const Hash& id : x_.blocks) {
      Bytes b = *local->get(id);
      ASSERT_EQ(call("PUT", "/blocks/" + to_hex(id), std::string(b.begin(), b.end()), alice_).status, 201u);
    }
    Bytes fl = *read_file(x_.fl);
    ASSERT_EQ(call("PUT", "/api/flist/alice/x:v1", std::string(fl.begin(), fl.end()), alice_).status, 201u);
  }

  HubResponse call(std::string method, std::string target, std::string body = {}, std::string auth = {}) {
    HubRequest req{std::move(method), std::move(target), std::move(auth)};
    if (HubApi::streams_body(req.method, req.target)) {
      req.body_file = repo_->temp_path();
      test::write_text(req.body_file, body);
    } else {
      req.body = std::move(body);
    }
    return api_->handle(req);
  }
  std::vector<Hash> served(const std::string& ref) {
    auto r = call("GET", "/api/flist/" + ref + "/profile");
    if (r.status != 200) return {};
    EXPECT_EQ(r.content_type, "text/plain");
    return parse_profile_text(r.body, "served").value_or(std::vector<Hash>{});
  }

  test::TempDir dir_;
  std::unique_ptr<HubRepository> repo_;
  HubKey key_;
  std::unique_ptr<HubApi> api_;
  std::string alice_, bob_;
  Packed x_;
};

}  // namespace

TEST_F(HubProfileTest, ReportsAreLearntMergedAndServed) {
  EXPECT_EQ(call("GET", "/api/flist/alice/x:v1/profile").status, 404u) << "neither learnt nor embedded";
  const auto& b = x_.blocks;
  ASSERT_GE(b.size(), 3u);
  // Any user's token may report (bob runs alice's flist); foreign ids and repeats are dropped.
  std::vector<Hash> first{b[2], foreign_id(9), b[0], b[2]};
  auto r = call("POST", "/api/flist/alice/x:v1/profile", profile_text(first), bob_);
  ASSERT_EQ(r.status, 200u) << r.body;
  json j = json::parse(r.body);
  EXPECT_EQ(j["accepted"], 2);
  EXPECT_EQ(j["dropped"], 2);
  EXPECT_EQ(j["reports"], 1);
  EXPECT_EQ(served("alice/x:v1"), (std::vector<Hash>{b[2], b[0]}));

  // JSON reports; merged, b[0] has the median position 0, b[2] 0.25, b[1] 1.
  r = call("POST", "/api/flist/alice/x:v1/profile", json_ids({b[0], b[1]}), alice_);
  ASSERT_EQ(r.status, 200u) << r.body;
  auto token = [&](const std::string& user) { return "Bearer " + issue_token(key_, user, std::chrono::seconds(600)); };
  r = call("POST", "/api/flist/alice/x:v1/profile", json_ids({b[0], b[2], b[1]}), token("carol"));
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(json::parse(r.body)["reports"], 3);
  EXPECT_EQ(served("alice/x:v1"), (std::vector<Hash>{b[0], b[2], b[1]}));

  // One slot per reporter: its latest report replaces its earlier one, so no user outvotes others.
  for (int i = 0; i < 20; ++i) ASSERT_EQ(call("POST", "/api/flist/alice/x:v1/profile", json_ids({b[1]}), bob_).status, 200u);
  r = call("POST", "/api/flist/alice/x:v1/profile", json_ids({b[1]}), bob_);
  EXPECT_EQ(json::parse(r.body)["reports"], 3) << r.body;

  // Only the last 16 reporters count.
  for (int i = 0; i < 20; ++i)
    ASSERT_EQ(call("POST", "/api/flist/alice/x:v1/profile", json_ids({b[1]}), token("user" + std::to_string(i))).status, 200u);
  EXPECT_EQ(served("alice/x:v1"), (std::vector<Hash>{b[1]})) << "old reports aged out";
  size_t kept = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir_ / "hub/profiles")) kept += e.path().extension() == ".ids";
  EXPECT_EQ(kept, HubRepository::kProfileReportsKept);

  // A link serves its target's profile; a tag pushed again starts afresh.
  ASSERT_EQ(call("PUT", "/api/flist/alice/x:latest/link", R"({"target": "alice/x:v1"})", alice_).status, 201u);
  EXPECT_EQ(served("alice/x"), (std::vector<Hash>{b[1]}));
  Packed y = pack_flist(dir_, "y");
  auto local = *DirStore::open(dir_ / "local", false);
  for (const Hash& id : y.blocks) {
    Bytes blk = *local->get(id);
    (void)call("PUT", "/blocks/" + to_hex(id), std::string(blk.begin(), blk.end()), alice_);
  }
  Bytes fl = *read_file(y.fl);
  ASSERT_EQ(call("PUT", "/api/flist/alice/x:v1", std::string(fl.begin(), fl.end()), alice_).status, 201u);
  EXPECT_EQ(call("GET", "/api/flist/alice/x:v1/profile").status, 404u) << "a new file has no reports";
}

TEST_F(HubProfileTest, AnEmbeddedProfileIsServedUntilOneIsLearnt) {
  const auto& b = x_.blocks;
  std::string fl = dir_ / "embedded.fl";
  std::filesystem::copy_file(x_.fl, fl);
  ASSERT_TRUE(write_flist_profile(fl, std::vector<Hash>{b[1], b[0]}));
  Bytes content = *read_file(fl);
  ASSERT_EQ(call("PUT", "/api/flist/alice/e", std::string(content.begin(), content.end()), alice_).status, 201u);
  EXPECT_EQ(served("alice/e"), (std::vector<Hash>{b[1], b[0]}));
  EXPECT_EQ(call("HEAD", "/api/flist/alice/e/profile").status, 200u);
  ASSERT_EQ(call("POST", "/api/flist/alice/e/profile", json_ids({b[2]}), alice_).status, 200u);
  EXPECT_EQ(served("alice/e"), (std::vector<Hash>{b[2]}));
}

TEST_F(HubProfileTest, RefusedReportsChangeNothing) {
  const auto& b = x_.blocks;
  std::string good = json_ids({b[0]});
  // No token, or a bad one.
  auto r = call("POST", "/api/flist/alice/x:v1/profile", good);
  EXPECT_EQ(r.status, 401u);
  EXPECT_EQ(call("POST", "/api/flist/alice/x:v1/profile", good, "Bearer alice.1.00").status, 401u);
  // No such flist (nor user).
  EXPECT_EQ(call("POST", "/api/flist/alice/nothing/profile", good, alice_).status, 404u);
  EXPECT_EQ(call("POST", "/api/flist/carol/x:v1/profile", good, alice_).status, 404u);
  // Garbage, an empty report, a report that names none of the flist's blocks.
  for (std::string body : {std::string("garbage"), std::string("[\"zz\"]"), std::string("{\"ids\": 3}"), std::string("[]"),
           profile_text(std::vector<Hash>{}), json_ids({foreign_id(1), foreign_id(2)}), std::string("# tiffin prefetch profile v1\nxyz\n")})
    EXPECT_EQ(call("POST", "/api/flist/alice/x:v1/profile", body, alice_).status, 400u) << body;
  // Too many ids; too large a body.
  std::vector<Hash> many(HubApi::kMaxProfileReportIds + 1, b[0]);
  EXPECT_EQ(call("POST", "/api/flist/alice/x:v1/profile", profile_text(many), alice_).status, 413u);
  EXPECT_EQ(call("POST", "/api/flist/alice/x:v1/profile", std::string(HubApi::kMaxProfileReportBody + 1, '['), alice_).status, 413u);
  // Other methods are no API.
  EXPECT_EQ(call("PUT", "/api/flist/alice/x:v1/profile", good, alice_).status, 404u);

  EXPECT_EQ(call("GET", "/api/flist/alice/x:v1/profile").status, 404u) << "nothing was learnt";
  EXPECT_FALSE(std::filesystem::exists(dir_ / "hub/profiles/nothing"));
  size_t files = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir_ / "hub/profiles", ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); ++it)
    files += it->is_regular_file();
  EXPECT_EQ(files, 0u);
  EXPECT_EQ(call("GET", "/api/flist/alice/nothing/profile").status, 404u);
}

TEST(HubProfileServer, PushPullCarriesEmbeddedAndLearntProfiles) {
  test::TempDir dir;
  auto server = HubServer::start({.root = dir / "hub", .listen = "127.0.0.1:0"});
  ASSERT_TRUE(server) << server.error().what();
  std::string base = (*server)->public_url();
  HubKey key = *load_hub_key(dir / "hub/hub.key", false);
  std::string token = issue_token(key, "alice", std::chrono::seconds(300));

  // An embedded profile travels in the file: push, then pull, keeps it as it was.
  Packed x = pack_flist(dir, "x");
  std::vector<Hash> order(x.blocks.rbegin(), x.blocks.rend());
  ASSERT_TRUE(write_flist_profile(x.fl, order));
  ASSERT_TRUE(push_flist(x.fl, *parse_hub_location(base + "/alice/x:v1"), {.token = token, .progress = false}));
  auto size = pull_flist(*parse_hub_location(base + "/alice/x:v1"), dir / "pulled.fl");
  ASSERT_TRUE(size) << size.error().what();
  EXPECT_EQ(*read_flist_profile(dir / "pulled.fl"), order);
  EXPECT_EQ(load_flist(dir / "pulled.fl")->routes.at(0).url, base);

  // Without one embedded, the pull writes the hub's learnt profile into the copy.
  Packed y = pack_flist(dir, "y");
  ASSERT_TRUE(push_flist(y.fl, *parse_hub_location(base + "/alice/y"), {.token = token, .progress = false}));
  ASSERT_TRUE(pull_flist(*parse_hub_location(base + "/alice/y"), dir / "bare.fl"));
  EXPECT_TRUE(read_flist_profile(dir / "bare.fl")->empty()) << "nothing learnt yet: no profile, no error";
  HubClient client(base, token);
  EXPECT_FALSE(*client.fetch_profile(*parse_flist_ref("alice/y")));
  auto answer = client.report_profile(*parse_flist_ref("alice/y"), std::vector<Hash>{y.blocks[1], y.blocks[0]});
  ASSERT_TRUE(answer) << answer.error().what();
  EXPECT_EQ((*answer)["accepted"], 2);
  EXPECT_EQ(**client.fetch_profile(*parse_flist_ref("alice/y")), (std::vector<Hash>{y.blocks[1], y.blocks[0]}));
  ASSERT_TRUE(pull_flist(*parse_hub_location(base + "/alice/y"), dir / "learnt.fl"));
  EXPECT_EQ(*read_flist_profile(dir / "learnt.fl"), (std::vector<Hash>{y.blocks[1], y.blocks[0]}));

  // A report without a token is refused by the server too.
  HubClient anonymous(base, "");
  auto refused = anonymous.report_profile(*parse_flist_ref("alice/y"), y.blocks);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, Errc::denied);
}
