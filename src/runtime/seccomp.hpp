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

}  // namespace tiffin::runtime
