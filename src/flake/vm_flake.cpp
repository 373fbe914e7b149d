#include "flake/vm_flake.hpp"

namespace tiffin::flake {

Result<int> run_vm_flake(const std::string& name, const FlakeConfig&, const Caller&) {
  return fail(Errc::unsupported, name + ": microVM flakes are not built yet");
}

}  // namespace tiffin::flake
