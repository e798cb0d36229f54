#include <nmc/runtime/tn_sim.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <numeric>
#include <string>
#include <string_view>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <fmt/format.h>

#include <nmc/error.hpp>
#include <nmc/runtime/dataset.hpp>
#include <nmc/runtime/parallel.hpp>

#include "huge_buffer.hpp"

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

// The chip's axon scheduler has 16 slots (delays 1..15). The simulator keeps
// 64, which changes nothing for delays below 16, so that an epoch of up to
// epoch_max ticks can be written ahead of the cores that read it.
constexpr int scheduler_slots = 64;
constexpr int hardware_slots = 16;
constexpr int epoch_max = 32;
static_assert(sizeof(spike) == 8 && offsetof(spike, slot) == 6 && scheduler_slots == 64,
              "update_core_fast adds the tick to the slot field of a spike's 64-bit image");
static_assert(epoch_max + hardware_slots <= scheduler_slots);

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

// One core: static parameters and dynamic state, each contiguous. The fields
// the Eedn fast path reads every tick come first, so a core costs few cache
// lines; the axon schedulers of all cores live in one array (see impl).
struct core_data {
  std::uint32_t layer = 0;
  // Fast path: deterministic neurons without leak reversal, 256 neurons, and
  // weights small enough that a tick's input sum fits in 16 bits.
  bool fast = false;
  // Uniform weights: every updated neuron has the same weight per axon type
  // (Eedn: -1 for type 0, +1 for type 1), so integration adds a constant per
  // type under the crossbar row's mask and never loads per-neuron weights.
  bool uniform = false;
  std::array<std::int16_t, 4> uniform_weight{};
  std::array<std::array<std::uint64_t, 4>, 4> type_mask{};  // [type][axon word]: axons of that type
  std::vector<std::uint16_t> row_synapses;                    // per axon: synapses in its crossbar row
  // Narrow (stateless, uniform cores): every neuron's sum lies in
  // [-128, 126] whatever the input (at most 126 axons of positive weight and
  // 128 of negative weight reach it), so the sums fit 8-bit lanes, 64 per
  // register, with thresholds clamped to [-128, 127] without changing a spike.
  bool narrow = false;
  std::vector<std::int8_t> threshold8;
  // Reset after a spike: V = pos_a * V + pos_b; below -beta: V = neg_a * V + neg_b.
  std::vector<std::int32_t> leak, alpha, beta, pos_a, pos_b, neg_a, neg_b;
  // Stateless cores (every neuron: alpha 1, beta 0, kappa 1, normal reset to
  // R = 0, V0 = 0) keep V = 0 after every tick: a neuron fires iff its input
  // sum >= 1 - leak. Only these thresholds and a mask of neurons with a
  // destination are needed.
  bool stateless = false;
  std::array<std::uint64_t, 4> has_dest{};
  std::array<std::uint64_t, 4> to_core{};  // neurons whose destination is a core
  std::vector<std::uint64_t> proto;        // per neuron: its spike (bit_cast), delay in the slot field
  std::vector<std::int16_t> threshold16;
  std::vector<std::int16_t> weight16;  // [type][neuron]
  // Destinations, one 12-byte record per neuron for the spike loop.
  struct destination {
    std::uint32_t core;
    std::uint16_t axon;
    std::uint16_t hops;
    std::uint8_t kind;
    std::uint8_t delay;
    std::uint8_t crossings;
    std::uint8_t part;  // the destination core's delivery partition (impl::parts)
  };
  std::vector<destination> dest;
  int neurons = 0;     // neurons updated: 0 .. neurons-1 (the rest are idle and unobservable)
  int with_dest = 0;   // neurons with a destination (counted as neuron updates)
  int axon_words = 0;
  int row_words = 0;
  bool stochastic = false;  // any stochastic synapse, leak or threshold
  std::vector<std::uint8_t> axon_type;
  const std::uint64_t* crossbar = nullptr;  // axons x row_words, in impl::crossbars
  std::vector<hw::tn_neuron> params;
  std::array<std::vector<std::int32_t>, 4> weight;  // S_j[G], per type
  std::vector<std::uint16_t> hops;
  std::vector<std::uint8_t> crossings;
  // state
  std::vector<std::int32_t> v;
  std::uint32_t rng = 1;
};

}  // namespace

struct tn_simulator::impl {
  const hw::tn_program& program;
  int threads;
  std::int64_t vmin, vmax;
  std::vector<core_data> cores;
  // Axon schedulers of every core, slot-major: [slot][core][axon word]. A tick
  // reads one slot plane front to back, and spikes with the same delay land in
  // one plane (Eedn: all of them), which stays in cache.
  huge_buffer<std::uint64_t> sched;
  huge_buffer<std::uint64_t> crossbars;  // every core's crossbar, in core order
  std::size_t axon_words = 0;
  std::int64_t t = 0;
  std::unique_ptr<worker_team> team;  // threads > 1 only
  // A worker's spikes: storage sized for the worst case, and the count used.
  struct alignas(64) spike_buffer {  // own cache line: workers update `size` constantly
    std::vector<spike> store;
    std::size_t size = 0;
    void push(const spike& s) { store[size++] = s; }
  };
  // Spikes are bucketed by destination partition (part_of) as they are
  // emitted, so the exchange can deliver each partition on one thread with
  // plain ORs. Buffer [worker * parts + partition].
  int parts = 1;
  std::vector<spike_buffer> spikes;
  std::vector<std::span<const spike>> spike_views;
  void exchange_spikes() {
    for (std::size_t w = 0; w < spikes.size(); ++w) spike_views[w] = {spikes[w].store.data(), spikes[w].size};
    exchange->exchange(spike_views);
    for (auto& b : spikes) b.size = 0;
  }
  std::vector<std::vector<output_spike>> outputs;  // per worker
  std::vector<std::vector<event_counts>> counts;   // per worker, per layer
  bool record = false;
  std::vector<std::vector<fired_neuron>> fired_by_worker;
  std::vector<fired_neuron> fired_sorted;
  bool avx512 = false;
  std::vector<std::vector<std::int32_t>> input;  // per worker: a core's input sums this tick
  mutable std::vector<event_counts> summed;
  std::unique_ptr<spike_exchange> exchange;

