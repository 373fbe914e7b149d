// sha256 through OpenSSL's EVP interface (the same library the hub's TLS uses).
#include "image/digest.hpp"

#include <openssl/evp.h>

#include <algorithm>

#include "common/hex.hpp"

namespace tiffin::image {

struct Sha256State {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  Sha256State() {
    if (ctx) EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  }
  ~Sha256State() { EVP_MD_CTX_free(ctx); }
  Sha256State(const Sha256State&) = delete;
  Sha256State& operator=(const Sha256State&) = delete;
  std::string finish() {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    if (!ctx || EVP_DigestFinal_ex(ctx, out, &len) != 1) return "sha256:<openssl failure>";
    return "sha256:" + to_hex({out, len});
  }
};

Result<void> validate_digest(std::string_view digest) {
  auto bad = [&](const char* why) {
    return fail(Errc::invalid_input, "invalid digest \"" + std::string(digest.substr(0, 80)) + "\": " + why);
  };
  size_t colon = digest.find(':');
  if (colon == std::string_view::npos) return bad("no algorithm (sha256:…)");
  if (digest.substr(0, colon) != "sha256") return bad("only sha256 is supported");
  std::string_view hex = digest.substr(colon + 1);
  if (hex.size() != 64 || !std::all_of(hex.begin(), hex.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }))
    return bad("not 64 lowercase hexadecimal digits");
  return {};
}

std::string sha256_digest(std::span<const uint8_t> data) {
  Sha256State s;
  if (s.ctx) EVP_DigestUpdate(s.ctx, data.data(), data.size());
  return s.finish();
}

Sha256::Sha256() : state_(std::make_unique<Sha256State>()) {}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;

void Sha256::update(std::span<const uint8_t> data) {
  size_ += data.size();
  if (state_->ctx) EVP_DigestUpdate(state_->ctx, data.data(), data.size());
}

std::string Sha256::digest() { return state_->finish(); }

DigestVerifier::DigestVerifier(std::string expected) : expected_(std::move(expected)), state_(std::make_unique<Sha256State>()) {}
DigestVerifier::~DigestVerifier() = default;
DigestVerifier::DigestVerifier(DigestVerifier&&) noexcept = default;

void DigestVerifier::update(std::span<const uint8_t> data) {
  size_ += data.size();
  if (state_->ctx) EVP_DigestUpdate(state_->ctx, data.data(), data.size());
}

Result<void> DigestVerifier::finish(const std::string& what) {
  std::string got = state_->finish();
  if (got != expected_) return fail(Errc::corrupt, what + ": digest mismatch: expected " + expected_ + ", got " + got);
  return {};
}

}  // namespace tiffin::image
