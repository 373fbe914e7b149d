#include "vm/host_parts.hpp"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "common/subprocess.hpp"

namespace tiffin::vm {

Result<HostKernel> newest_kernel() {
  std::vector<std::string> versions;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/boot", ec)) {
    std::string name = e.path().filename().string();
    if (name.starts_with("vmlinuz-") && std::filesystem::is_directory("/lib/modules/" + name.substr(8))) versions.push_back(name.substr(8));
  }
  if (versions.empty()) return fail(Errc::not_found, "no kernel with modules in /boot (apt-get install linux-image-amd64)");
  std::sort(versions.begin(), versions.end(),
      [](const std::string& a, const std::string& b) { return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end()); });
  return HostKernel{versions.back(), "/boot/vmlinuz-" + versions.back()};
}

Result<std::vector<std::string>> module_files(const std::string& version, const std::vector<std::string>& modules) {
  std::vector<std::string> argv = {"modprobe", "-a", "-S", version, "--show-depends"};
  argv.insert(argv.end(), modules.begin(), modules.end());
  auto [code, out] = TRY_CTX(run_captured(argv), "modprobe (apt-get install kmod)");
  if (code != 0) return fail(Errc::not_found, "modprobe --show-depends " + version + " failed: " + out);
  std::vector<std::string> files;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("insmod ")) continue;  // "builtin x"
    std::string path = line.substr(7);
    while (!path.empty() && path.back() == ' ') path.pop_back();
    if (std::find(files.begin(), files.end(), path) == files.end()) files.push_back(path);
  }
  return files;
}

Result<std::vector<std::string>> shared_libraries(const std::string& program) {
  auto [code, out] = TRY_CTX(run_captured({"ldd", program}, true), "ldd");
  std::vector<std::string> libs;
  if (code != 0) return libs;  // "not a dynamic executable": static
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    // "\tlibz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x…)" or "\t/lib64/ld-linux-x86-64.so.2 (0x…)"
    size_t arrow = line.find("=> ");
    size_t start = arrow != std::string::npos ? arrow + 3 : line.find('/');
    if (start == std::string::npos || start >= line.size() || line[start] != '/') continue;
    std::string path = line.substr(start, line.find(' ', start) - start);
    if (std::find(libs.begin(), libs.end(), path) == libs.end()) libs.push_back(path);
  }
  return libs;
}

}  // namespace tiffin::vm
