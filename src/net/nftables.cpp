#include "net/nftables.hpp"

#include <dlfcn.h>
#include <nftables/libnftables.h>  // types only: the functions are looked up with dlsym

#include <mutex>

#include "net/nft_ruleset.hpp"

namespace tiffin::net {
namespace {

// The few functions of libnftables.so.1 tiffin uses.
struct Libnftables {
  decltype(&::nft_ctx_new) ctx_new = nullptr;
  decltype(&::nft_ctx_free) ctx_free = nullptr;
  decltype(&::nft_ctx_buffer_output) buffer_output = nullptr;
  decltype(&::nft_ctx_buffer_error) buffer_error = nullptr;
  decltype(&::nft_ctx_get_output_buffer) get_output = nullptr;
  decltype(&::nft_ctx_get_error_buffer) get_error = nullptr;
  decltype(&::nft_ctx_output_get_flags) output_get_flags = nullptr;
  decltype(&::nft_ctx_output_set_flags) output_set_flags = nullptr;
  decltype(&::nft_run_cmd_from_buffer) run_cmd = nullptr;
};

template <class F>
bool bind(void* handle, const char* name, F& fn) {
  fn = reinterpret_cast<F>(::dlsym(handle, name));
  return fn != nullptr;
}

// Loaded once per process and never unloaded.
Result<const Libnftables*> libnftables() {
  static std::once_flag once;
  static Libnftables lib;
  static Result<void> loaded;
  std::call_once(once, [] {
    void* handle = ::dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      loaded = fail(Errc::unsupported, "libnftables is not installed (apt-get install libnftables1)");
      return;
    }
    bool ok = bind(handle, "nft_ctx_new", lib.ctx_new) && bind(handle, "nft_ctx_free", lib.ctx_free) &&
              bind(handle, "nft_ctx_buffer_output", lib.buffer_output) && bind(handle, "nft_ctx_buffer_error", lib.buffer_error) &&
              bind(handle, "nft_ctx_get_output_buffer", lib.get_output) && bind(handle, "nft_ctx_get_error_buffer", lib.get_error) &&
              bind(handle, "nft_ctx_output_get_flags", lib.output_get_flags) &&
              bind(handle, "nft_ctx_output_set_flags", lib.output_set_flags) && bind(handle, "nft_run_cmd_from_buffer", lib.run_cmd);
    if (!ok) loaded = fail(Errc::unsupported, std::string("libnftables.so.1 lacks a function tiffin needs: ") + ::dlerror());
  });
  if (!loaded) return std::unexpected(loaded.error());
  return &lib;
}

// One context for one command buffer: its output and errors are kept in memory, not printed.
class Context {
 public:
  explicit Context(const Libnftables* lib) : lib_(lib), ctx_(lib->ctx_new(NFT_CTX_DEFAULT)) {
    if (!ctx_) return;
    lib_->buffer_output(ctx_);
    lib_->buffer_error(ctx_);
  }
  ~Context() {
    if (ctx_) lib_->ctx_free(ctx_);
  }
  Context(const Context&) = delete;
  nft_ctx* get() const { return ctx_; }
  // Once only: libnftables empties its buffer when it hands it out.
  std::string error_text() const {
    const char* buffer = lib_->get_error(ctx_);
    std::string text = buffer ? buffer : "";
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return text.empty() ? "nft failed without a message" : text;
  }

 private:
  const Libnftables* lib_;
  nft_ctx* ctx_;
};

// Runs `commands` in a fresh context; the output on success.
Result<std::string> run(const std::string& commands, bool json) {
  const Libnftables* lib = TRY(libnftables());
  Context ctx(lib);
  if (!ctx.get()) return fail(Errc::io, "creating a libnftables context");
  if (json) lib->output_set_flags(ctx.get(), lib->output_get_flags(ctx.get()) | NFT_CTX_OUTPUT_JSON);
  if (lib->run_cmd(ctx.get(), commands.c_str()) != 0) {
    std::string text = ctx.error_text();
    // nft says "No such file or directory" for a table, chain or map that is not there.
    Errc kind = text.find("No such file or directory") != std::string::npos ? Errc::not_found : Errc::io;
    return fail(kind, text);
  }
  const char* out = lib->get_output(ctx.get());
  return std::string(out ? out : "");
}

}  // namespace

Result<void> nft_apply(const std::string& commands) {
  auto ran = run(commands, false);
  if (!ran) return std::unexpected(std::move(ran.error()).context("applying nftables rules"));
  return {};
}

Result<std::string> nft_list_table(bool json, std::string_view table) {
  auto listed = run("list table " + std::string(table), json);
  if (!listed) return std::unexpected(std::move(listed.error()).context("listing table " + std::string(table)));
  return listed;
}

}  // namespace tiffin::net
