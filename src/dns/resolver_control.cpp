#include "dns/resolver_control.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>

#include "common/ofd_lock.hpp"
#include "common/subprocess.hpp"

namespace tiffin::dns {

std::string resolver_lock_path(const std::string& dns_dir) { return dns_dir + "/resolver.pid"; }
std::string resolver_log_path(const std::string& dns_dir) { return dns_dir + "/resolver.log"; }

bool resolver_alive(const std::string& dns_dir) { return ofd_lock_held(resolver_lock_path(dns_dir)); }

Result<UniqueFd> take_resolver_lock(const std::string& dns_dir) {
  std::string path = resolver_lock_path(dns_dir);
  auto fd = take_ofd_lock(path);
  if (!fd && fd.error().kind == Errc::conflict)
    return std::unexpected(Error{Errc::conflict, fd.error().sys_errno, "a resolver already serves " + dns_dir});
  if (!fd) return std::unexpected(fd.error());
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd->get(), 0) != 0) return fail_errno("truncating " + path);
  TRY_CTX(pwrite_all(fd->get(), {reinterpret_cast<const uint8_t*>(pid.data()), pid.size()}, 0), path);
  return fd;
}

namespace {

Result<std::string> network_file_path(const std::string& dns_dir, const std::string& network) {
  if (network_of_file(network + ".conf") != network) return fail(Errc::invalid_input, "'" + network + "' cannot name a network file");
  return dns_dir + "/" + network + ".conf";
}

}  // namespace

Result<void> write_network_file(const std::string& dns_dir, const NetworkFile& file) {
  std::string path = TRY(network_file_path(dns_dir, file.network));
  std::string text = format_network_file(file);
  TRY(parse_network_file(file.network, text, path));
  if (::mkdir(dns_dir.c_str(), 0755) != 0 && errno != EEXIST) return fail_errno("creating " + dns_dir);
  // Under the run root (tmpfs): nothing to fsync, the file does not outlive a reboot anyway.
  return write_file_atomic(path, text, 0644, false);
}

Result<void> remove_network_file(const std::string& dns_dir, const std::string& network) {
  std::string path = TRY(network_file_path(dns_dir, network));
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return fail_errno("removing " + path);
  return {};
}

Result<void> ensure_resolver(const std::string& dns_dir, const std::string& resolver_binary) {
  if (resolver_alive(dns_dir)) return {};
  if (::mkdir(dns_dir.c_str(), 0755) != 0 && errno != EEXIST) return fail_errno("creating " + dns_dir);
  std::string log = resolver_log_path(dns_dir);
  UniqueFd log_fd(::open(log.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644));
  if (!log_fd) return fail_errno("opening " + log);
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return fail_errno("pipe");
  UniqueFd ready(p[0]), ready_w(p[1]);
  pid_t pid = TRY(spawn({resolver_binary, dns_dir, "--ready-fd", "3"}, [w = ready_w.get(), l = log_fd.get()] {
    // Between fork and exec: system calls only. A new session, then a second fork so the
    // resolver is nobody's child here and no terminal's: it outlives the CLI, which waits only
    // for the middle process.
    if (::setsid() < 0) return false;
    pid_t again = ::fork();
    if (again < 0) return false;
    if (again > 0) ::_exit(0);
    int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null < 0 || ::dup2(null, 0) < 0 || ::dup2(l, 1) < 0 || ::dup2(l, 2) < 0 || ::dup2(w, 3) < 0) return false;
    ::close_range(4, ~0U, 0);
    return ::chdir("/") == 0;
  }));
  ready_w.reset();
  log_fd.reset();
  if (int code = wait_exit(pid); code != 0) return fail(Errc::io, "starting " + resolver_binary + ": exit code " + std::to_string(code));
  // The answer: "ok" (serving) or "running" (another resolver won), or EOF when it failed (its
  // reason is in the log).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::string answer;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) return fail(Errc::unavailable, resolver_binary + " did not report ready within 5 s (see " + log + ")");
    struct pollfd pfd {
      ready.get(), POLLIN, 0
    };
    int n = ::poll(&pfd, 1, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("waiting for the resolver");
    if (n == 0) continue;
    char buf[64];
    ssize_t got = ::read(ready.get(), buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    answer.append(buf, static_cast<size_t>(got));
  }
  if (answer.starts_with("ok") || answer.starts_with("running")) return {};
  if (resolver_alive(dns_dir)) return {};
  return fail(Errc::io, resolver_binary + " failed to start (see " + log + ")");
}

}  // namespace tiffin::dns
