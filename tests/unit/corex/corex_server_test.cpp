// coreX's routes over a real ProcessTable (processes on ptys) without sockets, then the server
// over loopback: a WebSocket terminal that types and reads back, late attachers seeing the
// ring, refusals without a token or from another origin.
#include <gtest/gtest.h>

#include <signal.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "common/text.hpp"
#include "corex/corex_http.hpp"
#include "corex/daemon.hpp"
#include "corex/process_table.hpp"
#include "corex/server.hpp"

namespace tiffin::corex {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using nlohmann::json;
using namespace std::chrono_literals;

std::vector<std::string> test_env() { return {"PATH=/usr/bin:/bin", "TERM=xterm", "HOME=/tmp", "PS1=$ "}; }

struct Fixture : ::testing::Test {
  asio::io_context io;
  ProcessTable table{io, 4096, test_env()};
  Credentials creds{"tok", "", ""};
  HttpContext ctx{creds, table};

  Response call(http::verb method, const std::string& target, const std::string& body = "", bool auth = true) {
    Request req{method, target, 11};
    if (auth) req.set(http::field::authorization, "Bearer tok");
    req.body() = body;
    req.prepare_payload();
    return handle_http(req, ctx);
  }
  json api(const std::string& target, http::verb method = http::verb::get, const std::string& body = "", unsigned want = 200) {
    Response r = call(method, target, body);
    EXPECT_EQ(r.result_int(), want) << target << ": " << r.body();
    return json::parse(r.body(), nullptr, false);
  }
  // Runs the loop until `done` (reaping on the way, as SIGCHLD would make coreX do).
  template <class F>
  bool run_until(F done, std::chrono::milliseconds limit = 5s) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      io.run_for(20ms);
      io.restart();
      table.reap();
      if (done()) return true;
    }
    return false;
  }
  json process(uint64_t id) {
    json all = api("/api/processes");
    for (const auto& p : all["processes"])
      if (p["id"] == id) return p;
    return nullptr;
  }
  ~Fixture() override {
    table.signal_all(SIGKILL);
    run_until([&] { return table.running() == 0; });
  }
};

TEST_F(Fixture, EveryRoute) {
  EXPECT_EQ(api("/api/processes")["processes"].size(), 0u);
  json started = api("/api/process/start?arg[]=sh&arg[]=-c&arg[]=echo%20one;%20sleep%20100");
  EXPECT_EQ(started["status"], "success");
  uint64_t id = started["id"];
  EXPECT_GT(started["pid"].get<int>(), 0);
  ASSERT_TRUE(run_until([&] { return table.logs(id)->find("one") != std::string::npos; }));
  Response logs = call(http::verb::get, "/api/process/logs?id=" + std::to_string(id));
  EXPECT_EQ(logs.result_int(), 200);
  EXPECT_NE(logs.body().find("one"), std::string::npos);
  EXPECT_EQ(process(id)["state"], "running");
  EXPECT_EQ(process(id)["command"], "sh -c echo one; sleep 100");

  json second = api("/api/process/start", http::verb::post, R"({"args":["sleep","100"]})");
  uint64_t id2 = second["id"];
  EXPECT_EQ(api("/api/process/stop?id=" + std::to_string(id))["status"], "success");
  EXPECT_EQ(api("/api/process/kill", http::verb::post, json{{"id", id2}, {"signal", "KILL"}}.dump())["status"], "success");
  ASSERT_TRUE(run_until([&] { return table.running() == 0; }));
  EXPECT_EQ(process(id)["state"], "stopped");
  EXPECT_EQ(process(id2)["signal"], 9);
  EXPECT_EQ(api("/api/process/clean", http::verb::post, "{}")["removed"], 2);
  EXPECT_EQ(api("/api/processes")["processes"].size(), 0u);
}