  // Epoch execution (acyclic programs): cores grouped by level of the core
  // graph; `epoch` ticks per advance (1: tick by tick).
  std::vector<std::vector<std::uint32_t>> levels;
  int epoch = 1;

  impl(const hw::tn_program& p, int threads_, bool record_, bool plain);
  std::uint64_t* slot_words(std::size_t ci, std::int64_t tick) {
    return sched.data() + (ci * scheduler_slots + static_cast<std::size_t>(tick % scheduler_slots)) * axon_words;
  }
  void update(std::size_t ci, int worker, std::int64_t tick) {
    cores[ci].fast ? update_core_fast(ci, worker, tick) : update_core(ci, worker, tick);
  }
  void update_core(std::size_t ci, int worker, std::int64_t tick);
  void update_core_fast(std::size_t ci, int worker, std::int64_t tick);
  void run_epoch(int ticks);
};

namespace {

// Delivers spikes into the local schedulers. Bits are set with atomic ORs:
// the order of delivery cannot change the result.
class local_exchange final : public spike_exchange {
public:
  local_exchange(std::uint64_t* sched, std::size_t axon_words, worker_team* team, int parts)
      : sched_(sched), axon_words_(axon_words), team_(team), parts_(static_cast<std::size_t>(parts)) {}
  // buffers[worker * parts + k] holds spikes for cores c with part_of(c) == k:
  // one task per partition, each the only writer of its cores' schedulers.
  void exchange(std::span<const std::span<const spike>> buffers) override {
    auto deliver = [&](std::size_t k) {
      for (std::size_t b = k; b < buffers.size(); b += parts_)
        for (const spike& s : buffers[b]) word(s) |= std::uint64_t{1} << (s.axon % 64);
    };
    if (!team_ || parts_ == 1) {
      for (std::size_t k = 0; k < parts_; ++k) deliver(k);
      return;
    }
    auto body = [&](std::size_t begin, std::size_t end, int) {
      for (std::size_t k = begin; k < end; ++k) deliver(k);
    };
    team_->for_chunks(parts_, 1, body);
  }

private:
  std::uint64_t& word(const spike& s) {
    return sched_[(static_cast<std::size_t>(s.core) * scheduler_slots + s.slot) * axon_words_ + s.axon / 64];
  }
  std::uint64_t* sched_;
  std::size_t axon_words_;
  worker_team* team_;
  std::size_t parts_;
};

}  // namespace

namespace {

// Levels of the core graph (edge: a neuron of core a targets core b): level 0
// holds the cores no core feeds, and every core sits above all its sources.
// Empty if the graph has a cycle (recurrent programs run tick by tick).
std::vector<std::vector<std::uint32_t>> core_levels(const hw::tn_program& p) {
  const std::size_t n = p.cores.size();
  std::vector<std::vector<std::uint32_t>> out_edges(n);
  std::vector<std::uint32_t> indegree(n, 0), level(n, 0);
  for (std::size_t ci = 0; ci < n; ++ci) {
    for (const auto& nr : p.cores[ci].neurons)
      if (nr.dest == hw::dest_kind::core) out_edges[ci].push_back(nr.dest_core);
    std::sort(out_edges[ci].begin(), out_edges[ci].end());
    out_edges[ci].erase(std::unique(out_edges[ci].begin(), out_edges[ci].end()), out_edges[ci].end());
    for (auto d : out_edges[ci]) ++indegree[d];
  }
  std::vector<std::uint32_t> ready;
  for (std::size_t ci = 0; ci < n; ++ci)
    if (indegree[ci] == 0) ready.push_back(static_cast<std::uint32_t>(ci));
  std::size_t seen = 0;
  std::vector<std::vector<std::uint32_t>> levels;
  while (!ready.empty()) {
    const auto c = ready.back();
    ready.pop_back();
    ++seen;
    if (levels.size() <= level[c]) levels.resize(level[c] + 1);
    levels[level[c]].push_back(c);
    for (auto d : out_edges[c]) {
      level[d] = std::max(level[d], level[c] + 1);
      if (--indegree[d] == 0) ready.push_back(d);
    }
  }
  if (seen != n) return {};
  for (auto& l : levels) std::sort(l.begin(), l.end());
  return levels;
}

constexpr int max_parts = 64;
// Delivery partition of a core: blocks of 16 consecutive cores dealt round
// robin. A core's spikes go to a few nearby cores, so consecutive spikes
// mostly share a partition (the emission branch predicts well), while a
// layer's cores spread over all partitions (the delivery work balances).
inline int part_of(std::uint32_t core, int parts) { return static_cast<int>((core / 16) % static_cast<std::uint32_t>(parts)); }
int delivery_parts(int threads) { return std::clamp(threads, 1, max_parts); }

// Ticks per epoch and the buffers one worker needs: per destination
// partition, the spikes of a whole tick (step) or of a level's epoch, every
// neuron firing every tick; off-chip spikes of a whole epoch.
struct epoch_plan {
  int ticks = 1;
  std::vector<std::size_t> to_part;
  std::size_t outputs = 0;
  std::size_t spikes() const { return std::accumulate(to_part.begin(), to_part.end(), std::size_t{0}); }
};

epoch_plan plan_epochs(const hw::tn_program& p, const std::vector<std::vector<std::uint32_t>>& levels, bool record,
                       int parts) {
  const auto np = static_cast<std::size_t>(parts);
  auto count = [&](auto&& for_each_core) {
    epoch_plan e;
    e.to_part.assign(np, 0);
    for_each_core([&](std::size_t ci) {
      for (const auto& nr : p.cores[ci].neurons) {
        if (nr.dest == hw::dest_kind::core) ++e.to_part[static_cast<std::size_t>(part_of(nr.dest_core, parts))];
        e.outputs += nr.dest == hw::dest_kind::output;
      }
    });
    return e;
  };
  epoch_plan whole = count([&](auto&& f) {
    for (std::size_t ci = 0; ci < p.cores.size(); ++ci) f(ci);
  });
  if (record || levels.empty()) return whole;
  epoch_plan widest;
  widest.to_part.assign(np, 0);
  std::size_t widest_spikes = 0;
  for (const auto& l : levels) {
    const epoch_plan e = count([&](auto&& f) {
      for (auto ci : l) f(ci);
    });
    for (std::size_t k = 0; k < np; ++k) widest.to_part[k] = std::max(widest.to_part[k], e.to_part[k]);
    widest_spikes = std::max(widest_spikes, e.spikes() + e.outputs);
  }
  // At most 64 MiB of spike buffer per worker; below 4 ticks an epoch gains little.
  constexpr std::size_t cap = std::size_t{64} << 20;
  const auto ticks = static_cast<int>(
      std::min<std::size_t>(epoch_max, cap / (std::max<std::size_t>(widest_spikes, 1) * sizeof(output_spike))));
  if (ticks < 4) return whole;
  const auto t = static_cast<std::size_t>(ticks);
  whole.ticks = ticks;
  for (std::size_t k = 0; k < np; ++k) whole.to_part[k] = std::max(whole.to_part[k], widest.to_part[k] * t);
  whole.outputs *= t;  // off-chip spikes are handed over once per epoch, after every level
  return whole;
}

}  // namespace

