#include "corex/output_ring.hpp"

#include <algorithm>

namespace tiffin::corex {

// The buffer grows as output comes (an idle shell costs a few hundred bytes, not the whole
// capacity); once full it wraps, head_ marking the oldest byte and the next to be overwritten.
OutputRing::OutputRing(size_t capacity) : cap_(std::max<size_t>(capacity, 1)) {}

void OutputRing::append(std::string_view data) {
  total_ += data.size();
  if (data.size() >= cap_) {  // only the tail fits
    buf_.assign(data.substr(data.size() - cap_));
    head_ = 0;
    return;
  }
  if (buf_.size() < cap_) {
    size_t take = std::min(data.size(), cap_ - buf_.size());
    buf_.append(data.substr(0, take));
    data.remove_prefix(take);
    head_ = 0;
  }
  while (!data.empty()) {
    size_t n = std::min(data.size(), cap_ - head_);
    buf_.replace(head_, n, data.substr(0, n));
    data.remove_prefix(n);
    head_ = (head_ + n) % cap_;
  }
}

std::string OutputRing::contents() const {
  if (head_ == 0) return buf_;
  return buf_.substr(head_) + buf_.substr(0, head_);
}

}  // namespace tiffin::corex
