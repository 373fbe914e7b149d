// Platforms: the host's (uname, named as Go names architectures) and the choice of an index
// entry, with containerd's normalisation (arm64 means v8, arm means v7 unless told).
#include <sys/utsname.h>

#include <algorithm>
#include <cctype>

#include "common/text.hpp"
#include "image/manifest.hpp"

namespace tiffin::image {
namespace {

// Kernel and distribution spellings of architectures → Go's.
std::string go_arch(std::string arch, std::string& variant) {
  if (arch == "x86_64" || arch == "x86-64") return "amd64";
  if (arch == "aarch64") return "arm64";
  if (arch == "armhf") {
    if (variant.empty()) variant = "v7";
    return "arm";
  }
  if (arch == "armel") {
    if (variant.empty()) variant = "v6";
    return "arm";
  }
  if (arch == "i386" || arch == "i686") return "386";
  return arch;
}

// containerd's platforms.Normalize for the variant: "8" → "v8", the defaults filled in.
std::string normal_variant(const Platform& p) {
  std::string v = p.variant;
  if (!v.empty() && v[0] != 'v') v = "v" + v;
  if (p.architecture == "arm64" && v.empty()) return "v8";
  if (p.architecture == "arm" && v.empty()) return "v7";
  if (p.architecture == "amd64" && v == "v1") return "";
  return v;
}

}  // namespace

std::string Platform::str() const { return os + "/" + architecture + (variant.empty() ? "" : "/" + variant); }

Platform platform_from_machine(std::string_view machine) {
  Platform p;
  if (machine == "aarch64" || machine == "arm64") {
    p.architecture = "arm64";
    p.variant = "v8";
  } else if (machine.starts_with("armv") && machine.size() >= 5 && machine[4] >= '5' && machine[4] <= '8') {
    // armv7l → arm/v7, armv6l → arm/v6; armv8l is a 32-bit user space on a 64-bit CPU, which
    // runs arm/v7 images (arm/v8 ones hardly exist).
    p.architecture = "arm";
    p.variant = machine[4] == '8' ? "v7" : std::string("v") + machine[4];
  } else {
    p.architecture = go_arch(std::string(machine), p.variant);
  }
  return p;
}

Platform host_platform() {
  utsname u{};
  if (uname(&u) != 0) return Platform{};
  return platform_from_machine(u.machine);
}

Result<Platform> parse_platform(std::string_view text) {
  auto parts = split(text, '/');
  auto bad = [&] {
    return fail(Errc::invalid_input, "invalid platform \"" + printable(text) + "\" (os/arch[/variant], e.g. linux/arm64)");
  };
  if (parts.empty() || parts.size() > 3) return bad();
  for (const auto& part : parts) {
    if (part.empty() || !std::all_of(part.begin(), part.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        }))
      return bad();
  }
  Platform p;
  if (parts.size() == 1) {
    p.architecture = parts[0];
  } else {
    p.os = parts[0];
    p.architecture = parts[1];
    if (parts.size() == 3) p.variant = parts[2];
  }
  for (char& c : p.os) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (char& c : p.architecture) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  p.architecture = go_arch(p.architecture, p.variant);
  return p;
}

Result<Descriptor> select_platform(const Index& index, const Platform& want) {
  const std::string want_variant = normal_variant(want);
  const Descriptor* compatible = nullptr;
  std::string seen;
  for (const auto& d : index.manifests) {
    if (!d.platform) continue;
    const Platform& p = *d.platform;
    seen += (seen.empty() ? "" : ", ") + p.str();
    if (p.os != want.os || p.architecture != want.architecture) continue;
    std::string v = normal_variant(p);
    if (v == want_variant) return d;
    if ((v.empty() || want_variant.empty()) && !compatible) compatible = &d;
  }
  if (compatible) return *compatible;
  Platform shown = want;
  shown.variant = want_variant;
  return fail(
      Errc::not_found, "no image for " + shown.str() + " in the index (it has: " + (seen.empty() ? "no platforms" : printable(seen)) + ")");
}

}  // namespace tiffin::image