tn_simulator::impl::impl(const hw::tn_program& p, int threads_, bool record_, bool plain)
    : program(p), threads(threads_), parts(delivery_parts(threads_)), record(record_) {
#if defined(__x86_64__) && defined(__GNUC__)
  avx512 = !plain && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
#endif
  const auto& tg = p.target;
  vmax = (std::int64_t{1} << (tg.potential_bits - 1)) - 1;
  vmin = -(std::int64_t{1} << (tg.potential_bits - 1));
  cores.resize(p.cores.size());
  axon_words = static_cast<std::size_t>(tg.axons / 64);
  sched = huge_buffer<std::uint64_t>(cores.size() * scheduler_slots * axon_words);
  const std::size_t crossbar_words = static_cast<std::size_t>(tg.axons) * static_cast<std::size_t>(tg.neurons / 64);
  crossbars = huge_buffer<std::uint64_t>(cores.size() * crossbar_words);
  std::size_t total_neurons = 0;
  for (std::size_t ci = 0; ci < p.cores.size(); ++ci) {
    const auto& src = p.cores[ci];
    auto& c = cores[ci];
    c.layer = src.layer;
    c.axon_words = tg.axons / 64;
    c.row_words = tg.neurons / 64;
    c.axon_type = src.axon_type;
    if (src.crossbar.size() != crossbar_words)
      throw internal_error(fmt::format("core {}: crossbar of {} words, expected {}", ci, src.crossbar.size(), crossbar_words));
    std::copy(src.crossbar.begin(), src.crossbar.end(), crossbars.data() + ci * crossbar_words);
    c.crossbar = crossbars.data() + ci * crossbar_words;
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
    total_neurons += static_cast<std::size_t>(c.neurons);

    int max_w = 0;
    bool reversal = false;
    for (const auto& n : src.neurons) {
      for (auto w : n.weight) max_w = std::max(max_w, std::abs(static_cast<int>(w)));
      reversal |= n.leak_reversal != 0;
    }
    c.fast = !plain && !c.stochastic && !reversal && tg.neurons == 256 && max_w * tg.axons <= 32767;
    if (c.fast) {
      const auto nn = static_cast<std::size_t>(tg.neurons);
      c.weight16.resize(4 * nn);
      for (std::size_t g = 0; g < 4; ++g)
        for (std::size_t j = 0; j < nn; ++j) c.weight16[g * nn + j] = static_cast<std::int16_t>(src.neurons[j].weight[g]);
      for (auto* v : {&c.leak, &c.alpha, &c.beta, &c.pos_a, &c.pos_b, &c.neg_a, &c.neg_b}) v->resize(nn);
      c.dest.resize(nn);
      c.proto.resize(nn);
      for (std::size_t j = 0; j < nn; ++j) {
        const auto& n = src.neurons[j];
        c.leak[j] = n.leak, c.alpha[j] = n.threshold, c.beta[j] = n.neg_threshold;
        // gamma: normal -> R, linear -> V - alpha, none -> V (eta is 0 here)
        c.pos_a[j] = n.reset == hw::reset_mode::normal ? 0 : 1;
        c.pos_b[j] = n.reset == hw::reset_mode::normal ? n.reset_potential
                     : n.reset == hw::reset_mode::linear ? -n.threshold : 0;
        // kappa -> -beta; else normal -> -R, linear -> V + beta, none -> V
        c.neg_a[j] = n.kappa || n.reset == hw::reset_mode::normal ? 0 : 1;
        c.neg_b[j] = n.kappa ? -n.neg_threshold
                     : n.reset == hw::reset_mode::normal ? -n.reset_potential
                     : n.reset == hw::reset_mode::linear ? n.neg_threshold : 0;
        c.dest[j] = {n.dest_core, n.dest_axon, c.hops[j], static_cast<std::uint8_t>(n.dest), n.delay_ticks, c.crossings[j],
                     static_cast<std::uint8_t>(part_of(n.dest_core, parts))};
        c.proto[j] = std::bit_cast<std::uint64_t>(spike{n.dest_core, n.dest_axon, n.delay_ticks});
        if (n.dest != hw::dest_kind::none) c.has_dest[j / 64] |= std::uint64_t{1} << (j % 64);
        if (n.dest == hw::dest_kind::core) c.to_core[j / 64] |= std::uint64_t{1} << (j % 64);
      }
      c.stateless = std::all_of(src.neurons.begin(), src.neurons.end(), [](const hw::tn_neuron& n) {
        return n.threshold == 1 && n.neg_threshold == 0 && n.kappa == 1 && n.reset == hw::reset_mode::normal &&
               n.reset_potential == 0 && n.initial_potential == 0;
      });
      c.threshold16.resize(nn);
      for (std::size_t j = 0; j < nn; ++j) c.threshold16[j] = static_cast<std::int16_t>(1 - src.neurons[j].leak);
      // Neurons past c.neurons are never updated, so only the first c.neurons must agree.
      c.uniform = c.axon_words == 4;
      for (int j = 1; j < c.neurons; ++j) c.uniform &= src.neurons[static_cast<std::size_t>(j)].weight == src.neurons[0].weight;
      for (std::size_t g = 0; g < 4; ++g) c.uniform_weight[g] = static_cast<std::int16_t>(src.neurons[0].weight[g]);
      for (int a = 0; a < tg.axons && c.uniform; ++a)
        c.type_mask[src.axon_type[static_cast<std::size_t>(a)]][static_cast<std::size_t>(a / 64)] |= std::uint64_t{1} << (a % 64);
      if (c.uniform && c.stateless) {
        std::vector<int> plus(nn, 0), minus(nn, 0);
        for (std::size_t a = 0; a < static_cast<std::size_t>(tg.axons); ++a) {
          const int w = c.uniform_weight[src.axon_type[a]];
          for (std::size_t r = 0; r < 4; ++r)
            for (std::uint64_t bits = c.crossbar[a * 4 + r]; bits; bits &= bits - 1)
              (w > 0 ? plus : minus)[r * 64 + static_cast<std::size_t>(std::countr_zero(bits))] += std::abs(w);
        }
        c.narrow = *std::max_element(plus.begin(), plus.end()) <= 126 && *std::max_element(minus.begin(), minus.end()) <= 128;
        c.threshold8.resize(nn);
        for (std::size_t j = 0; j < nn; ++j) c.threshold8[j] = static_cast<std::int8_t>(std::clamp<int>(c.threshold16[j], -128, 127));
      }
      c.row_synapses.resize(static_cast<std::size_t>(tg.axons));
      for (std::size_t a = 0; a < c.row_synapses.size(); ++a) {
        int k = 0;
        for (int r = 0; r < c.row_words; ++r) k += std::popcount(c.crossbar[a * static_cast<std::size_t>(c.row_words) + static_cast<std::size_t>(r)]);
        c.row_synapses[a] = static_cast<std::uint16_t>(k);
      }
    }
  }
  if (threads > 1) team = std::make_unique<worker_team>(threads);
  levels = core_levels(p);
  const epoch_plan plan = plan_epochs(p, levels, record, parts);
  epoch = plan.ticks;
  // Buffers sized for the worst case (every neuron fires) so the loop never allocates.
  spikes.resize(static_cast<std::size_t>(threads * parts));
  for (std::size_t b = 0; b < spikes.size(); ++b) spikes[b].store.resize(plan.to_part[b % static_cast<std::size_t>(parts)]);
  outputs.resize(static_cast<std::size_t>(threads));
  counts.assign(static_cast<std::size_t>(threads), std::vector<event_counts>(p.layers.size()));
  spike_views.resize(spikes.size());
  for (auto& b : outputs) b.reserve(plan.outputs);
  if (record) {
    fired_by_worker.resize(static_cast<std::size_t>(threads));
    for (auto& b : fired_by_worker) b.reserve(total_neurons);
    fired_sorted.reserve(total_neurons);
  }
  input.assign(static_cast<std::size_t>(threads), std::vector<std::int32_t>(static_cast<std::size_t>(tg.neurons), 0));
  exchange = std::make_unique<local_exchange>(sched.data(), axon_words, team.get(), parts);
}

