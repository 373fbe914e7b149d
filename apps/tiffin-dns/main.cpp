// tiffin-dns: the node's resolver for containers on tiffin's bridge networks (src/dns).
//
//   tiffin-dns DIR [--ready-fd N] [--idle-exit SECONDS]   serve DIR's networks (in the foreground)
//   tiffin-dns --ensure DIR                                start one for DIR, detached, unless one runs
//   tiffin-dns --alive DIR                                 exit 0 when one runs, 1 when not
//
// The engine starts it through ensure_resolver (src/dns/resolver_control.hpp), which is what
// --ensure calls, with this binary.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>

#include "common/text.hpp"
#include "dns/resolver.hpp"
#include "dns/resolver_control.hpp"

namespace {

int usage() {
  std::fprintf(stderr,
      "usage: tiffin-dns DIR [--ready-fd N] [--idle-exit SECONDS]\n"
      "       tiffin-dns --ensure DIR\n"
      "       tiffin-dns --alive DIR\n");
  return 2;
}

std::string self_path() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string("tiffin-dns");
}

void tell(int fd, std::string_view what) {
  if (fd < 0) return;
  (void)tiffin::write_all(fd, {reinterpret_cast<const uint8_t*>(what.data()), what.size()});
  ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tiffin;
  if (argc == 3 && std::string_view(argv[1]) == "--ensure") {
    if (auto r = dns::ensure_resolver(argv[2], self_path()); !r) {
      std::fprintf(stderr, "tiffin-dns: %s\n", r.error().message.c_str());
      return 1;
    }
    return 0;
  }
  if (argc == 3 && std::string_view(argv[1]) == "--alive") return dns::resolver_alive(argv[2]) ? 0 : 1;

  dns::ResolverOptions options;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if ((a == "--ready-fd" || a == "--idle-exit") && i + 1 < argc) {
      auto v = parse_uint<uint32_t>(argv[++i]);
      if (!v) return usage();
      if (a == "--ready-fd") options.ready_fd = static_cast<int>(*v);
      if (a == "--idle-exit") options.idle_exit = std::chrono::seconds(*v);
    } else if (!a.starts_with("-") && options.dir.empty()) {
      options.dir = a;
    } else {
      return usage();
    }
  }
  if (options.dir.empty()) return usage();
  if (options.ready_fd >= 0 && ::fcntl(options.ready_fd, F_SETFD, FD_CLOEXEC) != 0) options.ready_fd = -1;
  ::umask(022);

  auto lock = dns::take_resolver_lock(options.dir);
  if (!lock) {
    std::fprintf(stderr, "tiffin-dns: %s\n", lock.error().message.c_str());
    if (lock.error().kind == Errc::conflict && options.ready_fd >= 0) {
      tell(options.ready_fd, "running\n");  // as good as started, for ensure_resolver
      return 0;
    }
    return 1;
  }
  // The log (stderr when started detached) is kept short: a new resolver starts it afresh once
  // it is over 1 MiB.
  struct stat st {};
  if (::fstat(2, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > (1 << 20)) (void)::ftruncate(2, 0);

  if (auto r = dns::run_resolver(options, std::move(*lock)); !r) {
    std::fprintf(stderr, "tiffin-dns: %s\n", r.error().message.c_str());
    return 1;
  }
  return 0;
}
