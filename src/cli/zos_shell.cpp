#include "cli/zos_shell.hpp"

#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <optional>

#include "common/fd.hpp"
#include "common/text.hpp"

namespace tiffin::cli {

using json = nlohmann::json;

namespace {

struct HostPort {
  std::string host, port;
};

// http://host[:port][/…] → host and port (80 by default; [v6] brackets dropped).
Result<HostPort> shell_host_port(const std::string& url) {
  if (url.starts_with("https://"))
    return fail(Errc::unsupported, "node " + url + ": an interactive shell needs the node's plain http:// listener (serve --zos)");
  if (!url.starts_with("http://")) return fail(Errc::invalid_input, "node URL '" + url + "' is not http://host:port");
  std::string rest = url.substr(7);
  rest = rest.substr(0, rest.find('/'));
  HostPort hp{rest, "80"};
  if (rest.starts_with("[")) {
    size_t close = rest.find(']');
    if (close == std::string::npos) return fail(Errc::invalid_input, "node URL '" + url + "': unclosed [");
    hp.host = rest.substr(1, close - 1);
    if (rest.size() > close + 1 && rest[close + 1] == ':') hp.port = rest.substr(close + 2);
  } else if (size_t colon = rest.rfind(':'); colon != std::string::npos) {
    hp.host = rest.substr(0, colon);
    hp.port = rest.substr(colon + 1);
  }
  if (hp.host.empty() || !parse_uint<uint16_t>(hp.port)) return fail(Errc::invalid_input, "node URL '" + url + "': no host or a bad port");
  return hp;
}

Result<UniqueFd> shell_connect(const HostPort& hp) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(hp.host.c_str(), hp.port.c_str(), &hints, &res); rc != 0)
    return fail(Errc::unavailable, "node " + hp.host + ": " + ::gai_strerror(rc));
  int err = 0;
  for (addrinfo* a = res; a; a = a->ai_next) {
    UniqueFd fd(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
    if (!fd) continue;
    if (::connect(fd.get(), a->ai_addr, a->ai_addrlen) == 0) {
      ::freeaddrinfo(res);
      return fd;
    }
    err = errno;
  }
  ::freeaddrinfo(res);
  return fail(Errc::unavailable, "node " + hp.host + ":" + hp.port + ": " + std::strerror(err ? err : ECONNREFUSED));
}

Result<void> send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("sending to the node");
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

struct ResponseHead {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string rest;                            // bytes read past the head: the stream's start
};

Result<ResponseHead> read_head(int fd) {
  std::string buf;
  char chunk[4096];
  size_t end;
  while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
    if (buf.size() > (64 << 10)) return fail(Errc::corrupt, "the node's answer has no end of head");
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("reading the node's answer");
    if (n == 0) return fail(Errc::unavailable, "the node closed the connection without answering");
    buf.append(chunk, static_cast<size_t>(n));
  }
  ResponseHead h;
  h.rest = buf.substr(end + 4);
  auto lines = split(std::string_view(buf).substr(0, end), '\n');
  // "HTTP/1.1 101 UPGRADED"
  auto status_words = split(lines.at(0), ' ');
  auto code = status_words.size() >= 2 ? parse_uint<unsigned>(status_words[1]) : std::nullopt;
  if (!code) return fail(Errc::corrupt, "the node's answer is not HTTP: " + printable(lines[0]));
  h.status = *code;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string line = lines[i];
    if (line.ends_with('\r')) line.pop_back();
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon), value = line.substr(colon + 1);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    h.headers[name] = value;
  }
  return h;
}

// An error answer's body (Content-Length bytes, or up to the end), as call_node gives it.
ApiAnswer error_answer(int fd, ResponseHead& h) {
  std::string body = std::move(h.rest);
  std::optional<size_t> length;
  if (auto it = h.headers.find("content-length"); it != h.headers.end()) length = parse_uint<size_t>(it->second);
  char chunk[4096];
  while ((!length || body.size() < *length) && body.size() < (1 << 20)) {
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    body.append(chunk, static_cast<size_t>(n));
  }
  ApiAnswer a;
  a.status = h.status;
  a.body = json::parse(body, nullptr, false);
  if (a.body.is_discarded()) a.body = nullptr;
  return a;
}

