#include "api/api_server.hpp"

#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "api/api_version.hpp"
#include "api/engine_api.hpp"
#include "common/fd.hpp"
#include "common/termination_signals.hpp"
#include "common/text.hpp"

namespace tiffin::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Clock = std::chrono::steady_clock;
using unix_socket = asio::local::stream_protocol::socket;
using tcp_socket = asio::ip::tcp::socket;

// The head every answer carries: what docker's clients read to negotiate.
std::vector<std::pair<std::string, std::string>> common_headers() {
  return {{"Api-Version", std::string(kMaxApiVersion)}, {"Docker-Experimental", "false"}, {"Ostype", "linux"},
      {"Server", "tiffin/" TIFFIN_VERSION " (linux)"}};
}

struct Listener {
  UniqueFd fd;
  bool tcp = false;
  std::string endpoint;   // unix:///…, tcp://…
  std::string unix_path;  // removed when the server stops
  bool zos_only = false;  // --zos: the Zero-OS API alone, each call authenticated by itself
};

struct Session {
  int fd = -1;
  bool local = false;  // on the unix socket: its mode says who may connect (the node's admins)
  bool zos_only = false;
  std::atomic<int64_t> deadline{0};  // steady ns; 0 while a handler works or streams
  void touch(std::chrono::seconds t) { deadline = (Clock::now() + t).time_since_epoch().count(); }
  void cut() const {
    if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
  }
};

// A connection's stream after a streamed or hijacked head: writes through the stream (TLS or
// not), reads what the request's parser had already taken first.
template <class Stream>
class StreamConnection final : public Connection {
 public:
  StreamConnection(Stream& s, int fd, std::string leftover) : s_(s), fd_(fd), leftover_(std::move(leftover)) {}

  Result<void> write(std::string_view bytes) override {
    beast::error_code ec;
    asio::write(s_, asio::buffer(bytes.data(), bytes.size()), ec);
    if (ec) return fail(Errc::unavailable, "the client went away: " + ec.message());
    return {};
  }

  Result<std::optional<std::string>> read_some(int timeout_ms) override {
    if (!leftover_.empty()) return std::optional<std::string>(std::exchange(leftover_, {}));
    if (!pending()) {
      pollfd p{fd_, POLLIN, 0};
      int n = ::poll(&p, 1, timeout_ms);
      if (n == 0) return std::optional<std::string>();
      if (n < 0 && errno != EINTR) return fail_errno("poll");
    }
    char buf[65536];
    beast::error_code ec;
    size_t got = s_.read_some(asio::buffer(buf, sizeof buf), ec);
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) return std::optional<std::string>(std::string());
    if (ec) return fail(Errc::unavailable, "reading from the client: " + ec.message());
    return std::optional<std::string>(std::string(buf, got));
  }

  int fd() const override { return fd_; }
  bool has_buffered() const override { return !leftover_.empty() || pending(); }

 private:
  bool pending() const {
    if constexpr (std::is_same_v<Stream, asio::ssl::stream<tcp_socket&>>) return ::SSL_pending(const_cast<Stream&>(s_).native_handle()) > 0;
    else return false;
  }
  Stream& s_;
  int fd_;
  std::string leftover_;
};

class Server final : public ApiServer {
 public:
  explicit Server(const ServeOptions& opts) : opts_(opts), api_(opts.engine) {}
  ~Server() override { (void)stop(); }

  Result<void> listen() {
    std::vector<std::string> hosts = opts_.hosts;
    if (hosts.empty()) hosts.push_back("unix:///run/tiffin/docker.sock");
    for (const auto& h : hosts) {
      if (h.starts_with("unix://")) TRY(listen_unix(h.substr(7)));
      else if (h.starts_with("tcp://")) TRY(listen_tcp(h.substr(6)));
      else if (h == "fd://") TRY(adopt_systemd());
      else return fail(Errc::invalid_input, "unknown host '" + h + "': use unix:///path, tcp://host:port or fd://");
    }
    for (const auto& h : opts_.zos_hosts) {
      if (!h.starts_with("tcp://")) return fail(Errc::invalid_input, "--zos '" + h + "': use tcp://host:port");
      TRY(listen_tcp(h.substr(6), true));
    }
    for (auto& l : listeners_) threads_.emplace_back([this, &l] { accept_loop(l); });
    threads_.emplace_back([this] { reap_loop(); });
    return {};
  }

