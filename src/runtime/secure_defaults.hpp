// The defaults tiffin gives containers unless told otherwise, equivalent to Docker's: its
// capability set (capabilities.hpp), a seccomp allowlist that refuses what those capabilities do
// not cover (mount, unshare, keyctl, ptrace, bpf, module loading, clock setting, …) with EPERM,
// no_new_privs, and /proc and /sys paths masked or read-only.
#pragma once

#include <string>
#include <vector>

#include "runtime/spec.hpp"

namespace tiffin::runtime {

// The default linux.seccomp; syscalls that need a capability are allowed only when
// `capabilities` hold it, as Docker's profile does.
Seccomp default_seccomp(const std::vector<std::string>& capabilities);

const std::vector<std::string>& default_masked_paths();
const std::vector<std::string>& default_readonly_paths();

// What `tiffin-oci spec` writes (spec_to_json of it): runc's layout (sh in ./rootfs, relative
// to the bundle, the usual mounts and namespaces) with the secure defaults above.
Spec default_spec();

// The two above as JSON text, for callers that still edit config.json by key (the engine's
// build_spec, until it builds a Spec).
std::string default_seccomp_json(const std::vector<std::string>& capabilities);
std::string default_spec_json();

}  // namespace tiffin::runtime