namespace {

// Input sums of one core: for every active axon, its type's weight is added
// to the neurons its crossbar row reaches. Returns the synaptic events.
std::int64_t integrate_scalar(core_data& c, std::uint64_t* slot, std::int32_t* in) {
  std::int64_t events = 0;
  std::fill(in, in + 256, 0);
  for (int w = 0; w < c.axon_words; ++w) {
    std::uint64_t active = slot[w];
    slot[w] = 0;
    while (active) {
      const int a = w * 64 + std::countr_zero(active);
      active &= active - 1;
      const std::int16_t* wt = c.weight16.data() + static_cast<std::size_t>(c.axon_type[static_cast<std::size_t>(a)]) * 256;
      const std::uint64_t* row = c.crossbar + static_cast<std::size_t>(a) * 4;
      for (int r = 0; r < 4; ++r) {
        std::uint64_t bits = row[r];
        events += std::popcount(bits);
        while (bits) {
          const int j = r * 64 + std::countr_zero(bits);
          bits &= bits - 1;
          in[j] += wt[j];
        }
      }
    }
  }
  return events;
}

#if defined(__x86_64__) && defined(__GNUC__)
// The same with AVX-512: 256 16-bit sums in 8 registers, one masked add per
// 32 neurons of a crossbar row, whatever the row's density.
// With `fired` (stateless cores), the sums are compared with the thresholds
// in registers and only the 256-bit mask of firing neurons comes out.
__attribute__((target("avx512f,avx512bw"))) std::int64_t integrate_avx512(core_data& c, std::uint64_t* slot,
                                                                         std::int32_t* in, std::uint64_t* fired) {
  __m512i acc[8];
  for (auto& a : acc) a = _mm512_setzero_si512();
  std::int64_t events = 0;
  if (c.uniform) {
    // One constant per axon type: no per-neuron weight or axon-type loads.
    std::uint64_t active[4];
    for (int w = 0; w < 4; ++w) active[w] = slot[w], slot[w] = 0;
    for (std::size_t g = 0; g < 4; ++g) {
      if (c.uniform_weight[g] == 0) continue;  // still synaptic events: counted below
      const __m512i wv = _mm512_set1_epi16(c.uniform_weight[g]);
      for (int w = 0; w < 4; ++w) {
        std::uint64_t bits = active[w] & c.type_mask[g][static_cast<std::size_t>(w)];
        while (bits) {
          const int a = w * 64 + std::countr_zero(bits);
          bits &= bits - 1;
          const std::uint64_t* row = c.crossbar + static_cast<std::size_t>(a) * 4;
          for (int r = 0; r < 4; ++r) {
            const auto lo = static_cast<__mmask32>(row[r]), hi = static_cast<__mmask32>(row[r] >> 32);
            acc[2 * r] = _mm512_mask_add_epi16(acc[2 * r], lo, acc[2 * r], wv);
            acc[2 * r + 1] = _mm512_mask_add_epi16(acc[2 * r + 1], hi, acc[2 * r + 1], wv);
          }
        }
      }
    }
    for (int w = 0; w < 4; ++w) {
      std::uint64_t bits = active[w];
      while (bits) {
        events += c.row_synapses[static_cast<std::size_t>(w * 64 + std::countr_zero(bits))];
        bits &= bits - 1;
      }
    }
  } else {
  for (int w = 0; w < c.axon_words; ++w) {
    std::uint64_t active = slot[w];
    slot[w] = 0;
    while (active) {
      const int a = w * 64 + std::countr_zero(active);
      active &= active - 1;
      const std::int16_t* wt = c.weight16.data() + static_cast<std::size_t>(c.axon_type[static_cast<std::size_t>(a)]) * 256;
      const std::uint64_t* row = c.crossbar + static_cast<std::size_t>(a) * 4;
      for (int r = 0; r < 4; ++r) {
        const std::uint64_t bits = row[r];
        events += std::popcount(bits);
        if (!bits) continue;
        const auto lo = static_cast<__mmask32>(bits), hi = static_cast<__mmask32>(bits >> 32);
        acc[2 * r] = _mm512_mask_add_epi16(acc[2 * r], lo, acc[2 * r], _mm512_loadu_si512(wt + 64 * r));
        acc[2 * r + 1] = _mm512_mask_add_epi16(acc[2 * r + 1], hi, acc[2 * r + 1], _mm512_loadu_si512(wt + 64 * r + 32));
      }
    }
  }
  }
  if (fired) {
    const std::int16_t* thr = c.threshold16.data();
    for (int r = 0; r < 4; ++r) {
      const std::uint64_t lo = _mm512_cmpge_epi16_mask(acc[2 * r], _mm512_loadu_si512(thr + 64 * r));
      const std::uint64_t hi = _mm512_cmpge_epi16_mask(acc[2 * r + 1], _mm512_loadu_si512(thr + 64 * r + 32));
      fired[r] = lo | (hi << 32);
    }
    return events;
  }
  alignas(64) std::int16_t sums[256];
  for (int k = 0; k < 8; ++k) _mm512_store_si512(sums + 32 * k, acc[k]);
  for (int j = 0; j < 256; ++j) in[j] = sums[j];
  return events;
}
#endif

#if defined(__x86_64__) && defined(__GNUC__)
// Narrow cores (see core_data::narrow): 256 8-bit sums in 4 registers, each
// 64-bit crossbar word is directly the mask of one add. Returns the synaptic
// events; `fired` gets the 256-bit mask of neurons at or above threshold.
__attribute__((target("avx512f,avx512bw"))) std::int64_t integrate_narrow_avx512(const core_data& c, std::uint64_t* slot,
                                                                                std::uint64_t* fired) {
  __m512i acc[4];
  for (auto& a : acc) a = _mm512_setzero_si512();
  std::int64_t events = 0;
  std::uint64_t active[4];
  for (int w = 0; w < 4; ++w) active[w] = slot[w], slot[w] = 0;
  for (std::size_t g = 0; g < 4; ++g) {
    const bool zero = c.uniform_weight[g] == 0;  // synaptic events all the same
    const __m512i wv = _mm512_set1_epi8(static_cast<char>(c.uniform_weight[g]));
    for (int w = 0; w < 4; ++w) {
      std::uint64_t bits = active[w] & c.type_mask[g][static_cast<std::size_t>(w)];
      while (bits) {
        const auto a = static_cast<std::size_t>(w * 64 + std::countr_zero(bits));
        bits &= bits - 1;
        events += c.row_synapses[a];
        if (zero) continue;
        const std::uint64_t* row = c.crossbar + a * 4;
        for (int r = 0; r < 4; ++r) acc[r] = _mm512_mask_add_epi8(acc[r], _cvtu64_mask64(row[r]), acc[r], wv);
      }
    }
  }
  for (int r = 0; r < 4; ++r) fired[r] = _mm512_cmpge_epi8_mask(acc[r], _mm512_loadu_si512(c.threshold8.data() + 64 * r));
  return events;
}
#endif

// Leak, threshold and reset of deterministic neurons, branch-free so that the
// compiler vectorises it. Compiled twice (AVX-512 and the baseline) and chosen
// at run time; not with target_clones, whose ifunc resolver runs before a
// sanitizer runtime is up.
__attribute__((always_inline)) inline void update_fast_neurons_body(
    int n, std::int32_t* __restrict v, const std::int32_t* __restrict in, const core_data& c, std::int32_t vmin,
    std::int32_t vmax, std::uint8_t* __restrict fired) {
  const std::int32_t* __restrict leak = c.leak.data();
  const std::int32_t* __restrict alpha = c.alpha.data();
  const std::int32_t* __restrict beta = c.beta.data();
  const std::int32_t* __restrict pa = c.pos_a.data();
  const std::int32_t* __restrict pb = c.pos_b.data();
  const std::int32_t* __restrict na = c.neg_a.data();
  const std::int32_t* __restrict nb = c.neg_b.data();
  for (int j = 0; j < n; ++j) {
    std::int32_t x = std::min(std::max(v[j] + in[j], vmin), vmax);
    x = std::min(std::max(x + leak[j], vmin), vmax);
    const bool f = x >= alpha[j];
    const bool ng = x < -beta[j];
    const std::int32_t p = pa[j] * x + pb[j];
    const std::int32_t q = na[j] * x + nb[j];
    x = f ? p : (ng ? q : x);
    v[j] = std::min(std::max(x, vmin), vmax);
    fired[j] = f;
  }
}

void update_fast_neurons(int n, std::int32_t* v, const std::int32_t* in, const core_data& c, std::int32_t vmin,
                         std::int32_t vmax, std::uint8_t* fired) {
  update_fast_neurons_body(n, v, in, c, vmin, vmax, fired);
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx512f,avx512bw"))) void update_fast_neurons_avx512(int n, std::int32_t* v, const std::int32_t* in,
                                                                          const core_data& c, std::int32_t vmin,
                                                                          std::int32_t vmax, std::uint8_t* fired) {
  update_fast_neurons_body(n, v, in, c, vmin, vmax, fired);
}
#endif

}  // namespace

