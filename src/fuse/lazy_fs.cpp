#define FUSE_USE_VERSION 312
#include "fuse/lazy_fs.hpp"

#include <fuse_lowlevel.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "common/thread_pool.hpp"
#include "flist/flist_file.hpp"
#include "flist/flist_index.hpp"
#include "store/block_codec.hpp"
#include "store/block_fetcher.hpp"
#include "fuse/block_profile.hpp"
#include "fuse/fuse_passthrough.hpp"
#include "fuse/session_loop.hpp"
#include "layer/rw_layer.hpp"
#include "common/fd.hpp"
#include "common/mountinfo.hpp"
#include "common/parallel.hpp"
#include "store/http_client.hpp"
#include "store/router.hpp"

namespace tiffin {

using layer::mount_overlay, layer::overlay_layer_dir, layer::prepare_rw_layer, layer::release_rw_layer, layer::rw_lower_dir,
    layer::RwLayerOptions;
namespace {

constexpr double kTimeout = 3600.0;  // read-only: the kernel may cache names and attributes

struct OpenFile {
  OpenFile(uint64_t s, std::vector<BlockRef> b, uint64_t dir) : size(s), blocks(std::move(b)), parent(dir) {}
  uint64_t size;
  std::vector<BlockRef> blocks;
  uint64_t parent;                       // the directory it was found in (one of them, if linked)
  std::atomic<uint64_t> next_offset{0};  // where a sequential reader reads next
  std::atomic<bool> read_once{false};    // its first read has been seen
  // Its blocks do not cover its size (Node::damaged): every read fails with EIO.
  bool damaged() const { return blocks.size() != block_count(size); }
  // The node cache's id for the whole file's plain content: a one-block file is its block; a
  // larger one is materialised under a hash of its size and block ids.
  const Hash content_id = content_id_of(size, blocks);

 private:
  static Hash content_id_of(uint64_t size, const std::vector<BlockRef>& blocks) {
    if (blocks.size() == 1) return blocks[0].id;
    Bytes key;
    constexpr std::string_view kDomain = "tiffin materialised file v1";
    key.insert(key.end(), kDomain.begin(), kDomain.end());
    for (int i = 0; i < 8; ++i) key.push_back(static_cast<uint8_t>(size >> (8 * i)));
    for (const auto& b : blocks) key.insert(key.end(), b.id.begin(), b.id.end());
    return blake2b256(key);
  }
};

// How an inode is open right now, as the kernel sees it: it refuses a passthrough open while
// cached opens exist (ETXTBSY), and a second backing file for an inode in passthrough (EBUSY).
struct InodeIo {
  unsigned cached = 0, passthrough = 0;
  int backing = -1;  // the backing id of the passthrough opens
};
constexpr uint64_t kFhCached = 1, kFhPassthrough = 2;

struct OpenDir {
  std::vector<InodeRow> entries;  // a snapshot, so offsets stay valid under concurrent readdir
};

// Recently used plain blocks: the kernel asks for one 512 KiB block in several smaller reads.
class MemoryBlocks {
 public:
  explicit MemoryBlocks(size_t capacity) : capacity_(capacity) {}
  std::shared_ptr<const Bytes> get(const Hash& id) {
    std::lock_guard lock(mu_);
    auto it = map_.find(id);
    if (it == map_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second.second);
    return it->second.first;
  }
  void put(const Hash& id, std::shared_ptr<const Bytes> b) {
    std::lock_guard lock(mu_);
    if (map_.contains(id)) return;
    order_.push_front(id);
    map_[id] = {std::move(b), order_.begin()};
    while (map_.size() > capacity_) {
      map_.erase(order_.back());
      order_.pop_back();
    }
  }

 private:
  size_t capacity_;
  std::mutex mu_;
  std::list<Hash> order_;
  std::map<Hash, std::pair<std::shared_ptr<const Bytes>, std::list<Hash>::iterator>> map_;
};

// What statfs reports, counted while the flist is validated at mount.
struct FsTotals {
  uint64_t inodes = 0, bytes = 0;
};

class LazyFs {
 public:
  LazyFs(const MountOptions& opts, std::unique_ptr<FlistIndex> index, std::shared_ptr<BlockCache> cache, StorePtr store, FsTotals totals,
      std::vector<BlockRef> prefetch)
      : opts_(opts),
        index_(std::move(index)),
        cache_(std::move(cache)),
        fetcher_(std::make_shared<BlockFetcher>(std::move(store), cache_, opts.timeout)),
        totals_(totals),
        memory_(64),
        prefetch_(std::move(prefetch)) {
    learning_ = !opts_.report_profile_url.empty();
    if (!opts_.record_profile.empty() || learning_) recorder_ = std::make_unique<BlockRecorder>();
  }
  ~LazyFs() {
    {
      std::lock_guard lock(learn_mu_);
      stopping_ = true;
    }
    learn_cv_.notify_all();
    if (prefetcher_.joinable()) prefetcher_.join();
    if (learner_.joinable()) learner_.join();
  }
  BlockRecorder* recorder() { return recorder_.get(); }

