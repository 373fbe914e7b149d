#include "hub/hub_server.hpp"

#include <signal.h>
#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "common/termination_signals.hpp"
#include "common/text.hpp"
#include "hub/hub_api.hpp"

namespace tiffin::hub {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// Headers plus small bodies (blocks, id lists, links) stay in memory up to this size.
constexpr size_t kMaxSmallBody = 64u << 20;

struct Session {
  explicit Session(tcp::socket s) : socket(std::move(s)) {}
  tcp::socket socket;
  std::atomic<int64_t> deadline{0};  // steady clock ns; 0 while busy answering
  void touch(std::chrono::seconds idle) { deadline = (Clock::now() + idle).time_since_epoch().count(); }
  void cut() { ::shutdown(socket.native_handle(), SHUT_RDWR); }
};

class Server final : public HubServer {
 public:
  Server(const HubServeOptions& opts, HubRepository repo, HubKey key)
      : opts_(opts), repo_(std::move(repo)), api_(repo_, key, opts.public_url), acceptor_(io_) {}
  ~Server() override { stop(); }

  Result<void> listen() {
    size_t colon = opts_.listen.rfind(':');
    if (colon == std::string::npos) return fail(Errc::invalid_input, "listen address '" + opts_.listen + "' is not host:port");
    std::string host = opts_.listen.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    beast::error_code ec;
    auto addr = asio::ip::make_address(host, ec);
    if (ec) return fail(Errc::invalid_input, "listen address '" + host + "' is not an IP address");
    auto port = parse_uint<uint16_t>(std::string_view(opts_.listen).substr(colon + 1));
    if (!port) return fail(Errc::invalid_input, "invalid port in '" + opts_.listen + "'");
    tcp::endpoint ep(addr, *port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return fail(Errc::io, "listening on " + opts_.listen + ": " + ec.message());
    port_ = acceptor_.local_endpoint().port();
    if (!opts_.tls_cert.empty()) {
      tls_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
      tls_->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                        asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
      tls_->use_certificate_chain_file(opts_.tls_cert, ec);
      if (!ec) tls_->use_private_key_file(opts_.tls_key, asio::ssl::context::pem, ec);
      if (ec) return fail(Errc::invalid_input, "TLS certificate or key: " + ec.message());
    }
    if (opts_.public_url.empty()) {
      std::string h = addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string();
      opts_.public_url = fmt::format("{}://{}:{}", tls_ ? "https" : "http", h, port_);
      api_.set_public_url(opts_.public_url);
    }
    accept_thread_ = std::thread([this] { accept_loop(); });
    reaper_thread_ = std::thread([this] { reap_loop(); });
    return {};
  }

  uint16_t port() const override { return port_; }
  std::string public_url() const override { return opts_.public_url; }

  void stop() override {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
      ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
      for (auto& s : sessions_) s->cut();
    }
    wake_.notify_all();
    if (accept_thread_.joinable()) accept_thread_.join();
    if (reaper_thread_.joinable()) reaper_thread_.join();
    std::unique_lock lock(mu_);
    drained_.wait(lock, [&] { return live_ == 0; });
    beast::error_code ec;
    acceptor_.close(ec);
  }

 private:
  void accept_loop() {
    for (;;) {
      beast::error_code ec;
      tcp::socket socket(io_);
      acceptor_.accept(socket, ec);
      std::unique_lock lock(mu_);
      if (stopping_) return;
      if (ec) {
        lock.unlock();
        spdlog::warn("hub: accept: {}", ec.message());
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // e.g. EMFILE: do not spin
        continue;
      }
      if (live_ >= opts_.max_connections) {
        spdlog::warn("hub: {} connections open, refusing one more", live_);
        continue;  // the socket closes as it goes out of scope
      }
      socket.set_option(tcp::no_delay(true), ec);
      auto session = std::make_shared<Session>(std::move(socket));
      session->touch(opts_.idle_timeout);
      sessions_.insert(session);
      ++live_;
      std::thread([this, session = std::move(session)]() mutable {
        serve(*session);
        std::lock_guard lock(mu_);
        sessions_.erase(session);
        session.reset();  // the socket goes while the server (and its io_context) surely lives
        if (--live_ == 0) drained_.notify_all();
      }).detach();
    }
  }

