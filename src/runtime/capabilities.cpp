#include "runtime/capabilities.hpp"

#include <linux/capability.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include <algorithm>

namespace tiffin::runtime {
namespace {

Result<std::vector<cap_value_t>> values_of(const std::vector<std::string>& names) {
  std::vector<cap_value_t> out;
  for (const auto& n : names) {
    std::string lower = n;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    cap_value_t v;
    if (cap_from_name(lower.c_str(), &v) != 0) return fail(Errc::invalid_input, "unknown capability " + n);
    // Capabilities newer than this kernel cannot be set; skip them as runc does.
    if (!CAP_IS_SUPPORTED(v)) continue;
    out.push_back(v);
  }
  return out;
}

}  // namespace

Result<void> drop_bounding_set(const std::vector<std::string>& bounding) {
  auto keep = TRY(values_of(bounding));
  for (cap_value_t c = 0; c <= CAP_LAST_CAP; ++c) {
    if (!CAP_IS_SUPPORTED(c) || std::find(keep.begin(), keep.end(), c) != keep.end()) continue;
    if (cap_drop_bound(c) != 0 && errno != EINVAL) return fail_errno("dropping " + std::string(cap_to_name(c)) + " from the bounding set");
  }
  return {};
}

Result<void> apply_capabilities(const Capabilities& caps) {
  cap_t state = cap_init();
  if (!state) return fail_errno("cap_init");
  auto set = [&](cap_flag_t flag, const std::vector<std::string>& names) -> Result<void> {
    auto v = TRY(values_of(names));
    if (!v.empty() && cap_set_flag(state, flag, static_cast<int>(v.size()), v.data(), CAP_SET) != 0) return fail_errno("cap_set_flag");
    return {};
  };
  Result<void> r = set(CAP_EFFECTIVE, caps.effective);
  if (r) r = set(CAP_PERMITTED, caps.permitted);
  if (r) r = set(CAP_INHERITABLE, caps.inheritable);
  if (r && cap_set_proc(state) != 0) r = fail_errno("setting capabilities");
  cap_free(state);
  if (!r) return r;
  if (cap_reset_ambient() != 0 && errno != EINVAL) return fail_errno("clearing ambient capabilities");
  for (cap_value_t c : TRY(values_of(caps.ambient)))
    // An ambient capability must be permitted and inheritable; runc ignores the ones that are not.
    (void)cap_set_ambient(c, CAP_SET);
  return {};
}

const std::vector<std::string>& docker_default_capabilities() {
  static const std::vector<std::string> caps = {"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
      "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"};
  return caps;
}

}  // namespace tiffin::runtime

namespace tiffin::runtime {

std::vector<std::string> all_capabilities() {
  std::vector<std::string> out;
  for (int c = 0; c <= CAP_LAST_CAP; ++c) {
    if (cap_get_bound(c) != 1) continue;  // what this node itself lacks cannot be granted
    char* name = cap_to_name(c);
    std::string n = name ? name : "";
    cap_free(name);
    std::transform(n.begin(), n.end(), n.begin(), [](unsigned char ch) { return std::toupper(ch); });
    if (n.starts_with("CAP_")) out.push_back(n);
  }
  return out;
}

bool known_capability(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
  cap_value_t v;
  return cap_from_name(lower.c_str(), &v) == 0;
}

}  // namespace tiffin::runtime
