// The hub over real sockets: push, pull, lazy reads through an http:// route, limits, TLS.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "common/fd.hpp"
#include "flist/content.hpp"
#include "flist/flist_file.hpp"
#include "flist/pack.hpp"
#include "hub/hub_client.hpp"
#include "hub/hub_server.hpp"
#include "hub/hub_token.hpp"
#include "hub/push.hpp"
#include "store/router.hpp"
#include "test_support.hpp"

using namespace tiffin;
using namespace tiffin::hub;

namespace {

std::unique_ptr<HubServer> start_hub(const test::TempDir& dir, HubServeOptions o = {}) {
  o.root = dir / "hub";
  o.listen = "127.0.0.1:0";
  auto server = HubServer::start(o);
  EXPECT_TRUE(server) << server.error().what();
  return server ? std::move(*server) : nullptr;
}

std::string pack_tree(const test::TempDir& dir, const std::string& name, const std::string& extra) {
  std::string src = dir / ("src-" + name);
  ::mkdir(src.c_str(), 0755);
  test::write_text(src + "/same", std::string(900000, 's'));
  test::write_text(src + "/changes", extra);
  auto store = *DirStore::open(dir / "local", true);
  Tree tree;
  EXPECT_TRUE(pack_directory(src, *store, tree, {.progress = false}));
  tree.routes = {Route{0, 0xff, "dir://" + (dir / "local")}};
  std::string fl = dir / (name + ".fl");
  EXPECT_TRUE(save_flist(fl, tree));
  return fl;
}

}  // namespace

TEST(HubServer, PushPullAndLazyReadsFromTheHub) {
  test::TempDir dir;
  auto server = start_hub(dir);
  ASSERT_TRUE(server);
  std::string base = server->public_url();
  HubKey key = *load_hub_key(dir / "hub/hub.key", false);
  std::string token = issue_token(key, "alice", std::chrono::seconds(300));

  std::string v1 = pack_tree(dir, "v1", "first version\n");
  auto loc = *parse_hub_location(base + "/alice/app:v1");
  auto first = push_flist(v1, loc, {.token = token, .progress = false});
  ASSERT_TRUE(first) << first.error().what();
  EXPECT_GT(first->blocks_sent, 0u);
  EXPECT_EQ(first->blocks_sent, first->blocks);

  // The second version shares the big file: only the changed block goes.
  std::string v2 = pack_tree(dir, "v2", "second version\n");
  auto second = push_flist(v2, *parse_hub_location(base + "/alice/app:v2"), {.token = token, .progress = false});
  ASSERT_TRUE(second) << second.error().what();
  EXPECT_EQ(second->blocks_sent, 1u);

  // Without a token, or with another user's, nothing is written.
  EXPECT_FALSE(push_flist(v1, *parse_hub_location(base + "/alice/x"), {.progress = false}));
  std::string bobs = issue_token(key, "bob", std::chrono::seconds(60));
  auto denied = push_flist(v1, *parse_hub_location(base + "/alice/x"), {.token = bobs, .progress = false});
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().kind, Errc::denied);

  std::string pulled = dir / "pulled.fl";
  auto size = pull_flist(*parse_hub_location(base + "/alice/app:v2"), pulled);
  ASSERT_TRUE(size) << size.error().what();
  Tree tree = *load_flist(pulled);
  ASSERT_EQ(tree.routes.size(), 1u);
  EXPECT_EQ(tree.routes[0].url, base);
  // The content reads through the hub alone (the local store is gone).
  std::filesystem::remove_all(dir / "local");
  auto router = *open_routes(tree.routes);
  auto node = resolve(tree, "/changes", true);
  ASSERT_TRUE(node);
  auto text = read_content(tree.nodes[*node], *router);
  ASSERT_TRUE(text) << text.error().what();
  EXPECT_EQ(std::string(text->begin(), text->end()), "second version\n");

  EXPECT_FALSE(pull_flist(*parse_hub_location(base + "/alice/nope"), dir / "nope.fl"));
  EXPECT_NE(::access((dir / "nope.fl").c_str(), F_OK), 0) << "a failed pull writes nothing";
  server->stop();
  EXPECT_FALSE(pull_flist(*parse_hub_location(base + "/alice/app:v2"), dir / "dead.fl")) << "a dead hub is an error";
}

TEST(HubServer, RefusesABadListenAddress) {
  test::TempDir dir;
  for (const char* listen :
      {"127.0.0.1:x", "127.0.0.1:80x", "127.0.0.1:", "127.0.0.1:70000", "127.0.0.1:-1", "127.0.0.1", "localhost:8080"}) {
    auto server = HubServer::start({.root = dir / "hub", .listen = listen});
    ASSERT_FALSE(server) << listen;
    EXPECT_EQ(server.error().kind, Errc::invalid_input) << listen << ": " << server.error().what();
  }
}

TEST(HubServer, RefusesOversizedBodiesAndCutsIdleConnections) {
  test::TempDir dir;
  HubServeOptions o;
  o.max_upload = 1000;
  o.idle_timeout = std::chrono::seconds(1);
  auto server = start_hub(dir, o);
  ASSERT_TRUE(server);
  std::string token = issue_token(*load_hub_key(dir / "hub/hub.key", false), "alice", std::chrono::seconds(60));
  HubClient client(server->public_url(), token);
  std::string big(5000, 'x');
  auto r = client.put_flist(*parse_flist_ref("alice/big"), {reinterpret_cast<const uint8_t*>(big.data()), big.size()});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Errc::invalid_input) << r.error().what();

  // A client that connects and says nothing is cut off after the idle timeout.
  std::string cmd = "timeout 10 bash -c 'exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(server->port()) + "; cat <&3 >/dev/null'";
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(8));
}

TEST(HubServer, KeepsConnectionsAlive) {
  test::TempDir dir;
  auto server = start_hub(dir);
  ASSERT_TRUE(server);
  std::string url = server->public_url() + "/api/flist";
  // Three requests in one curl run: the second and third must reuse the first connection.
  std::string cmd = "curl -sv " + url + " " + url + " " + url + " 2>&1 >/dev/null | grep -c 'Connected to'";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[32] = {};
  size_t n = std::fread(buf, 1, sizeof buf - 1, p);
  ::pclose(p);
  EXPECT_EQ(std::string(buf, n), "1\n") << "connections opened for three requests";
}

TEST(HubServer, ServesHttps) {
  test::TempDir dir;
  std::string gen = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -keyout " + (dir / "key.pem") + " -out " +
                    (dir / "cert.pem") + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(gen.c_str()), 0);
  HubServeOptions o;
  o.tls_cert = dir / "cert.pem";
  o.tls_key = dir / "key.pem";
  auto server = start_hub(dir, o);
  ASSERT_TRUE(server);
  EXPECT_TRUE(server->public_url().starts_with("https://"));
  std::string out = dir / "out.json";
  std::string cmd = "curl -sf --cacert " + (dir / "cert.pem") + " " + server->public_url() + "/api/flist -o " + out;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  Bytes body = *read_file(out);
  EXPECT_EQ(std::string(body.begin(), body.end()), "[]\n");
  // Plain HTTP to the TLS port gets nothing.
  cmd = "curl -sf http://127.0.0.1:" + std::to_string(server->port()) + "/api/flist -o /dev/null";
  EXPECT_NE(std::system(cmd.c_str()), 0);
}
