// Errors that carry a kind, the errno where there was one, and a chain of context
// ("packing rootfs: reading etc/shadow: open: EACCES"). Every fallible function returns
// Result<T>; bad input from a user is a kind of its own so callers can map it to exit code 2
// or HTTP 400 without parsing messages.
//
// Errors cross process boundaries (a runtime's child, tiffin-oci, the shim, the lazy mount's
// daemon) in one wire form, encode_error/decode_error, so the far side gets the same kind and
// errno it would have got in-process.
#pragma once

#include <cerrno>
#include <expected>
#include <string>
#include <string_view>
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
  // The program a container or exec is to run (docker's exit codes 127 and 126): kinds of
  // their own, so a missing bind source (not_found) is never mistaken for a missing command.
  program_not_found,       // no such executable (in $PATH)
  program_not_executable,  // it exists but cannot be run: permissions, a directory, bad format
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
  bool operator==(const Error&) const = default;
};

// std::expected with a compiler check that nobody drops an error on the floor: discarding a
// Result is a warning (an error with TIFFIN_WERROR); `(void)` says it is meant.
template <class T = void>
class [[nodiscard]] Result : public std::expected<T, Error> {
 public:
  using std::expected<T, Error>::expected;
  Result() = default;
  Result(const std::expected<T, Error>& e) : std::expected<T, Error>(e) {}
  Result(std::expected<T, Error>&& e) : std::expected<T, Error>(std::move(e)) {}
};

inline std::unexpected<Error> fail(Errc kind, std::string message) { return std::unexpected(Error{kind, 0, std::move(message)}); }
// An error from a failed system call: "<what>: <strerror(e)>".
std::unexpected<Error> fail_errno(const std::string& what, int e = errno);

// A human name ("invalid input") for messages.
const char* errc_name(Errc kind);

// The wire form: "<kind>:<errno>:<message>" on one line (the kind by its enumerator name, the
// message with '\\' and '\n' escaped). decode_error refuses anything else with Errc::corrupt.
std::string encode_error(const Error& e);
Result<Error> decode_error(std::string_view text);

// docker's exit code for a container or exec that could not start: 127 when the program does
// not exist, 126 when it cannot be run, 125 for everything else (the engine failed).
int start_failure_exit_code(const Error& e);

}  // namespace tiffin

// TRY(expr): evaluates a Result; on error returns it from the enclosing function,
// otherwise yields the value. (A GNU statement expression, supported by GCC and clang.)
#define TRY(...)                                                                  \
  ({                                                                              \
    auto&& tiffin_try_r_ = (__VA_ARGS__);                                         \
    if (!tiffin_try_r_) return std::unexpected(std::move(tiffin_try_r_).error()); \
    std::move(tiffin_try_r_).value();                                             \
  })

// TRY_CTX(expr, context): as TRY, adding context to the error.
#define TRY_CTX(expr, ctx)                                                                     \
  ({                                                                                           \
    auto&& tiffin_try_r_ = (expr);                                                             \
    if (!tiffin_try_r_) return std::unexpected(std::move(tiffin_try_r_).error().context(ctx)); \
    std::move(tiffin_try_r_).value();                                                          \
  })
