#include "image/compressor.hpp"

#include <zlib.h>
#include <zstd.h>

namespace tiffin::image {

namespace {

constexpr size_t kChunk = 256 << 10;

class Plain final : public Compressor {
 public:
  explicit Plain(ByteSink out) : out_(std::move(out)) {}
  Result<void> write(std::span<const uint8_t> plain) override { return out_(plain); }
  Result<void> finish() override { return {}; }

 private:
  ByteSink out_;
};

class Gzip final : public Compressor {
 public:
  explicit Gzip(ByteSink out) : out_(std::move(out)), buf_(kChunk) {}
  ~Gzip() override {
    if (open_) deflateEnd(&z_);
  }
  Result<void> init(int level) {
    // windowBits 15 + 16: a gzip header and trailer, as every registry's layers have.
    if (deflateInit2(&z_, level ? level : Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      return fail(Errc::internal, "gzip: deflateInit2 failed");
    open_ = true;
    return {};
  }
  Result<void> write(std::span<const uint8_t> plain) override { return run(plain, Z_NO_FLUSH); }
  Result<void> finish() override { return run({}, Z_FINISH); }

 private:
  Result<void> run(std::span<const uint8_t> in, int flush) {
    z_.next_in = const_cast<Bytef*>(in.data());
    z_.avail_in = static_cast<uInt>(in.size());
    for (;;) {
      z_.next_out = buf_.data();
      z_.avail_out = static_cast<uInt>(buf_.size());
      int rc = deflate(&z_, flush);
      if (rc == Z_STREAM_ERROR) return fail(Errc::internal, "gzip: deflate failed");
      size_t n = buf_.size() - z_.avail_out;
      if (n) TRY(out_({buf_.data(), n}));
      if (flush == Z_FINISH ? rc == Z_STREAM_END : z_.avail_in == 0 && z_.avail_out != 0) return {};
    }
  }
  ByteSink out_;
  Bytes buf_;
  z_stream z_{};
  bool open_ = false;
};

class Zstd final : public Compressor {
 public:
  explicit Zstd(ByteSink out) : out_(std::move(out)), buf_(ZSTD_CStreamOutSize()), cctx_(ZSTD_createCCtx()) {}
  ~Zstd() override { ZSTD_freeCCtx(cctx_); }
  Result<void> init(int level) {
    if (!cctx_) return fail(Errc::internal, "zstd: no context");
    if (level) ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(cctx_, ZSTD_c_checksumFlag, 1);
    return {};
  }
  Result<void> write(std::span<const uint8_t> plain) override { return run(plain, ZSTD_e_continue); }
  Result<void> finish() override { return run({}, ZSTD_e_end); }

 private:
  Result<void> run(std::span<const uint8_t> plain, ZSTD_EndDirective mode) {
    ZSTD_inBuffer in{plain.data(), plain.size(), 0};
    for (;;) {
      ZSTD_outBuffer out{buf_.data(), buf_.size(), 0};
      size_t left = ZSTD_compressStream2(cctx_, &out, &in, mode);
      if (ZSTD_isError(left)) return fail(Errc::internal, std::string("zstd: ") + ZSTD_getErrorName(left));
      if (out.pos) TRY(out_({buf_.data(), out.pos}));
      if (mode == ZSTD_e_end ? left == 0 : in.pos == in.size) return {};
    }
  }
  ByteSink out_;
  Bytes buf_;
  ZSTD_CCtx* cctx_;
};

}  // namespace

Result<std::unique_ptr<Compressor>> Compressor::open(LayerCompression kind, ByteSink out, int level) {
  switch (kind) {
    case LayerCompression::none: return std::make_unique<Plain>(std::move(out));
    case LayerCompression::gzip: {
      auto g = std::make_unique<Gzip>(std::move(out));
      TRY(g->init(level));
      return g;
    }
    case LayerCompression::zstd: {
      auto z = std::make_unique<Zstd>(std::move(out));
      TRY(z->init(level));
      return z;
    }
  }
  return fail(Errc::internal, "unknown compression");
}

}  // namespace tiffin::image
