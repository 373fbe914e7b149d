#include "flake/vm_guest.hpp"

namespace tiffin::flake {

Result<VmGuest> prepare_vm_guest(const std::string&, const std::string&, const std::string&) {
  return fail(Errc::unsupported, "microVM flakes are not built yet");
}

}  // namespace tiffin::flake
