// What `run --corex`, `start` (with -a too), `restart` and `system boot` print for an interactive
// container: where its coreX answers, with the token made for this start (on stderr, so `run
// -d`'s stdout stays the id). The token is shown once and kept nowhere; nothing is printed when
// the start made none or did not deliver it (engine.hpp: StartedContainer::corex_token).
#pragma once

#include <string>

#include "engine/engine.hpp"

namespace tiffin::cli {

void print_corex_notice(engine::Engine& e, const std::string& id, const std::string& token);

}  // namespace tiffin::cli
