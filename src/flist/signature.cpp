#include <algorithm>
#include "flist/signature.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <cstring>
#include <unistd.h>

#include "common/fd.hpp"

namespace tiffin {
namespace {

constexpr std::string_view kDomain = "tiffin-flist-signature-v1";

Bytes signed_message(const Tree& tree) {
  Hash d = flist_digest(tree);
  Bytes msg(kDomain.size() + d.size());
  std::memcpy(msg.data(), kDomain.data(), kDomain.size());
  std::memcpy(msg.data() + kDomain.size(), d.data(), d.size());
  return msg;
}

Result<Bytes> read_hex_file(const std::string& path, size_t expected) {
  Bytes raw = TRY(read_file(path, 4096));
  std::string text(raw.begin(), raw.end());
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  auto bytes = from_hex(text);
  sodium_memzero(text.data(), text.size());
  sodium_memzero(raw.data(), raw.size());
  if (!bytes || bytes->size() != expected) return fail(Errc::invalid_input, path + " does not hold a key of the expected size");
  return *bytes;
}

}  // namespace

Hash flist_digest(const Tree& tree) {
  Blake2b h;
  h.field("tree");
  std::vector<size_t> order = tree.preorder();
  for (size_t idx : order) {
    const Node& n = tree.nodes[idx];
    h.field(tree.path_of(idx));
    h.field(n.mode);
    h.field(n.uid);
    h.field(n.gid);
    h.field(n.is_dir() ? 0 : n.size);
    h.field(n.rdev);
    h.field(static_cast<uint64_t>(n.mtime));
    h.field(n.link);
    h.field(n.blocks.size());
    for (const auto& b : n.blocks) {
      h.update(b.id);
      h.update(b.key);
    }
    h.field(n.xattrs.size());
    for (const auto& x : n.xattrs) {
      h.field(x.name);
      h.field(std::string_view(reinterpret_cast<const char*>(x.value.data()), x.value.size()));
    }
    h.field(n.hardlink ? tree.path_of(*n.hardlink) : std::string());
  }
  h.field("tags");
  h.field(tree.tags.size());
  for (const auto& [k, v] : tree.tags) {
    h.field(k);
    h.field(v);
  }
  h.field("routes");
  h.field(tree.routes.size());
  for (const auto& r : tree.routes) {
    h.field(r.start);
    h.field(r.end);
    h.field(r.url);
  }
  h.field("config");
  h.field(tree.config ? image_config_to_json(*tree.config) : std::string());
  return h.finish();
}

Result<SigningKey> generate_key(const std::string& path) {
  SigningKey k{Bytes(crypto_sign_SECRETKEYBYTES), Bytes(crypto_sign_PUBLICKEYBYTES)};
  crypto_sign_keypair(k.public_key.data(), k.secret.data());
  std::string hex = to_hex(k.secret) + "\n";
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) return fail_errno("create " + path);
  auto wrote = write_all(fd.get(), {reinterpret_cast<const uint8_t*>(hex.data()), hex.size()});
  sodium_memzero(hex.data(), hex.size());
  if (!wrote || ::fsync(fd.get()) < 0) return fail_errno("write " + path);
  std::string pub = to_hex(k.public_key) + "\n";
  TRY(write_file_atomic(path + ".pub", {reinterpret_cast<const uint8_t*>(pub.data()), pub.size()}, 0644));
  return k;
}

Result<SigningKey> load_secret_key(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077))
    return fail(Errc::invalid_input, path + " is readable by others; a secret key must be mode 0600");
  SigningKey k;
  k.secret = TRY(read_hex_file(path, crypto_sign_SECRETKEYBYTES));
  k.public_key.assign(k.secret.begin() + 32, k.secret.end());
  return k;
}

Result<Bytes> load_public_key(const std::string& path_or_hex) {
  if (auto b = from_hex(path_or_hex); b && b->size() == crypto_sign_PUBLICKEYBYTES) return *b;
  return read_hex_file(path_or_hex, crypto_sign_PUBLICKEYBYTES);
}

Signature signature_for(const Tree& tree, const SigningKey& key) {
  Bytes msg = signed_message(tree);
  Bytes sig(crypto_sign_BYTES);
  crypto_sign_detached(sig.data(), nullptr, msg.data(), msg.size(), key.secret.data());
  return {key.public_key, sig};
}

void sign(Tree& tree, const SigningKey& key) {
  Signature s = signature_for(tree, key);
  std::erase_if(tree.signatures, [&](const Signature& old) { return old.public_key == key.public_key; });
  tree.signatures.push_back(std::move(s));
}

std::vector<SignatureCheck> verify(const Tree& tree) {
  Bytes msg = signed_message(tree);
  std::vector<SignatureCheck> out;
  for (const auto& s : tree.signatures) {
    bool ok = s.public_key.size() == crypto_sign_PUBLICKEYBYTES && s.signature.size() == crypto_sign_BYTES &&
              crypto_sign_verify_detached(s.signature.data(), msg.data(), msg.size(), s.public_key.data()) == 0;
    out.push_back({s.public_key, ok});
  }
  return out;
}

}  // namespace tiffin
