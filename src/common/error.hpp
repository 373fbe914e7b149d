// Errors that carry a kind, the errno where there was one, and a chain of context
// ("packing rootfs: reading etc/shadow: open: EACCES"). Every fallible function returns
// Result<T>; bad input from a user is a kind of its own so callers can map it to exit code 2
// or HTTP 400 without parsing messages.
#pragma once

#include <cerrno>
#include <expected>
#include <string>
#include <utility>

namespace tiffin {

enum class Errc {
  io,             // the system said no (errno set)
  invalid_input,  // the user's input is malformed: bad flags, files, URLs, JSON
  not_found,      // a named thing does not exist (a block, a path, an image)
  corrupt,        // data failed verification (hash, GCM tag, inconsistent flist)
  conflict,       // the thing exists already / is in use
  denied,         // not allowed: no or bad credentials (EACCES) or not this caller's (EPERM)
  unavailable,    // a remote peer did not answer in time
  unsupported,    // valid but not something tiffin can do
  internal,       // a bug
};

struct Error {
  Errc kind = Errc::internal;
  int sys_errno = 0;
  std::string message;

  // Prefixes context, outermost last: err.context("unpacking x.fl").
  Error& context(const std::string& what) & {
    message = what + ": " + message;
    return *this;
  }
  Error&& context(const std::string& what) && {
    message = what + ": " + message;
    return std::move(*this);
  }
  const std::string& what() const { return message; }
};

template <class T = void>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(Errc kind, std::string message) {
  return std::unexpected(Error{kind, 0, std::move(message)});
}
// An error from a failed system call: "<what>: <strerror(e)>".
std::unexpected<Error> fail_errno(const std::string& what, int e = errno);

const char* errc_name(Errc kind);

}  // namespace tiffin

// TRY(expr): evaluates a Result; on error returns it from the enclosing function,
// otherwise yields the value. (A GNU statement expression, supported by GCC and clang.)
#define TRY(...)                                                   \
  ({                                                               \
    auto&& tiffin_try_r_ = (__VA_ARGS__);                          \
    if (!tiffin_try_r_) return std::unexpected(std::move(tiffin_try_r_).error()); \
    std::move(tiffin_try_r_).value();                              \
  })

// TRY_CTX(expr, context): as TRY, adding context to the error.
#define TRY_CTX(expr, ctx)                                         \
  ({                                                               \
    auto&& tiffin_try_r_ = (expr);                                 \
    if (!tiffin_try_r_) return std::unexpected(std::move(tiffin_try_r_).error().context(ctx)); \
    std::move(tiffin_try_r_).value();                              \
  })
