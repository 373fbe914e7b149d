#include "hub/hub_session.hpp"

#include <sys/sendfile.h>
#include <sys/socket.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <future>
#include <sstream>

// GCC 12 flags coroutine frames that hold lambdas or types of this file's anonymous namespace
// as subobjects with internal linkage: true, and harmless, since the frames never leave it.
#pragma GCC diagnostic ignored "-Wsubobject-linkage"

namespace tiffin::hub {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
using Clock = std::chrono::steady_clock;

constexpr size_t kHeaderLimit = 16u << 10;
// Bodies held in memory (blocks, id lists, links, reports); an 8 MiB block and its framing fit.
constexpr size_t kMaxSmallBody = 9u << 20;
constexpr size_t kReadBufferLimit = 64u << 10;
constexpr size_t kFileChunk = 64u << 10;  // what a TLS connection reads from a file at a time

auto with(beast::error_code& ec) { return asio::redirect_error(use_awaitable, ec); }

// Runs f() on the worker pool, then resumes the awaiting coroutine on `home`, its executor.
// Deliberately not a coroutine itself, and f writes its results through references: GCC 12
// mishandles non-trivial values that cross a co_await (destroying them twice). Once the server
// stops taking work, f does not run and the caller resumes at once (it then sees `stopping`); an
// exception from f is logged and leaves the caller's result as it was (callers preset a 500).
template <class F>
awaitable<void> on_worker(HubServerContext& ctx, const asio::any_io_executor& home, F f) {
  return asio::async_initiate<decltype(use_awaitable), void()>(
      [&ctx, home](auto handler, F f) {
        std::lock_guard lock(ctx.workers_mu);
        if (ctx.workers_closed) {
          asio::post(home, std::move(handler));
          return;
        }
        asio::post(ctx.workers, [handler = std::move(handler), f = std::move(f), home]() mutable {
          try {
            f();
          } catch (const std::exception& e) {
            spdlog::error("hub: a request failed: {}", e.what());
          } catch (...) {
            spdlog::error("hub: a request failed");
          }
          asio::post(home, std::move(handler));
        });
      },
      use_awaitable, std::move(f));
}

// Gives back what a request reserved of the memory for bodies, however its exchange ends.
struct BodyReservation {
  std::atomic<uint64_t>& pool;
  uint64_t bytes = 0;
  ~BodyReservation() { pool.fetch_sub(bytes); }
};

std::string error_json(const std::string& message) { return nlohmann::json{{"error", message}}.dump() + "\n"; }

// Waits until `sock` is ready for `what`: false when `deadline` passed first or the socket
// failed. The timer cancels the wait when the deadline passes; once the wait is over it must not
// touch the socket, which the connection may close next.
awaitable<bool> wait_until(tcp::socket& sock, tcp::socket::wait_type what, Clock::time_point deadline) {
  asio::steady_timer timer(sock.get_executor(), deadline);
  auto target = std::make_shared<tcp::socket*>(&sock);
  timer.async_wait([target](beast::error_code e) {
    if (!e && *target) (*target)->cancel();
  });
  beast::error_code ec;
  co_await sock.async_wait(what, with(ec));
  *target = nullptr;
  timer.cancel();
  co_return !ec;
}

// Sends `len` bytes with `attempt` (one non-blocking send or sendfile: bytes sent, or -1 and
// errno), waiting for the socket to drain while it is full. False when the peer is gone, or did
// not take everything by `deadline`.
template <class Attempt>
awaitable<bool> send_nonblocking(tcp::socket& sock, uint64_t len, Clock::time_point deadline, Attempt attempt) {
  while (len > 0) {
    ssize_t n = attempt(len);
    if (n > 0) {
      len -= uint64_t(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n == 0 || errno != EAGAIN) co_return false;
    if (!co_await wait_until(sock, tcp::socket::wait_write, deadline)) co_return false;
  }
  co_return true;
}

template <class Stream>
class Exchange {
 public:
  Exchange(HubServerContext& ctx, Stream& stream, std::string client)
      : ctx_(ctx), stream_(stream), client_(std::move(client)), key_(ClientLimits::client_key(client_)), buf_(kReadBufferLimit) {}

  // Answers requests until the connection closes, fails, times out or is refused.
  awaitable<void> run() {
    home_ = stream_.get_executor();
    beast::error_code ec;
    for (;;) {
      // Idle between requests: only idle_timeout; the header's own deadline starts with its
      // first byte.
      if (buf_.size() == 0) {
        if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
          // An idle connection holds no buffer: it waits for the socket, not for bytes.
          buf_.shrink_to_fit();
          if (!co_await wait_until(tcp().socket(), tcp::socket::wait_read, Clock::now() + ctx_.opts.idle_timeout)) co_return;
        } else {
          // TLS may hold decrypted bytes the socket no longer shows: read through the stream.
          tcp().expires_after(ctx_.opts.idle_timeout);
          size_t n = co_await stream_.async_read_some(buf_.prepare(1024), with(ec));
          if (ec) co_return;
          buf_.commit(n);
        }
      }
      if (!co_await exchange_one()) co_return;
    }
  }

 private:
  beast::tcp_stream& tcp() { return beast::get_lowest_layer(stream_); }

  // How long an answer or body of `bytes` may take: the grace plus the minimum rate.
  Clock::time_point transfer_deadline(Clock::time_point from, uint64_t bytes) const {
    return from + ctx_.opts.body_grace + std::chrono::seconds(bytes / std::max<uint64_t>(ctx_.opts.min_body_rate, 1));
  }

  // One request and its answer; false when the connection must close.
  awaitable<bool> exchange_one() {
    beast::error_code ec;
    tcp().expires_after(ctx_.opts.header_timeout);
    http::request_parser<http::empty_body> head;
    head.header_limit(kHeaderLimit);
    // Beast checks Content-Length against this as the header completes; the limit of this
    // request is known once its target is, below.
    head.body_limit(ctx_.opts.max_upload);
    co_await http::async_read_header(stream_, buf_, head, with(ec));
    if (ec) {
      if (ec == beast::error::timeout) {
        ctx_.metrics.refused(Refusal::header_timeout);
      } else if (ec == http::error::header_limit) {
        ctx_.metrics.refused(Refusal::too_large);
        co_await refuse(431, 11, "request header too large");
      } else if (ec == http::error::body_limit) {
        ctx_.metrics.refused(Refusal::too_large);
        co_await refuse(413, 11, "request body too large");
      } else if (ec.category() == http::make_error_code(http::error::bad_target).category() && ec != http::error::end_of_stream &&
                 ec != http::error::partial_message) {
        std::string why = "malformed request: " + ec.message();
        co_await refuse(400, 11, std::move(why));
      }
      co_return false;
    }
    auto started = Clock::now();
    HubRequest req;
    unsigned version;
    bool keep_alive, expects_continue;
    {
      const auto& h = head.get();
      req.method = std::string(h.method_string());
      req.target = std::string(h.target());
      req.client = client_;
      req.authorization = std::string(h[http::field::authorization]);
      req.range = std::string(h[http::field::range]);
      req.content_type = std::string(h[http::field::content_type]);
      version = h.version();
      keep_alive = h.keep_alive();
      expects_continue = beast::iequals(h[http::field::expect], "100-continue");
    }
    HubRoute route = classify_route(req.target);
    if (auto wait = ctx_.limits.admit_request(key_, started)) {
      ctx_.metrics.refused(Refusal::request_rate);
      std::string why = "too many requests from " + client_;
      co_await refuse(429, version, std::move(why), unsigned((wait->count() + 999) / 1000));
      co_return false;
    }
    bool streams = HubApi::streams_body(req.method, req.target, req.content_type);
    auto length = head.content_length();
    if (!streams && length && *length > kMaxSmallBody) {
      ctx_.metrics.refused(Refusal::too_large);
      co_await refuse(413, version, "request body too large");
      co_return false;
    }
    if (streams && !head.is_done()) {
      if (auto refused = ctx_.api.refuse_upload(req)) {
        // Answered from the header: the body is not read (nor stored) for nothing.
        if (co_await respond(*refused, req.method, version, false)) co_await close_gently();
        ctx_.metrics.request(route, refused->status, std::chrono::duration<double>(Clock::now() - started).count());
        co_return false;
      }
    }
    BodyReservation reservation{ctx_.body_memory};
    if (!streams && !head.is_done()) {
      uint64_t want = length ? *length : kMaxSmallBody;
      if (ctx_.body_memory.fetch_add(want) + want > ctx_.opts.max_body_memory) {
        ctx_.body_memory.fetch_sub(want);
        ctx_.metrics.refused(Refusal::busy);
        co_await refuse(503, version, "the hub is busy", 1);
        co_return false;
      }
      reservation.bytes = want;
    }
    if (expects_continue && !head.is_done()) {
      http::response<http::empty_body> cont{http::status::continue_, version};
      tcp().expires_after(ctx_.opts.body_grace);
      co_await http::async_write(stream_, cont, with(ec));
      if (ec) co_return false;
    }
    if (!head.is_done() && !co_await read_body(head, req, streams, version)) co_return false;

    HubResponse r;
    if (HubApi::answers_quickly(req.method, req.target)) {
      r = ctx_.api.handle(req);
    } else {
      if (ctx_.stopping) co_return false;
      if (ctx_.queued.fetch_add(1) >= ctx_.opts.max_queued) {
        ctx_.queued.fetch_sub(1);
        if (!req.body_file.empty()) ::unlink(req.body_file.c_str());
        ctx_.metrics.refused(Refusal::busy);
        co_await refuse(503, version, "the hub is busy", 1);
        co_return false;
      }
      r = json_response(500, nlohmann::json{{"error", "internal error"}});
      co_await on_worker(ctx_, home_, [this, &req, &r] { r = ctx_.api.handle(req); });
      ctx_.queued.fetch_sub(1);
      if (ctx_.stopping) co_return false;
    }
    // The body is consumed: its memory goes back before the answer, however long that takes.
    req.body = std::string();
    ctx_.body_memory.fetch_sub(reservation.bytes);
    reservation.bytes = 0;
    spdlog::debug("hub: {} {} {} → {}", client_, req.method, req.target, r.status);
    bool sent = co_await respond(r, req.method, version, keep_alive);
    ctx_.metrics.request(route, r.status, std::chrono::duration<double>(Clock::now() - started).count());
    co_return sent&& keep_alive;
  }

  // Reads the body that follows `head` into `req` (memory, or a file for uploads). False, with
  // the refusal answered where the peer can still hear it, when the connection must close.
  awaitable<bool> read_body(http::request_parser<http::empty_body>& head, HubRequest& req, bool streams, unsigned version) {
    beast::error_code ec;
    bool ok;
    if (streams) {
      req.body_file = ctx_.repo.temp_path();
      http::request_parser<http::file_body> parser(std::move(head));
      parser.body_limit(ctx_.opts.max_upload);
      parser.get().body().open(req.body_file.c_str(), beast::file_mode::write_new, ec);
      ok = !ec && co_await read_rest(parser, ec);
      if (parser.get().body().is_open()) parser.get().body().close();
      if (!ok) ::unlink(req.body_file.c_str());
    } else {
      http::request_parser<http::string_body> parser(std::move(head));
      parser.body_limit(kMaxSmallBody);
      ok = co_await read_rest(parser, ec);
      if (ok) req.body = parser.release().body();
    }
    if (ok) co_return true;
    if (ec == beast::error::timeout) {
      ctx_.metrics.refused(Refusal::body_rate);  // the stream closed itself: nobody to tell
    } else if (ec == http::error::body_limit) {
      ctx_.metrics.refused(Refusal::too_large);
      co_await refuse(413, version, "request body too large");
    } else {
      spdlog::debug("hub: reading a request body from {}: {}", client_, ec ? ec.message() : "cannot store it");
      co_await refuse(400, version, "request body incomplete or unstorable");
    }
    co_return false;
  }

  // The body must keep up the minimum rate after the grace: a deadline that moves with it.
  template <class Parser>
  awaitable<bool> read_rest(Parser& parser, beast::error_code& ec) {
    auto start = Clock::now();
    uint64_t got = 0;
    while (!parser.is_done()) {
      tcp().expires_at(transfer_deadline(start, got));
      size_t n = co_await http::async_read_some(stream_, buf_, parser, with(ec));
      if (ec) co_return false;
      got += n;
      ctx_.metrics.received(n);
    }
    co_return true;
  }

  template <class Message>
  void set_head(Message& res, const HubResponse& r, unsigned version, bool keep_alive) {
    res.result(r.status);
    res.version(version);
    res.set(http::field::server, "tiffin-hub");
    if (!r.content_type.empty()) res.set(http::field::content_type, r.content_type);
    for (const auto& [k, v] : r.headers) res.set(k, v);
    res.keep_alive(keep_alive);
  }

  awaitable<bool> respond(HubResponse& r, const std::string& method, unsigned version, bool keep_alive) {
    beast::error_code ec;
    if (method == "HEAD" || r.file) {
      http::response<http::empty_body> res;
      set_head(res, r, version, keep_alive);
      res.content_length(r.content_length ? r.content_length : r.body.size());
      if (method == "HEAD") {
        http::response_serializer<http::empty_body> sr(res);
        tcp().expires_after(ctx_.opts.body_grace);
        co_await http::async_write_header(stream_, sr, with(ec));
        co_return !ec;
      }
      co_return co_await send_file(res, *r.file, r.file_offset, r.content_length);
    }
    if (r.stream) co_return co_await send_streamed(r, version, keep_alive);
    http::response<http::string_body> res;
    set_head(res, r, version, keep_alive);
    res.body() = std::move(r.body);
    res.prepare_payload();
    tcp().expires_at(transfer_deadline(Clock::now(), res.body().size()));
    size_t n = co_await http::async_write(stream_, res, with(ec));
    ctx_.metrics.sent(n);
    co_return !ec;
  }

  // A file's range after its header: straight from the page cache on plain TCP (sendfile), in
  // chunks through TLS.
  awaitable<bool> send_file(http::response<http::empty_body>& res, const UniqueFd& file, uint64_t offset, uint64_t length) {
    std::ostringstream os;
    os << res.base();
    std::string header = os.str();
    auto deadline = transfer_deadline(Clock::now(), length);
    bool ok;
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      tcp::socket& sock = tcp().socket();
      tcp().expires_never();
      beast::error_code ec;
      sock.native_non_blocking(true, ec);
      if (ec) co_return false;
      int out = sock.native_handle();
      size_t done = 0;
      // MSG_MORE: the header leaves in the same segment as the first bytes of the file.
      ok = co_await send_nonblocking(sock, header.size(), deadline, [&](uint64_t left) {
        ssize_t n = ::send(out, header.data() + done, left, (length ? MSG_MORE : 0) | MSG_NOSIGNAL);
        if (n > 0) done += size_t(n);
        return n;
      });
      off_t pos = off_t(offset);
      ok = ok && co_await send_nonblocking(sock, length, deadline,
                     [&](uint64_t left) { return ::sendfile(out, file.get(), &pos, std::min<uint64_t>(left, 1u << 30)); });
    } else {
      beast::error_code ec;
      tcp().expires_at(deadline);
      co_await asio::async_write(stream_, asio::buffer(header), with(ec));
      ok = !ec;
      std::vector<uint8_t> chunk(std::min<uint64_t>(length, kFileChunk));
      for (uint64_t at = 0; ok && at < length;) {
        auto got = read_full_at(file.get(), {chunk.data(), std::min<uint64_t>(chunk.size(), length - at)}, offset + at);
        if (!got || *got == 0) co_return false;
        co_await asio::async_write(stream_, asio::buffer(chunk.data(), *got), with(ec));
        ok = !ec;
        at += *got;
      }
    }
    if (ok) ctx_.metrics.sent(length);
    co_return ok;
  }

