// The hub over real sockets: push, pull, lazy reads through an http:// route, limits, TLS.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <fstream>
#include <thread>

#include "common/fd.hpp"
#include "flist/content.hpp"
#include "flist/flist_file.hpp"
#include "flist/pack.hpp"
#include "hub/hub_client.hpp"
#include "hub/hub_server.hpp"
#include "hub/hub_token.hpp"
#include "hub/push.hpp"
#include "store/router.hpp"
#include "hub_test_trees.hpp"
#include "test_support.hpp"

using namespace tiffin;
using namespace tiffin::hub;

namespace {

std::unique_ptr<HubServer> start_hub(const test::TempDir& dir, HubServeOptions o = {}) {
  o.root = dir / "hub";
  return test::start_loopback_hub(o);
}

std::string pack_tree(const test::TempDir& dir, const std::string& name, const std::string& extra) {
  return test::pack_local_flist(dir, name, {{"same", std::string(900000, 's')}, {"changes", extra}});
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

namespace {

// A TCP connection to the hub from `source` (any 127/8 address is this host).
UniqueFd connect_from(const std::string& source, uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in src{.sin_family = AF_INET, .sin_port = 0, .sin_addr = {}};
  ::inet_pton(AF_INET, source.c_str(), &src.sin_addr);
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&src), sizeof src), 0);
  sockaddr_in dst{.sin_family = AF_INET, .sin_port = htons(port), .sin_addr = {}};
  ::inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
  EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&dst), sizeof dst), 0) << strerror(errno);
  timeval tv{.tv_sec = 10, .tv_usec = 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

// Everything the hub sends until it closes the connection (or 10 s pass).
std::string read_until_closed(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return out;
    out.append(buf, size_t(n));
  }
}

std::string ask(int fd, const std::string& target) {
  std::string req = "GET " + target + " HTTP/1.1\r\nHost: hub\r\nConnection: close\r\n\r\n";
  EXPECT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), ssize_t(req.size()));
  return read_until_closed(fd);
}

uint64_t metric(const std::string& page, const std::string& name) {
  size_t at = page.find("\n" + name + " ");
  if (at == std::string::npos) return ~0ull;
  return std::stoull(page.substr(at + name.size() + 2));
}

}  // namespace

TEST(HubServer, CutsAHeaderThatDoesNotComeWhole) {
  test::TempDir dir;
  HubServeOptions o;
  o.header_timeout = std::chrono::seconds(1);
  auto server = start_hub(dir, o);
  ASSERT_TRUE(server);
  UniqueFd slow = connect_from("127.0.0.1", server->port());
  std::string half = "GET /api/flist HTTP/1.1\r\nHost: hub\r\n";
  ASSERT_EQ(::send(slow.get(), half.data(), half.size(), MSG_NOSIGNAL), ssize_t(half.size()));
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(read_until_closed(slow.get()), "");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  // The stream closes the socket as its timer fires; the count follows when the read returns.
  uint64_t cut = 0;
  for (int i = 0; i < 100 && cut == 0; ++i, std::this_thread::sleep_for(std::chrono::milliseconds(10)))
    cut = metric(server->metrics(), "tiffin_hub_refusals_total{reason=\"header_timeout\"}");
  EXPECT_EQ(cut, 1u);
  // Meanwhile and after, others are served.
  UniqueFd other = connect_from("127.0.0.1", server->port());
  EXPECT_TRUE(ask(other.get(), "/api/flist").starts_with("HTTP/1.1 200")) << "";
}