  // Threads are started here, in the serving process (after a daemon fork).
  // Runs in the serving process (after a daemon's fork), when the kernel first talks to us.
  void start() {
    pool_ = std::make_unique<ThreadPool>(opts_.fetch_threads);
    if (!prefetch_.empty()) prefetcher_ = std::thread([this] { prefetch(); });
    if (learning_) {
      learn_until_ = std::chrono::steady_clock::now() + opts_.learn_window;
      learner_ = std::thread([this] {
        std::unique_lock lock(learn_mu_);
        learn_cv_.wait_until(lock, learn_until_, [this] { return stopping_.load(); });
        lock.unlock();
        report_profile();
      });
    }
  }

  FlistIndex& index() { return *index_; }
  const FsTotals& totals() const { return totals_; }

  // A regular file's size and blocks, read from the index once and kept (bounded): without
  // opens (FUSE_CAP_NO_OPEN_SUPPORT) every read names only the inode, and with them an open is
  // served from memory. Errc::not_found / invalid_input for an inode that is not a regular file.
  Result<std::shared_ptr<OpenFile>> file(fuse_ino_t ino) {
    {
      std::lock_guard lock(files_mu_);
      if (auto it = files_.find(ino); it != files_.end()) return it->second;
    }
    auto r = TRY(index().inode(ino));
    if (!S_ISREG(r.mode)) return fail(Errc::invalid_input, "not a regular file");
    auto blocks = TRY(index().blocks(ino));
    auto f = std::make_shared<OpenFile>(r.size, std::move(blocks), r.parent);
    if (f->damaged()) spdlog::warn("inode {} is damaged ({} bytes, {} blocks): reads fail with EIO", ino, f->size, f->blocks.size());
    std::lock_guard lock(files_mu_);
    if (files_.size() >= kMaxFiles) files_.clear();  // reloading one is one index query
    return files_.try_emplace(ino, std::move(f)).first->second;
  }
  bool no_open = false;      // the kernel sends no OPEN and RELEASE for files (set in op_init)
  bool passthrough = false;  // opens are answered by open_passthrough(), never by libfuse
  int device = -1;           // the session's /dev/fuse

  // A FUSE_OPEN, answered on the device: with the file's plain content from the node cache as
  // the backing file when it is there and the kernel allows it (reads then bypass this
  // process), else as a cached open. Files not yet materialised are materialised afterwards,
  // in the background, once all their blocks are local.
  void open_passthrough(const fusepass::RequestHead& h) {
    if ((h.open_flags & O_ACCMODE) != O_RDONLY) return (void)fusepass::reply_error(device, h.unique, EROFS);
    auto f = file(h.nodeid);
    if (!f) return (void)fusepass::reply_error(device, h.unique, f.error().kind == Errc::invalid_input ? EISDIR : EIO);
    // While a profile is recorded or learnt, new opens stay on FUSE so that every read is seen
    // (passthrough reads never reach this process).
    bool seen = recording();
    // The content's descriptor is opened (and its cache use recorded) before the lock.
    std::optional<UniqueFd> content;
    bool first_mode;  // no open decides this open's mode yet
    {
      std::lock_guard lock(io_mu_);
      auto it = io_.find(h.nodeid);
      first_mode = it == io_.end() || (it->second.cached == 0 && it->second.backing < 0);
    }
    if (!seen && first_mode) content = open_content(**f);
    int backing = -1;
    {
      std::lock_guard lock(io_mu_);
      InodeIo& io = io_[h.nodeid];
      if (io.cached == 0 && io.backing >= 0) backing = io.backing;
      else if (io.cached == 0 && content) backing = io.backing = open_backing(content->get());
      ++(backing >= 0 ? io.passthrough : io.cached);
    }
    auto sent = fusepass::reply_open(device, h.unique, backing >= 0 ? kFhPassthrough : kFhCached, backing);
    if (!sent || !*sent) release(h.nodeid, backing >= 0 ? kFhPassthrough : kFhCached);  // the kernel dropped the open
    if (backing < 0) materialise_later(h.nodeid, *f);
  }

  void release(fuse_ino_t ino, uint64_t fh) {
    {
      std::lock_guard lock(io_mu_);
      auto it = io_.find(ino);
      if (it == io_.end()) return;
      InodeIo& io = it->second;
      if (fh == kFhPassthrough && io.passthrough > 0 && --io.passthrough == 0 && io.backing >= 0) {
        fusepass::close_backing(device, io.backing);
        io.backing = -1;
      }
      if (fh == kFhCached && io.cached > 0) --io.cached;
      if (io.cached == 0 && io.passthrough == 0) io_.erase(it);
    }
    if (fh == kFhCached)
      if (auto f = file(ino)) materialise_later(ino, *f);
  }