  // A body produced piece by piece (HubResponse::stream) on a worker, sent chunked (HTTP/1.0:
  // as is, then the connection closes): each piece goes out on this connection's I/O thread
  // while the worker waits, so at most one piece per connection is in memory. A stream holds a
  // worker for as long as its client reads, so at most half the workers stream at once (more
  // get 503), and the whole answer must keep up the minimum rate after the grace. False when
  // the connection must close: the client went away, was too slow, or the producer failed after
  // the status had gone, and only a body cut short tells the client.
  awaitable<bool> send_streamed(HubResponse& r, unsigned version, bool keep_alive) {
    unsigned slots = std::max(1u, ctx_.opts.workers / 2);
    if (ctx_.streaming.fetch_add(1) >= slots) {
      ctx_.streaming.fetch_sub(1);
      ctx_.metrics.refused(Refusal::busy);
      co_await refuse(503, version, "the hub is busy", 1);
      co_return false;
    }
    struct Slot {
      std::atomic<unsigned>& n;
      ~Slot() { n.fetch_sub(1); }
    } slot{ctx_.streaming};
    bool chunked = version >= 11;
    beast::error_code ec;
    http::response<http::empty_body> res;
    set_head(res, r, version, keep_alive && chunked);
    res.chunked(chunked);
    http::response_serializer<http::empty_body> sr(res);
    tcp().expires_after(ctx_.opts.body_grace);
    co_await http::async_write_header(stream_, sr, with(ec));
    if (ec || ctx_.stopping) co_return false;
    auto start = Clock::now();
    uint64_t sent = 0;
    HubBodyWriter write = [&](std::span<const uint8_t> data) -> Result<void> {
      if (data.empty()) return {};
      std::promise<beast::error_code> done;
      asio::post(home_, [&] {
        tcp().expires_at(transfer_deadline(start, sent + data.size()));
        auto finished = [&](beast::error_code e, size_t) { done.set_value(e); };
        if (chunked) asio::async_write(stream_, http::make_chunk(asio::buffer(data.data(), data.size())), finished);
        else asio::async_write(stream_, asio::buffer(data.data(), data.size()), finished);
      });
      if (auto e = done.get_future().get()) return fail(Errc::unavailable, "writing a response: " + e.message());
      sent += data.size();
      ctx_.metrics.sent(data.size());
      return {};
    };
    ctx_.queued.fetch_add(1);
    Result<void> produced = fail(Errc::io, "the answer's producer failed");
    co_await on_worker(ctx_, home_, [&] { produced = r.stream(write); });
    ctx_.queued.fetch_sub(1);
    if (!produced) {
      spdlog::warn("hub: a streamed response broke off: {}", produced.error().what());
      co_return false;
    }
    if (!chunked) co_return false;
    tcp().expires_after(ctx_.opts.body_grace);
    http::chunk_last<http::chunk_crlf> last = http::make_chunk_last();
    co_await asio::async_write(stream_, last, with(ec));
    co_return !ec;
  }

