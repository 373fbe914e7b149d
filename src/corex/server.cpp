#include "corex/server.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <cstdio>
#include <deque>

#include "corex/corex_http.hpp"
#include "corex/tty_message.hpp"

namespace tiffin::corex {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

struct Server::State {
  asio::io_context& io;
  Credentials credentials;
  ProcessTable& table;
  int debug;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  HttpContext context() { return HttpContext{credentials, table}; }
};

namespace {

constexpr size_t kMaxQueued = 4 << 20;
// What an attach replays of the ring (--ring-size goes up to 64 MiB): at most half the queue's
// limit, so the live output that follows has room before the client has read it.
constexpr size_t kMaxBacklog = kMaxQueued / 2;
// After an accept fails for another reason than a close (EMFILE, ENFILE, ENOBUFS): a pause
// before the next, not a busy loop while the descriptors are all taken.
constexpr auto kAcceptRetry = std::chrono::milliseconds(100);

class WsSession : public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(tcp::socket socket, std::shared_ptr<Server::State> state) : ws_(std::move(socket)), state_(std::move(state)) {}
  // No detach here: the last reference may go when ~io_context destroys the pending handlers,
  // after the ProcessTable is gone. Every end while the loop runs detaches (a failed read or
  // write, a client too slow); a listener left behind holds only a weak_ptr, and the process's
  // exit or the table's end drops it.

  void run(Request req, WebSocketTarget target) {
    process_ = target.process;
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.read_message_max(1 << 20);
    bool tty = target.tty_protocol;
    ws_.set_option(websocket::stream_base::decorator([tty](websocket::response_type& res) {
      res.set(http::field::server, "tiffin-corex");
      if (tty) res.set(http::field::sec_websocket_protocol, "tty");
    }));
    req_ = std::move(req);
    ws_.async_accept(req_, [self = shared_from_this()](beast::error_code ec) { self->accepted(ec); });
  }

 private:
  void accepted(beast::error_code ec) {
    if (ec) return;
    std::weak_ptr<WsSession> weak = shared_from_this();
    TerminalListener l;
    l.output = [weak](std::string_view data) {
      if (auto s = weak.lock()) s->send(tty_output(data));
    };
    l.exited = [weak](const ProcessInfo& info) {
      if (auto s = weak.lock()) s->finish(info);
    };
    auto attached = state_->table.attach(process_, std::move(l));
    if (!attached) {
      close_reason_ = "gone";
      closing_ = true;
      flush();
      return;
    }
    listener_ = attached->listener;
    std::string_view backlog = attached->backlog;
    if (backlog.size() > kMaxBacklog) backlog.remove_prefix(backlog.size() - kMaxBacklog);
    if (!backlog.empty()) send(tty_output(backlog));
    if (attached->info.exited()) finish(attached->info);
    read();
  }

  void finish(const ProcessInfo& info) {
    close_reason_ = info.signal ? "exited: signal " + std::to_string(info.signal) : "exited: code " + std::to_string(info.exit_code);
    closing_ = true;
    flush();
  }