TEST_F(Fixture, BadIdsAndInput) {
  api("/api/process/kill?id=42", http::verb::get, "", 404);
  api("/api/process/stop?id=x1", http::verb::get, "", 400);
  api("/api/process/logs", http::verb::get, "", 400);
  api("/api/process/start", http::verb::get, "", 400);
  api("/api/process/start?arg[]=/nonexistent/prog", http::verb::get, "", 400);
  api("/api/process/start", http::verb::post, "[1]", 400);
  api("/api/process/start", http::verb::post, R"({"args":[1]})", 400);
  api("/api/process/kill", http::verb::post, R"({"id":true})", 400);
  api("/api/processes", http::verb::delete_, "", 405);
  api("/api/process/logs?id=1", http::verb::post, "", 405);
  api("/api/whatever", http::verb::get, "", 404);
  EXPECT_EQ(call(http::verb::get, "/attach/99").result_int(), 404u);
  EXPECT_EQ(call(http::verb::get, "/attach/abc").result_int(), 400u);
  EXPECT_EQ(call(http::verb::get, "/nope").result_int(), 404u);
}

TEST_F(Fixture, AProcessThatExits) {
  json s = api("/api/process/start?arg[]=sh&arg[]=-c&arg[]=printf%20done;%20exit%205");
  uint64_t id = s["id"];
  ASSERT_TRUE(run_until([&] { return table.running() == 0; }));
  json p = process(id);
  EXPECT_EQ(p["state"], "crashed");
  EXPECT_EQ(p["exit_code"], 5);
  EXPECT_TRUE(p["signal"].is_null());
  EXPECT_EQ(*table.logs(id), "done");  // the last output, read before the exit was told
  api("/api/process/kill?id=" + std::to_string(id), http::verb::get, "", 409);
  api("/api/process/stop?id=" + std::to_string(id), http::verb::get, "", 409);
  // A late attacher gets the output and the end at once.
  auto a = table.attach(id, {});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->backlog, "done");
  EXPECT_TRUE(a->info.exited());
}

TEST_F(Fixture, TheRingIsBounded) {
  json s = api(
      "/api/process/start?arg[]=sh&arg[]=-c&arg[]=i=0;%20while%20[%20$i%20-lt%202000%20];%20do%20echo%20line-$i;%20i=$((i%2B1));%20done");
  uint64_t id = s["id"];
  ASSERT_TRUE(run_until([&] { return table.running() == 0; }));
  std::string logs = *table.logs(id);
  EXPECT_LE(logs.size(), 4096u);
  EXPECT_GT(logs.size(), 4000u);
  EXPECT_NE(logs.find("line-1999"), std::string::npos);
  EXPECT_EQ(logs.find("line-1\r\n"), std::string::npos);  // the start fell out
}

TEST_F(Fixture, AuthenticationAndPages) {
  EXPECT_EQ(call(http::verb::get, "/api/processes", "", false).result_int(), 401u);
  EXPECT_EQ(call(http::verb::get, "/", "", false).result_int(), 401u);
  EXPECT_EQ(call(http::verb::get, "/static/terminal.js", "", false).result_int(), 200u);
  EXPECT_EQ(call(http::verb::get, "/static/nothing.js", "", false).result_int(), 404u);
  Response index = call(http::verb::get, "/");
  EXPECT_EQ(index.result_int(), 200u);
  EXPECT_NE(index.body().find("/static/index.js"), std::string::npos);
  EXPECT_NE(std::string(index["Content-Security-Policy"]).find("frame-ancestors 'none'"), std::string::npos);
  Response moved = call(http::verb::get, "/?token=tok", "", false);
  EXPECT_EQ(moved.result_int(), 303u);
  EXPECT_EQ(std::string(moved[http::field::location]), "/");
  Response wrong = call(http::verb::get, "/?token=bad", "", false);
  EXPECT_EQ(wrong.result_int(), 401u);
  // Another site's page, even with the token: refused.
  Request req{http::verb::post, "/api/process/start", 11};
  req.set(http::field::authorization, "Bearer tok");
  req.set(http::field::host, "10.0.0.2:7681");
  req.set(http::field::origin, "http://evil.example");
  req.body() = R"({"args":["true"]})";
  EXPECT_EQ(handle_http(req, ctx).result_int(), 403u);
  EXPECT_EQ(table.list().size(), 0u);
}