  struct stat to_stat(const InodeRow& r) const {
    struct stat st {};
    st.st_ino = r.ino;
    st.st_mode = r.mode;
    st.st_nlink = S_ISDIR(r.mode) ? 2 : r.nlink;
    st.st_uid = r.uid;
    st.st_gid = r.gid;
    st.st_size = static_cast<off_t>(r.size);
    st.st_rdev = r.rdev;
    st.st_blksize = 4096;
    st.st_blocks = static_cast<blkcnt_t>((r.size + 511) / 512);
    st.st_mtim.tv_sec = r.mtime;
    st.st_atim.tv_sec = r.mtime;
    st.st_ctim.tv_sec = r.ctime;
    return st;
  }

  // A block's plain content, from memory, the node cache or the stores.
  Result<std::shared_ptr<const Bytes>> block(const BlockRef& b) {
    if (auto hit = memory_.get(b.id)) return hit;
    auto plain = fetcher_->fetch(b.id, b.key);
    if (!plain) {
      spdlog::error("block {}: {}", to_hex(b.id), plain.error().message);
      return std::unexpected(plain.error());
    }
    auto shared = std::make_shared<const Bytes>(std::move(*plain));
    memory_.put(b.id, shared);
    return shared;
  }

  // The pieces of the blocks a read covers, handed to the kernel as they are (no copy); the
  // shared pointers keep the blocks alive until the reply is sent.
  struct ReadReply {
    std::vector<std::shared_ptr<const Bytes>> blocks;
    std::vector<iovec> iov;
  };

  // Reads [off, off+size) of a file: the blocks it covers are fetched in parallel.
  Result<ReadReply> read(OpenFile& f, uint64_t off, size_t size) {
    ReadReply reply;
    if (f.damaged()) return fail(Errc::corrupt, "damaged file: its blocks do not cover its size");
    if (off >= f.size) return reply;
    uint64_t end = std::min<uint64_t>(f.size, off + size);
    size_t first = off / kBlockSize, last = (end - 1) / kBlockSize;
    // (Not with a prefetch profile: it knows what is needed, and the link is better left to it.)
    if (prefetch_.empty() && !f.read_once.exchange(true) && !cache_->contains(f.blocks[first].id)) fetch_around(f, last + 1);
    if (recording())
      for (size_t i = first; i <= last; ++i) recorder_->note(f.blocks[i].id);
    std::vector<std::future<Result<std::shared_ptr<const Bytes>>>> pending;
    for (size_t i = first + 1; i <= last; ++i) pending.push_back(pool_->submit([this, b = f.blocks[i]] { return block(b); }));
    reply.blocks.push_back(TRY(block(f.blocks[first])));
    for (auto& p : pending) reply.blocks.push_back(TRY(p.get()));

    for (size_t i = first; i <= last; ++i) {
      const Bytes& b = *reply.blocks[i - first];
      uint64_t bstart = uint64_t(i) * kBlockSize;
      uint64_t from = std::max(off, bstart) - bstart, to = std::min(end, bstart + b.size()) - bstart;
      if (from < to) reply.iov.push_back({const_cast<uint8_t*>(b.data()) + from, static_cast<size_t>(to - from)});
    }
    // A read that continues the previous one: fetch the next blocks in the background.
    uint64_t expected = f.next_offset.exchange(end);
    if (expected == off && opts_.readahead_blocks > 0)
      fetch_later({f.blocks.begin() + std::min(last + 1, f.blocks.size()),
          f.blocks.begin() + std::min<size_t>(last + 1 + opts_.readahead_blocks, f.blocks.size())});
    return reply;
  }

 private:
  // Whether reads are noted now: a profile is recorded (--record-profile), or learnt and its
  // window is still open.
  bool recording() const {
    return recorder_ && (!opts_.record_profile.empty() || (learning_ && std::chrono::steady_clock::now() < learn_until_));
  }

  // Fetches blocks in one batch (BlockFetcher::fetch_many) into memory, where the reads that
  // follow find them; those already in memory are not asked for.
  void fetch_into_memory(std::vector<BlockRef> refs) {
    std::erase_if(refs, [&](const BlockRef& b) { return memory_.get(b.id) != nullptr; });
    if (refs.empty()) return;
    fetcher_->fetch_many(refs, [&](size_t i, Result<Bytes> plain) {
      if (plain) memory_.put(refs[i].id, std::make_shared<const Bytes>(std::move(*plain)));
    });
  }
  void fetch_later(std::vector<BlockRef> refs) {
    if (!refs.empty()) pool_->submit([this, refs = std::move(refs)]() mutable { fetch_into_memory(std::move(refs)); });
  }

