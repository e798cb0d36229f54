#include <nmc/runtime/tn_sim.hpp>

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <fmt/format.h>

#include <nmc/error.hpp>
#include <nmc/runtime/dataset.hpp>
#include <nmc/runtime/parallel.hpp>

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
  // Fast path: deterministic neurons without leak reversal, 256 neurons, and
  // weights small enough that a tick's input sum fits in 16 bits.
  bool fast = false;
  std::vector<std::int16_t> weight16;  // [type][neuron]
  // Reset after a spike: V = pos_a * V + pos_b; below -beta: V = neg_a * V + neg_b.
  std::vector<std::int32_t> leak, alpha, beta, pos_a, pos_b, neg_a, neg_b;
  // Stateless cores (every neuron: alpha 1, beta 0, kappa 1, normal reset to
  // R = 0, V0 = 0) keep V = 0 after every tick: a neuron fires iff its input
  // sum >= 1 - leak. Only these thresholds and a mask of neurons with a
  // destination are needed.
  bool stateless = false;
  std::vector<std::int16_t> threshold16;
  std::array<std::uint64_t, 4> has_dest{};
  // Destinations, one 12-byte record per neuron for the spike loop.
  struct destination {
    std::uint32_t core;
    std::uint16_t axon;
    std::uint16_t hops;
    std::uint8_t kind;
    std::uint8_t delay;
    std::uint8_t crossings;
  };
  std::vector<destination> dest;
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
  std::unique_ptr<worker_team> team;  // threads > 1 only
  std::vector<std::vector<spike>> spikes;         // per worker
  std::vector<std::vector<output_spike>> outputs;  // per worker
  std::vector<std::vector<event_counts>> counts;   // per worker, per layer
  bool record = false;
  std::vector<std::vector<fired_neuron>> fired_by_worker;
  std::vector<fired_neuron> fired_sorted;
  bool avx512 = false;
  std::vector<std::vector<std::int32_t>> input;  // per worker: a core's input sums this tick
  mutable std::vector<event_counts> summed;
  std::unique_ptr<spike_exchange> exchange;

  impl(const hw::tn_program& p, int threads_, bool record_, bool plain);
  void update_core(std::size_t ci, int worker);
  void update_core_fast(std::size_t ci, int worker);
};

namespace {

// Delivers spikes into the local schedulers. Bits are set with atomic ORs:
// the order of delivery cannot change the result.
class local_exchange final : public spike_exchange {
public:
  local_exchange(std::vector<core_data>& cores, worker_team* team) : cores_(cores), team_(team) {}
  void exchange(std::span<const std::vector<spike>> buffers) override {
    auto deliver = [&](const std::vector<spike>& buf) {
      for (const spike& s : buf) {
        auto& c = cores_[s.core];
        auto& word = c.sched[static_cast<std::size_t>(s.slot) * static_cast<std::size_t>(c.axon_words) + s.axon / 64];
        std::atomic_ref<std::uint64_t>(word).fetch_or(std::uint64_t{1} << (s.axon % 64), std::memory_order_relaxed);
      }
    };
    if (!team_ || buffers.size() == 1) {  // one thread: plain ORs
      for (const auto& b : buffers)
        for (const spike& s : b) {
          auto& c = cores_[s.core];
          c.sched[static_cast<std::size_t>(s.slot) * static_cast<std::size_t>(c.axon_words) + s.axon / 64] |=
              std::uint64_t{1} << (s.axon % 64);
        }
      return;
    }
    auto body = [&](std::size_t begin, std::size_t end, int) {
      for (std::size_t i = begin; i < end; ++i) deliver(buffers[i]);
    };
    team_->for_chunks(buffers.size(), 1, body);
  }

private:
  std::vector<core_data>& cores_;
  worker_team* team_;
};

}  // namespace

