// linux.seccomp compiled with libseccomp: every action (SCMP_ACT_NOTIFY aside, which needs a
// listener the spec's caller provides), argument filters and filter flags. Syscall names this
// libseccomp does not know are skipped, as runc does, so one profile serves several kernels.
#pragma once

#include <cstdint>
#include <vector>

#include "common/error.hpp"
#include "runtime/spec.hpp"

namespace tiffin::runtime {

// A compiled filter; load() installs it in the calling thread (needs no_new_privs or
// CAP_SYS_ADMIN), bpf() exports it for inspection.
class SeccompFilter {
 public:
  SeccompFilter() = default;
  SeccompFilter(SeccompFilter&& o) noexcept;
  SeccompFilter& operator=(SeccompFilter&& o) noexcept;
  ~SeccompFilter();

  static Result<SeccompFilter> compile(const Seccomp& spec);
  Result<void> load() const;
  Result<std::vector<uint8_t>> bpf() const;

 private:
  void* ctx_ = nullptr;  // scmp_filter_ctx
};

// A filter as the kernel takes it: BPF and SECCOMP_FILTER_FLAG_* flags.
struct SeccompProgram {
  std::vector<uint8_t> bpf;
  unsigned flags = 0;
  // seccomp(SECCOMP_SET_MODE_FILTER); needs no_new_privs or CAP_SYS_ADMIN.
  Result<void> load() const;
};

// The program for `spec`. libseccomp takes milliseconds to build one from a Docker-sized profile,
// so with a `cache_dir` the result is kept there under the spec's text and reused when the very
// same spec (and libseccomp version) comes again.
Result<SeccompProgram> seccomp_program(const Seccomp& spec, const std::string& cache_dir);

}  // namespace tiffin::runtime
