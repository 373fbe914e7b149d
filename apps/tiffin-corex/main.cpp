// tiffin-corex: coreX, the process manager with web terminals that an interactive container
// runs as PID 1 (src/corex; `tiffin run --corex`, Zero-OS's interactive workloads).
//
//   COREX_TOKEN=… tiffin-corex [--interface eth0] [--ipv6] [-p 7681] [-c user:pass] [-d 7] [COMMAND…]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "corex/daemon.hpp"
#include "corex/options.hpp"

extern char** environ;

int main(int argc, char** argv) {
  using namespace tiffin::corex;
  // The token is taken, then wiped from this process's environment block (which
  // /proc/1/environ shows to the container's processes) and kept out of theirs.
  std::string token;
  if (char* t = std::getenv(kTokenEnv)) {
    token = t;
    std::memset(t, 0, std::strlen(t));
  }
  auto options = parse_options(std::vector<std::string>(argv + 1, argv + argc), token);
  if (!options) {
    std::fprintf(stderr, "tiffin-corex: %s\n%s", options.error().message.c_str(), usage_text());
    return 2;
  }
  if (options->help) return std::fputs(usage_text(), stdout), 0;
  if (options->version) return std::puts("tiffin-corex " TIFFIN_VERSION), 0;
  if (auto r = run_corex(*options, process_environment(environ)); !r) {
    std::fprintf(stderr, "tiffin-corex: %s\n", r.error().message.c_str());
    return 1;
  }
  return 0;
}
