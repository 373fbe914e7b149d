#include "net/wireguard_go.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "common/fd.hpp"
#include "common/subprocess.hpp"
#include "common/unix_socket.hpp"
#include "net/wireguard_uapi.hpp"

namespace tiffin::net {
namespace {

// The pid of the process listening on the interface's UAPI socket, 0 if none.
pid_t socket_owner(const std::string& ifname) {
  auto s = connect_unix(uapi_socket_path(ifname));
  if (!s) return 0;
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(s->get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return 0;
  return cred.pid;
}

// Gone, or a zombie waiting for whoever adopted it to reap it.
bool process_gone(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
  UniqueFd f(::open(("/proc/" + std::to_string(pid) + "/stat").c_str(), O_RDONLY | O_CLOEXEC));
  char buf[256];
  ssize_t n = f ? ::read(f.get(), buf, sizeof buf - 1) : -1;
  if (n <= 0) return true;
  buf[n] = 0;
  const char* close = std::strrchr(buf, ')');  // the state follows the command's name
  return close && close[1] == ' ' && close[2] == 'Z';
}

}  // namespace

bool wireguard_go_alive(const std::string& ifname) { return socket_owner(ifname) > 0; }

Result<void> start_wireguard_go(const std::string& binary, const std::string& ifname, const std::string& log_path) {
  TRY(stop_wireguard_go(ifname));
  // A socket file without a listener (a process killed with -9) would make it refuse to start.
  ::unlink(uapi_socket_path(ifname).c_str());
  UniqueFd log_fd(::open(log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
  if (!log_fd) return fail_errno("opening " + log_path);
  pid_t pid = TRY(spawn({binary, "-f", ifname}, [l = log_fd.get()] {
    // A new session and a second fork: it outlives the CLI and belongs to no terminal.
    if (::setsid() < 0) return false;
    pid_t again = ::fork();
    if (again < 0) return false;
    if (again > 0) ::_exit(0);
    int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null < 0 || ::dup2(null, 0) < 0 || ::dup2(l, 1) < 0 || ::dup2(l, 2) < 0) return false;
    ::close_range(3, ~0U, 0);
    return ::chdir("/") == 0;
  }));
  log_fd.reset();
  if (int code = wait_exit(pid); code != 0) return fail(Errc::io, "starting " + binary + ": exit code " + std::to_string(code));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!wireguard_go_alive(ifname)) {
    if (std::chrono::steady_clock::now() > deadline)
      return fail(Errc::unavailable, binary + " did not open " + uapi_socket_path(ifname) + " within 5 s (see " + log_path + ")");
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return {};
}

Result<void> stop_wireguard_go(const std::string& ifname) {
  pid_t pid = socket_owner(ifname);
  if (pid <= 0) return {};
  if (::kill(pid, SIGTERM) != 0 && errno != ESRCH) return fail_errno("stopping wireguard-go " + std::to_string(pid));
  // 5 s for SIGTERM, then SIGKILL and 5 s more; a process that outlives that (stuck in the
  // kernel) is an error, not a hang.
  auto start = std::chrono::steady_clock::now();
  bool killed = false;
  while (!process_gone(pid)) {
    auto waited = std::chrono::steady_clock::now() - start;
    if (!killed && waited > std::chrono::seconds(5)) {
      ::kill(pid, SIGKILL);
      killed = true;
    } else if (waited > std::chrono::seconds(10)) {
      return fail(Errc::io, "wireguard-go " + std::to_string(pid) + " for " + ifname + " did not exit after SIGKILL");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return {};
}

}  // namespace tiffin::net