void tn_simulator::impl::update_core_fast(std::size_t ci, int worker, std::int64_t now) {
  core_data& c = cores[ci];
  event_counts& ev = counts[static_cast<std::size_t>(worker)][c.layer];
  std::uint64_t* slot = slot_words(ci, now);
  std::int32_t* in = input[static_cast<std::size_t>(worker)].data();
  std::uint64_t fired[4] = {};
  if (c.stateless && avx512) {
#if defined(__x86_64__) && defined(__GNUC__)
    ev.synaptic_events += c.narrow ? integrate_narrow_avx512(c, slot, fired) : integrate_avx512(c, slot, in, fired);
#endif
  } else {
#if defined(__x86_64__) && defined(__GNUC__)
    ev.synaptic_events += avx512 ? integrate_avx512(c, slot, in, nullptr) : integrate_scalar(c, slot, in);
#else
    ev.synaptic_events += integrate_scalar(c, slot, in);
#endif
    if (c.stateless) {
      for (int j = 0; j < c.neurons; ++j) fired[j / 64] |= std::uint64_t{in[j] >= c.threshold16[static_cast<std::size_t>(j)]} << (j % 64);
    } else {
      alignas(64) std::uint8_t fired_now[256] = {};
      const auto lo = static_cast<std::int32_t>(vmin), hi = static_cast<std::int32_t>(vmax);
#if defined(__x86_64__) && defined(__GNUC__)
      if (avx512) {
        update_fast_neurons_avx512(c.neurons, c.v.data(), in, c, lo, hi, fired_now);
      } else {
        update_fast_neurons(c.neurons, c.v.data(), in, c, lo, hi, fired_now);
      }
#else
      update_fast_neurons(c.neurons, c.v.data(), in, c, lo, hi, fired_now);
#endif
      for (int j = 0; j < c.neurons; ++j) fired[j / 64] |= std::uint64_t{fired_now[j]} << (j % 64);
    }
  }
  ev.neuron_updates += c.with_dest;
  // Emission with the buffer's cursor and the counters in registers.
  spike_buffer* out = spikes.data() + static_cast<std::size_t>(worker * parts);
  auto& outp = outputs[static_cast<std::size_t>(worker)];
  std::int64_t fired_count = 0, hop_count = 0, crossing_count = 0;
  if (record)
    for (int w = 0; w < 4; ++w)
      for (std::uint64_t bits = fired[w] & c.has_dest[static_cast<std::size_t>(w)]; bits; bits &= bits - 1)
        fired_by_worker[static_cast<std::size_t>(worker)].push_back(
            {static_cast<std::uint32_t>(ci), static_cast<std::uint16_t>(w * 64 + std::countr_zero(bits))});
  // Spikes to cores: the neuron's spike with its delay in the slot field, the
  // tick added (mod scheduler_slots). One cursor in a register when there is
  // one partition; a cursor per partition otherwise.
  const std::uint64_t tick_add = static_cast<std::uint64_t>(now % scheduler_slots) << 48;
  constexpr std::uint64_t slot_wrap = ~(std::uint64_t{0xffc0} << 48);  // keep 6 slot bits
  auto spike_of = [&](std::size_t j) { return std::bit_cast<spike>((c.proto[j] + tick_add) & slot_wrap); };
  if (parts == 1) {
    spike* o = out[0].store.data() + out[0].size;
    for (int w = 0; w < 4; ++w)
      for (std::uint64_t bits = fired[w] & c.to_core[static_cast<std::size_t>(w)]; bits; bits &= bits - 1) {
        const auto j = static_cast<std::size_t>(w * 64 + std::countr_zero(bits));
        *o++ = spike_of(j);
        hop_count += c.hops[j];
        crossing_count += c.crossings[j];
      }
    out[0].size = static_cast<std::size_t>(o - out[0].store.data());
  } else if (parts == 2) {
    spike* o0 = out[0].store.data() + out[0].size;
    spike* o1 = out[1].store.data() + out[1].size;
    for (int w = 0; w < 4; ++w)
      for (std::uint64_t bits = fired[w] & c.to_core[static_cast<std::size_t>(w)]; bits; bits &= bits - 1) {
        const auto j = static_cast<std::size_t>(w * 64 + std::countr_zero(bits));
        if (c.dest[j].part) {
          *o1++ = spike_of(j);
        } else {
          *o0++ = spike_of(j);
        }
        hop_count += c.hops[j];
        crossing_count += c.crossings[j];
      }
    out[0].size = static_cast<std::size_t>(o0 - out[0].store.data());
    out[1].size = static_cast<std::size_t>(o1 - out[1].store.data());
  } else {
    spike* cursor[max_parts];
    for (int k = 0; k < parts; ++k) cursor[k] = out[k].store.data() + out[k].size;
    for (int w = 0; w < 4; ++w)
      for (std::uint64_t bits = fired[w] & c.to_core[static_cast<std::size_t>(w)]; bits; bits &= bits - 1) {
        const auto j = static_cast<std::size_t>(w * 64 + std::countr_zero(bits));
        *cursor[c.dest[j].part]++ = spike_of(j);
        hop_count += c.hops[j];
        crossing_count += c.crossings[j];
      }
    for (int k = 0; k < parts; ++k) out[k].size = static_cast<std::size_t>(cursor[k] - out[k].store.data());
  }
  for (int w = 0; w < 4; ++w) {
    const std::uint64_t all = fired[w] & c.has_dest[static_cast<std::size_t>(w)];
    fired_count += std::popcount(all);
    for (std::uint64_t bits = all & ~c.to_core[static_cast<std::size_t>(w)]; bits; bits &= bits - 1) {
      const auto& d = c.dest[static_cast<std::size_t>(w * 64 + std::countr_zero(bits))];
      outp.push_back({d.axon, now + d.delay});
      ++ev.offchip_spikes;
    }
  }
  ev.spikes += fired_count;
  ev.hops += hop_count;
  ev.chip_crossings += crossing_count;
}