// Cross-site request forgery: what a page of another site (or of another port of the same host:
// same-site) can make a browser send carries the cookie or cached Basic credentials, never the
// token itself; nothing of that may act.
TEST_F(Fixture, ForgedRequestsDoNotAct) {
  Credentials with_basic{"tok", "alice", "pass"};
  HttpContext basic_ctx{with_basic, table};
  auto send = [&](http::verb method, const std::string& target, std::initializer_list<std::pair<std::string, std::string>> headers,
                  const std::string& body = "") {
    Request req{method, target, 11};
    req.set(http::field::host, "10.0.0.2:7681");
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    req.prepare_payload();
    return handle_http(req, basic_ctx).result_int();
  };
  const std::string cookie = "corex_token=tok", basic = "Basic YWxpY2U6cGFzcw==";  // alice:pass
  const std::string start = "/api/process/start?arg[]=true";
  // HEAD would act and drop the answer: never on a route that acts.
  EXPECT_EQ(send(http::verb::head, start, {{"Authorization", "Bearer tok"}}), 405u);
  EXPECT_EQ(send(http::verb::head, "/api/process/clean", {{"Authorization", "Bearer tok"}}), 405u);
  // A GET that acts: with the cookie or Basic alone (an <img> on another page), refused.
  EXPECT_EQ(send(http::verb::get, start, {{"Cookie", cookie}}), 403u);
  EXPECT_EQ(send(http::verb::get, start, {{"Authorization", basic}}), 403u);
  EXPECT_EQ(send(http::verb::get, "/api/process/clean", {{"Cookie", cookie}, {"Sec-Fetch-Site", "same-origin"}}), 403u);
  EXPECT_EQ(table.list().size(), 0u);
  // Reading is fine with either; another site may not even read.
  EXPECT_EQ(send(http::verb::get, "/api/processes", {{"Cookie", cookie}}), 200u);
  EXPECT_EQ(send(http::verb::get, "/api/processes", {{"Authorization", basic}}), 200u);
  EXPECT_EQ(send(http::verb::get, "/api/processes", {{"Authorization", "Bearer tok"}, {"Sec-Fetch-Site", "cross-site"}}), 403u);
  EXPECT_EQ(send(http::verb::get, start, {{"Authorization", "Bearer tok"}, {"Sec-Fetch-Site", "cross-site"}}), 403u);
  // A POST with the cookie or Basic: only from coreX's own page.
  EXPECT_EQ(send(http::verb::post, start, {{"Cookie", cookie}, {"Sec-Fetch-Site", "same-site"}}), 403u);
  EXPECT_EQ(send(http::verb::post, start, {{"Authorization", basic}, {"Origin", "http://10.0.0.2:8080"}}), 403u);
  EXPECT_EQ(table.list().size(), 0u);
  // What threefoldtech/corex's clients do, and coreX's own page: accepted.
  EXPECT_EQ(send(http::verb::get, start, {{"Authorization", "Bearer tok"}}), 200u);
  EXPECT_EQ(send(http::verb::get, start + "&token=tok", {}), 200u);
  EXPECT_EQ(
      send(http::verb::post, start, {{"Cookie", cookie}, {"Sec-Fetch-Site", "same-origin"}, {"Origin", "http://10.0.0.2:7681"}}), 200u);
  EXPECT_EQ(send(http::verb::post, start, {{"Authorization", basic}}), 200u);  // curl -u
  EXPECT_EQ(table.list().size(), 4u);
  // A page is still reachable from another site's link: showing it changes nothing.
  EXPECT_EQ(send(http::verb::get, "/", {{"Cookie", cookie}, {"Sec-Fetch-Site", "cross-site"}}), 200u);
  run_until([&] { return table.running() == 0; });
}