  // A cold file's first read: the rest of the file is likely next, and so are small files in the
  // same directory (a package's modules, a program's data), so they are fetched in the
  // background, within budgets that keep a cold start's bytes small. Once per directory.
  void fetch_around(const OpenFile& f, size_t from) {
    constexpr size_t kRestBlocks = 8, kSiblings = 8;
    constexpr uint64_t kSiblingMax = 64 << 10;
    std::vector<BlockRef> want;
    for (size_t i = from; i < f.blocks.size() && i < from + kRestBlocks; ++i) want.push_back(f.blocks[i]);
    bool new_dir;
    {
      std::lock_guard lock(files_mu_);
      new_dir = dirs_fetched_.insert(f.parent).second;
    }
    if (want.empty() && !new_dir) return;
    pool_->submit([this, want = std::move(want), dir = new_dir ? f.parent : 0]() mutable {
      if (dir) {
        auto children = index().children(dir);
        size_t taken = 0;
        for (size_t i = 0; children && i < children->size() && taken < kSiblings; ++i) {
          const InodeRow& c = (*children)[i];
          if (!S_ISREG(c.mode) || c.size == 0 || c.size > kSiblingMax) continue;
          auto blocks = index().blocks(c.ino);
          if (!blocks || blocks->empty() || cache_->contains((*blocks)[0].id)) continue;
          want.push_back((*blocks)[0]);
          ++taken;
        }
      }
      fetch_into_memory(want);
    });
  }

  // Sends what the learning window saw to the hub. A failure costs only the lesson.
  void report_profile() {
    std::vector<Hash> ids = dedupe_profile(recorder_->order(), kMaxProfileReportIds);
    if (ids.empty()) return;
    std::string body = profile_text(ids);
    HttpClient http;
    HttpRequest req{.method = "POST",
        .url = opts_.report_profile_url,
        .body = {reinterpret_cast<const uint8_t*>(body.data()), body.size()},
        .headers = {"Content-Type: text/plain", "Authorization: Bearer " + opts_.report_token}};
    auto r = http.send(req);
    if (!r) spdlog::warn("reporting the profile to {}: {}", opts_.report_profile_url, r.error().what());
    else if (r->status / 100 != 2) spdlog::warn("reporting the profile: {}", describe_status(*r, opts_.report_profile_url));
    else spdlog::info("reported a profile of {} blocks to {}", ids.size(), opts_.report_profile_url);
  }

  // The file's whole plain content in the node cache, opened: its block for a one-block file,
  // else its materialised copy; nullopt when it is not there (or of another size than the file:
  // a backing file is served as it is) or passthrough turned out not to work here.
  std::optional<UniqueFd> open_content(const OpenFile& f) {
    if (!backing_works_ || f.damaged() || f.blocks.empty()) return std::nullopt;
    auto fd = cache_->open_block(f.content_id);
    if (!fd || !*fd) return std::nullopt;
    struct stat st;
    if (::fstat((*fd)->get(), &st) != 0 || static_cast<uint64_t>(st.st_size) != f.size) return std::nullopt;
    return std::move(**fd);
  }

  // Registers an open content file as a backing file; -1 when the kernel refuses. Under io_mu_.
  int open_backing(int fd) {
    auto id = fusepass::open_backing(device, fd);
    if (!id) {
      if (id.error().kind == Errc::unsupported) backing_works_ = false;
      spdlog::warn("passthrough: {}; reads stay on FUSE", id.error().what());
      return -1;
    }
    return *id;
  }

  // Writes a multi-block file's plain content into the node cache as one entry, in the
  // background, when every block of it is local already (materialising never downloads).
  void materialise_later(fuse_ino_t ino, const std::shared_ptr<OpenFile>& f) {
    if (!backing_works_ || f->damaged() || f->blocks.size() < 2 || f->size > cache_->max_bytes() / 4) return;
    {
      std::lock_guard lock(io_mu_);
      if (!materialising_.insert(ino).second) return;
    }
    pool_->submit([this, ino, f] {
      Hash id = f->content_id;
      bool local = !cache_->contains(id);
      for (size_t i = 0; local && i < f->blocks.size(); ++i) local = cache_->contains(f->blocks[i].id);
      if (local) {
        // Straight from the cached block files (verified when they were cached), through one
        // buffer: written in large pieces, the file's page cache gets large folios, and reads
        // of it are as fast as of any file (copy_file_range gave small ones: 0.7x ext4).
        auto r = cache_->insert_with(id, [&](int fd) -> Result<void> {
          Bytes buf(kBlockSize);
          for (size_t i = 0; i < f->blocks.size(); ++i) {
            auto from = TRY(cache_->open_block(f->blocks[i].id));
            if (!from) return fail(Errc::not_found, "block " + to_hex(f->blocks[i].id) + " left the cache");
            size_t n = TRY(read_full(from->get(), buf));
            // Every block but the last is whole, and together they are the file's size.
            size_t want = i + 1 < f->blocks.size() ? kBlockSize : f->size - i * kBlockSize;
            if (n != want)
              return fail(
                  Errc::corrupt, "block " + to_hex(f->blocks[i].id) + " has " + std::to_string(n) + " bytes, not " + std::to_string(want));
            TRY(pwrite_all(fd, {buf.data(), n}, static_cast<off_t>(i * kBlockSize)));
          }
          return {};
        });
        if (!r) spdlog::warn("materialising inode {}: {}", ino, r.error().what());
      }
      std::lock_guard lock(io_mu_);
      materialising_.erase(ino);
    });
  }

