#include "store/block_fetcher.hpp"

#include <deque>
#include <thread>
#include <vector>

#include "store/block_codec.hpp"

namespace tiffin {

FetchStats BlockFetcher::stats() {
  std::lock_guard lock(mu_);
  return stats_;
}

Result<Bytes> BlockFetcher::fetch_uncached(const Hash& id, const Hash& key) {
  Bytes plain = TRY(decode_block(id, key, TRY(store_->get(id))));
  {
    std::lock_guard lock(mu_);
    ++stats_.misses;
  }
  // A cache that cannot be written only costs speed; the data is good.
  if (cache_) (void)cache_->insert(id, plain);
  return plain;
}

std::optional<Bytes> BlockFetcher::cached(const Hash& id, const Hash& key) {
  if (!cache_) return std::nullopt;
  auto hit = cache_->get(id);
  if (!hit || !*hit || blake2b256(**hit) != key) return std::nullopt;
  std::lock_guard lock(mu_);
  ++stats_.hits;
  return std::move(**hit);
}

void BlockFetcher::land(const Hash& id, const std::shared_ptr<Flight>& flight, const Result<Bytes>& r) {
  {
    std::lock_guard lock(mu_);
    // Followers took their reference under this lock; with none (the map's and the leader's
    // only), nobody reads the result and half a megabyte is not copied for nothing.
    if (flight.use_count() > 2) flight->result = r;
    flight->done = true;
    flights_.erase(id);
  }
  landed_.notify_all();
}

Result<Bytes> BlockFetcher::fetch(const Hash& id, const Hash& key) {
  if (auto hit = cached(id, key)) return std::move(*hit);
  std::shared_ptr<Flight> flight;
  bool leader = false;
  {
    std::unique_lock lock(mu_);
    auto [it, inserted] = flights_.try_emplace(id, nullptr);
    if (inserted) {
      it->second = std::make_shared<Flight>();
      leader = true;
    }
    flight = it->second;
    if (!leader) {
      auto done = [&] { return flight->done; };
      if (follow_timeout_.count() == 0) landed_.wait(lock, done);
      else if (!landed_.wait_for(lock, follow_timeout_, done)) {
        lock.unlock();
        return fetch_uncached(id, key);  // the flight is slow: our own download, beside it
      }
      return *flight->result;
    }
  }
  // A flight that landed between our cache miss and now has cached its block already (it
  // inserts before it lands): look once more rather than download it again.
  Result<Bytes> r = fail(Errc::internal, "unreachable");
  if (auto hit = cached(id, key)) r = std::move(*hit);
  else r = fetch_uncached(id, key);
  land(id, flight, r);
  return r;
}

void BlockFetcher::fetch_many(std::span<const BlockRef> refs, const PlainSink& on_block, const FetchManyOptions& opts) {
  std::mutex out_mu;  // on_block is never called twice at once
  auto deliver = [&](size_t i, Result<Bytes> r) {
    std::lock_guard lock(out_mu);
    on_block(i, std::move(r));
  };
  // Each distinct id once, with every index that names it.
  struct Want {
    Hash id;
    std::vector<size_t> indexes;
    std::shared_ptr<Flight> flight;
    bool leader = false, landed = false;
  };
  std::vector<Want> wants;
  {
    std::map<Hash, size_t> seen;
    for (size_t i = 0; i < refs.size(); ++i) {
      auto [it, fresh] = seen.try_emplace(refs[i].id, wants.size());
      if (fresh) wants.push_back({refs[i].id, {}, nullptr});
      wants[it->second].indexes.push_back(i);
    }
  }
  // The content for each index from the (verified) plain content under its first key; an
  // index with another key (only a broken flist has one) is checked on its own.
  auto answer = [&](const Want& w, Result<Bytes> r) {
    const Hash& key = refs[w.indexes.front()].key;
    if (w.indexes.size() == 1) return deliver(w.indexes.front(), std::move(r));
    for (size_t i : w.indexes) {
      if (r && refs[i].key != key) {
        deliver(i, blake2b256(*r) == refs[i].key ? r : fail(Errc::corrupt, "block " + to_hex(w.id) + ": content does not match its key"));
      } else {
        deliver(i, r);
      }
    }
  };
  std::vector<size_t> led;  // indexes into wants of the blocks this call downloads
  for (size_t k = 0; k < wants.size(); ++k) {
    Want& w = wants[k];
    if (auto hit = cached(w.id, refs[w.indexes.front()].key)) {
      answer(w, std::move(*hit));
      w.landed = true;
      continue;
    }
    std::lock_guard lock(mu_);
    auto [it, inserted] = flights_.try_emplace(w.id, nullptr);
    if (inserted) {
      it->second = std::make_shared<Flight>();
      w.leader = true;
      led.push_back(k);
    }
    w.flight = it->second;
  }
  // As in fetch(): a block whose flight landed since our first look is in the cache now.
  std::erase_if(led, [&](size_t k) {
    Want& w = wants[k];
    auto hit = cached(w.id, refs[w.indexes.front()].key);
    if (!hit) return false;
    w.landed = true;
    land(w.id, w.flight, *hit);
    answer(w, std::move(*hit));
    return true;
  });

  // A block as it arrives: verify, cache, land its flight, answer.
  auto finish = [&](Want& w, Result<Bytes> sealed) {
    Result<Bytes> plain =
        sealed ? decode_block(w.id, refs[w.indexes.front()].key, std::move(*sealed)) : std::unexpected(std::move(sealed).error());
    if (plain) {
      {
        std::lock_guard lock(mu_);
        ++stats_.misses;
      }
      if (cache_) (void)cache_->insert(w.id, *plain);
    }
    land(w.id, w.flight, plain);
    answer(w, std::move(plain));
  };
  // Optionally a few threads decode while the transfer goes on.
  std::mutex q_mu;
  std::condition_variable q_cv;
  std::deque<std::pair<Want*, Result<Bytes>>> queue;
  bool closed = false;
  std::vector<std::jthread> decoders;
  if (opts.decode_threads > 0 && led.size() > 1) {
    for (unsigned t = 0; t < opts.decode_threads; ++t)
      decoders.emplace_back([&] {
        for (;;) {
          std::unique_lock lock(q_mu);
          q_cv.wait(lock, [&] { return closed || !queue.empty(); });
          if (queue.empty()) return;
          auto [w, sealed] = std::move(queue.front());
          queue.pop_front();
          lock.unlock();
          finish(*w, std::move(sealed));
        }
      });
  }
  // However this ends (an exception from a store or from on_block), the decoders stop and no
  // flight this call leads is left for other fetches to wait on forever.
  struct Cleanup {
    std::function<void()> run;
    ~Cleanup() { run(); }
  } cleanup{[&] {
    {
      std::lock_guard lock(q_mu);
      closed = true;
    }
    q_cv.notify_all();
    decoders.clear();  // joins
    for (size_t k : led)
      if (!wants[k].landed) {
        wants[k].landed = true;
        land(wants[k].id, wants[k].flight, fail(Errc::internal, "the fetch of block " + to_hex(wants[k].id) + " was abandoned"));
      }
  }};
  size_t chunk = std::max<size_t>(1, opts.chunk);
  for (size_t start = 0; start < led.size(); start += chunk) {
    std::span<const size_t> part = std::span(led).subspan(start, std::min(chunk, led.size() - start));
    std::vector<Hash> ids;
    ids.reserve(part.size());
    for (size_t k : part) ids.push_back(wants[k].id);
    store_->get_many(ids, [&](size_t j, Result<Bytes> sealed) {
      Want& w = wants[part[j]];
      if (w.landed) return;  // a store that answers twice is not believed twice
      w.landed = true;
      if (decoders.empty()) {
        finish(w, std::move(sealed));
      } else {
        {
          std::lock_guard lock(q_mu);
          queue.emplace_back(&w, std::move(sealed));
        }
        q_cv.notify_one();
      }
    });
  }
  {
    std::lock_guard lock(q_mu);
    closed = true;
  }
  q_cv.notify_all();
  decoders.clear();  // joins: every block handed over is finished
  for (size_t k : led) {
    Want& w = wants[k];
    if (!w.landed) {
      w.landed = true;
      finish(w, fail(Errc::internal, "the store gave no answer for block " + to_hex(w.id)));
    }
  }
  // Blocks another fetch was already downloading: wait for them now, after our own.
  for (Want& w : wants) {
    if (w.landed) continue;
    Result<Bytes> r = fail(Errc::internal, "unreachable");
    {
      std::unique_lock lock(mu_);
      landed_.wait(lock, [&] { return w.flight->done; });
      r = *w.flight->result;
    }
    answer(w, std::move(r));
  }
}

}  // namespace tiffin
