// Interactive containers (`tiffin run --corex`, Zero-OS's `interactive: true`): instead of the
// image's program, tiffin-corex (src/corex) runs as pid 1, bound read-only at /corex, with the
// arguments Zero-OS gives it. Its token reaches it as COREX_TOKEN in the secret environment (a
// memfd, never a file); the engine makes one at each start unless the caller brings its own.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "engine/engine.hpp"

namespace tiffin::engine {

inline constexpr int kCorexPort = 7681;

// /corex --ipv6 -d 7 --interface eth0 (Zero-OS's command line for coreX).
std::vector<std::string> corex_args();
// 32 random bytes in hex (getrandom(2)).
Result<std::string> new_corex_token();
std::string corex_token_env(const std::string& token);
bool has_corex_token(const std::vector<std::string>& env);

// Where a running --corex container's coreX answers: http://<its address>:7681/ on each of its
// networks, and each address a `-p …:7681` publishes it on (127.0.0.1 for the wildcard).
Result<std::vector<std::string>> corex_urls(Engine& e, const ContainerInfo& c);

}  // namespace tiffin::engine
