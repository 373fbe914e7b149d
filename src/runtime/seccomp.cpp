#include "runtime/seccomp.hpp"

#include <seccomp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <functional>
#include <map>
#include <utility>

#include "common/fd.hpp"

namespace tiffin::runtime {
namespace {

std::unexpected<Error> seccomp_fail(const std::string& what, int rc) {
  return std::unexpected(Error{Errc::invalid_input, -rc, "seccomp: " + what + ": " + strerror(-rc)});
}

Result<uint32_t> action_of(const std::string& name, std::optional<uint32_t> errno_ret) {
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
  if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(errno_ret.value_or(EPERM));
  if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(errno_ret.value_or(EPERM));
  if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  if (name == "SCMP_ACT_NOTIFY") return fail(Errc::unsupported, "seccomp: SCMP_ACT_NOTIFY needs a listener, which tiffin does not offer");
  return fail(Errc::invalid_input, "seccomp: unknown action " + name);
}

Result<scmp_compare> op_of(const std::string& name) {
  static const std::map<std::string, scmp_compare> ops = {{"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT},
      {"SCMP_CMP_LE", SCMP_CMP_LE}, {"SCMP_CMP_EQ", SCMP_CMP_EQ}, {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ}};
  auto it = ops.find(name);
  if (it == ops.end()) return fail(Errc::invalid_input, "seccomp: unknown operator " + name);
  return it->second;
}

Result<uint32_t> arch_of(const std::string& name) {
  // "SCMP_ARCH_X86_64" → "x86_64", the form seccomp_arch_resolve_name knows.
  std::string n = name.starts_with("SCMP_ARCH_") ? name.substr(10) : name;
  for (auto& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  uint32_t arch = seccomp_arch_resolve_name(n.c_str());
  if (arch == 0) return fail(Errc::invalid_input, "seccomp: unknown architecture " + name);
  return arch;
}

}  // namespace

SeccompFilter::SeccompFilter(SeccompFilter&& o) noexcept : ctx_(std::exchange(o.ctx_, nullptr)) {}
SeccompFilter& SeccompFilter::operator=(SeccompFilter&& o) noexcept {
  if (this != &o) {
    if (ctx_) seccomp_release(ctx_);
    ctx_ = std::exchange(o.ctx_, nullptr);
  }
  return *this;
}
SeccompFilter::~SeccompFilter() {
  if (ctx_) seccomp_release(ctx_);
}

Result<SeccompFilter> SeccompFilter::compile(const Seccomp& spec) {
  uint32_t def = TRY(action_of(spec.default_action, spec.default_errno_ret));
  SeccompFilter f;
  f.ctx_ = seccomp_init(def);
  if (!f.ctx_) return fail(Errc::invalid_input, "seccomp: cannot make a filter with default " + spec.default_action);
  // Filters are not inherited from the runtime's own no_new_privs choice: the spec decides.
  seccomp_attr_set(f.ctx_, SCMP_FLTATR_CTL_NNP, 0);
  for (const auto& a : spec.architectures) {
    uint32_t arch = TRY(arch_of(a));
    int rc = seccomp_arch_add(f.ctx_, arch);
    if (rc != 0 && rc != -EEXIST) return seccomp_fail("adding architecture " + a, rc);
  }
  for (const auto& flag : spec.flags) {
    int rc = 0;
    if (flag == "SECCOMP_FILTER_FLAG_TSYNC") rc = seccomp_attr_set(f.ctx_, SCMP_FLTATR_CTL_TSYNC, 1);
    else if (flag == "SECCOMP_FILTER_FLAG_LOG") rc = seccomp_attr_set(f.ctx_, SCMP_FLTATR_CTL_LOG, 1);
    else if (flag == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") rc = seccomp_attr_set(f.ctx_, SCMP_FLTATR_CTL_SSB, 1);
    // WAIT_KILLABLE_RECV only matters with a notify listener.
    if (rc != 0) return seccomp_fail("setting " + flag, rc);
  }
  for (const auto& rule : spec.syscalls) {
    uint32_t action = TRY(action_of(rule.action, rule.errno_ret));
    if (action == def) continue;  // libseccomp refuses rules that repeat the default
    std::vector<scmp_arg_cmp> cmps;
    for (const auto& a : rule.args) {
      if (a.index > 5) return fail(Errc::invalid_input, "seccomp: argument index " + std::to_string(a.index) + " > 5");
      scmp_arg_cmp c{a.index, TRY(op_of(a.op)), a.value, a.value_two};
      cmps.push_back(c);
    }
    // libseccomp takes one comparison per argument in a rule; several on the same argument mean
    // "any of them" in runc's reading, so each becomes a rule of its own.
    bool same_arg_twice = false;
    for (size_t i = 0; i < cmps.size(); ++i)
      for (size_t j = i + 1; j < cmps.size(); ++j) same_arg_twice |= cmps[i].arg == cmps[j].arg;
    for (const auto& name : rule.names) {
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) continue;  // unknown to this libseccomp/kernel: skip
      int rc = 0;
      if (!same_arg_twice) {
        rc = seccomp_rule_add_array(f.ctx_, action, nr, static_cast<unsigned>(cmps.size()), cmps.data());
      } else {
        for (const auto& c : cmps)
          if ((rc = seccomp_rule_add_array(f.ctx_, action, nr, 1, &c)) != 0) break;
      }
      if (rc != 0) return seccomp_fail("adding a rule for " + name, rc);
    }
  }
  return f;
}

Result<void> SeccompFilter::load() const {
  if (!ctx_) return {};
  int rc = seccomp_load(ctx_);
  if (rc != 0) return std::unexpected(Error{Errc::io, -rc, std::string("loading the seccomp filter: ") + strerror(-rc)});
  return {};
}

Result<std::vector<uint8_t>> SeccompFilter::bpf() const {
  if (!ctx_) return std::vector<uint8_t>{};
  UniqueFd fd(::memfd_create("seccomp-bpf", MFD_CLOEXEC));
  if (!fd) return fail_errno("memfd_create");
  int rc = seccomp_export_bpf(ctx_, fd.get());
  if (rc != 0) return seccomp_fail("exporting", rc);
  off_t len = ::lseek(fd.get(), 0, SEEK_END);
  std::vector<uint8_t> out(static_cast<size_t>(len));
  TRY(read_full_at(fd.get(), out, 0));
  return out;
}

Result<void> SeccompProgram::load() const {
  sock_fprog prog{
      static_cast<unsigned short>(bpf.size() / sizeof(sock_filter)), reinterpret_cast<sock_filter*>(const_cast<uint8_t*>(bpf.data()))};
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog) != 0) return fail_errno("loading the seccomp filter");
  return {};
}

namespace {

// Everything the program depends on, as text: the cache key, compared whole on reuse.
std::string cache_key(const Seccomp& s) {
  const scmp_version* v = seccomp_version();
  std::string k = "tiffin-seccomp-1 libseccomp " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
                  std::to_string(v->micro) + " native " + std::to_string(seccomp_arch_native()) + "\n";
  auto opt = [](const std::optional<uint32_t>& o) { return o ? std::to_string(*o) : std::string("-"); };
  k += s.default_action + " " + opt(s.default_errno_ret) + "\n";
  for (const auto& a : s.architectures) k += "arch " + a + "\n";
  for (const auto& f : s.flags) k += "flag " + f + "\n";
  for (const auto& r : s.syscalls) {
    k += "rule " + r.action + " " + opt(r.errno_ret);
    for (const auto& n : r.names) k += " " + n;
    for (const auto& a : r.args)
      k += " [" + std::to_string(a.index) + " " + a.op + " " + std::to_string(a.value) + " " + std::to_string(a.value_two) + "]";
    k += "\n";
  }
  return k;
}

unsigned kernel_flags(const Seccomp& s) {
  unsigned f = 0;
  for (const auto& flag : s.flags) {
    if (flag == "SECCOMP_FILTER_FLAG_TSYNC") f |= SECCOMP_FILTER_FLAG_TSYNC;
    if (flag == "SECCOMP_FILTER_FLAG_LOG") f |= SECCOMP_FILTER_FLAG_LOG;
    if (flag == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") f |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
  }
  return f;
}

}  // namespace

Result<SeccompProgram> seccomp_program(const Seccomp& spec, const std::string& cache_dir) {
  SeccompProgram prog;
  prog.flags = kernel_flags(spec);
  std::string key = cache_key(spec);
  // The file holds the key, a NUL, then the program; a different key under the same name (a
  // hash collision) is simply a miss.
  std::string file = cache_dir + "/" + std::to_string(std::hash<std::string>{}(key)) + ".bpf";
  if (!cache_dir.empty()) {
    if (auto data = read_file(file, 16 << 20);
        data && data->size() > key.size() && std::equal(key.begin(), key.end(), data->begin()) && (*data)[key.size()] == 0) {
      prog.bpf.assign(data->begin() + static_cast<long>(key.size()) + 1, data->end());
      if (!prog.bpf.empty() && prog.bpf.size() % sizeof(sock_filter) == 0) return prog;
    }
  }
  SeccompFilter f = TRY(SeccompFilter::compile(spec));
  prog.bpf = TRY(f.bpf());
  if (!cache_dir.empty()) {
    Bytes out(key.begin(), key.end());
    out.push_back(0);
    out.insert(out.end(), prog.bpf.begin(), prog.bpf.end());
    if (::mkdir(cache_dir.c_str(), 0700) == 0 || errno == EEXIST) (void)write_file_atomic(file, out, 0600, false);
  }
  return prog;
}

}  // namespace tiffin::runtime