  // Cuts connections past their deadline; a session that is busy answering has none.
  void reap_loop() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      wake_.wait_for(lock, std::chrono::seconds(1));
      int64_t now = Clock::now().time_since_epoch().count();
      for (auto& s : sessions_)
        if (int64_t d = s->deadline; d != 0 && d < now) s->cut();
    }
  }

  void serve(Session& session) {
    beast::error_code ec;
    if (tls_) {
      asio::ssl::stream<tcp::socket&> stream(session.socket, *tls_);
      stream.handshake(asio::ssl::stream_base::server, ec);
      if (ec) return;
      exchange(stream, session);
      stream.shutdown(ec);
    } else {
      exchange(session.socket, session);
    }
    session.socket.shutdown(tcp::socket::shutdown_send, ec);
  }

  template <class Body, class Stream>
  bool read_body(Stream& stream, beast::flat_buffer& buf, http::request_parser<Body>& parser, Session& session) {
    beast::error_code ec;
    while (!parser.is_done()) {
      http::read_some(stream, buf, parser, ec);
      if (ec) {
        spdlog::debug("hub: reading a request body: {}", ec.message());
        return false;
      }
      session.touch(opts_.idle_timeout);
    }
    return true;
  }

  template <class Stream>
  void send_error(Stream& stream, unsigned status, unsigned version, const std::string& message) {
    http::response<http::string_body> res{static_cast<http::status>(status), version};
    res.set(http::field::content_type, "application/json");
    res.body() = "{\"error\": \"" + message + "\"}\n";
    res.keep_alive(false);
    res.prepare_payload();
    beast::error_code ec;
    http::write(stream, res, ec);
  }

  // A body produced piece by piece (HubResponse::stream), sent chunked. False when the
  // connection must close: the client went away, or the producer failed after the status had
  // gone, and only a body cut short tells the client so.
  template <class Stream, class Start>
  bool write_streamed(Stream& stream, Session& session, HubResponse& r, Start& start) {
    http::response<http::buffer_body> res;
    start(res);
    res.chunked(true);
    http::response_serializer<http::buffer_body> sr(res);
    beast::error_code ec;
    http::write_header(stream, sr, ec);
    if (ec) return false;
    auto write = [&](std::span<const uint8_t> data) -> Result<void> {
      if (data.empty()) return {};
      res.body().data = const_cast<uint8_t*>(data.data());
      res.body().size = data.size();
      res.body().more = true;
      http::write(stream, sr, ec);
      if (ec == http::error::need_buffer) ec = {};
      if (ec) return fail(Errc::unavailable, "writing a response: " + ec.message());
      session.touch(opts_.idle_timeout);
      return {};
    };
    if (auto done = r.stream(write); !done) {
      spdlog::warn("hub: a streamed response broke off: {}", done.error().what());
      return false;
    }
    res.body().data = nullptr;
    res.body().size = 0;
    res.body().more = false;
    http::write(stream, sr, ec);
    return !ec;
  }

  template <class Stream>
  void exchange(Stream& stream, Session& session) {
    beast::flat_buffer buf;
    for (;;) {
      beast::error_code ec;
      session.touch(opts_.idle_timeout);
      http::request_parser<http::empty_body> head;
      // Beast checks Content-Length against the limit as the header completes; the real limit
      // for this request is known only once its target is, below.
      head.body_limit(opts_.max_upload);
      http::read_header(stream, buf, head, ec);
      if (ec) {
        if (ec != http::error::end_of_stream && ec != asio::error::eof) spdlog::debug("hub: reading a request: {}", ec.message());
        if (ec == http::error::body_limit) send_error(stream, 413, 11, "request body too large");
        return;
      }
      const auto& h = head.get();
      HubRequest req;
      req.method = std::string(h.method_string());
      req.target = std::string(h.target());
      req.authorization = std::string(h[http::field::authorization]);
      req.range = std::string(h[http::field::range]);
      req.content_type = std::string(h[http::field::content_type]);
      bool keep_alive = h.keep_alive();
      unsigned version = h.version();
      if (beast::iequals(h[http::field::expect], "100-continue")) {
        http::response<http::empty_body> cont{http::status::continue_, version};
        http::write(stream, cont, ec);
        if (ec) return;
      }
      bool streams = HubApi::streams_body(req.method, req.target, req.content_type);
      if (!streams && head.content_length() && *head.content_length() > kMaxSmallBody) {
        send_error(stream, 413, version, "request body too large");
        return;
      }
      bool body_ok = true;
      if (streams) {
        req.body_file = repo_.temp_path();
        http::request_parser<http::file_body> parser(std::move(head));
        parser.body_limit(opts_.max_upload);
        parser.get().body().open(req.body_file.c_str(), beast::file_mode::write_new, ec);
        body_ok = !ec && read_body(stream, buf, parser, session);
        if (parser.get().body().is_open()) parser.get().body().close();
        if (!body_ok) ::unlink(req.body_file.c_str());
      } else {
        http::request_parser<http::string_body> parser(std::move(head));
        parser.body_limit(kMaxSmallBody);
        body_ok = read_body(stream, buf, parser, session);
        if (body_ok) req.body = parser.release().body();
      }
      if (!body_ok) {
        // Too large or cut off; answer if the peer still listens, then drop the connection.
        send_error(stream, 413, version, "request body too large or incomplete");
        return;
      }
      // Busy: the reaper leaves us alone while the API works, however long (a conversion
      // takes minutes). Each connection has its own thread, so others are served meanwhile.
      session.deadline = 0;
      HubResponse r = api_.handle(req);
      auto start = [&](auto& res) {
        res.result(r.status);
        res.version(version);
        res.set(http::field::server, "tiffin-hub");
        if (!r.content_type.empty()) res.set(http::field::content_type, r.content_type);
        for (const auto& [k, v] : r.headers) res.set(k, v);
        res.keep_alive(keep_alive);
      };
      spdlog::debug("hub: {} {} → {}", req.method, req.target, r.status);
      session.touch(opts_.idle_timeout);
      if (req.method == "HEAD") {
        http::response<http::empty_body> res;
        start(res);
        res.content_length(r.content_length ? r.content_length : r.body.size());
        http::response_serializer<http::empty_body> sr(res);
        sr.split(true);
        http::write_header(stream, sr, ec);
      } else if (r.stream) {
        if (!write_streamed(stream, session, r, start)) return;
      } else {
        http::response<http::string_body> res;
        start(res);
        res.body() = std::move(r.body);
        res.prepare_payload();
        http::write(stream, res, ec);
      }
      if (ec || !keep_alive) return;
    }
  }

  HubServeOptions opts_;
  HubRepository repo_;
  HubApi api_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::unique_ptr<asio::ssl::context> tls_;
  uint16_t port_ = 0;
  std::thread accept_thread_, reaper_thread_;
  std::mutex mu_;
  std::condition_variable wake_, drained_;
  std::set<std::shared_ptr<Session>> sessions_;
  unsigned live_ = 0;
  bool stopping_ = false;
};

}  // namespace

Result<std::unique_ptr<HubServer>> HubServer::start(const HubServeOptions& opts) {
  HubRepository repo = TRY_CTX(HubRepository::open(opts.root, opts.limits), "opening hub root " + opts.root);
  std::string key_file = opts.key_file.empty() ? opts.root + "/hub.key" : opts.key_file;
  HubKey key = TRY(load_hub_key(key_file, true));
  auto server = std::make_unique<Server>(opts, std::move(repo), key);
  TRY(server->listen());
  return std::unique_ptr<HubServer>(std::move(server));
}

Result<void> serve_hub(const HubServeOptions& opts) {
  TerminationSignals signals;  // before any thread starts
  auto server = TRY(HubServer::start(opts));
  fmt::print(stderr, "tiffin hub listening on {} (root {})\n", server->public_url(), opts.root);
  int sig = signals.wait();
  spdlog::info("hub: signal {}, stopping", sig);
  server->stop();
  return {};
}

}  // namespace tiffin::hub
