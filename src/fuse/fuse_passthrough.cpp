#define FUSE_USE_VERSION 312
#include "fuse/fuse_passthrough.hpp"

#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <linux/fuse.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "common/fd.hpp"

namespace tiffin::fusepass {
namespace {

// ABI 7.40 (Linux 6.9), newer than Debian's <linux/fuse.h> (7.38).
constexpr uint64_t kInitPassthrough = 1ULL << 37;  // FUSE_PASSTHROUGH, in flags2
constexpr uint32_t kOpenPassthrough = 1u << 7;     // FOPEN_PASSTHROUGH
// fuse_init_out.max_stack_depth: the first of 7.38's unused words, right after flags2.
constexpr size_t kMaxStackDepthOffset = offsetof(fuse_init_out, flags2) + sizeof(uint32_t);
struct BackingMap {
  int32_t fd;
  uint32_t flags;
  uint64_t padding;
};
constexpr unsigned long kIocBackingOpen = _IOW(229, 1, BackingMap);
constexpr unsigned long kIocBackingClose = _IOW(229, 2, uint32_t);

// Frees the buffer libfuse allocated for a received request.
struct BufFree {
  fuse_buf& buf;
  ~BufFree() { std::free(buf.mem); }
};

}  // namespace

RequestHead request_head(const fuse_buf& buf) {
  RequestHead h;
  if ((buf.flags & FUSE_BUF_IS_FD) || buf.size < sizeof(fuse_in_header)) return h;
  const auto* in = static_cast<const fuse_in_header*>(buf.mem);
  h.opcode = in->opcode;
  h.unique = in->unique;
  h.nodeid = in->nodeid;
  if (in->opcode == FUSE_OPEN && buf.size >= sizeof(fuse_in_header) + sizeof(fuse_open_in))
    h.open_flags = reinterpret_cast<const fuse_open_in*>(in + 1)->flags;
  return h;
}

Result<bool> negotiate_init(fuse_session* se, bool want, void (*before_reply)(void*, bool), void* ctx) {
  fuse_buf buf{};
  BufFree free_buf{buf};
  int n;
  while ((n = fuse_session_receive_buf(se, &buf)) == -EINTR) {
  }
  if (n <= 0) return fail(Errc::io, "the kernel sent no INIT (" + std::string(std::strerror(n < 0 ? -n : EIO)) + ")");
  const auto* in = static_cast<const fuse_in_header*>(buf.mem);
  bool offered = false;
  if (!(buf.flags & FUSE_BUF_IS_FD) && buf.size >= sizeof(fuse_in_header) + sizeof(fuse_init_in) && in->opcode == FUSE_INIT) {
    const auto* init = reinterpret_cast<const fuse_init_in*>(in + 1);
    uint64_t flags = init->flags;
    if (flags & FUSE_INIT_EXT) flags |= uint64_t(init->flags2) << 32;
    offered = want && (flags & kInitPassthrough);
  }
  before_reply(ctx, offered);
  if (!offered) {
    fuse_session_process_buf(se, &buf);
    return false;
  }
  // libfuse writes its reply to the session's descriptor: point that descriptor at a pipe for
  // the one INIT (no other thread reads or writes the device yet), then put the device back.
  int dev = fuse_session_fd(se);
  UniqueFd saved(::fcntl(dev, F_DUPFD_CLOEXEC, 0));
  if (!saved) return fail_errno("dup /dev/fuse");
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return fail_errno("pipe");
  UniqueFd rd(p[0]), wr(p[1]);
  if (::dup3(wr.get(), dev, O_CLOEXEC) < 0) return fail_errno("dup3");
  fuse_session_process_buf(se, &buf);
  if (::dup3(saved.get(), dev, O_CLOEXEC) < 0) return fail_errno("dup3 /dev/fuse back");
  wr.reset();
  uint8_t reply[4096];
  ssize_t got = ::read(rd.get(), reply, sizeof reply);
  if (got < static_cast<ssize_t>(sizeof(fuse_out_header))) return fail(Errc::io, "libfuse gave no INIT reply");
  auto* out_h = reinterpret_cast<fuse_out_header*>(reply);
  bool ok = out_h->error == 0 && static_cast<size_t>(got) >= sizeof(fuse_out_header) + kMaxStackDepthOffset + 4;
  if (ok) {
    auto* out = reinterpret_cast<fuse_init_out*>(out_h + 1);
    out->flags |= FUSE_INIT_EXT;
    out->flags2 |= static_cast<uint32_t>(kInitPassthrough >> 32);
    // Backing files may live on a plain filesystem only (depth 0), so that overlayfs can still
    // stack on this mount (depth 1 + 1 = the kernel's limit of 2).
    uint32_t depth = 1;
    std::memcpy(reinterpret_cast<uint8_t*>(out) + kMaxStackDepthOffset, &depth, sizeof depth);
  }
  if (::write(dev, reply, static_cast<size_t>(got)) != got) return fail_errno("sending the INIT reply");
  return ok;
}

Result<int> open_backing(int dev_fd, int fd) {
  BackingMap map{fd, 0, 0};
  int id = ::ioctl(dev_fd, kIocBackingOpen, &map);
  if (id < 0) {
    int e = errno;
    if (e == EPERM || e == ENOTTY || e == EOPNOTSUPP || e == EINVAL || e == ELOOP)
      return std::unexpected(Error{Errc::unsupported, e, std::string("no passthrough here: ") + std::strerror(e)});
    return fail_errno("FUSE_DEV_IOC_BACKING_OPEN");
  }
  return id;
}

void close_backing(int dev_fd, int backing_id) {
  uint32_t id = static_cast<uint32_t>(backing_id);
  ::ioctl(dev_fd, kIocBackingClose, &id);
}

Result<bool> reply_open(int dev_fd, uint64_t unique, uint64_t fh, int backing_id) {
  struct {
    fuse_out_header h;
    fuse_open_out o;
  } r{};
  r.h.len = sizeof r;
  r.h.unique = unique;
  r.o.fh = fh;
  if (backing_id >= 0) {
    r.o.open_flags = kOpenPassthrough;
    r.o.padding = static_cast<uint32_t>(backing_id);  // backing_id in ABI 7.40
  } else {
    r.o.open_flags = FOPEN_KEEP_CACHE;  // content never changes
  }
  if (::write(dev_fd, &r, sizeof r) == static_cast<ssize_t>(sizeof r)) return true;
  if (errno == ENOENT) return false;
  return fail_errno("replying to OPEN");
}

Result<void> reply_error(int dev_fd, uint64_t unique, int err) {
  fuse_out_header h{};
  h.len = sizeof h;
  h.error = -err;
  h.unique = unique;
  if (::write(dev_fd, &h, sizeof h) != static_cast<ssize_t>(sizeof h) && errno != ENOENT) return fail_errno("replying to OPEN");
  return {};
}

}  // namespace tiffin::fusepass
