// Distributed simulation (distributed.hpp): the partition, the exchange of
// cores mode, the two drivers and the reduction of their results.

#include <nmc/runtime/distributed.hpp>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstring>
#include <numeric>
#include <tuple>
#include <type_traits>

#include <fmt/format.h>

#include <nmc/runtime/dataset.hpp>

#include "../truenorth/epochs.hpp"

namespace nmc::runtime {

namespace {

using clock_type = std::chrono::steady_clock;
double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// The neuron keeps no state from tick to tick (V is 0 after every tick) and
// draws no random number: alpha 1, beta 0, kappa 1, normal reset to 0, V0 0.
bool stateless_neuron(const hw::tn_neuron& n) {
  return n.threshold == 1 && n.neg_threshold == 0 && n.kappa == 1 && n.reset == hw::reset_mode::normal &&
         n.reset_potential == 0 && n.initial_potential == 0 && !n.stochastic_leak && n.threshold_mask_bits == 0 &&
         std::all_of(n.stochastic_weight.begin(), n.stochastic_weight.end(), [](auto b) { return b == 0; });
}

}  // namespace

const char* to_string(distribution_mode m) { return m == distribution_mode::cores ? "cores" : "frames"; }

std::string frame_sharding_obstacle(const hw::tn_program& p) {
  if (!p.cores.empty() && tn::core_levels(p).empty())
    return "its core graph has a cycle (spikes can circulate from frame to frame)";
  for (std::size_t ci = 0; ci < p.cores.size(); ++ci) {
    const auto& neurons = p.cores[ci].neurons;
    for (std::size_t j = 0; j < neurons.size(); ++j)
      if (neurons[j].dest != hw::dest_kind::none && !stateless_neuron(neurons[j]))
        return fmt::format("core {} neuron {} keeps state from tick to tick or draws random numbers", ci, j);
  }
  return {};
}

tn_partition partition_cores(const hw::tn_program& p, int ranks, int rank) {
  tn_partition part;
  part.rank = static_cast<std::uint32_t>(rank);
  const std::size_t n = p.cores.size();
  part.owner.assign(n, 0);
  if (ranks <= 1) return part;
  auto levels = tn::core_levels(p);
  if (levels.empty()) {
    levels.emplace_back(n);
    std::iota(levels[0].begin(), levels[0].end(), 0u);
  }
  std::vector<std::uint64_t> weight(n, 1);
  for (std::size_t ci = 0; ci < n; ++ci) {
    for (auto w : p.cores[ci].crossbar) weight[ci] += static_cast<std::uint64_t>(std::popcount(w));
    for (const auto& nr : p.cores[ci].neurons) weight[ci] += nr.dest != hw::dest_kind::none;
  }
  const auto r = static_cast<std::uint64_t>(ranks);
  for (auto& level : levels) {
    std::sort(level.begin(), level.end(), [&](std::uint32_t a, std::uint32_t b) {
      const auto& ca = p.cores[a];
      const auto& cb = p.cores[b];
      return std::tie(ca.chip, ca.y, ca.x, a) < std::tie(cb.chip, cb.y, cb.x, b);
    });
    std::uint64_t total = 0;
    for (auto ci : level) total += weight[ci];
    // A core goes to the rank whose share of the level's weight holds its midpoint.
    std::uint64_t before = 0;
    for (auto ci : level) {
      const std::uint64_t mid2 = 2 * before + weight[ci];  // twice the midpoint
      part.owner[ci] = static_cast<std::uint32_t>(std::min<std::uint64_t>(r - 1, mid2 * r / (2 * total)));
      before += weight[ci];
    }
  }
  return part;
}

distributed_exchange::distributed_exchange(communicator& comm, const tn_partition& partition)
    : comm_(comm), partition_(partition) {
  const auto r = static_cast<std::size_t>(comm.size());
  to_rank_.resize(r);
  send_counts_.resize(r);
  recv_counts_.resize(r);
}

void distributed_exchange::exchange(std::span<const std::span<const spike>> buffers, const spike_delivery& local) {
  const auto t0 = clock_type::now();
  const auto me = partition_.rank;
  for (auto& v : to_rank_) v.clear();
  for (const auto& b : buffers)
    for (const spike& s : b) {
      const auto owner = partition_.owner[s.core];
      if (owner == me) {
        local.deliver({&s, 1});
      } else {
        to_rank_[owner].push_back(s);
      }
    }
  std::size_t out = 0;
  for (std::size_t r = 0; r < to_rank_.size(); ++r) {
    send_counts_[r] = to_rank_[r].size() * sizeof(spike);
    out += to_rank_[r].size();
  }
  const auto t1 = clock_type::now();
  comm_.exchange_counts(send_counts_, recv_counts_);
  const auto& recv_counts = recv_counts_;
  const auto t2 = clock_type::now();
  send_.resize(out * sizeof(spike));
  std::size_t at = 0;
  for (const auto& v : to_rank_) {
    if (!v.empty()) std::memcpy(send_.data() + at, v.data(), v.size() * sizeof(spike));
    at += v.size() * sizeof(spike);
  }
  const std::size_t in = std::accumulate(recv_counts.begin(), recv_counts.end(), std::size_t{0});
  recv_.resize(in);
  comm_.exchange_data(send_, send_counts_, recv_, recv_counts);
  // The bytes are spikes as the sender laid them out (same build, same ABI).
  static_assert(std::is_trivially_copyable_v<spike>);
  constexpr std::size_t batch = 1024;
  spike staged[batch];
  for (std::size_t off = 0; off < in; off += batch * sizeof(spike)) {
    const std::size_t bytes = std::min(in - off, batch * sizeof(spike));
    std::memcpy(staged, recv_.data() + off, bytes);
    local.deliver({staged, bytes / sizeof(spike)});
  }
  spikes_sent += static_cast<std::int64_t>(out);
  spikes_received += static_cast<std::int64_t>(in / sizeof(spike));
  ++exchanges;
  wait_s += std::chrono::duration<double>(t2 - t1).count();
  exchange_s += std::chrono::duration<double>(t1 - t0).count() + seconds_since(t2);
}

std::pair<std::size_t, std::size_t> frame_share(std::size_t frames, int ranks, int rank) {
  const auto r = static_cast<std::size_t>(std::max(ranks, 1));
  const auto k = static_cast<std::size_t>(rank);
  const std::size_t base = frames / r, extra = frames % r;
  const std::size_t begin = k * base + std::min(k, extra);
  return {begin, begin + base + (k < extra ? 1 : 0)};
}

void agree(communicator& comm, const std::function<void()>& step) {
  std::string failure;  // kind \0 code \0 message \0 hint, or empty
  try {
    step();
  } catch (const error& e) {
    failure = fmt::format("{}{}{}{}{}{}{}", e.kind(), '\0', static_cast<int>(e.code()), '\0', e.what(), '\0', e.hint());
  } catch (const std::bad_alloc&) {
    failure = fmt::format("error{}1{}out of memory on rank {}{}use a smaller model, fewer frames or more ranks", '\0',
                          '\0', comm.rank(), '\0');
  } catch (const std::exception& e) {
    failure = fmt::format("internal error{}3{}{}{}this is a bug in nmc; please report it", '\0', '\0', e.what(), '\0');
  }
  std::int64_t failed = failure.empty() ? 0 : 1;
  comm.sum({&failed, 1});
  if (failed == 0) return;
  for (const auto& f : comm.gather(failure)) {
    if (f.empty()) continue;
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (int k = 0; k < 3; ++k) {
      const auto end = f.find('\0', start);
      parts.push_back(f.substr(start, end - start));
      start = end + 1;
    }
    parts.push_back(f.substr(start));
    throw forwarded_error(parts[2], parts[3], parts[0], static_cast<exit_code>(std::stoi(parts[1])));
  }
}

namespace {

// Adds up every rank's counts, class counts and figures; the results then are
// those of one process.
distributed_results reduce(communicator& comm, frame_results mine, const rank_figures& fig, std::int64_t ticks,
                           distribution_mode mode) {
  distributed_results d;
  d.mode = mode;
  std::vector<std::int64_t> values(mine.counts.begin(), mine.counts.end());
  for (const auto& l : mine.per_layer) {
    for (auto v : {l.synaptic_events, l.neuron_updates, l.spikes, l.hops, l.chip_crossings, l.offchip_spikes})
      values.push_back(v);
  }
  comm.sum(values);
  auto& r = d.results;
  r = std::move(mine);
  for (std::size_t i = 0; i < r.counts.size(); ++i) r.counts[i] = static_cast<std::int32_t>(values[i]);
  std::size_t at = r.counts.size();
  r.totals = {};
  for (auto& l : r.per_layer) {
    for (auto* v : {&l.synaptic_events, &l.neuron_updates, &l.spikes, &l.hops, &l.chip_crossings, &l.offchip_spikes})
      *v = values[at++];
    r.totals += l;
  }
  r.ticks = ticks;
  double wall = r.wall_s;
  comm.max({&wall, 1});
  r.wall_s = wall;
  r.predict_from_counts();
  static_assert(std::is_trivially_copyable_v<rank_figures>);
  std::string bytes(sizeof(rank_figures), '\0');
  std::memcpy(bytes.data(), &fig, sizeof fig);
  for (const auto& b : comm.gather(bytes)) {
    rank_figures f;
    std::memcpy(&f, b.data(), sizeof f);
    d.ranks.push_back(f);
  }
  return d;
}

}  // namespace

distributed_results run_distributed(const hw::tn_program& p, const dataset& data, const sim_options& opts,
                                    communicator& comm, distribution_mode mode,
                                    const std::function<void(std::size_t)>& on_progress) {
  const int ranks = comm.size(), rank = comm.rank();
  const auto progress = [&](std::size_t done) {
    if (on_progress) on_progress(done);
    return true;  // every rank runs to the end: a rank that stopped would leave the others waiting
  };
  rank_figures fig;
  fig.rank = rank;
  const auto tpf = static_cast<std::int64_t>(opts.ticks_per_frame > 0 ? opts.ticks_per_frame : p.ticks_per_frame);
  const std::int64_t total_ticks = static_cast<std::int64_t>(data.frames) * tpf + p.output_tick_offset;
  if (mode == distribution_mode::frames) {
    const auto obstacle = frame_sharding_obstacle(p);
    if (!obstacle.empty())
      throw usage_error(fmt::format("frames mode cannot split this program: {}", obstacle), "use --mpi-mode cores");
    const auto [begin, end] = frame_share(data.frames, ranks, rank);
    frame_slice slice{begin, end, rank == ranks - 1};
    auto r = run_frames(p, data, opts, progress, {}, &slice);
    fig.cores = p.cores.size();
    fig.frame_begin = begin;
    fig.frame_end = end;
    fig.ticks = r.ticks;
    fig.compute_s = r.wall_s;
    return reduce(comm, std::move(r), fig, total_ticks, mode);
  }
  const tn_partition part = partition_cores(p, ranks, rank);
  distributed_exchange ex(comm, part);
  sim_options o = opts;
  o.partition = &part;
  o.exchange = &ex;
  auto r = run_frames(p, data, o, progress);
  fig.cores = static_cast<std::size_t>(std::count(part.owner.begin(), part.owner.end(), part.rank));
  fig.frame_begin = 0;
  fig.frame_end = data.frames;
  fig.ticks = r.ticks;
  fig.wait_s = ex.wait_s;
  fig.exchange_s = ex.exchange_s;
  fig.compute_s = std::max(0.0, r.wall_s - ex.wait_s - ex.exchange_s);
  fig.spikes_sent = ex.spikes_sent;
  fig.spikes_received = ex.spikes_received;
  return reduce(comm, std::move(r), fig, total_ticks, mode);
}

}  // namespace nmc::runtime