// The neuron equations of HARDWARE.md 1.2 for one core and one tick.
void tn_simulator::impl::update_core(std::size_t ci, int worker, std::int64_t now) {
  core_data& c = cores[ci];
  event_counts& ev = counts[static_cast<std::size_t>(worker)][c.layer];
  spike_buffer* out = spikes.data() + static_cast<std::size_t>(worker * parts);
  auto& outp = outputs[static_cast<std::size_t>(worker)];
  std::uint64_t* slot = slot_words(ci, now);
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
      const std::uint64_t* row = c.crossbar + static_cast<std::size_t>(a) * static_cast<std::size_t>(c.row_words);
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
      out[part_of(p.dest_core, parts)].push(
          {p.dest_core, p.dest_axon, static_cast<std::uint16_t>((now + p.delay_ticks) % scheduler_slots)});
      ev.hops += c.hops[static_cast<std::size_t>(j)];
      ev.chip_crossings += c.crossings[static_cast<std::size_t>(j)];
    } else {
      outp.push_back({p.dest_axon, now + p.delay_ticks});
      ++ev.offchip_spikes;
    }
  }
}

std::size_t estimate_memory_bytes(const hw::tn_program& p, int threads) {
  const auto axons = static_cast<std::size_t>(p.target.axons), neurons = static_cast<std::size_t>(p.target.neurons);
  // Per core: crossbar, axon types, parameters, the fast-path arrays, state
  // and schedulers; per worker: spike, output and record buffers sized for
  // every neuron firing at once.
  const std::size_t per_core = axons * neurons / 8 + axons + neurons * (sizeof(hw::tn_neuron) + 96) +
                               scheduler_slots * axons / 8 + 512;
  const auto plan = plan_epochs(p, core_levels(p), false, delivery_parts(threads));
  const std::size_t per_worker = plan.spikes() * sizeof(spike) + plan.outputs * sizeof(output_spike) +
                                 p.cores.size() * neurons * sizeof(fired_neuron) + neurons * sizeof(std::int32_t);
  return p.cores.size() * per_core + static_cast<std::size_t>(std::max(threads, 1)) * per_worker;
}

