#include <nmc/runtime/tn_sim.hpp>

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>

#include <fmt/format.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <nmc/error.hpp>
#include <nmc/runtime/dataset.hpp>

namespace nmc::runtime {

event_counts& event_counts::operator+=(const event_counts& o) {
  synaptic_events += o.synaptic_events;
  neuron_updates += o.neuron_updates;
  spikes += o.spikes;
  hops += o.hops;
  chip_crossings += o.chip_crossings;
  offchip_spikes += o.offchip_spikes;
  return *this;
}

namespace {

constexpr int scheduler_slots = 16;

inline std::uint32_t xorshift(std::uint32_t& x) {
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return x;
}

inline std::int64_t sgn(std::int64_t v) { return (v > 0) - (v < 0); }

struct output_spike {
  std::uint32_t port;
  std::int64_t tick;  // arrival tick
};

// One core: static parameters and dynamic state, each contiguous.
struct core_data {
  std::uint32_t layer = 0;
  int neurons = 0;     // neurons updated: 0 .. neurons-1 (the rest are idle and unobservable)
  int with_dest = 0;   // neurons with a destination (counted as neuron updates)
  int axon_words = 0;
  int row_words = 0;
  bool stochastic = false;  // any stochastic synapse, leak or threshold
  std::vector<std::uint8_t> axon_type;
  std::vector<std::uint64_t> crossbar;
  std::vector<hw::tn_neuron> params;
  std::array<std::vector<std::int32_t>, 4> weight;  // S_j[G], per type
  std::vector<std::uint16_t> hops;
  std::vector<std::uint8_t> crossings;
  // state
  std::vector<std::int32_t> v;
  std::vector<std::uint64_t> sched;  // slots x axon_words
  std::uint32_t rng = 1;
};

}  // namespace

struct tn_simulator::impl {
  const hw::tn_program& program;
  int threads;
  std::int64_t vmin, vmax;
  std::vector<core_data> cores;
  std::int64_t t = 0;
  std::unique_ptr<tbb::task_arena> arena;
  std::vector<std::vector<spike>> spikes;         // per worker
  std::vector<std::vector<output_spike>> outputs;  // per worker
  std::vector<std::vector<event_counts>> counts;   // per worker, per layer
  bool record = false;
  std::vector<std::vector<fired_neuron>> fired_by_worker;
  std::vector<fired_neuron> fired;
  mutable std::vector<event_counts> summed;
  std::unique_ptr<spike_exchange> exchange;

