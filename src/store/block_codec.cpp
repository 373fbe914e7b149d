#include "store/block_codec.hpp"

#include <openssl/evp.h>
#include <snappy.h>

#include <memory>

#include "store/snappy_encoder.hpp"

namespace tiffin {
namespace {

constexpr size_t kNonceSize = 12;
constexpr size_t kTagSize = 16;
// Bound on a block's plain size; rfs writes 512 KiB chunks. Guards decompression of hostile input.
constexpr size_t kMaxPlainSize = 16 * 1024 * 1024;

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

// One cipher context per thread: creating one per block costs more than the cipher itself.
EVP_CIPHER_CTX* thread_ctx() {
  thread_local CipherCtx ctx(EVP_CIPHER_CTX_new());
  return ctx.get();
}

}  // namespace

EncodedBlock encode_block(std::span<const uint8_t> plain) {
  EncodedBlock out;
  out.key = blake2b256(plain);

  // Compress straight into the output buffer and encrypt it in place: no temporary copies. The
  // compressor is rfs's (snappy_encoder.hpp), so the same plain text gives rfs's very block.
  out.sealed.resize(snappy_max_compressed_length(plain.size()) + kTagSize);
  const size_t clen = snappy_compress(plain, out.sealed.data());

  EVP_CIPHER_CTX* ctx = thread_ctx();
  EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, nullptr, nullptr);
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, kNonceSize, nullptr);
  EVP_EncryptInit_ex(ctx, nullptr, nullptr, out.key.data(), out.key.data());
  int len = 0, fin = 0;
  EVP_EncryptUpdate(ctx, out.sealed.data(), &len, out.sealed.data(), static_cast<int>(clen));
  EVP_EncryptFinal_ex(ctx, out.sealed.data() + len, &fin);
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTagSize, out.sealed.data() + clen);
  out.sealed.resize(clen + kTagSize);

  out.id = blake2b256(out.sealed);
  return out;
}

namespace {

// Decrypts sealed[0, len - tag) into `out` (which may be sealed itself) and checks the tag.
bool open_sealed(const Hash& key, std::span<const uint8_t> sealed, uint8_t* out) {
  const size_t clen = sealed.size() - kTagSize;
  EVP_CIPHER_CTX* ctx = thread_ctx();
  EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, nullptr, nullptr);
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, kNonceSize, nullptr);
  EVP_DecryptInit_ex(ctx, nullptr, nullptr, key.data(), key.data());
  int len = 0, fin = 0;
  EVP_DecryptUpdate(ctx, out, &len, sealed.data(), static_cast<int>(clen));
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTagSize, const_cast<uint8_t*>(sealed.data() + clen));
  return EVP_DecryptFinal_ex(ctx, out + len, &fin) == 1;
}

Result<Bytes> uncompress(const Hash& id, const uint8_t* compressed, size_t clen) {
  size_t plain_len = 0;
  const char* c = reinterpret_cast<const char*>(compressed);
  if (!snappy::GetUncompressedLength(c, clen, &plain_len) || plain_len > kMaxPlainSize)
    return fail(Errc::corrupt, "block " + to_hex(id) + ": bad compressed length");
  Bytes plain(plain_len);
  if (!snappy::RawUncompress(c, clen, reinterpret_cast<char*>(plain.data())))
    return fail(Errc::corrupt, "block " + to_hex(id) + ": bad compressed data");
  return plain;
}

Result<void> check_sealed(const Hash& id, std::span<const uint8_t> sealed) {
  if (sealed.size() < kTagSize) return fail(Errc::corrupt, "block " + to_hex(id) + ": shorter than its tag");
  if (blake2b256(sealed) != id) return fail(Errc::corrupt, "block " + to_hex(id) + ": content does not match its id");
  return {};
}

Error tampered(const Hash& id) {
  return Error{Errc::corrupt, 0, "block " + to_hex(id) + ": authentication failed (wrong key or tampered block)"};
}

}  // namespace

Result<Bytes> decode_block(const Hash& id, const Hash& key, std::span<const uint8_t> sealed) {
  TRY(check_sealed(id, sealed));
  std::unique_ptr<uint8_t[]> compressed(new uint8_t[sealed.size() - kTagSize]);  // not zero-filled
  if (!open_sealed(key, sealed, compressed.get())) return std::unexpected(tampered(id));
  return uncompress(id, compressed.get(), sealed.size() - kTagSize);
}

Result<Bytes> decode_block(const Hash& id, const Hash& key, Bytes&& sealed) {
  TRY(check_sealed(id, sealed));
  if (!open_sealed(key, sealed, sealed.data())) return std::unexpected(tampered(id));
  return uncompress(id, sealed.data(), sealed.size() - kTagSize);
}

}  // namespace tiffin