std::string human_bytes(std::size_t bytes) {
  constexpr double kib = 1024.0, mib = 1024.0 * kib, gib = 1024.0 * mib;
  const auto b = static_cast<double>(bytes);
  return b >= gib ? fmt::format("{:.1f} GiB", b / gib)
         : b >= mib ? fmt::format("{:.1f} MiB", b / mib)
                    : fmt::format("{:.1f} KiB", b / kib);
}

void check_memory(const hw::tn_program& p, int threads, std::size_t available, const char* limit_name) {
  const std::size_t need = estimate_memory_bytes(p, threads);
  if (available == 0 || need <= available) return;
  // Per-worker spike buffers grow with the thread count: say what one thread needs.
  const std::size_t need_one = estimate_memory_bytes(p, 1);
  std::string hint = threads > 1 && need_one <= available
                         ? fmt::format("use --threads 1 (about {}), or ", human_bytes(need_one))
                     : threads > 1 ? std::string("use fewer threads, or ")
                                   : std::string();
  hint += std::string_view(limit_name).find("--max-memory") != std::string_view::npos
              ? "raise --max-memory"
              : "free memory or use a machine with more";
  hint += "; a program with fewer cores (a smaller model) needs less";
  throw fit_error(fmt::format("simulating {} cores on {} thread{} needs about {}, but only {} {}", p.cores.size(),
                              threads, threads == 1 ? "" : "s", human_bytes(need), human_bytes(available), limit_name),
                  hint);
}

