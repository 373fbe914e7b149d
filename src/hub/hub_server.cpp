#include "hub/hub_server.hpp"

#include <sys/resource.h>
#include <sys/socket.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <thread>

#include "common/termination_signals.hpp"
#include "common/text.hpp"
#include "hub/hub_session.hpp"

namespace tiffin::hub {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;

// Descriptors kept free of connections: the listener, block and flist files being sent, uploads.
constexpr unsigned kSpareDescriptors = 256;

unsigned open_file_limit() {
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 1u << 20;
  return unsigned(std::min<rlim_t>(rl.rlim_cur, 1u << 20));
}

class Server final : public HubServer {
 public:
  Server(const HubServeOptions& opts, HubRepository repo, HubKey key)
      : repo_(std::move(repo)),
        workers_(std::max(1u, opts.workers)),
        ctx_{.opts = opts,
            .repo = repo_,
            .api = HubApi(repo_, key, opts.public_url, opts.insecure_registries),
            .metrics = {},
            .limits = ClientLimits(opts.clients),
            .workers = workers_},
        ios_(make_contexts(opts)),
        acceptor_(*ios_[0]) {
    for (auto& io : ios_) guards_.push_back(asio::make_work_guard(*io));
    ctx_.api.set_metrics_page([this] { return ctx_.metrics.render(); });
  }
  ~Server() override { stop(); }