  // Fetches the profile's blocks into the node cache, several at once, in profile order, so
  // the ones needed first land first. Failures are only logged: a read will retry the block.
  void prefetch() {
    auto start = std::chrono::steady_clock::now();
    std::atomic<size_t> failed{0};
    constexpr size_t kChunk = 64;  // one batch request each
    (void)parallel_for((prefetch_.size() + kChunk - 1) / kChunk, opts_.prefetch_threads, [&](size_t c) -> Result<void> {
      if (stopping_) return fail(Errc::internal, "unmounting");
      std::span<const BlockRef> chunk(prefetch_.data() + c * kChunk, std::min(kChunk, prefetch_.size() - c * kChunk));
      fetcher_->fetch_many(chunk, [&](size_t, Result<Bytes> plain) {
        if (!plain) ++failed;
      });
      return {};
    });
    spdlog::info("prefetched {} blocks ({} failed) in {:.2f}s", prefetch_.size() - failed, failed.load(),
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }

  MountOptions opts_;
  std::unique_ptr<FlistIndex> index_;
  std::shared_ptr<BlockCache> cache_;
  std::shared_ptr<BlockFetcher> fetcher_;
  std::mutex io_mu_;
  std::unordered_map<fuse_ino_t, InodeIo> io_;
  std::unordered_set<fuse_ino_t> materialising_;
  std::atomic<bool> backing_works_{true};
  FsTotals totals_;
  MemoryBlocks memory_;
  std::unique_ptr<ThreadPool> pool_;
  static constexpr size_t kMaxFiles = 16384;
  std::mutex files_mu_;
  std::unordered_map<fuse_ino_t, std::shared_ptr<OpenFile>> files_;
  std::unordered_set<uint64_t> dirs_fetched_;  // directories whose small files fetch_around took
  std::unique_ptr<BlockRecorder> recorder_;
  std::vector<BlockRef> prefetch_;
  std::thread prefetcher_;
  std::atomic<bool> stopping_{false};
  bool learning_ = false;
  std::chrono::steady_clock::time_point learn_until_;
  std::mutex learn_mu_;
  std::condition_variable learn_cv_;
  std::thread learner_;
};

LazyFs& fs_of(fuse_req_t req) { return *static_cast<LazyFs*>(fuse_req_userdata(req)); }

int errno_of(const Error& e) {
  switch (e.kind) {
    case Errc::not_found: return ENOENT;
    default: return EIO;
  }
}

void op_init(void* userdata, fuse_conn_info* conn) {
  static_cast<LazyFs*>(userdata)->start();
  conn->max_readahead = 1 << 20;
  // The tree never changes: cached pages need no revalidation against attributes.
  conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
  if (conn->capable & FUSE_CAP_SPLICE_WRITE) conn->want |= FUSE_CAP_SPLICE_WRITE;
  // Opens and closes need nothing of ours (the mount is read-only, a file's blocks are kept by
  // inode): without them, a program's start (its binary and every library) costs the kernel no
  // round trip to this process. The kernel then keeps the page cache across opens.
  // With passthrough, opens are how the kernel learns a file's backing file: they stay.
  auto* fs = static_cast<LazyFs*>(userdata);
  if (!fs->passthrough && (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT)) {
    conn->want |= FUSE_CAP_NO_OPEN_SUPPORT;
    fs->no_open = true;
  }
}

void reply_entry(fuse_req_t req, LazyFs& fs, const InodeRow& r) {
  fuse_entry_param e{};
  e.ino = r.ino;
  e.attr = fs.to_stat(r);
  e.attr_timeout = kTimeout;
  e.entry_timeout = kTimeout;
  fuse_reply_entry(req, &e);
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  auto& fs = fs_of(req);
  auto r = fs.index().lookup(parent, name);
  if (!r) return (void)fuse_reply_err(req, EIO);
  if (!*r) {
    // Cache the miss too: the tree never changes.
    fuse_entry_param e{};
    e.entry_timeout = kTimeout;
    return (void)fuse_reply_entry(req, &e);
  }
  reply_entry(req, fs, **r);
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  auto& fs = fs_of(req);
  auto r = fs.index().inode(ino);
  if (!r) return (void)fuse_reply_err(req, errno_of(r.error()));
  struct stat st = fs.to_stat(*r);
  fuse_reply_attr(req, &st, kTimeout);
}

void op_readlink(fuse_req_t req, fuse_ino_t ino) {
  auto r = fs_of(req).index().link(ino);
  if (!r || r->empty()) return (void)fuse_reply_err(req, r ? EINVAL : EIO);
  fuse_reply_readlink(req, r->c_str());
}

void op_opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  auto& fs = fs_of(req);
  auto self = fs.index().inode(ino);
  if (!self) return (void)fuse_reply_err(req, errno_of(self.error()));
  if (!S_ISDIR(self->mode)) return (void)fuse_reply_err(req, ENOTDIR);
  auto children = fs.index().children(ino);
  if (!children) return (void)fuse_reply_err(req, EIO);
  auto* d = new OpenDir;
  InodeRow dot = *self, dotdot = *self;
  dot.name = ".";
  dotdot.name = "..";
  d->entries.push_back(dot);
  d->entries.push_back(dotdot);
  for (auto& c : *children) d->entries.push_back(std::move(c));
  fi->fh = reinterpret_cast<uint64_t>(d);
  fi->cache_readdir = 1;
  fi->keep_cache = 1;
  fuse_reply_open(req, fi);
}

void op_readdir(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  auto* d = reinterpret_cast<OpenDir*>(fi->fh);
  std::vector<char> buf(size);
  size_t used = 0;
  for (size_t i = static_cast<size_t>(off); i < d->entries.size(); ++i) {
    const InodeRow& r = d->entries[i];
    struct stat st {};
    st.st_ino = r.ino;
    st.st_mode = r.mode;
    size_t n = fuse_add_direntry(req, buf.data() + used, size - used, r.name.c_str(), &st, static_cast<off_t>(i + 1));
    if (n > size - used) break;
    used += n;
  }
  fuse_reply_buf(req, buf.data(), used);
}

void op_releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  delete reinterpret_cast<OpenDir*>(fi->fh);
  fuse_reply_err(req, 0);
}

void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  if ((fi->flags & O_ACCMODE) != O_RDONLY) return (void)fuse_reply_err(req, EROFS);
  auto& fs = fs_of(req);
  auto f = fs.file(ino);
  if (!f) return (void)fuse_reply_err(req, f.error().kind == Errc::invalid_input ? EISDIR : errno_of(f.error()));
  // ENOSYS is the kernel's sign to stop sending opens (and releases): this one succeeds.
  if (fs.no_open) return (void)fuse_reply_err(req, ENOSYS);
  fi->keep_cache = 1;  // content never changes: keep the page cache across opens
  fuse_reply_open(req, fi);
}