// This terminal in raw mode for as long as it lives.
class RawTerminal {
 public:
  explicit RawTerminal(int fd) : fd_(fd) {
    if (::tcgetattr(fd, &saved_) != 0) return;
    termios raw = saved_;
    ::cfmakeraw(&raw);
    active_ = ::tcsetattr(fd, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

Result<void> write_out(int fd, std::string_view data) {
  return write_all(fd, {reinterpret_cast<const uint8_t*>(data.data()), data.size()});
}

// docker's multiplexed stream: [kind, 0, 0, 0, size (big-endian u32)] then size bytes; kind 1
// is stdout, 2 stderr. Whole frames are written out and taken from `buf`.
Result<void> demux(std::string& buf) {
  while (buf.size() >= 8) {
    auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(buf[i])); };
    uint32_t size = b(4) << 24 | b(5) << 16 | b(6) << 8 | b(7);
    if (buf.size() < 8 + size) break;
    TRY(write_out(b(0) == 2 ? 2 : 1, std::string_view(buf).substr(8, size)));
    buf.erase(0, 8 + size);
  }
  return {};
}

// Copies stdin to the socket and the socket to stdout until the node ends the stream.
Result<void> relay_shell(int sock, std::string pending, bool tty) {
  bool stdin_open = true;
  std::string frames;
  auto take = [&](std::string_view data) -> Result<void> {
    if (tty) return write_out(1, data);
    frames.append(data);
    return demux(frames);
  };
  TRY(take(pending));
  char buf[32768];
  for (;;) {
    pollfd p[2] = {{stdin_open ? 0 : -1, POLLIN, 0}, {sock, POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return fail_errno("poll");
    }
    if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::recv(sock, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return {};  // the program ended (or the node went away)
      TRY(take({buf, static_cast<size_t>(n)}));
    }
    if (stdin_open && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t n = ::read(0, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        stdin_open = false;
        ::shutdown(sock, SHUT_WR);  // the program's stdin ends (a pipe's; a terminal stays)
      } else if (!send_all(sock, {buf, static_cast<size_t>(n)})) {
        stdin_open = false;
      }
    }
  }
}

}  // namespace

Result<int> shell_on_node(
    const NodeEntry& node, const std::string& name, const std::string& container, const std::vector<std::string>& cmd) {
  if (node.token.empty()) return fail(Errc::denied, "node " + name + " has no admin token (zos configure … --token T)");
  HostPort hp = TRY(shell_host_port(node.url));
  bool tty = ::isatty(0) && ::isatty(1);
  json body = {{"cmd", cmd}, {"tty", tty}};
  if (tty) {
    const char* term = std::getenv("TERM");
    body["env"] = json::array({std::string("TERM=") + (term && *term ? term : "xterm")});
    winsize ws{};
    if (::ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) body["rows"] = ws.ws_row, body["cols"] = ws.ws_col;
  }
  std::string text;
  try {
    text = body.dump();
  } catch (const json::exception&) {
    return fail(Errc::invalid_input, "the command must be UTF-8 text");
  }
  std::string path = "/zos/v1/containers/" + percent_encode(container) + "/exec";
  std::string req = "POST " + path + " HTTP/1.1\r\nHost: " + hp.host + ":" + hp.port + "\r\nAuthorization: Bearer " + node.token +
                    "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(text.size()) +
                    "\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n" + text;
  UniqueFd sock = TRY(shell_connect(hp));
  TRY(send_all(sock.get(), req));
  ResponseHead head = TRY(read_head(sock.get()));
  if (head.status != 101 && head.status != 200) {
    TRY(expect_ok(error_answer(sock.get(), head), "node " + name));
    return fail(Errc::corrupt, "the node answered " + std::to_string(head.status) + " without a stream");
  }
  std::string exec_id = head.headers.contains("x-tiffin-exec") ? head.headers["x-tiffin-exec"] : "";
  {
    std::optional<RawTerminal> raw;
    if (tty) raw.emplace(0);
    TRY(relay_shell(sock.get(), std::move(head.rest), tty));
  }
  sock.reset();
  if (exec_id.empty()) return 0;
  json end = TRY(expect_ok(TRY(call_node(node, "GET", "/zos/v1/exec/" + percent_encode(exec_id), bearer(node))), "node " + name));
  // Still running: the stream ended first (the node went away); no exit code to give.
  return end.contains("exit_code") && end["exit_code"].is_number_integer() ? end["exit_code"].get<int>() : 1;
}

}  // namespace tiffin::cli