  std::vector<std::string> endpoints() const override {
    std::vector<std::string> out;
    for (const auto& l : listeners_) out.push_back(l.endpoint);
    return out;
  }

  bool stop() override {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return live_ == 0;
      stopping_ = true;
      for (auto& l : listeners_) ::shutdown(l.fd.get(), SHUT_RDWR);
      for (auto* s : sessions_) s->cut();
    }
    wake_.notify_all();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    // Requests in flight finish; streams were cut, and a wait for a container that keeps
    // running is not waited for (the container is its shim's, not ours).
    std::unique_lock lock(mu_);
    bool drained = drained_.wait_for(lock, std::chrono::seconds(5), [&] { return live_ == 0; });
    for (auto& l : listeners_)
      if (!l.unix_path.empty()) ::unlink(l.unix_path.c_str());
    return drained;
  }

 private:
  Result<void> listen_unix(const std::string& path) {
    if (path.empty() || path.size() >= sizeof(sockaddr_un{}.sun_path))
      return fail(Errc::invalid_input, "invalid socket path '" + path + "'");
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, path.c_str(), path.size());
    // A socket file left by a server that died is replaced; one a live server answers is not.
    UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (::connect(probe.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0)
      return fail(Errc::conflict, "another server listens on " + path);
    ::unlink(path.c_str());
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return fail_errno("socket");
    mode_t old = ::umask(0177);  // never reachable by others, not even for a moment
    int bound = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    ::umask(old);
    if (bound != 0) return fail_errno("binding " + path);
    gid_t gid = 0;
    if (!opts_.socket_group.empty()) {
      if (auto n = parse_uint<gid_t>(opts_.socket_group)) gid = *n;
      else if (group* g = ::getgrnam(opts_.socket_group.c_str())) gid = g->gr_gid;
      else return fail(Errc::invalid_input, "no such group: " + opts_.socket_group);
    }
    if (::chown(path.c_str(), 0, gid) != 0 || ::chmod(path.c_str(), 0660) != 0) return fail_errno("setting the owner of " + path);
    if (::listen(fd.get(), 512) != 0) return fail_errno("listen on " + path);
    listeners_.push_back({std::move(fd), false, "unix://" + path, path});
    return {};
  }

  Result<void> listen_tcp(const std::string& hostport, bool zos_only = false) {
    if (opts_.tls_cert.empty() && !opts_.insecure_tcp && !zos_only)
      return fail(Errc::invalid_input,
          "refusing to serve the API on TCP without TLS: give --tlscacert, --tlscert and --tlskey (clients then need a certificate "
          "the CA signed), or --insecure-tcp if this network is yours alone");
    if (!opts_.tls_cert.empty() && opts_.tls_ca.empty())
      return fail(Errc::invalid_input, "--tlscert needs --tlscacert: clients must be verified");
    size_t colon = hostport.rfind(':');
    if (colon == std::string::npos) return fail(Errc::invalid_input, "tcp host '" + hostport + "' is not host:port");
    std::string host = hostport.substr(0, colon);
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    auto port = parse_uint<uint16_t>(hostport.substr(colon + 1));
    beast::error_code ec;
    auto addr = asio::ip::make_address(host.empty() ? "0.0.0.0" : host, ec);
    if (ec || !port) return fail(Errc::invalid_input, "tcp host '" + hostport + "' is not ip:port");
    asio::ip::tcp::acceptor acceptor(io_);
    asio::ip::tcp::endpoint ep(addr, *port);
    acceptor.open(ep.protocol(), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(ep, ec);
    if (!ec) acceptor.listen(512, ec);
    if (ec) return fail(Errc::io, "listening on " + hostport + ": " + ec.message());
    uint16_t bound = acceptor.local_endpoint().port();
    UniqueFd fd(acceptor.release(ec));
    if (!tls_ && !opts_.tls_cert.empty() && !zos_only) TRY(make_tls());
    std::string h = addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string();
    listeners_.push_back({std::move(fd), true, fmt::format("{}tcp://{}:{}", zos_only ? "zos+" : "", h, bound), "", zos_only});
    return {};
  }

  Result<void> make_tls() {
    tls_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    tls_->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                      asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    beast::error_code ec;
    tls_->use_certificate_chain_file(opts_.tls_cert, ec);
    if (!ec) tls_->use_private_key_file(opts_.tls_key, asio::ssl::context::pem, ec);
    if (!ec) tls_->load_verify_file(opts_.tls_ca, ec);
    if (ec) return fail(Errc::invalid_input, "TLS certificate, key or CA: " + ec.message());
    tls_->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
    return {};
  }

  // systemd's socket activation: LISTEN_FDS sockets from fd 3, when LISTEN_PID is us.
  Result<void> adopt_systemd() {
    const char* pid = std::getenv("LISTEN_PID");
    const char* fds = std::getenv("LISTEN_FDS");
    auto n = fds ? parse_uint<unsigned>(fds) : std::nullopt;
    if (!pid || !n || parse_int<pid_t>(pid) != ::getpid() || *n == 0) return fail(Errc::invalid_input, "fd://: no sockets from systemd");
    for (unsigned i = 0; i < *n; ++i) {
      int fd = 3 + static_cast<int>(i);
      ::fcntl(fd, F_SETFD, FD_CLOEXEC);
      sockaddr_storage ss{};
      socklen_t len = sizeof ss;
      if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return fail_errno("systemd socket " + std::to_string(fd));
      bool tcp = ss.ss_family == AF_INET || ss.ss_family == AF_INET6;
      if (tcp && opts_.tls_cert.empty() && !opts_.insecure_tcp)
        return fail(Errc::invalid_input, "systemd passed a TCP socket, but no TLS was configured (--tlscert …) nor --insecure-tcp");
      if (tcp && !tls_ && !opts_.tls_cert.empty()) TRY(make_tls());
      std::string endpoint = tcp ? "tcp://(systemd)" : "unix://" + std::string(reinterpret_cast<sockaddr_un*>(&ss)->sun_path);
      listeners_.push_back({UniqueFd(fd), tcp, endpoint, ""});
    }
    return {};
  }

  void accept_loop(Listener& l) {
    for (;;) {
      int fd = ::accept4(l.fd.get(), nullptr, nullptr, SOCK_CLOEXEC);
      std::unique_lock lock(mu_);
      if (stopping_) {
        if (fd >= 0) ::close(fd);
        return;
      }
      if (fd < 0) {
        lock.unlock();
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // EMFILE and the like: do not spin
        continue;
      }
      if (live_ >= opts_.max_connections) {
        ::close(fd);
        continue;
      }
      if (l.tcp) {
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      }
      ++live_;
      bool tcp = l.tcp, zos_only = l.zos_only;
      std::thread([this, fd, tcp, zos_only] {
        Session s;
        s.fd = fd;
        s.local = !tcp;
        s.zos_only = zos_only;
        {
          std::lock_guard lock(mu_);
          sessions_.insert(&s);
        }
        s.touch(opts_.request_timeout);
        serve_connection(s, tcp);
        std::lock_guard lock(mu_);
        sessions_.erase(&s);
        if (--live_ == 0) drained_.notify_all();
      }).detach();
    }
  }

  void reap_loop() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      wake_.wait_for(lock, std::chrono::seconds(1));
      int64_t now = Clock::now().time_since_epoch().count();
      for (auto* s : sessions_)
        if (int64_t d = s->deadline; d != 0 && d < now) s->cut();
    }
  }

  void serve_connection(Session& s, bool tcp) {
    beast::error_code ec;
    if (tcp) {
      tcp_socket sock(io_);
      sock.assign(asio::ip::tcp::v6(), s.fd, ec);
      if (ec) sock.assign(asio::ip::tcp::v4(), s.fd, ec);
      if (ec) {
        int fd = s.fd;
        retire(s);
        ::close(fd);
        return;
      }
      if (tls_ && !s.zos_only) {
        asio::ssl::stream<tcp_socket&> stream(sock, *tls_);
        stream.handshake(asio::ssl::stream_base::server, ec);
        if (!ec) exchange(stream, s);
        s.touch(opts_.request_timeout);  // a peer that never answers the close_notify is cut
        stream.shutdown(ec);
      } else {
        exchange(sock, s);
      }
      sock.shutdown(tcp_socket::shutdown_both, ec);
      retire(s);
    } else {
      unix_socket sock(io_);
      sock.assign(asio::local::stream_protocol(), s.fd, ec);
      if (ec) {
        int fd = s.fd;
        retire(s);
        ::close(fd);
        return;
      }
      exchange(sock, s);
      sock.shutdown(unix_socket::shutdown_both, ec);
      retire(s);
    }
  }

  // Before the socket closes: its number may be reused at once, and must not be cut then.
  void retire(Session& s) {
    std::lock_guard lock(mu_);
    s.fd = -1;
  }

  template <class Stream>
  void write_raw(Stream& stream, const std::string& text) {
    beast::error_code ec;
    asio::write(stream, asio::buffer(text), ec);
  }

  // An unnamed file for a request body, gone when closed.
  Result<UniqueFd> spool_file() {
    std::string dir = opts_.engine.root + "/tmp";
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return fail_errno("making " + dir);
    UniqueFd fd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
    if (fd) return fd;
    std::string path = dir + "/api-body-XXXXXX";  // a filesystem without O_TMPFILE
    fd.reset(::mkostemp(path.data(), O_CLOEXEC));
    if (!fd) return fail_errno("making a file in " + dir);
    ::unlink(path.c_str());
    return fd;
  }

  // The rest of a request whose head `head` holds, into `fd`, at most `limit` bytes; every
  // chunk that arrives gives the client the request timeout again.
  template <class Stream>
  beast::error_code spool_body(
      Stream& stream, beast::flat_buffer& buf, http::request_parser<http::empty_body>& head, int fd, uint64_t limit, Session& s) {
    http::request_parser<http::buffer_body> p(std::move(head));
    p.body_limit(limit);
    std::vector<char> chunk(1 << 16);
    beast::error_code ec;
    while (!p.is_done()) {
      p.get().body().data = chunk.data();
      p.get().body().size = chunk.size();
      http::read(stream, buf, p, ec);
      if (ec == http::error::need_buffer) ec = {};
      if (ec) return ec;
      size_t got = chunk.size() - p.get().body().size;
      if (got && !write_all(fd, {reinterpret_cast<const uint8_t*>(chunk.data()), got}))
        return boost::system::errc::make_error_code(boost::system::errc::no_space_on_device);
      s.touch(opts_.request_timeout);
    }
    ::lseek(fd, 0, SEEK_SET);
    return {};
  }

  template <class Stream>
  void exchange(Stream& stream, Session& s) {
    beast::flat_buffer buf;
    auto read_failed = [&](const beast::error_code& ec) {
      if (ec == http::error::body_limit) write_error(stream, 413, "request body too large");
      else if (ec == http::error::header_limit) write_error(stream, 431, "request header too large");
      else if (ec == boost::system::errc::no_space_on_device) write_error(stream, 507, "spooling the request body: no space left");
      else if (ec != http::error::end_of_stream && ec != asio::error::eof && ec != asio::error::connection_reset &&
               ec != asio::error::operation_aborted && ec != asio::error::broken_pipe && ec != asio::error::bad_descriptor)
        write_error(stream, 400, "malformed request: " + ec.message());
    };
    for (;;) {
      s.touch(opts_.request_timeout);
      // The head first: where the body goes depends on the route (a build context is spooled
      // to a file, everything else is read into memory).
      http::request_parser<http::empty_body> head;
      head.header_limit(static_cast<uint32_t>(opts_.max_header));
      beast::error_code ec;
      http::read_header(stream, buf, head, ec);
      if (ec) return read_failed(ec);
      const auto& h = head.get();
      std::string target(h.target());
      size_t q = target.find('?');
      auto split = split_version(target.substr(0, q));
      if (!split) {
        write_error(stream, 400, split.error().message);
        return;
      }
      Request r;
      r.method = std::string(h.method_string());
      r.version = split->version;
      r.path = split->path;
      r.local = s.local;
      r.authorization = std::string(h[http::field::authorization]);
      if (s.zos_only && !r.path.starts_with("/zos/")) {
        write_error(stream, 404, "this listener serves the Zero-OS API (/zos/v1) only");
        return;
      }
      if (q != std::string::npos) r.query = parse_query(std::string_view(target).substr(q + 1));
      r.content_type = std::string(h[http::field::content_type]);
      r.wants_upgrade = beast::iequals(h[http::field::upgrade], "tcp");
      bool keep_alive = h.keep_alive();
      unsigned http_version = h.version();
      bool head_only = r.method == "HEAD";
      UniqueFd body_fd;
      if (r.method == "POST" && r.path == "/build") {
        auto fd = spool_file();
        if (!fd) {
          write_error(stream, 500, fd.error().message);
          return;
        }
        body_fd = std::move(*fd);
        if (beast::iequals(h[http::field::expect], "100-continue")) write_raw(stream, std::string("HTTP/1.1 100 Continue\r\n\r\n"));
        ec = spool_body(stream, buf, head, body_fd.get(), opts_.max_build_context, s);
        if (ec) return read_failed(ec);
        r.body_fd = body_fd.get();
      } else {
        http::request_parser<http::string_body> parser(std::move(head));
        parser.body_limit(opts_.max_body);
        http::read(stream, buf, parser, ec);
        if (ec) return read_failed(ec);
        r.body = std::move(parser.get().body());
      }
      s.deadline = 0;  // busy: the reaper leaves handlers and streams alone
      Response res = api_.handle(r);
      spdlog::debug("api: {} {} → {}", r.method, target, res.status);
      if (res.stream) {
        bool upgrade = res.hijack && r.wants_upgrade;
        std::string out = fmt::format("HTTP/1.1 {} {}\r\n", upgrade ? 101 : res.status, upgrade ? "UPGRADED" : "OK");
        for (const auto& [k, v] : common_headers()) out += k + ": " + v + "\r\n";
        if (!res.content_type.empty()) out += "Content-Type: " + res.content_type + "\r\n";
        for (const auto& [k, v] : res.headers) out += k + ": " + v + "\r\n";
        out += upgrade ? "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n" : "Connection: close\r\n\r\n";
        write_raw(stream, out);
        // What the parser read past this request is the start of the client's stream (stdin).
        std::string leftover(static_cast<const char*>(buf.data().data()), buf.size());
        StreamConnection<Stream> conn(stream, s.fd, std::move(leftover));
        try {
          res.stream(conn);
        } catch (const std::exception& e) {
          spdlog::warn("api: {} {}: {}", r.method, r.path, e.what());  // the head went out: only the stream ends
        }
        return;
      }
      http::response<http::string_body> out{static_cast<http::status>(res.status), http_version};
      for (const auto& [k, v] : common_headers()) out.set(k, v);
      if (!res.content_type.empty()) out.set(http::field::content_type, res.content_type);
      for (const auto& [k, v] : res.headers) out.set(k, v);
      out.keep_alive(keep_alive);
      if (head_only) {
        out.content_length(res.body.size());
        http::response_serializer<http::string_body> sr(out);
        http::write_header(stream, sr, ec);
      } else {
        out.body() = std::move(res.body);
        out.prepare_payload();
        http::write(stream, out, ec);
      }
      if (ec || !keep_alive) return;
    }
  }

  template <class Stream>
  void write_error(Stream& stream, unsigned status, const std::string& message) {
    http::response<http::string_body> res{static_cast<http::status>(status), 11};
    for (const auto& [k, v] : common_headers()) res.set(k, v);
    res.set(http::field::content_type, "application/json");
    res.body() = json_text(nlohmann::json{{"message", message}}) + "\n";
    res.keep_alive(false);
    res.prepare_payload();
    beast::error_code ec;
    http::write(stream, res, ec);
  }

  ServeOptions opts_;
  EngineApi api_;
  asio::io_context io_;
  std::unique_ptr<asio::ssl::context> tls_;
  std::vector<Listener> listeners_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable wake_, drained_;
  std::set<Session*> sessions_;
  unsigned live_ = 0;
  bool stopping_ = false;
};

}  // namespace

Result<std::unique_ptr<ApiServer>> ApiServer::start(const ServeOptions& opts) {
  auto server = std::make_unique<Server>(opts);
  TRY(server->listen());
  return std::unique_ptr<ApiServer>(std::move(server));
}

Result<void> serve(const ServeOptions& opts) {
  TerminationSignals signals;  // before any thread starts
  auto server = TRY(ApiServer::start(opts));
  for (const auto& ep : server->endpoints()) fmt::print(stderr, "tiffin serve: listening on {}\n", ep);
  int sig = signals.wait();
  spdlog::info("api: signal {}, stopping", sig);
  if (!server->stop()) {
    // Requests still waiting (on containers that keep running): their threads use the server,
    // so it is not destroyed under them; the process ends here.
    std::fflush(nullptr);
    ::_exit(0);
  }
  return {};
}

}  // namespace tiffin::api
