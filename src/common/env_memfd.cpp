#include "common/env_memfd.hpp"

#include <fcntl.h>
#include <sys/mman.h>

#include <algorithm>

namespace tiffin {

namespace {

Result<void> check_entry(std::string_view e) {
  size_t eq = e.find('=');
  if (eq == 0 || eq == std::string_view::npos)
    return fail(Errc::invalid_input, "environment entry without KEY=: '" + std::string(e.substr(0, 64)) + "'");
  if (e.find('\0') != std::string_view::npos)
    return fail(Errc::invalid_input, "environment entry " + std::string(e.substr(0, eq)) + " holds a NUL byte");
  return {};
}

}  // namespace

Result<UniqueFd> make_env_memfd(const std::vector<std::string>& entries) {
  std::string blob;
  for (const auto& e : entries) {
    TRY(check_entry(e));
    blob += e;
    blob.push_back('\0');
  }
  if (blob.size() > kMaxEnvMemfdBytes) return fail(Errc::invalid_input, "the environment is larger than 1 MiB");
  UniqueFd fd(::memfd_create("tiffin-env", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd) return fail_errno("memfd_create");
  TRY(write_all(fd.get(), {reinterpret_cast<const uint8_t*>(blob.data()), blob.size()}));
  // Wiped from this process's heap as soon as it is in the memfd.
  std::fill(blob.begin(), blob.end(), '\0');
  if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0)
    return fail_errno("sealing the environment memfd");
  return fd;
}

Result<std::vector<std::string>> read_env_memfd(int fd) {
  std::string blob(kMaxEnvMemfdBytes + 1, '\0');
  size_t n = TRY_CTX(read_full_at(fd, {reinterpret_cast<uint8_t*>(blob.data()), blob.size()}, 0), "reading the environment fd");
  if (n > kMaxEnvMemfdBytes) return fail(Errc::invalid_input, "the environment fd holds more than 1 MiB");
  blob.resize(n);
  std::vector<std::string> out;
  size_t i = 0;
  while (i < blob.size()) {
    size_t end = blob.find('\0', i);
    if (end == std::string::npos) return fail(Errc::invalid_input, "the environment fd's last entry is not NUL-terminated");
    std::string_view e(blob.data() + i, end - i);
    TRY(check_entry(e));
    out.emplace_back(e);
    i = end + 1;
  }
  std::fill(blob.begin(), blob.end(), '\0');
  return out;
}

void merge_env(std::vector<std::string>& env, const std::vector<std::string>& entries) {
  for (const auto& e : entries) {
    std::string_view key(e.data(), e.find('=') + 1);  // with its '='
    auto it = std::find_if(env.begin(), env.end(), [&](const std::string& x) { return x.starts_with(key); });
    if (it != env.end()) *it = e;
    else env.push_back(e);
  }
}

}  // namespace tiffin
