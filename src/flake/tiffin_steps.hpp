// The `tiffin` commands a flake's call is made of, run from tiffin-pilot: the engine stays in the
// `tiffin` binary beside the pilot (found through /proc/self/exe), so the launcher stays small.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "flake/flake_config.hpp"

namespace tiffin::flake {

// tiffin, beside the running executable.
std::string tiffin_binary();

// `tiffin [--root …] WORDS…` on the flake's node: its stdout (trimmed), or an error carrying
// `what` and what it printed (exit code 2: Errc::invalid_input).
Result<std::string> tiffin_step(const FlakeConfig& c, const std::vector<std::string>& words, const std::string& what);

// Copies the flake's includes into created container `id`: each tar unpacked at its root, each
// file or directory at its own path (parents made), through `tiffin cp -`, whose extraction
// keeps everything inside the container.
Result<void> provision_includes(const FlakeConfig& c, const std::string& id);

}  // namespace tiffin::flake
