// The `tiffin` commands a flake's call is made of, run from tiffin-pilot: the engine stays in the
// `tiffin` binary beside the pilot (found through /proc/self/exe), so the launcher stays small.
#pragma once

#include <signal.h>

#include <string>
#include <vector>

#include "common/error.hpp"
#include "flake/flake_config.hpp"

namespace tiffin::flake {

// INT, TERM, HUP and QUIT blocked for the object's life: the pilot makes containers it must
// remove, so these wait until it has (and then end it, or reach what it execs next, which
// inherits the mask: tiffin start's attach reads them and forwards them to the app).
class HeldSignals {
 public:
  HeldSignals();
  ~HeldSignals();
  HeldSignals(const HeldSignals&) = delete;
  HeldSignals& operator=(const HeldSignals&) = delete;

 private:
  sigset_t old_{};
};

// tiffin, beside the running executable.
std::string tiffin_binary();

// A verb's answer after anything printed before it (create's id after a pull's or warning's lines).
std::string last_line(const std::string& out);

// `tiffin [--root …] WORDS…` on the flake's node: its stdout (trimmed), or an error carrying
// `what` and what it printed (exit code 2: Errc::invalid_input).
Result<std::string> tiffin_step(const FlakeConfig& c, const std::vector<std::string>& words, const std::string& what);

// Copies the flake's includes into created container `id`: each tar unpacked at its root, each
// file or directory at its own path (parents made), through `tiffin cp -`, whose extraction
// keeps everything inside the container.
Result<void> provision_includes(const FlakeConfig& c, const std::string& id);

}  // namespace tiffin::flake