  Result<void> listen() {
    HubServeOptions& o = ctx_.opts;
    size_t colon = o.listen.rfind(':');
    if (colon == std::string::npos) return fail(Errc::invalid_input, "listen address '" + o.listen + "' is not host:port");
    std::string host = o.listen.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    beast::error_code ec;
    auto addr = asio::ip::make_address(host, ec);
    if (ec) return fail(Errc::invalid_input, "listen address '" + host + "' is not an IP address");
    auto port = parse_uint<uint16_t>(std::string_view(o.listen).substr(colon + 1));
    if (!port) return fail(Errc::invalid_input, "invalid port in '" + o.listen + "'");
    tcp::endpoint ep(addr, *port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return fail(Errc::io, "listening on " + o.listen + ": " + ec.message());
    port_ = acceptor_.local_endpoint().port();
    if (!o.tls_cert.empty()) {
      tls_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
      tls_->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                        asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
      tls_->use_certificate_chain_file(o.tls_cert, ec);
      if (!ec) tls_->use_private_key_file(o.tls_key, asio::ssl::context::pem, ec);
      if (ec) return fail(Errc::invalid_input, "TLS certificate or key: " + ec.message());
      ctx_.tls = tls_.get();
    }
    if (o.public_url.empty()) {
      std::string h = addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string();
      o.public_url = fmt::format("{}://{}:{}", tls_ ? "https" : "http", h, port_);
      ctx_.api.set_public_url(o.public_url);
    }
    // Every connection is a descriptor: a maximum the open-file limit cannot hold is a promise
    // accept() would break with EMFILE, for everyone.
    unsigned fds = open_file_limit();
    unsigned fit = fds > 2 * kSpareDescriptors ? fds - kSpareDescriptors : fds / 2;
    if (o.max_connections > fit) {
      spdlog::warn("hub: the open-file limit ({}) holds {} connections, not {}", fds, fit, o.max_connections);
      o.max_connections = fit;
    }
    asio::co_spawn(ios_[0]->get_executor(), accept_loop(), asio::detached);
    for (auto& io : ios_) io_threads_.emplace_back([&io] { io->run(); });
    return {};
  }

  uint16_t port() const override { return port_; }
  std::string public_url() const override { return ctx_.opts.public_url; }
  std::string metrics() const override { return ctx_.metrics.render(); }

  void stop() override {
    if (ctx_.stopping.exchange(true)) return;
    asio::post(*ios_[0], [this] {
      beast::error_code ec;
      acceptor_.close(ec);
    });
    // Each connection is shut down by its own I/O thread (sockets are not thread-safe).
    for (auto& io : ios_)
      asio::post(*io, [this, owner = static_cast<asio::execution_context*>(io.get())] {
        std::lock_guard lock(ctx_.sockets_mu);
        beast::error_code ec;
        for (auto& [socket, context] : ctx_.sockets)
          if (context == owner) socket->shutdown(tcp::socket::shutdown_both, ec);
      });
    // Work in progress (an upload being checked, a conversion) finishes; its answer then finds
    // the connection cut. The I/O threads run meanwhile: a streamed answer waits on them.
    {
      std::lock_guard lock(ctx_.workers_mu);
      ctx_.workers_closed = true;
    }
    workers_.join();
    for (int i = 0; i < 1000 && ctx_.metrics.open_connections() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    guards_.clear();
    for (auto& io : ios_) io->stop();
    for (auto& t : io_threads_) t.join();
    io_threads_.clear();
  }

 private:
  awaitable<void> accept_loop() {
    asio::steady_timer pause(*ios_[0]);
    for (;;) {
      beast::error_code ec;
      // Connections go round the I/O threads, each with an io_context of its own: a
      // connection's coroutine, timers and stream all run on one thread, with no strand and no
      // lock between threads. (Accepted into a socket made first: GCC 12 mishandles
      // non-trivial values returned across a co_await.)
      tcp::socket socket(*ios_[next_context_++ % ios_.size()]);
      co_await acceptor_.async_accept(socket, asio::redirect_error(use_awaitable, ec));
      if (ctx_.stopping) co_return;
      if (ec) {
        if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) co_return;
        spdlog::warn("hub: accept: {}", ec.message());
        pause.expires_after(std::chrono::milliseconds(50));  // e.g. EMFILE: do not spin
        co_await pause.async_wait(asio::redirect_error(use_awaitable, ec));
        continue;
      }
      admit(std::move(socket));
    }
  }

  void admit(tcp::socket socket) {
    beast::error_code ec;
    auto peer = socket.remote_endpoint(ec);
    if (ec) return;
    auto address = peer.address();
    if (address.is_v6() && address.to_v6().is_v4_mapped()) address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
    std::string client = address.to_string();
    socket.set_option(tcp::no_delay(true), ec);
    if (ctx_.metrics.open_connections() >= int64_t(ctx_.opts.max_connections)) {
      ctx_.metrics.refused(Refusal::connections);
      refuse(std::move(socket), 503, "the hub holds its maximum of connections");
      return;
    }
    std::string key = ClientLimits::client_key(client);
    if (!ctx_.limits.open_connection(key)) {
      ctx_.metrics.refused(Refusal::client_connections);
      refuse(std::move(socket), 429, "too many connections from " + client);
      return;
    }
    ctx_.metrics.connection_opened();
    auto ex = socket.get_executor();
    asio::co_spawn(ex, serve_connection(ctx_, std::move(socket), std::move(client)), asio::detached);
  }

  // A connection refused before it is read from hears why (plain HTTP only), without a wait:
  // one non-blocking send, then close. Retry-After tells well-behaved clients when to come back.
  void refuse(tcp::socket socket, unsigned status, const std::string& why) {
    if (tls_) return;
    std::string bytes = refusal_response(status, 1, why);
    (void)!::send(socket.native_handle(), bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    ::shutdown(socket.native_handle(), SHUT_WR);
  }

  static std::vector<std::unique_ptr<asio::io_context>> make_contexts(const HubServeOptions& o) {
    unsigned threads = o.io_threads ? o.io_threads : std::max(1u, std::thread::hardware_concurrency());
    std::vector<std::unique_ptr<asio::io_context>> out;
    for (unsigned i = 0; i < threads; ++i) out.push_back(std::make_unique<asio::io_context>(1));
    return out;
  }

  // Order matters: the contexts go first (their coroutines still use ctx_), then ctx_,
  // workers_, repo_.
  HubRepository repo_;
  asio::thread_pool workers_;
  HubServerContext ctx_;
  std::unique_ptr<asio::ssl::context> tls_;
  std::vector<std::unique_ptr<asio::io_context>> ios_;  // one per I/O thread
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  tcp::acceptor acceptor_;
  size_t next_context_ = 0;  // the accept loop's alone
  uint16_t port_ = 0;
  std::vector<std::thread> io_threads_;
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
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &rl);
  }
  TerminationSignals signals;  // before any thread starts
  auto server = TRY(HubServer::start(opts));
  fmt::print(stderr, "tiffin hub listening on {} (root {})\n", server->public_url(), opts.root);
  int sig = signals.wait();
  spdlog::info("hub: signal {}, stopping", sig);
  server->stop();
  return {};
}

}  // namespace tiffin::hub
