#include "zos/node_identity.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "common/fd.hpp"
#include "common/hex.hpp"
#include "common/text.hpp"
#include "zos/sodium_ready.hpp"

namespace tiffin::zos {
namespace {

// A file holding 64 hex characters and a newline; a little slack for what an editor adds.
constexpr size_t kMaxKeyFile = 256;

std::string_view as_text(std::span<const uint8_t> b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

// Makes `dir` and its missing parents, each 0700 (the node key's directory is nobody else's).
Result<void> make_private_dirs(const std::string& dir) {
  if (dir.empty() || dir == "/") return {};
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return fail(Errc::invalid_input, dir + ": not a directory");
    return {};
  }
  auto slash = dir.rfind('/');
  if (slash != std::string::npos && slash > 0) TRY(make_private_dirs(dir.substr(0, slash)));
  if (::mkdir(dir.c_str(), 0700) < 0 && errno != EEXIST) return fail_errno("mkdir " + dir);
  return {};
}

// Writes a fresh random seed to a temporary file beside `path` and links it to `path`: the name
// appears with its whole content or not at all. Returns false when another process made it first.
Result<bool> create_key_file(const std::string& path) {
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  TRY(make_private_dirs(dir));

  std::array<uint8_t, 32> seed;
  randombytes_buf(seed.data(), seed.size());
  std::string hex = to_hex(seed);
  std::string text(hex.size() + 1, '\n');
  std::memcpy(text.data(), hex.data(), hex.size());
  sodium_memzero(hex.data(), hex.size());
  sodium_memzero(seed.data(), seed.size());

  std::array<uint8_t, 8> tag;
  randombytes_buf(tag.data(), tag.size());
  std::string tmp = path + ".tmp-" + to_hex(tag);
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) {
    sodium_memzero(text.data(), text.size());
    return fail_errno("create " + tmp);
  }
  auto wrote = write_all(fd.get(), {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
  sodium_memzero(text.data(), text.size());
  if (!wrote) {
    ::unlink(tmp.c_str());
    return std::unexpected(wrote.error().context("writing " + tmp));
  }
  if (::fsync(fd.get()) < 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return fail_errno("fsync " + tmp, e);
  }
  fd.reset();
  bool made = ::link(tmp.c_str(), path.c_str()) == 0;
  int e = errno;
  ::unlink(tmp.c_str());
  if (!made && e != EEXIST) return fail_errno("link " + path, e);
  if (made) {
    // The new name survives a crash too.
    UniqueFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (d) (void)::fsync(d.get());
  }
  return made;
}

Result<NodeIdentity> read_key_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail_errno("open " + path);
  struct stat st;
  if (::fstat(fd.get(), &st) < 0) return fail_errno("stat " + path);
  if (!S_ISREG(st.st_mode)) return fail(Errc::corrupt, path + ": the node key is not a regular file");
  if (st.st_mode & 077) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return fail(Errc::denied, path + ": the node key is open to group or others (mode " + mode + "); it must be mode 0600");
  }
  std::vector<uint8_t> buf(kMaxKeyFile + 1);
  size_t n = TRY_CTX(read_full(fd.get(), buf), "reading " + path);
  std::string_view text = as_text({buf.data(), n});
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  Result<NodeIdentity> id = fail(Errc::corrupt, "too long");
  if (n <= kMaxKeyFile) id = identity_from_seed_hex(text);
  sodium_memzero(buf.data(), buf.size());
  if (!id) return fail(Errc::corrupt, path + ": not a node key (expected 64 hex characters and a newline)");
  return id;
}

Result<std::vector<uint8_t>> hex_of_size(std::string_view hex, size_t size, const char* what) {
  auto bytes = hex.size() == size * 2 ? from_hex(hex) : std::nullopt;
  if (!bytes)
    return fail(Errc::invalid_input,
        std::string(what) + ": expected " + std::to_string(size * 2) + " hex characters, got '" + printable(hex.substr(0, 160)) + "'");
  return *bytes;
}

}  // namespace

std::string NodeIdentity::public_hex() const { return to_hex(public_key); }

std::string NodeIdentity::node_id() const { return base58_encode(public_key); }

std::string NodeIdentity::sign_hex(std::string_view message) const {
  (void)sodium_ready();
  std::array<uint8_t, crypto_sign_BYTES> sig;
  crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<const uint8_t*>(message.data()), message.size(), secret_key.data());
  return to_hex(sig);
}

Result<NodeIdentity> identity_from_seed(std::span<const uint8_t, 32> seed) {
  TRY(sodium_ready());
  NodeIdentity id;
  std::memcpy(id.seed.data(), seed.data(), seed.size());
  crypto_sign_seed_keypair(id.public_key.data(), id.secret_key.data(), id.seed.data());
  return id;
}

Result<NodeIdentity> identity_from_seed_hex(std::string_view hex) {
  if (hex.size() != 64)
    return fail(Errc::invalid_input, "node seed: expected 64 hex characters (a 32-byte ed25519 seed), got " + std::to_string(hex.size()));
  auto bytes = from_hex(hex);
  if (!bytes) return fail(Errc::invalid_input, "node seed: not hex (expected 64 characters 0-9 a-f)");
  auto id = identity_from_seed(std::span<const uint8_t, 32>(bytes->data(), 32));
  sodium_memzero(bytes->data(), bytes->size());
  return id;
}

Result<NodeIdentity> load_or_create_identity(const std::string& path) {
  TRY(sodium_ready());
  if (path.empty()) return fail(Errc::invalid_input, "node key: no path given");
  if (::access(path.c_str(), F_OK) < 0) {
    if (errno != ENOENT) return fail_errno("access " + path);
    (void)TRY_CTX(create_key_file(path), "making the node key");
  }
  return read_key_file(path);
}

Result<void> verify_hex_signature(std::string_view public_hex, std::string_view message, std::string_view signature_hex) {
  TRY(sodium_ready());
  auto pk = TRY(hex_of_size(public_hex, crypto_sign_PUBLICKEYBYTES, "public key"));
  auto sig = TRY(hex_of_size(signature_hex, crypto_sign_BYTES, "signature"));
  if (crypto_sign_verify_detached(sig.data(), reinterpret_cast<const uint8_t*>(message.data()), message.size(), pk.data()) != 0)
    return fail(Errc::denied, "bad signature");
  return {};
}

std::string base58_encode(std::span<const uint8_t> bytes) {
  static constexpr char kAlphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
  size_t zeros = 0;
  while (zeros < bytes.size() && bytes[zeros] == 0) ++zeros;
  // The number in base 58, least significant digit first; log(256)/log(58) < 1.37.
  std::vector<uint8_t> digits;
  digits.reserve((bytes.size() - zeros) * 137 / 100 + 1);
  for (size_t i = zeros; i < bytes.size(); ++i) {
    unsigned carry = bytes[i];
    for (auto& d : digits) {
      carry += static_cast<unsigned>(d) << 8;
      d = static_cast<uint8_t>(carry % 58);
      carry /= 58;
    }
    while (carry > 0) {
      digits.push_back(static_cast<uint8_t>(carry % 58));
      carry /= 58;
    }
  }
  std::string out(zeros, '1');
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) out.push_back(kAlphabet[*it]);
  return out;
}

}  // namespace tiffin::zos
