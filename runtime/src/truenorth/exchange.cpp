// Delivery into this process's axon schedulers (tn_exchange.hpp).

#include <algorithm>

#include <nmc/runtime/parallel.hpp>
#include <nmc/runtime/tn_exchange.hpp>

namespace nmc::runtime {

void spike_delivery::deliver_buffers(std::span<const std::span<const spike>> buffers) const {
  // Nothing to deliver (every core delivers directly): no parallel pass.
  if (std::all_of(buffers.begin(), buffers.end(), [](const auto& b) { return b.empty(); })) return;
  auto deliver_part = [&](std::size_t k) {
    for (std::size_t b = k; b < buffers.size(); b += parts_) deliver(buffers[b]);
  };
  if (!team_ || parts_ == 1) {
    for (std::size_t k = 0; k < parts_; ++k) deliver_part(k);
    return;
  }
  auto body = [&](std::size_t begin, std::size_t end, int) {
    for (std::size_t k = begin; k < end; ++k) deliver_part(k);
  };
  team_->for_chunks(parts_, 1, body);
}

}  // namespace nmc::runtime
