#include "cli/corex_notice.hpp"

#include <fmt/core.h>

#include "engine/corex_mode.hpp"

namespace tiffin::cli {

void print_corex_notice(engine::Engine& e, const std::string& id, const std::string& token) {
  if (token.empty()) return;
  auto info = e.inspect(id);
  auto urls = info ? engine::corex_urls(e, *info) : Result<std::vector<std::string>>(std::vector<std::string>{});
  if (!urls || urls->empty()) {
    fmt::print(stderr, "coreX token: {}\n", token);
    return;
  }
  for (const auto& url : *urls) fmt::print(stderr, "coreX: {}?token={}\n", url, token);
}

}  // namespace tiffin::cli