  // Answers with an error and closes: the send side first, then what the client still sends is
  // read and dropped for a moment (≤ 64 KiB, 1 s), so that closing with unread bytes does not
  // reset the connection and make the client lose the answer.
  awaitable<void> refuse(unsigned status, unsigned version, std::string message, unsigned retry_after = 0) {
    http::response<http::string_body> res{static_cast<http::status>(status), version};
    res.set(http::field::server, "tiffin-hub");
    res.set(http::field::content_type, "application/json");
    if (retry_after) res.set(http::field::retry_after, std::to_string(retry_after));
    res.body() = error_json(message);
    res.keep_alive(false);
    res.prepare_payload();
    beast::error_code ec;
    tcp().expires_after(std::chrono::seconds(2));
    co_await http::async_write(stream_, res, with(ec));
    if (!ec) co_await close_gently();
  }

  awaitable<void> close_gently() {
    beast::error_code ec;
    tcp().socket().shutdown(tcp::socket::shutdown_send, ec);
    tcp().expires_after(std::chrono::seconds(1));
    std::array<char, 4096> sink;
    for (size_t dropped = 0; !ec && dropped < (64u << 10);) dropped += co_await tcp().async_read_some(asio::buffer(sink), with(ec));
  }

  HubServerContext& ctx_;
  Stream& stream_;
  std::string client_, key_;
  beast::flat_buffer buf_;
  asio::any_io_executor home_;  // the executor of this connection (its I/O thread)
};

