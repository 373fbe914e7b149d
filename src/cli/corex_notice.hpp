// What `run --corex`, `start` and `restart` print for an interactive container: where its coreX
// answers, with the token made for this start (on stderr, so `run -d`'s stdout stays the id).
// The token is shown once and kept nowhere.
#pragma once

#include <string>

#include "engine/engine.hpp"

namespace tiffin::cli {

void print_corex_notice(engine::Engine& e, const std::string& id, const std::string& token);

}  // namespace tiffin::cli