void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  auto& fs = fs_of(req);
  auto f = fs.file(ino);  // kept by inode: opens need not carry it
  if (!f) return (void)fuse_reply_err(req, EIO);
  auto reply = fs.read(**f, static_cast<uint64_t>(off), size);
  if (!reply) return (void)fuse_reply_err(req, EIO);
  if (reply->iov.empty()) return (void)fuse_reply_buf(req, nullptr, 0);
  fuse_reply_iov(req, reply->iov.data(), static_cast<int>(reply->iov.size()));
}

void op_release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  auto& fs = fs_of(req);
  fuse_reply_err(req, 0);
  fs.release(ino, fi->fh);  // after the reply: a close never waits for our bookkeeping
}

void op_statfs(fuse_req_t req, fuse_ino_t) {
  const FsTotals& t = fs_of(req).totals();
  struct statvfs st {};
  st.f_bsize = st.f_frsize = 4096;
  st.f_blocks = (t.bytes + 4095) / 4096;
  st.f_files = t.inodes;
  st.f_namemax = 255;
  st.f_flag = ST_RDONLY;
  fuse_reply_statfs(req, &st);
}

void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  auto xs = fs_of(req).index().xattrs(ino);
  if (!xs) return (void)fuse_reply_err(req, EIO);
  for (const auto& x : *xs) {
    if (x.name != name) continue;
    if (size == 0) return (void)fuse_reply_xattr(req, x.value.size());
    if (x.value.size() > size) return (void)fuse_reply_err(req, ERANGE);
    return (void)fuse_reply_buf(req, reinterpret_cast<const char*>(x.value.data()), x.value.size());
  }
  fuse_reply_err(req, ENODATA);
}

void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  auto xs = fs_of(req).index().xattrs(ino);
  if (!xs) return (void)fuse_reply_err(req, EIO);
  std::string names;
  for (const auto& x : *xs) names.append(x.name).push_back('\0');
  if (size == 0) return (void)fuse_reply_xattr(req, names.size());
  if (names.size() > size) return (void)fuse_reply_err(req, ERANGE);
  fuse_reply_buf(req, names.data(), names.size());
}