// Registers a connection's socket for stop() and uncounts the connection when it ends; made
// after the stream, so it runs before the stream closes the socket. False from registered()
// when the server is stopping: stop() may have passed this socket's thread already.
struct ConnectionCount {
  HubServerContext& ctx;
  tcp::socket& socket;
  std::string key;
  bool registered() {
    std::lock_guard lock(ctx.sockets_mu);
    ctx.sockets.emplace(&socket, &asio::query(socket.get_executor(), asio::execution::context));
    return !ctx.stopping;
  }
  ~ConnectionCount() {
    {
      std::lock_guard lock(ctx.sockets_mu);
      ctx.sockets.erase(&socket);
    }
    ctx.limits.close_connection(key);
    ctx.metrics.connection_closed();
  }
};

}  // namespace

std::string refusal_response(unsigned status, unsigned retry_after_seconds, const std::string& message) {
  std::string body = error_json(message);
  std::string reason(http::obsolete_reason(static_cast<http::status>(status)));
  return fmt::format(
      "HTTP/1.1 {} {}\r\nServer: tiffin-hub\r\nContent-Type: application/json\r\nRetry-After: {}\r\nConnection: close\r\n"
      "Content-Length: {}\r\n\r\n{}",
      status, reason, retry_after_seconds, body.size(), body);
}

awaitable<void> serve_connection(HubServerContext& ctx, tcp::socket socket, std::string client) {
  std::string key = ClientLimits::client_key(client);
  beast::error_code ec;
  if (ctx.tls) {
    beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *ctx.tls);
    ConnectionCount count{ctx, beast::get_lowest_layer(stream).socket(), key};
    if (!count.registered()) co_return;
    beast::get_lowest_layer(stream).expires_after(ctx.opts.header_timeout);
    co_await stream.async_handshake(asio::ssl::stream_base::server, with(ec));
    if (ec) co_return;
    Exchange<beast::ssl_stream<beast::tcp_stream>> exchange(ctx, stream, client);
    co_await exchange.run();
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(2));
    co_await stream.async_shutdown(with(ec));
  } else {
    beast::tcp_stream stream(std::move(socket));
    ConnectionCount count{ctx, stream.socket(), key};
    if (!count.registered()) co_return;
    Exchange<beast::tcp_stream> exchange(ctx, stream, client);
    co_await exchange.run();
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  }
}

}  // namespace tiffin::hub