tn_simulator::impl::impl(const hw::tn_program& p, int threads_, bool record_, bool plain)
    : program(p), threads(threads_), record(record_) {
#if defined(__x86_64__) && defined(__GNUC__)
  avx512 = !plain && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
#endif
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
        c.dest[j] = {n.dest_core, n.dest_axon, c.hops[j], static_cast<std::uint8_t>(n.dest), n.delay_ticks, c.crossings[j]};
        if (n.dest != hw::dest_kind::none) c.has_dest[j / 64] |= std::uint64_t{1} << (j % 64);
      }
      c.stateless = std::all_of(src.neurons.begin(), src.neurons.end(), [](const hw::tn_neuron& n) {
        return n.threshold == 1 && n.neg_threshold == 0 && n.kappa == 1 && n.reset == hw::reset_mode::normal &&
               n.reset_potential == 0 && n.initial_potential == 0;
      });
      c.threshold16.resize(nn);
      for (std::size_t j = 0; j < nn; ++j) c.threshold16[j] = static_cast<std::int16_t>(1 - src.neurons[j].leak);
    }
  }
  if (threads > 1) team = std::make_unique<worker_team>(threads);
  // Buffers sized for the worst case (every neuron fires) so the loop never allocates.
  spikes.resize(static_cast<std::size_t>(threads));
  outputs.resize(static_cast<std::size_t>(threads));
  counts.assign(static_cast<std::size_t>(threads), std::vector<event_counts>(p.layers.size()));
  for (auto& b : spikes) b.reserve(total_neurons);
  for (auto& b : outputs) b.reserve(total_neurons);
  if (record) {
    fired_by_worker.resize(static_cast<std::size_t>(threads));
    for (auto& b : fired_by_worker) b.reserve(total_neurons);
    fired_sorted.reserve(total_neurons);
  }
  input.assign(static_cast<std::size_t>(threads), std::vector<std::int32_t>(static_cast<std::size_t>(tg.neurons), 0));
  exchange = std::make_unique<local_exchange>(cores, team.get());
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
      const std::uint64_t* row = c.crossbar.data() + static_cast<std::size_t>(a) * 4;
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
  for (int w = 0; w < c.axon_words; ++w) {
    std::uint64_t active = slot[w];
    slot[w] = 0;
    while (active) {
      const int a = w * 64 + std::countr_zero(active);
      active &= active - 1;
      const std::int16_t* wt = c.weight16.data() + static_cast<std::size_t>(c.axon_type[static_cast<std::size_t>(a)]) * 256;
      const std::uint64_t* row = c.crossbar.data() + static_cast<std::size_t>(a) * 4;
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

void tn_simulator::impl::update_core_fast(std::size_t ci, int worker) {
  core_data& c = cores[ci];
  event_counts& ev = counts[static_cast<std::size_t>(worker)][c.layer];
  std::uint64_t* slot = c.sched.data() + static_cast<std::size_t>(t % scheduler_slots) * static_cast<std::size_t>(c.axon_words);
  std::int32_t* in = input[static_cast<std::size_t>(worker)].data();
  std::uint64_t fired[4] = {};
  if (c.stateless && avx512) {
#if defined(__x86_64__) && defined(__GNUC__)
    ev.synaptic_events += integrate_avx512(c, slot, in, fired);
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
  auto& out = spikes[static_cast<std::size_t>(worker)];
  auto& outp = outputs[static_cast<std::size_t>(worker)];
  for (int w = 0; w < 4; ++w) {
    std::uint64_t bits = fired[w] & c.has_dest[static_cast<std::size_t>(w)];
    while (bits) {
      const auto sj = static_cast<std::size_t>(w * 64 + std::countr_zero(bits));
      bits &= bits - 1;
      ++ev.spikes;
      if (record) fired_by_worker[static_cast<std::size_t>(worker)].push_back({static_cast<std::uint32_t>(ci), static_cast<std::uint16_t>(sj)});
      const auto& d = c.dest[sj];
      if (d.kind == static_cast<std::uint8_t>(hw::dest_kind::core)) {
        out.push_back({d.core, d.axon, static_cast<std::uint16_t>((t + d.delay) % scheduler_slots)});
        ev.hops += d.hops;
        ev.chip_crossings += d.crossings;
      } else {
        outp.push_back({d.axon, t + d.delay});
        ++ev.offchip_spikes;
      }
    }
  }
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

std::size_t estimate_memory_bytes(const hw::tn_program& p, int threads) {
  const auto axons = static_cast<std::size_t>(p.target.axons), neurons = static_cast<std::size_t>(p.target.neurons);
  // Per core: crossbar, axon types, parameters, the fast-path arrays, state
  // and schedulers; per worker: spike, output and record buffers sized for
  // every neuron firing at once.
  const std::size_t per_core = axons * neurons / 8 + axons + neurons * (sizeof(hw::tn_neuron) + 96) +
                               scheduler_slots * axons / 8 + 512;
  const std::size_t per_worker = p.cores.size() * neurons * (sizeof(spike) + 16 + sizeof(fired_neuron));
  return p.cores.size() * per_core + static_cast<std::size_t>(std::max(threads, 1)) * per_worker;
}

namespace {
std::string human_bytes(std::size_t bytes) {
  constexpr double kib = 1024.0, mib = 1024.0 * kib, gib = 1024.0 * mib;
  const auto b = static_cast<double>(bytes);
  return b >= gib ? fmt::format("{:.1f} GiB", b / gib)
         : b >= mib ? fmt::format("{:.1f} MiB", b / mib)
                    : fmt::format("{:.1f} KiB", b / kib);
}
}  // namespace

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

// The tighter of --max-memory and the machine's available memory applies.
void check_memory(const hw::tn_program& p, const sim_options& opts) {
  const std::size_t machine = available_memory_bytes();
  if (opts.memory_limit_bytes > 0 && (machine == 0 || opts.memory_limit_bytes <= machine)) {
    check_memory(p, opts.threads, opts.memory_limit_bytes, "is allowed by --max-memory");
  } else {
    check_memory(p, opts.threads, machine);
  }
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
  auto& c = impl_->cores.at(core);
  if (axon >= static_cast<std::uint32_t>(c.axon_words * 64) || delay < 0 || delay >= scheduler_slots) {
    throw usage_error(fmt::format("inject: axon {} / delay {} out of range", axon, delay));
  }
  const auto slot = static_cast<std::size_t>((impl_->t + delay) % scheduler_slots);
  c.sched[slot * static_cast<std::size_t>(c.axon_words) + axon / 64] |= std::uint64_t{1} << (axon % 64);
}

void tn_simulator::inject_now(std::span<const hw::tn_input_target> targets) {
  auto& m = *impl_;
  const auto slot = static_cast<std::size_t>(m.t % scheduler_slots);
  for (const auto& tg : targets) {
    auto& c = m.cores[tg.core];
    c.sched[slot * static_cast<std::size_t>(c.axon_words) + tg.axon / 64] |= std::uint64_t{1} << (tg.axon % 64);
  }
}

void tn_simulator::step(const std::function<void(std::uint32_t, std::int64_t)>& on_output) {
  auto& m = *impl_;
  for (auto& b : m.spikes) b.clear();
  for (auto& b : m.outputs) b.clear();
  for (auto& b : m.fired_by_worker) b.clear();
  const std::size_t n = m.cores.size();
  if (m.threads == 1) {
    for (std::size_t ci = 0; ci < n; ++ci) m.cores[ci].fast ? m.update_core_fast(ci, 0) : m.update_core(ci, 0);
  } else {
    auto body = [&](std::size_t begin, std::size_t end, int w) {
      for (std::size_t ci = begin; ci < end; ++ci) m.cores[ci].fast ? m.update_core_fast(ci, w) : m.update_core(ci, w);
    };
    m.team->for_chunks(n, 16, body);
  }
  m.exchange->exchange(m.spikes);
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
