// The node's bookkeeping without containers: the deploy request's form, entrypoint words, and
// what node.db remembers (users, the admin token's hash, seen signatures, workloads).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <ctime>

#include "test_support.hpp"
#include "zos/node_identity.hpp"
#include "zos/node_state.hpp"
#include "zos/workload.hpp"
#include "zos/workload_result.hpp"
#include "zos/zos_node.hpp"

namespace tiffin::zos {
namespace {

TEST(ZosNodeWords, SplitsAsAShellWouldWithoutExpanding) {
  EXPECT_EQ(*split_words("sh -c 'echo $HOME; ls'"), (std::vector<std::string>{"sh", "-c", "echo $HOME; ls"}));
  EXPECT_EQ(*split_words("  a\t\"b c\"  d\\ e \"q\\\"x\" ''"), (std::vector<std::string>{"a", "b c", "d e", "q\"x", ""}));
  EXPECT_TRUE(split_words("")->empty());
  EXPECT_EQ(split_words("echo 'open").error().kind, Errc::invalid_input);
}

TEST(ZosNodeRequest, ParsesAndRefusesWhatIsNotARequest) {
  auto r = parse_deploy_request(R"({"user_id": 7, "signature": "ab", "version": 1, "workload": {"workload_id": 3, "flist": "busybox"}})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->user_id, 7);
  EXPECT_EQ(r->secret_version, 1);
  EXPECT_EQ(r->workload.flist, "busybox");
  EXPECT_EQ(*parse_deploy_request(deploy_request_json(*r).dump()), *r);
  for (const char* bad : {"{nope", "[]", R"({"signature": "ab", "workload": {}})", R"({"user_id": "7", "signature": "ab", "workload": {}})",
           R"({"user_id": 7, "workload": {}})", R"({"user_id": 7, "signature": "ab", "version": 2, "workload": {}})",
           R"({"user_id": 7, "signature": "ab"})", R"({"user_id": 7, "signature": "ab", "workload": {"capacity": {"cpu": "x"}}})"}) {
    auto e = parse_deploy_request(bad);
    ASSERT_FALSE(e) << bad;
    EXPECT_EQ(e.error().kind, Errc::invalid_input) << bad;
  }
}

TEST(ZosNodeState, UsersTokenSignaturesAndWorkloadsPersist) {
  test::TempDir dir;
  {
    auto st = NodeState::open(dir.path());
    ASSERT_TRUE(st) << st.error().message;
    ASSERT_TRUE(st->add_user({7, "aa"}));
    ASSERT_TRUE(st->add_user({7, "bb"}));  // a new key for a known id replaces the old one
    ASSERT_TRUE(st->add_user({9, "cc"}));
    EXPECT_EQ(st->remove_user(42).error().kind, Errc::not_found);
    ASSERT_TRUE(st->remove_user(9));

    EXPECT_FALSE(*st->admin_token_matches("anything"));  // none made yet
    auto token = st->rotate_admin_token();
    ASSERT_TRUE(token);
    EXPECT_EQ(token->size(), 64u);
    EXPECT_TRUE(*st->admin_token_matches(*token));
    EXPECT_FALSE(*st->admin_token_matches(*token + "x"));
    EXPECT_FALSE(*st->admin_token_matches(""));
    auto second = st->rotate_admin_token();
    EXPECT_FALSE(*st->admin_token_matches(*token));  // rotated away
    EXPECT_TRUE(*st->admin_token_matches(*second));
    // Only the hash is kept: the token's text is in no setting.
    EXPECT_NE(*st->setting("admin_token_hash"), *second);

    int64_t now = std::time(nullptr);
    ASSERT_TRUE(st->remember_signature("sig1", now + 600));
    EXPECT_EQ(st->remember_signature("sig1", now + 600).error().kind, Errc::conflict);
    ASSERT_TRUE(st->remember_signature("old", now - 1));  // expired at once: forgotten on the next call
    ASSERT_TRUE(st->remember_signature("sig2", now + 600));
    EXPECT_TRUE(st->remember_signature("old", now + 600));

    ASSERT_TRUE(st->put_workload({5, 7, R"({"flist":"x"})", "challenge", 1, "cid", R"({"state":"ok"})"}));
  }
  struct stat s {};
  ASSERT_EQ(::stat((dir.path() + "/zos/node.db").c_str(), &s), 0);
  EXPECT_EQ(s.st_mode & 077, 0u);  // holds who may deploy: the node's admins' only
  auto st = NodeState::open(dir.path());
  ASSERT_TRUE(st);
  auto users = *st->users();
  ASSERT_EQ(users.size(), 1u);
  EXPECT_EQ(users[0].public_key, "bb");
  EXPECT_EQ(**st->user_key(7), "bb");
  EXPECT_FALSE(*st->user_key(9));
  EXPECT_EQ(st->remember_signature("sig2", std::time(nullptr) + 600).error().kind, Errc::conflict);
  auto w = *st->workload(5);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->container, "cid");
  EXPECT_EQ(w->secret_version, 1);
  EXPECT_EQ(st->workloads()->size(), 1u);
  ASSERT_TRUE(st->remove_workload(5));
  EXPECT_FALSE(*st->workload(5));
}

// An interactive workload runs coreX, which never serves without a token and listens on eth0:
// one without secret_environment.COREX_TOKEN, or without a network, is refused before anything
// runs (checked after the signature, so it is the user's own mistake: invalid_input).
TEST(ZosNodeDeploy, InteractiveWorkloadsNeedATokenAndANetwork) {
  test::TempDir dir;
  engine::EngineOptions opts;
  opts.root = dir.path();
  auto node = ZosNode::open(opts);
  ASSERT_TRUE(node) << node.error().message;
  auto node_id = load_or_create_identity(dir.path() + "/zos/identity.key");
  auto user = identity_from_seed_hex(std::string(64, '7'));
  ASSERT_TRUE(node_id && user);
  {
    auto st = NodeState::open(dir.path());
    ASSERT_TRUE(st && st->add_user({7, user->public_hex()}));
  }
  auto refusal = [&](ContainerWorkload w) {
    w.customer_tid = 7;
    w.node_id = node_id->node_id();
    w.epoch = std::time(nullptr);
    w.flist = "https://hub.grid.tf/tf-official-apps/base:latest.flist";
    w.interactive = true;
    DeployRequest r{7, user->sign_hex(signature_challenge(w)), 1, w};
    DeployOutcome out = node->deploy(r);
    EXPECT_TRUE(out.authenticated);
    EXPECT_EQ(out.result.state, ResultState::error);
    return out.error.value_or(Error{Errc::internal, 0, "deployed"});
  };
  ContainerWorkload no_token;
  no_token.workload_id = 1;
  no_token.network_connection.push_back({});
  Error e = refusal(no_token);
  EXPECT_EQ(e.kind, Errc::invalid_input) << e.message;
  EXPECT_NE(e.message.find("COREX_TOKEN"), std::string::npos) << e.message;

  ContainerWorkload no_network;
  no_network.workload_id = 2;
  no_network.secret_environment["COREX_TOKEN"] = "00";
  e = refusal(no_network);
  EXPECT_EQ(e.kind, Errc::invalid_input) << e.message;
  EXPECT_NE(e.message.find("needs a network"), std::string::npos) << e.message;
}

}  // namespace
}  // namespace tiffin::zos