memory_limit resolve_memory_limit(std::size_t requested_bytes) {
  const std::size_t machine = available_memory_bytes();
  if (requested_bytes > 0 && (machine == 0 || requested_bytes <= machine))
    return {requested_bytes, "is allowed by --max-memory", "raise --max-memory"};
  return {.bytes = machine};
}

void check_memory(const hw::tn_program& p, const sim_options& opts) {
  const auto limit = resolve_memory_limit(opts.memory_limit_bytes);
  check_memory(p, opts.threads, limit.bytes, limit.name);
}

std::size_t available_memory_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  std::size_t kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024;
  return 0;
}

tn_simulator::tn_simulator(const hw::tn_program& program, const sim_options& opts) {
  if (opts.threads < 1) throw usage_error(fmt::format("--threads {} must be at least 1", opts.threads));
  check_memory(program, opts);
  impl_ = std::make_unique<impl>(program, opts.threads, opts.record_spikes, opts.plain_kernels);
}

tn_simulator::~tn_simulator() = default;

void tn_simulator::inject(std::uint32_t core, std::uint16_t axon, int delay) {
  auto& m = *impl_;
  if (core >= m.cores.size() || axon >= m.axon_words * 64 || delay < 0 || delay >= hardware_slots) {
    throw usage_error(fmt::format("inject: core {} / axon {} / delay {} out of range", core, axon, delay));
  }
  m.slot_words(core, m.t + delay)[axon / 64] |= std::uint64_t{1} << (axon % 64);
}

void tn_simulator::inject_now(std::span<const hw::tn_input_target> targets) {
  auto& m = *impl_;
  for (const auto& tg : targets) m.slot_words(tg.core, m.t)[tg.axon / 64] |= std::uint64_t{1} << (tg.axon % 64);
}

void tn_simulator::inject_ahead(std::span<const hw::tn_input_target> targets, int ticks_ahead) {
  auto& m = *impl_;
  if (ticks_ahead < 0 || ticks_ahead >= m.epoch)
    throw usage_error(fmt::format("inject_ahead: {} ticks ahead, at most {}", ticks_ahead, m.epoch - 1));
  for (const auto& tg : targets)
    m.slot_words(tg.core, m.t + ticks_ahead)[tg.axon / 64] |= std::uint64_t{1} << (tg.axon % 64);
}

int tn_simulator::epoch_ticks() const { return impl_->epoch; }

void tn_simulator::advance(int ticks, const std::function<void(std::uint32_t, std::int64_t)>& on_output) {
  auto& m = *impl_;
  if (ticks < 1 || ticks > m.epoch) throw usage_error(fmt::format("advance: {} ticks, at most {}", ticks, m.epoch));
  if (ticks == 1) return step(on_output);
  m.run_epoch(ticks);
  if (on_output) {
    for (const auto& b : m.outputs)
      for (const auto& o : b) on_output(o.port, o.tick);
  }
  for (auto& b : m.outputs) b.clear();
  m.t += ticks;
}

// Ticks t .. t + ticks - 1, level by level: a core runs all the epoch's ticks
// at once (its crossbar stays in cache), after every core that feeds it has
// run them and its spikes have gone through the exchange. Spikes landing
// beyond the epoch wait in the scheduler's spare slots. Each core still sees
// exactly the inputs of a tick-by-tick run, and its PRNG draws in the same
// order, so the result is the same, for any thread count.
void tn_simulator::impl::run_epoch(int ticks) {
  for (const auto& level : levels) {
    if (threads == 1) {
      for (auto ci : level)
        for (int k = 0; k < ticks; ++k) update(ci, 0, t + k);
    } else {
      auto body = [&](std::size_t begin, std::size_t end, int w) {
        for (std::size_t i = begin; i < end; ++i)
          for (int k = 0; k < ticks; ++k) update(level[i], w, t + k);
      };
      team->for_chunks(level.size(), 2, body);
    }
    exchange_spikes();
  }
}

void tn_simulator::step(const std::function<void(std::uint32_t, std::int64_t)>& on_output) {
  auto& m = *impl_;
  for (auto& b : m.outputs) b.clear();
  for (auto& b : m.fired_by_worker) b.clear();
  const std::size_t n = m.cores.size();
  if (m.threads == 1) {
    for (std::size_t ci = 0; ci < n; ++ci) m.update(ci, 0, m.t);
  } else {
    auto body = [&](std::size_t begin, std::size_t end, int w) {
      for (std::size_t ci = begin; ci < end; ++ci) m.update(ci, w, m.t);
    };
    m.team->for_chunks(n, 16, body);
  }
  m.exchange_spikes();
  if (m.record) {
    m.fired_sorted.clear();
    for (const auto& b : m.fired_by_worker) m.fired_sorted.insert(m.fired_sorted.end(), b.begin(), b.end());
    std::sort(m.fired_sorted.begin(), m.fired_sorted.end());  // worker order must not show
  }
  if (on_output) {
    for (const auto& b : m.outputs)
      for (const auto& o : b) on_output(o.port, o.tick);
  }
  ++m.t;
}

std::int64_t tn_simulator::tick() const { return impl_->t; }
const std::vector<fired_neuron>& tn_simulator::fired() const { return impl_->fired_sorted; }
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