fuse_lowlevel_ops make_ops() {
  fuse_lowlevel_ops ops{};
  ops.init = op_init;
  ops.lookup = op_lookup;
  ops.getattr = op_getattr;
  ops.readlink = op_readlink;
  ops.opendir = op_opendir;
  ops.readdir = op_readdir;
  ops.releasedir = op_releasedir;
  ops.open = op_open;
  ops.read = op_read;
  ops.release = op_release;
  ops.statfs = op_statfs;
  ops.getxattr = op_getxattr;
  ops.listxattr = op_listxattr;
  return ops;
}

// The profile's blocks that this flist has, with their keys, in profile order.
std::vector<BlockRef> blocks_of_profile(const Tree& tree, const std::vector<Hash>& ids, const std::string& path) {
  std::map<Hash, Hash> keys;
  for (const Node& n : tree.nodes)
    for (const BlockRef& b : n.blocks) keys.emplace(b.id, b.key);
  std::vector<BlockRef> out;
  for (const Hash& id : ids)
    if (auto k = keys.find(id); k != keys.end()) out.push_back({id, k->second});
  if (out.size() < ids.size()) spdlog::warn("{}: {} of its {} blocks are not in this flist", path, ids.size() - out.size(), ids.size());
  return out;
}

}  // namespace

Result<void> unmount_flist(const std::string& mountpoint) {
  // A writable root: the overlay, then the flist mount under it, then the sized upper layer.
  if (auto layer = overlay_layer_dir(mountpoint)) {
    RwLayerOptions rw{.dir = *layer};
    if (::umount2(mountpoint.c_str(), 0) != 0 && ::umount2(mountpoint.c_str(), MNT_DETACH) != 0) return fail_errno("umount " + mountpoint);
    std::string lower = rw_lower_dir(rw);
    if (::umount2(lower.c_str(), 0) != 0 && errno != EINVAL) ::umount2(lower.c_str(), MNT_DETACH);
    release_rw_layer(rw, "");
    return {};
  }
  if (::umount2(mountpoint.c_str(), 0) == 0) return {};
  if (errno == EINVAL) return fail(Errc::invalid_input, mountpoint + " is not mounted");
  // A mount whose process died answers ENOTCONN to everything; detach it.
  if (::umount2(mountpoint.c_str(), MNT_DETACH) == 0) return {};
  return fail_errno("umount " + mountpoint);
}

namespace {

// Tells the process that started a daemon whether the mount came up, once.
class ReadySignal {
 public:
  explicit ReadySignal(int fd = -1) : fd_(fd) {}
  void ok() { send("ok"); }
  void failed(const Error& e) { send("error:" + encode_error(e)); }

 private:
  void send(const std::string& msg) {
    if (fd_ < 0) return;
    (void)write_all(fd_, {reinterpret_cast<const uint8_t*>(msg.data()), msg.size()});
    ::close(fd_);
    fd_ = -1;
  }
  int fd_;
};

Result<void> serve_mount(const MountOptions& opts, ReadySignal& ready) {
  // Validate the whole file once; afterwards only indexed queries touch it.
  Tree tree = TRY(load_flist(opts.flist));
  StoreOptions so{opts.timeout};
  std::shared_ptr<Router> router;
  if (!opts.stores.empty()) router = TRY(open_router(opts.stores, false, so));
  else if (!tree.routes.empty()) router = TRY(open_routes(tree.routes, so));
  else return fail(Errc::invalid_input, opts.flist + " has no routes; name a store with -s");
  FsTotals totals{tree.nodes.size(), 0};
  for (const Node& n : tree.nodes)
    if (n.is_reg()) totals.bytes += n.size;
  std::vector<BlockRef> prefetch;
  if (!opts.prefetch_profile.empty()) {
    prefetch = blocks_of_profile(tree, TRY(load_profile(opts.prefetch_profile)), opts.prefetch_profile);
  } else if (opts.auto_prefetch && !tree.profile.empty()) {
    prefetch = blocks_of_profile(tree, tree.profile, opts.flist + "'s profile");
    spdlog::info("prefetching the {} blocks of the flist's profile", prefetch.size());
  }
  tree = Tree();  // free it: the mount lives on the index

  auto cache = std::shared_ptr<BlockCache>(TRY(BlockCache::open({opts.cache_dir, opts.cache_bytes})));
  auto index = TRY(FlistIndex::open(opts.flist));
  LazyFs fs(opts, std::move(index), cache, router, totals, std::move(prefetch));

  // With a writable root the flist goes under the layer directory and overlayfs on top.
  std::string fuse_point = opts.rw ? rw_lower_dir(*opts.rw) : opts.mountpoint;
  if (opts.rw && overlay_layer_dir(opts.mountpoint)) TRY(unmount_flist(opts.mountpoint));
  if (fuse_mount_state(fuse_point) == MountState::dead) TRY(unmount_flist(fuse_point));

  std::vector<std::string> argv{"tiffin-mount", "-o",
      std::string("ro,default_permissions,fsname=tiffin:") + opts.flist + ",subtype=tiffin" + (opts.allow_other ? ",allow_other" : "")};
  if (opts.debug) argv.push_back("-d");
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(cargv.size()), cargv.data());
  fuse_lowlevel_ops ops = make_ops();
  fuse_session* se = fuse_session_new(&args, &ops, sizeof ops, &fs);
  if (!se) return fail(Errc::io, "fuse_session_new failed");
  struct SessionGuard {
    fuse_session* se;
    bool mounted = false, handlers = false;
    ~SessionGuard() {
      if (handlers) fuse_remove_signal_handlers(se);
      if (mounted) fuse_session_unmount(se);
      fuse_session_destroy(se);
    }
  } guard{se};
  if (opts.rw) TRY_CTX(prepare_rw_layer(*opts.rw), "preparing the writable layer");
  // Destroyed before the session: the overlay goes before the flist mount under it.
  struct RwGuard {
    const MountOptions& opts;
    ~RwGuard() {
      if (opts.rw) release_rw_layer(*opts.rw, opts.mountpoint);
    }
  } rw_guard{opts};
  if (fuse_set_signal_handlers(se) != 0) return fail(Errc::io, "installing signal handlers failed");
  guard.handlers = true;
  if (fuse_session_mount(se, fuse_point.c_str()) != 0) return fail(Errc::io, "mounting " + opts.flist + " on " + fuse_point + " failed");
  guard.mounted = true;
  fs.device = fuse_session_fd(se);
  // INIT first, here, before any worker reads the device: passthrough is negotiated in it.
  TRY_CTX(fusepass::negotiate_init(
              se, opts.passthrough, [](void* ctx, bool on) { static_cast<LazyFs*>(ctx)->passthrough = on; }, &fs),
      "starting the FUSE session");
  if (opts.passthrough && !fs.passthrough) spdlog::info("the kernel offers no FUSE passthrough: every read goes through this process");

