// Content digests ("sha256:<64 lowercase hex>") and a streaming hasher that checks one.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "common/error.hpp"

namespace tiffin::image {

// Checks the form; only sha256 is accepted (the algorithm every registry uses).
Result<void> validate_digest(std::string_view digest);
std::string sha256_digest(std::span<const uint8_t> data);  // "sha256:…"

// A streaming sha256: update, then digest() once.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  void update(std::span<const uint8_t> data);
  uint64_t size() const { return size_; }
  std::string digest();  // "sha256:…"

 private:
  uint64_t size_ = 0;
  std::unique_ptr<struct Sha256State> state_;
};

class DigestVerifier {
 public:
  explicit DigestVerifier(std::string expected);  // a digest that passed validate_digest
  ~DigestVerifier();
  DigestVerifier(DigestVerifier&&) noexcept;
  void update(std::span<const uint8_t> data);
  uint64_t size() const { return size_; }
  // Errc::corrupt "digest mismatch: expected …, got …" (with `what` in front) when it differs.
  Result<void> finish(const std::string& what);

 private:
  std::string expected_;
  uint64_t size_ = 0;
  std::unique_ptr<struct Sha256State> state_;
};

}  // namespace tiffin::image