  void read() {
    ws_.async_read(in_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) {
        self->state_->table.detach(self->process_, self->listener_);
        return;
      }
      std::string message = beast::buffers_to_string(self->in_.data());
      self->in_.consume(self->in_.size());
      auto m = parse_tty_message(message);
      if (m) {
        if (auto* input = std::get_if<TtyInput>(&*m)) (void)self->state_->table.input(self->process_, std::move(input->data));
        if (auto* size = std::get_if<TtyResize>(&*m)) (void)self->state_->table.resize(self->process_, size->rows, size->columns);
      } else if (self->state_->debug >= 7) {
        std::fprintf(stderr, "coreX: terminal %llu: %s\n", static_cast<unsigned long long>(self->process_), m.error().message.c_str());
      }
      self->read();
    });
  }

  void send(std::string message) {
    if (closing_) return;
    queued_ += message.size();
    if (queued_ > kMaxQueued) {  // a client that does not read: dropped, not buffered without end
      state_->table.detach(process_, listener_);
      beast::get_lowest_layer(ws_).close();
      return;
    }
    out_.push_back(std::move(message));
    flush();
  }

  void flush() {
    if (writing_) return;
    if (out_.empty()) {
      if (closing_ && !closed_) {
        closed_ = true;
        writing_ = true;
        ws_.async_close(websocket::close_reason(websocket::close_code::normal, close_reason_),
            [self = shared_from_this()](beast::error_code) { self->writing_ = false; });
      }
      return;
    }
    writing_ = true;
    ws_.binary(true);
    ws_.async_write(asio::buffer(out_.front()), [self = shared_from_this()](beast::error_code ec, size_t) {
      self->writing_ = false;
      if (ec) {
        self->out_.clear();
        self->state_->table.detach(self->process_, self->listener_);
        return;
      }
      self->queued_ -= self->out_.front().size();
      self->out_.pop_front();
      self->flush();
    });
  }

  websocket::stream<beast::tcp_stream> ws_;
  std::shared_ptr<Server::State> state_;
  Request req_;
  beast::flat_buffer in_;
  std::deque<std::string> out_;
  size_t queued_ = 0;
  uint64_t process_ = 0, listener_ = 0;
  bool writing_ = false, closing_ = false, closed_ = false;
  std::string close_reason_;
};

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, std::shared_ptr<Server::State> state) : stream_(std::move(socket)), state_(std::move(state)) {}

  void read() {
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    parser_->body_limit(1 << 20);
    stream_.expires_after(std::chrono::seconds(120));
    http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

 private:
  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    Request req = parser_->release();
    HttpContext ctx = state_->context();
    if (websocket::is_upgrade(req)) {
      auto checked = check_websocket(req, ctx);
      if (auto* target = std::get_if<WebSocketTarget>(&checked)) {
        log(req, 101);
        stream_.expires_never();
        std::make_shared<WsSession>(stream_.release_socket(), state_)->run(std::move(req), *target);
        return;
      }
      Response res = std::move(std::get<Response>(checked));
      res.keep_alive(false);
      write(req, std::move(res));
      return;
    }
    write(req, handle_http(req, ctx));
  }

  void log(const Request& req, unsigned status) {
    if (state_->debug >= 7) {
      std::string target(req.target());
      size_t q = target.find("token=");
      if (q != std::string::npos) target = target.substr(0, q) + "token=…";  // never a secret in the log
      std::fprintf(stderr, "coreX: %s %s %u\n", std::string(req.method_string()).c_str(), target.c_str(), status);
    }
  }

  void write(const Request& req, Response res) {
    log(req, res.result_int());
    if (req.method() == http::verb::head) {
      res.prepare_payload();
      res.body().clear();
    }
    auto shared = std::make_shared<Response>(std::move(res));
    bool close = shared->need_eof();
    http::async_write(stream_, *shared, [self = shared_from_this(), shared, close](beast::error_code ec, size_t) {
      if (ec || close) {
        beast::error_code ignored;
        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        return;
      }
      self->read();
    });
  }

  beast::tcp_stream stream_;
  std::shared_ptr<Server::State> state_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

void accept_next(const std::shared_ptr<Server::State>& state, tcp::acceptor& acceptor) {
  acceptor.async_accept([state, &acceptor](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
    if (ec) {
      if (state->debug >= 1) std::fprintf(stderr, "coreX: accepting a connection: %s\n", ec.message().c_str());
      auto timer = std::make_shared<asio::steady_timer>(state->io, kAcceptRetry);
      timer->async_wait([state, &acceptor, timer](beast::error_code ec2) {
        if (!ec2 && acceptor.is_open()) accept_next(state, acceptor);
      });
      return;
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::make_shared<HttpSession>(std::move(socket), state)->read();
    accept_next(state, acceptor);
  });
}

}  // namespace

Server::Server(asio::io_context& io, Credentials credentials, ProcessTable& table, int debug)
    : state_(std::make_shared<State>(State{io, std::move(credentials), table, debug, {}})) {}

Server::~Server() { stop_accepting(); }

Result<std::vector<tcp::endpoint>> Server::listen(const std::vector<asio::ip::address>& addresses, uint16_t port) {
  std::vector<tcp::endpoint> bound;
  for (const auto& address : addresses) {
    tcp::endpoint ep(address, port);
    auto acceptor = std::make_unique<tcp::acceptor>(state_->io);
    beast::error_code ec;
    acceptor->open(ep.protocol(), ec);
    if (ec) return fail(Errc::io, "listening on " + address.to_string() + ": " + ec.message());
    int one = 1;
    // An address still being checked for duplicates (IPv6 DAD) or added a moment later.
    if (address.is_v6()) {
      ::setsockopt(acceptor->native_handle(), IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof one);
      acceptor->set_option(asio::ip::v6_only(true), ec);
    } else {
      ::setsockopt(acceptor->native_handle(), IPPROTO_IP, IP_FREEBIND, &one, sizeof one);
    }
    acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    acceptor->bind(ep, ec);
    if (ec) return fail(Errc::io, "binding " + address.to_string() + " port " + std::to_string(port) + ": " + ec.message());
    acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return fail(Errc::io, "listening on " + address.to_string() + ": " + ec.message());
    tcp::endpoint local = acceptor->local_endpoint(ec);
    if (port == 0) port = local.port();  // the next addresses take the same port
    bound.push_back(local);
    accept_next(state_, *acceptor);
    state_->acceptors.push_back(std::move(acceptor));
  }
  return bound;
}

void Server::stop_accepting() {
  for (auto& a : state_->acceptors) {
    beast::error_code ec;
    a->close(ec);
  }
}

}  // namespace tiffin::corex