  // overlayfs asks the lower layer questions while mounting, so it can only be mounted while the
  // workers answer them: from a thread of its own.
  std::optional<Error> overlay_error;
  std::thread overlay;
  if (opts.rw) {
    overlay = std::thread([&] {
      if (auto r = mount_overlay(*opts.rw, opts.mountpoint); !r) {
        overlay_error = r.error();
        ready.failed(r.error());
        fuse_session_exit(se);
        ::umount2(fuse_point.c_str(), MNT_DETACH);  // wakes the workers
        return;
      }
      ready.ok();
    });
  } else {
    ready.ok();
  }

  SessionLoopOptions loop{.threads = 16};
  if (fs.passthrough)
    loop.intercept = [&fs](const fuse_buf& buf) {
      fusepass::RequestHead h = fusepass::request_head(buf);
      if (h.opcode != fusepass::kOpcodeOpen) return false;
      fs.open_passthrough(h);
      return true;
    };
  auto served = run_session_loop(se, loop);
  if (overlay.joinable()) overlay.join();
  if (overlay_error) return std::unexpected(*overlay_error);
  TRY_CTX(served, "serving " + opts.mountpoint);
  if (!opts.record_profile.empty()) TRY_CTX(fs.recorder()->save(opts.record_profile), "saving the profile");
  return {};
}

}  // namespace

Result<void> mount_flist(const MountOptions& opts) {
  if (!opts.daemon) {
    ReadySignal none;
    return serve_mount(opts, none);
  }
  // Our own daemonizing, before anything is opened: the caller returns only once the mount
  // (and its overlay) is up, or with the reason it is not.
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return fail_errno("pipe");
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return fail_errno("fork");
  if (pid == 0) {
    ::close(pipefd[0]);
    ::setsid();
    int null = ::open("/dev/null", O_RDWR);
    int log = opts.log_file.empty() ? null : ::open(opts.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(log >= 0 ? log : null, 2);
    ReadySignal ready(pipefd[1]);
    auto r = serve_mount(opts, ready);
    if (!r) {
      ready.failed(r.error());
      spdlog::error("{}", r.error().what());
    }
    ::_exit(r ? 0 : 1);
  }
  ::close(pipefd[1]);
  UniqueFd rd(pipefd[0]);
  std::string msg;
  char buf[4096];
  for (ssize_t n; (n = ::read(rd.get(), buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    msg.append(buf, n);
  }
  if (msg == "ok") return {};
  ::waitpid(pid, nullptr, 0);
  // "error:" + the error's wire form: the caller gets it as if it had happened in-process.
  if (msg.starts_with("error:")) return std::unexpected(TRY_CTX(decode_error(msg.substr(6)), "the mount process's report"));
  return fail(Errc::io, "the mount process died before the mount was up");
}

}  // namespace tiffin