// A WebSocket client on the same io_context as the server, driven synchronously from a thread.
struct Live : Fixture {
  std::unique_ptr<Server> server;
  uint16_t port = 0;
  std::thread loop;
  std::atomic<bool> stop{false};
  void SetUp() override {
    server = std::make_unique<Server>(io, creds, table, 0);
    auto bound = server->listen({asio::ip::address_v4::loopback()}, 0);
    ASSERT_TRUE(bound) << bound.error().message;
    port = bound->front().port();
  }
  void start_loop() {
    loop = std::thread([this] {
      auto guard = asio::make_work_guard(io);
      while (!stop) {
        io.run_for(10ms);
        asio::post(io, [this] { table.reap(); });
      }
    });
  }
  void TearDown() override {
    asio::post(io, [this] {
      table.signal_all(SIGKILL);
      server->stop_accepting();
    });
    std::this_thread::sleep_for(100ms);
    stop = true;
    if (loop.joinable()) loop.join();
  }
  // The handshake's status, or 101 and a connected stream.
  unsigned connect(
      websocket::stream<beast::tcp_stream>& ws, const std::string& target, const std::string& token, const std::string& origin = "") {
    beast::get_lowest_layer(ws).connect(asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), port));
    ws.set_option(websocket::stream_base::decorator([&](websocket::request_type& req) {
      if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
      if (!origin.empty()) req.set(http::field::origin, origin);
      req.set(http::field::sec_websocket_protocol, "tty");
    }));
    websocket::response_type res;
    beast::error_code ec;
    ws.handshake(res, "127.0.0.1:" + std::to_string(port), target, ec);
    return res.result_int();
  }
  // The status of a handshake the server refuses (the raw upgrade request, the answer read as HTTP).
  unsigned refused_status(const std::string& target, const std::string& token, const std::string& origin = "") {
    asio::io_context cio;
    beast::tcp_stream stream(cio);
    stream.connect(asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), port));
    Request req{http::verb::get, target, 11};
    req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
    req.set(http::field::upgrade, "websocket");
    req.set(http::field::connection, "Upgrade");
    req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
    req.set(http::field::sec_websocket_version, "13");
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
    if (!origin.empty()) req.set(http::field::origin, origin);
    http::write(stream, req);
    beast::flat_buffer b;
    http::response<http::string_body> res;
    http::read(stream, b, res);
    return res.result_int();
  }
  static std::string read_until(websocket::stream<beast::tcp_stream>& ws, const std::string& needle) {
    std::string seen;
    beast::get_lowest_layer(ws).expires_after(5s);
    while (seen.find(needle) == std::string::npos) {
      beast::flat_buffer b;
      beast::error_code ec;
      ws.read(b, ec);
      if (ec) break;
      std::string m = beast::buffers_to_string(b.data());
      if (!m.empty() && m[0] == '0') seen += m.substr(1);
    }
    return seen;
  }
};

TEST_F(Live, TerminalOverWebSocket) {
  auto p = table.start({"sh"});
  ASSERT_TRUE(p);
  start_loop();
  asio::io_context cio;
  {
    websocket::stream<beast::tcp_stream> ws(cio);
    ASSERT_EQ(connect(ws, "/ws/" + std::to_string(p->id), "tok"), 101u);
    ws.text(true);
    ws.write(asio::buffer(std::string(R"(1{"columns":100,"rows":30})")));
    ws.write(asio::buffer(std::string("0echo hi-$((6*7)); stty size\r")));
    std::string out = read_until(ws, "30 100");
    EXPECT_NE(out.find("hi-42"), std::string::npos) << out;
    EXPECT_NE(out.find("30 100"), std::string::npos) << out;
    ws.close(websocket::close_code::normal);
  }
  // A second browser, late: the ring replays what was on the screen.
  websocket::stream<beast::tcp_stream> late(cio);
  ASSERT_EQ(connect(late, "/ws/" + std::to_string(p->id), "tok"), 101u);
  EXPECT_NE(read_until(late, "hi-42").find("hi-42"), std::string::npos);
  // The process exits: the terminal is closed with the reason.
  late.write(asio::buffer(std::string("0exit 3\r")));
  beast::get_lowest_layer(late).expires_after(5s);
  beast::error_code ec;
  for (;;) {
    beast::flat_buffer b;
    late.read(b, ec);
    if (ec) break;
  }
  EXPECT_EQ(ec, websocket::error::closed);
  EXPECT_EQ(late.reason().reason, "exited: code 3");
}