  impl(const hw::tn_program& p, int threads_, bool record_);
  void update_core(std::size_t ci, int worker);
};

namespace {

// Delivers spikes into the local schedulers. Bits are set with atomic ORs:
// the order of delivery cannot change the result.
class local_exchange final : public spike_exchange {
public:
  local_exchange(std::vector<core_data>& cores, tbb::task_arena* arena) : cores_(cores), arena_(arena) {}
  void exchange(std::span<const std::vector<spike>> buffers) override {
    auto deliver = [&](const std::vector<spike>& buf) {
      for (const spike& s : buf) {
        auto& c = cores_[s.core];
        auto& word = c.sched[static_cast<std::size_t>(s.slot) * static_cast<std::size_t>(c.axon_words) + s.axon / 64];
        std::atomic_ref<std::uint64_t>(word).fetch_or(std::uint64_t{1} << (s.axon % 64), std::memory_order_relaxed);
      }
    };
    if (!arena_ || buffers.size() == 1) {
      for (const auto& b : buffers) deliver(b);
      return;
    }
    arena_->execute([&] {
      tbb::parallel_for(std::size_t{0}, buffers.size(), [&](std::size_t i) { deliver(buffers[i]); });
    });
  }

private:
  std::vector<core_data>& cores_;
  tbb::task_arena* arena_;
};

}  // namespace

tn_simulator::impl::impl(const hw::tn_program& p, int threads_, bool record_)
    : program(p), threads(threads_), record(record_) {
  const auto& tg = p.target;
  vmax = (std::int64_t{1} << (tg.potential_bits - 1)) - 1;
  vmin = -(std::int64_t{1} << (tg.potential_bits - 1));
  cores.resize(p.cores.size());
  std::size_t total_neurons = 0;
  for (std::size_t ci = 0; ci < p.cores.size(); ++ci) {
    const auto& src = p.cores[ci];
    auto& c = cores[ci];
    c.layer = src.layer;
    c.axon_words = tg.axons / 64;
    c.row_words = tg.neurons / 64;
    c.axon_type = src.axon_type;
    c.crossbar = src.crossbar;
    c.params = src.neurons;
    c.rng = src.seed ? src.seed : 1;
    int last = -1;
    for (int j = 0; j < tg.neurons; ++j) {
      const auto& n = src.neurons[static_cast<std::size_t>(j)];
      if (n.dest != hw::dest_kind::none || !(n == hw::tn_neuron{})) last = j;
      c.with_dest += n.dest != hw::dest_kind::none;
      c.stochastic |= n.stochastic_leak || n.threshold_mask_bits ||
                      std::any_of(n.stochastic_weight.begin(), n.stochastic_weight.end(), [](auto b) { return b != 0; });
    }
    c.neurons = last + 1;
    for (int g = 0; g < 4; ++g) {
      c.weight[static_cast<std::size_t>(g)].resize(static_cast<std::size_t>(tg.neurons));
      for (int j = 0; j < tg.neurons; ++j)
        c.weight[static_cast<std::size_t>(g)][static_cast<std::size_t>(j)] = src.neurons[static_cast<std::size_t>(j)].weight[static_cast<std::size_t>(g)];
    }
    c.hops.assign(static_cast<std::size_t>(tg.neurons), 0);
    c.crossings.assign(static_cast<std::size_t>(tg.neurons), 0);
    const auto gx = [&](const hw::tn_core& k) { return static_cast<int>(k.chip % p.chips_x) * tg.cores_x + static_cast<int>(k.x); };
    const auto gy = [&](const hw::tn_core& k) { return static_cast<int>(k.chip / p.chips_x) * tg.cores_y + static_cast<int>(k.y); };
    for (int j = 0; j < tg.neurons; ++j) {
      const auto& n = src.neurons[static_cast<std::size_t>(j)];
      if (n.dest != hw::dest_kind::core) continue;
      const auto& d = p.cores[n.dest_core];
      c.hops[static_cast<std::size_t>(j)] = static_cast<std::uint16_t>(std::abs(gx(d) - gx(src)) + std::abs(gy(d) - gy(src)));
      c.crossings[static_cast<std::size_t>(j)] = static_cast<std::uint8_t>(
          std::abs(gx(d) / tg.cores_x - gx(src) / tg.cores_x) + std::abs(gy(d) / tg.cores_y - gy(src) / tg.cores_y));
    }
    c.v.resize(static_cast<std::size_t>(tg.neurons));
    for (int j = 0; j < tg.neurons; ++j) c.v[static_cast<std::size_t>(j)] = src.neurons[static_cast<std::size_t>(j)].initial_potential;
    c.sched.assign(static_cast<std::size_t>(scheduler_slots * c.axon_words), 0);
    total_neurons += static_cast<std::size_t>(c.neurons);
  }
  if (threads > 1) arena = std::make_unique<tbb::task_arena>(threads);
  // Buffers sized for the worst case (every neuron fires) so the loop never allocates.
  spikes.resize(static_cast<std::size_t>(threads));
  outputs.resize(static_cast<std::size_t>(threads));
  counts.assign(static_cast<std::size_t>(threads), std::vector<event_counts>(p.layers.size()));
  for (auto& b : spikes) b.reserve(total_neurons);
  for (auto& b : outputs) b.reserve(total_neurons);
  if (record) {
    fired_by_worker.resize(static_cast<std::size_t>(threads));
    for (auto& b : fired_by_worker) b.reserve(total_neurons);
    fired.reserve(total_neurons);
  }
  exchange = std::make_unique<local_exchange>(cores, arena.get());
}

// The neuron equations of HARDWARE.md 1.2 for one core and one tick.
void tn_simulator::impl::update_core(std::size_t ci, int worker) {
  core_data& c = cores[ci];
  event_counts& ev = counts[static_cast<std::size_t>(worker)][c.layer];
  auto& out = spikes[static_cast<std::size_t>(worker)];
  auto& outp = outputs[static_cast<std::size_t>(worker)];
  std::uint64_t* slot = c.sched.data() + static_cast<std::size_t>(t % scheduler_slots) * static_cast<std::size_t>(c.axon_words);
  std::int32_t* v = c.v.data();

  // 1. Integrate: every active axon adds its type's weight to the neurons its
  // crossbar row reaches (stochastic synapses draw in axon, then neuron order).
  for (int w = 0; w < c.axon_words; ++w) {
    std::uint64_t active = slot[w];
    slot[w] = 0;
    while (active) {
      const int a = w * 64 + std::countr_zero(active);
      active &= active - 1;
      const auto g = c.axon_type[static_cast<std::size_t>(a)];
      const std::int32_t* wt = c.weight[g].data();
      const std::uint64_t* row = c.crossbar.data() + static_cast<std::size_t>(a) * static_cast<std::size_t>(c.row_words);
      for (int r = 0; r < c.row_words; ++r) {
        std::uint64_t bits = row[r];
        ev.synaptic_events += std::popcount(bits);
        while (bits) {
          const int j = r * 64 + std::countr_zero(bits);
          bits &= bits - 1;
          const auto& p = c.params[static_cast<std::size_t>(j)];
          if (c.stochastic && p.stochastic_weight[g]) {
            const auto rho = static_cast<std::int32_t>(xorshift(c.rng) & 0xff);
            v[j] += std::abs(wt[j]) >= rho ? static_cast<std::int32_t>(sgn(wt[j])) : 0;
          } else {
            v[j] += wt[j];
          }
        }
      }
    }
  }

  // 2. Leak, threshold, reset, for every neuron (in neuron order).
  ev.neuron_updates += c.with_dest;
  for (int j = 0; j < c.neurons; ++j) {
    const auto& p = c.params[static_cast<std::size_t>(j)];
    std::int64_t vj = std::clamp<std::int64_t>(v[j], vmin, vmax);
    const std::int64_t omega = p.leak_reversal ? sgn(vj) : 1;
    std::int64_t lambda = p.leak;
    if (p.stochastic_leak) {
      const auto rho = static_cast<std::int64_t>(xorshift(c.rng) & 0xff);
      lambda = std::abs(lambda) >= rho ? sgn(lambda) : 0;
    }
    vj = std::clamp<std::int64_t>(vj + omega * lambda, vmin, vmax);
    const std::int64_t eta =
        p.threshold_mask_bits ? static_cast<std::int64_t>(xorshift(c.rng) & ((1u << p.threshold_mask_bits) - 1u)) : 0;
    const std::int64_t pos = p.threshold + eta;
    const std::int64_t neg = p.kappa ? p.neg_threshold : p.neg_threshold + eta;
    bool fire = false;
    if (vj >= pos) {
      fire = true;
      vj = p.reset == hw::reset_mode::normal ? p.reset_potential : p.reset == hw::reset_mode::linear ? vj - pos : vj;
    } else if (vj < -neg) {
      vj = p.kappa ? -static_cast<std::int64_t>(p.neg_threshold)
           : p.reset == hw::reset_mode::normal ? -static_cast<std::int64_t>(p.reset_potential)
           : p.reset == hw::reset_mode::linear ? vj + neg
                                               : vj;
    }
    v[j] = static_cast<std::int32_t>(std::clamp<std::int64_t>(vj, vmin, vmax));
    if (!fire || p.dest == hw::dest_kind::none) continue;
    ++ev.spikes;
    if (record) fired_by_worker[static_cast<std::size_t>(worker)].push_back({static_cast<std::uint32_t>(ci), static_cast<std::uint16_t>(j)});
    if (p.dest == hw::dest_kind::core) {
      out.push_back({p.dest_core, p.dest_axon, static_cast<std::uint16_t>((t + p.delay_ticks) % scheduler_slots)});
      ev.hops += c.hops[static_cast<std::size_t>(j)];
      ev.chip_crossings += c.crossings[static_cast<std::size_t>(j)];
    } else {
      outp.push_back({p.dest_axon, t + p.delay_ticks});
      ++ev.offchip_spikes;
    }
  }
}

tn_simulator::tn_simulator(const hw::tn_program& program, const sim_options& opts) {
  if (opts.threads < 1) throw usage_error(fmt::format("--threads {} must be at least 1", opts.threads));
  impl_ = std::make_unique<impl>(program, opts.threads, opts.record_spikes);
}

tn_simulator::~tn_simulator() = default;

void tn_simulator::inject(std::uint32_t core, std::uint16_t axon, int delay) {
  auto& c = impl_->cores.at(core);
  if (axon >= static_cast<std::uint32_t>(c.axon_words * 64) || delay < 0 || delay >= scheduler_slots) {
    throw usage_error(fmt::format("inject: axon {} / delay {} out of range", axon, delay));
  }
  const auto slot = static_cast<std::size_t>((impl_->t + delay) % scheduler_slots);
  c.sched[slot * static_cast<std::size_t>(c.axon_words) + axon / 64] |= std::uint64_t{1} << (axon % 64);
}

void tn_simulator::step(const std::function<void(std::uint32_t, std::int64_t)>& on_output) {
  auto& m = *impl_;
  for (auto& b : m.spikes) b.clear();
  for (auto& b : m.outputs) b.clear();
  for (auto& b : m.fired_by_worker) b.clear();
  const std::size_t n = m.cores.size();
  if (m.threads == 1) {
    for (std::size_t ci = 0; ci < n; ++ci) m.update_core(ci, 0);
  } else {
    m.arena->execute([&] {
      tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n, 16), [&](const tbb::blocked_range<std::size_t>& r) {
        const int w = tbb::this_task_arena::current_thread_index();
        for (std::size_t ci = r.begin(); ci < r.end(); ++ci) m.update_core(ci, w);
      });
    });
  }
  m.exchange->exchange(m.spikes);
  if (m.record) {
    m.fired.clear();
    for (const auto& b : m.fired_by_worker) m.fired.insert(m.fired.end(), b.begin(), b.end());
    std::sort(m.fired.begin(), m.fired.end());  // worker order must not show
  }
  if (on_output) {
    for (const auto& b : m.outputs)
      for (const auto& o : b) on_output(o.port, o.tick);
  }
  ++m.t;
}

std::int64_t tn_simulator::tick() const { return impl_->t; }
const std::vector<fired_neuron>& tn_simulator::fired() const { return impl_->fired; }
std::int32_t tn_simulator::potential(std::uint32_t core, std::uint32_t neuron) const {
  return impl_->cores.at(core).v.at(neuron);
}
int tn_simulator::threads() const { return impl_->threads; }
const hw::tn_program& tn_simulator::program() const { return impl_->program; }

const std::vector<event_counts>& tn_simulator::counts_per_layer() const {
  auto& m = *impl_;
  m.summed.assign(m.program.layers.size(), {});
  for (const auto& w : m.counts)
    for (std::size_t l = 0; l < w.size(); ++l) m.summed[l] += w[l];
  return m.summed;
}

event_counts tn_simulator::totals() const {
  event_counts e;
  for (const auto& l : counts_per_layer()) e += l;
  return e;
}

}  // namespace nmc::runtime