TEST(HubServer, LimitsConnectionsPerClientAddress) {
  test::TempDir dir;
  HubServeOptions o;
  o.clients.max_connections_per_client = 2;
  auto server = start_hub(dir, o);
  ASSERT_TRUE(server);
  UniqueFd a1 = connect_from("127.0.0.2", server->port()), a2 = connect_from("127.0.0.2", server->port());
  // The accept of those two has happened once a request on another connection is answered.
  UniqueFd b = connect_from("127.0.0.3", server->port());
  EXPECT_TRUE(ask(b.get(), "/api/flist").starts_with("HTTP/1.1 200")) << "another client is served";
  UniqueFd a3 = connect_from("127.0.0.2", server->port());
  std::string refused = ask(a3.get(), "/api/flist");
  EXPECT_TRUE(refused.starts_with("HTTP/1.1 429")) << refused;
  EXPECT_NE(refused.find("Retry-After: 1"), std::string::npos) << refused;
  a1.reset();
  // Once one of its connections is gone (the hub sees the close), the client may connect again.
  bool served = false;
  for (int i = 0; i < 50 && !served; ++i) {
    UniqueFd again = connect_from("127.0.0.2", server->port());
    served = ask(again.get(), "/api/flist").starts_with("HTTP/1.1 200");
    if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(served);
  EXPECT_GE(metric(server->metrics(), "tiffin_hub_refusals_total{reason=\"client_connections\"}"), 1u);
}

TEST(HubServer, LimitsRequestRatePerClient) {
  test::TempDir dir;
  HubServeOptions o;
  o.clients.requests_per_second = 0.5;
  o.clients.request_burst = 2;
  auto server = start_hub(dir, o);
  ASSERT_TRUE(server);
  for (int i = 0; i < 2; ++i) {
    UniqueFd c = connect_from("127.0.0.4", server->port());
    EXPECT_TRUE(ask(c.get(), "/api/flist").starts_with("HTTP/1.1 200")) << "request " << i << " is within the burst";
  }
  UniqueFd c = connect_from("127.0.0.4", server->port());
  std::string refused = ask(c.get(), "/api/flist");
  EXPECT_TRUE(refused.starts_with("HTTP/1.1 429")) << refused;
  EXPECT_NE(refused.find("Retry-After: 2"), std::string::npos) << refused;
  UniqueFd other = connect_from("127.0.0.5", server->port());
  EXPECT_TRUE(ask(other.get(), "/api/flist").starts_with("HTTP/1.1 200")) << "the limit is per client";
  EXPECT_EQ(metric(server->metrics(), "tiffin_hub_refusals_total{reason=\"request_rate\"}"), 1u);
}

TEST(HubServer, RefusesWithServiceUnavailableWhenFull) {
  test::TempDir dir;
  HubServeOptions o;
  o.max_connections = 2;
  auto server = start_hub(dir, o);
  ASSERT_TRUE(server);
  UniqueFd a = connect_from("127.0.0.6", server->port()), b = connect_from("127.0.0.7", server->port());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  UniqueFd c = connect_from("127.0.0.8", server->port());
  std::string refused = ask(c.get(), "/api/flist");
  EXPECT_TRUE(refused.starts_with("HTTP/1.1 503")) << refused;
  EXPECT_NE(refused.find("Retry-After:"), std::string::npos) << refused;
}

TEST(HubServer, ServesMetricsToLoopback) {
  test::TempDir dir;
  auto server = start_hub(dir);
  ASSERT_TRUE(server);
  UniqueFd c = connect_from("127.0.0.1", server->port());
  EXPECT_TRUE(ask(c.get(), "/blocks/" + std::string(64, 'a')).starts_with("HTTP/1.1 404"));
  UniqueFd m = connect_from("127.0.0.1", server->port());
  std::string page = ask(m.get(), "/metrics");
  ASSERT_TRUE(page.starts_with("HTTP/1.1 200")) << page;
  EXPECT_NE(page.find("\ntiffin_hub_requests_total{route=\"block\",code=\"4xx\"} 1\n"), std::string::npos) << page;
  EXPECT_NE(page.find("\ntiffin_hub_open_connections "), std::string::npos);
}

TEST(HubServer, CutsABodySlowerThanTheMinimumRate) {
  test::TempDir dir;
  HubServeOptions o;
  o.body_grace = std::chrono::seconds(1);
  o.min_body_rate = 1000;
  auto server = start_hub(dir, o);
  ASSERT_TRUE(server);
  std::string token = issue_token(*load_hub_key(dir / "hub/hub.key", false), "alice", std::chrono::seconds(60));
  UniqueFd slow = connect_from("127.0.0.1", server->port());
  std::string head =
      "PUT /api/flist/alice/x HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer " + token + "\r\nContent-Length: 100000\r\n\r\n0123456789";
  ASSERT_EQ(::send(slow.get(), head.data(), head.size(), MSG_NOSIGNAL), ssize_t(head.size()));
  auto start = std::chrono::steady_clock::now();
  // A byte every 100 ms is 10 B/s: far under 1000 B/s, so the stream closes after the grace.
  bool cut = false;
  for (int i = 0; i < 60 && !cut; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    cut = ::send(slow.get(), "x", 1, MSG_NOSIGNAL) != 1;
  }
  EXPECT_TRUE(cut);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
  uint64_t counted = 0;
  for (int i = 0; i < 100 && counted == 0; ++i, std::this_thread::sleep_for(std::chrono::milliseconds(10)))
    counted = metric(server->metrics(), "tiffin_hub_refusals_total{reason=\"body_rate\"}");
  EXPECT_EQ(counted, 1u);
  EXPECT_EQ(std::filesystem::is_empty(dir / "hub/tmp"), true) << "the partial upload is gone";
}

TEST(HubServer, RefusesAnUploadWithoutTheRightTokenBeforeItsBody) {
  test::TempDir dir;
  auto server = start_hub(dir);
  ASSERT_TRUE(server);
  std::string bob = issue_token(*load_hub_key(dir / "hub/hub.key", false), "bob", std::chrono::seconds(60));
  for (std::string auth : {std::string(), "Authorization: Bearer " + bob + "\r\n"}) {
    UniqueFd c = connect_from("127.0.0.1", server->port());
    std::string head =
        "PUT /api/flist/alice/big HTTP/1.1\r\nHost: hub\r\n" + auth + "Content-Length: 1000000000\r\nExpect: 100-continue\r\n\r\n";
    ASSERT_EQ(::send(c.get(), head.data(), head.size(), MSG_NOSIGNAL), ssize_t(head.size()));
    std::string answer = read_until_closed(c.get());
    EXPECT_TRUE(answer.starts_with(auth.empty() ? "HTTP/1.1 401" : "HTTP/1.1 403")) << answer;
    EXPECT_EQ(answer.find("100 Continue"), std::string::npos) << "no body is asked for";
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir / "hub/tmp"));
}