// Asio opens its sockets without O_CLOEXEC: a started process must not hold coreX's listening
// socket or a browser's connection (it would keep the port, or a terminal, open after coreX).
TEST_F(Live, AStartedProcessHoldsNoDescriptorOfCorex) {
  auto first = table.start({"sleep", "100"});  // a WebSocket open while the next one starts
  ASSERT_TRUE(first);
  start_loop();
  asio::io_context cio;
  websocket::stream<beast::tcp_stream> ws(cio);
  ASSERT_EQ(connect(ws, "/ws/" + std::to_string(first->id), "tok"), 101u);
  std::promise<Response> answer;
  asio::post(io, [&] { answer.set_value(call(http::verb::post, "/api/process/start", R"({"args":["sleep","100"]})")); });
  Response r = answer.get_future().get();
  ASSERT_EQ(r.result_int(), 200u) << r.body();
  int pid = json::parse(r.body())["pid"];
  // Just after exec the dynamic loader opens libraries for a moment (as fd 3): look once sleep(1)
  // sleeps, and skip an entry that is gone by the time it is read.
  auto sleeping = [&] {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), {});
    size_t close = text.rfind(')');
    return close != std::string::npos && close + 2 < text.size() && text[close + 2] == 'S';
  };
  for (int i = 0; i < 200 && !sleeping(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::vector<std::string> fds;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    std::error_code ec;
    std::string what = std::filesystem::read_symlink(entry.path(), ec).string();
    if (ec) continue;  // closed meanwhile: not one the process holds
    fds.push_back(entry.path().filename().string() + " " + what);
    EXPECT_FALSE(what.starts_with("socket:")) << fds.back();
  }
  std::sort(fds.begin(), fds.end());
  ASSERT_EQ(fds.size(), 3u) << ::testing::PrintToString(fds);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(fds[size_t(i)].starts_with(std::to_string(i) + " /dev/pts/")) << fds[size_t(i)];
  ws.close(websocket::close_code::normal);
}

TEST_F(Live, RefusedWithoutTokenOrFromAnotherOrigin) {
  auto p = table.start({"sleep", "100"});
  ASSERT_TRUE(p);
  start_loop();
  std::string target = "/ws/" + std::to_string(p->id);
  EXPECT_EQ(refused_status(target, ""), 401u);
  EXPECT_EQ(refused_status(target, "wrong"), 401u);
  EXPECT_EQ(refused_status(target, "tok", "http://evil.example"), 403u);
  EXPECT_EQ(refused_status("/ws/12345", "tok"), 404u);
  EXPECT_EQ(refused_status(target, "tok", "http://127.0.0.1:" + std::to_string(port)), 101u);
}

// SIGTERM while a browser's terminal is attached: the sessions still pending when the loop stops
// go with the io_context, after the ProcessTable; none may reach back into it (ASan in CI).
TEST(Daemon, StopsCleanlyWithATerminalAttached) {
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::close(out[0]);
    Options o;
    o.port = 0;
    o.credentials.token = "tok";
    o.command = {"sh"};
    auto r = run_corex(o, test_env());
    std::fflush(stdout);
    ::_exit(r ? 0 : 2);
  }
  ::close(out[1]);
  std::string said;
  char buf[256];
  while (said.find('\n') == std::string::npos) {
    ssize_t n = ::read(out[0], buf, sizeof buf);
    if (n <= 0) break;
    said.append(buf, static_cast<size_t>(n));
  }
  ::close(out[0]);
  size_t at = said.find("127.0.0.1:");
  ASSERT_NE(at, std::string::npos) << said;
  std::string digits = said.substr(at + 10, said.find('/', at) - at - 10);
  auto parsed = parse_uint<uint16_t>(digits);
  ASSERT_TRUE(parsed) << said;
  uint16_t port = *parsed;
  {
    asio::io_context cio;
    websocket::stream<beast::tcp_stream> ws(cio);
    beast::get_lowest_layer(ws).connect(asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), port));
    ws.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
      req.set(http::field::authorization, "Bearer tok");
      req.set(http::field::sec_websocket_protocol, "tty");
    }));
    ws.handshake("127.0.0.1:" + std::to_string(port), "/ws/1");
    ws.text(true);
    ws.write(asio::buffer(std::string("0echo attached-$((2*3))\r")));
    std::string seen;
    beast::get_lowest_layer(ws).expires_after(5s);
    while (seen.find("attached-6") == std::string::npos) {
      beast::flat_buffer b;
      ws.read(b);
      seen += beast::buffers_to_string(b.data());
    }
    ASSERT_EQ(::kill(pid, SIGTERM), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status)) << status;
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
}

}  // namespace
}  // namespace tiffin::corex
