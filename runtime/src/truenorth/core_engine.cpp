// The core engine (core_engine.hpp): lowering and the neuron equations.

#include "core_engine.hpp"

#include <algorithm>
#include <bit>
#include <cstdlib>

#include <fmt/format.h>

#include <nmc/error.hpp>

#include "epoch_kernel.hpp"
#include "kernels.hpp"

namespace nmc::runtime::tn {

bool takes_fast_path(const hw::tn_program& p, std::size_t ci) {
  const auto& tg = p.target;
  int max_w = 0;
  for (const auto& n : p.cores[ci].neurons) {
    if (n.leak_reversal || n.stochastic_leak || n.threshold_mask_bits ||
        std::any_of(n.stochastic_weight.begin(), n.stochastic_weight.end(), [](auto b) { return b != 0; }))
      return false;
    for (auto w : n.weight) max_w = std::max(max_w, std::abs(static_cast<int>(w)));
  }
  return tg.neurons == 256 && max_w * tg.axons <= 32767;
}

void lower_core(const hw::tn_program& p, std::size_t ci, bool plain, int parts, std::uint64_t* crossbar,
                core_data& c) {
  const auto& tg = p.target;
  const std::size_t crossbar_words = static_cast<std::size_t>(tg.axons) * static_cast<std::size_t>(tg.neurons / 64);
  const auto& src = p.cores[ci];
  c.layer = src.layer;
  c.axon_words = tg.axons / 64;
  c.row_words = tg.neurons / 64;
  c.axon_type = src.axon_type;
  if (src.crossbar.size() != crossbar_words)
    throw internal_error(fmt::format("core {}: crossbar of {} words, expected {}", ci, src.crossbar.size(), crossbar_words));
  std::copy(src.crossbar.begin(), src.crossbar.end(), crossbar);
  c.crossbar = crossbar;
  c.fast = !plain && takes_fast_path(p, ci);
  if (!c.fast) c.params = src.neurons;  // the general path's copies (a fast core lowers into its own arrays)
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
  for (int g = 0; g < 4 && !c.fast; ++g) {
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
    // Runs for direct delivery: break where the destination core or delay
    // changes, or the axon does not increase.
    for (std::size_t j = 0; j < nn; ++j) {
      const auto& n = src.neurons[j];
      if (n.dest != hw::dest_kind::core) continue;
      auto* r = c.runs.empty() ? nullptr : &c.runs.back();
      const auto* prev = j > 0 ? &src.neurons[j - 1] : nullptr;  // if a neuron to a core: the last run's last
      const bool extends = r && prev && prev->dest == hw::dest_kind::core && r->core == n.dest_core &&
                           r->delay == n.delay_ticks && prev->dest_axon < n.dest_axon;
      if (!extends) {
        c.runs.push_back(
            {n.dest_core, static_cast<std::uint16_t>(j), c.hops[j], n.delay_ticks, c.crossings[j], 0, {}, {}, {}, {}});
        r = &c.runs.back();
      }
      const auto w = static_cast<std::uint8_t>(n.dest_axon / 64);
      if (r->words == 0 || r->word[static_cast<std::size_t>(r->words - 1)] != w) {
        r->word[r->words] = w;
        ++r->words;
      }
      r->mask[static_cast<std::size_t>(r->words - 1)] |= std::uint64_t{1} << (n.dest_axon % 64);
    }
    for (auto& r : c.runs)
      for (std::size_t k = 0; k < r.words; ++k) {
        const std::uint64_t m = r.mask[k], low = m & (~m + 1);
        r.len[k] = static_cast<std::uint8_t>(std::popcount(m));
        r.shift[k] = static_cast<std::int8_t>(((m + low) & m) == 0 ? std::countr_zero(m) : -1);
      }
    c.row_synapses.resize(static_cast<std::size_t>(tg.axons));
    for (std::size_t a = 0; a < c.row_synapses.size(); ++a) {
      int k = 0;
      for (int r = 0; r < c.row_words; ++r) k += std::popcount(c.crossbar[a * static_cast<std::size_t>(c.row_words) + static_cast<std::size_t>(r)]);
      c.row_synapses[a] = static_cast<std::uint16_t>(k);
    }
    std::size_t synapses = 0;
    for (auto k : c.row_synapses) synapses += k;
    c.dense_rows = c.axon_words == 4 && c.row_words == 4 && synapses >= 16 * c.row_synapses.size();
  }
}

namespace {

void emit_fast(const core_data& c, std::uint32_t ci, const std::uint64_t (*fired)[5], std::int64_t now,
               const engine_config& e, worker_io& io, bool runs_delivered = false);

void update_core_fast(core_data& c, std::uint32_t ci, std::uint64_t* slot, std::int64_t now, const engine_config& e,
                      worker_io& io) {
  event_counts& ev = io.counts[c.layer];
  std::int32_t* in = io.input;
  const bool avx512 = e.avx512;
  std::uint64_t fired[5] = {};  // the fifth stays zero (deliver_runs reads past a run's last word)
  if (c.stateless && avx512) {
#if defined(__x86_64__) && defined(__GNUC__)
    ev.synaptic_events += c.narrow ? integrate_narrow_avx512(c, slot, fired) : integrate_avx512(c, slot, in, fired);
#endif
  } else {
#if defined(__x86_64__) && defined(__GNUC__)
    ev.synaptic_events += avx512                    ? integrate_avx512(c, slot, in, nullptr)
                          : e.avx2 && c.dense_rows ? integrate_avx2(c, slot, in)
                                                   : integrate_scalar(c, slot, in);
#else
    ev.synaptic_events += integrate_scalar(c, slot, in);
#endif
    if (c.stateless) {
      for (int j = 0; j < c.neurons; ++j) fired[j / 64] |= std::uint64_t{in[j] >= c.threshold16[static_cast<std::size_t>(j)]} << (j % 64);
    } else {
      alignas(64) std::uint8_t fired_now[256] = {};
      const auto lo = static_cast<std::int32_t>(e.vmin), hi = static_cast<std::int32_t>(e.vmax);
#if defined(__x86_64__) && defined(__GNUC__)
      if (avx512) {
        update_fast_neurons_avx512(c.neurons, c.v.data(), in, c, lo, hi, fired_now);
      } else if (e.avx2) {
        update_fast_neurons_avx2(c.neurons, c.v.data(), in, c, lo, hi, fired_now);
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
  emit_fast(c, ci, &fired, now, e, io);
}

// The spikes of the neurons set in `fired_at` (4 words and a fifth, zero)
// at tick `now`: into the destination schedulers (direct, unless
// `runs_delivered` says the caller did), the worker's spike buffers, or its
// off-chip outputs; counted in the core's layer.
void emit_fast(const core_data& c, std::uint32_t ci, const std::uint64_t (*fired_at)[5], std::int64_t now,
               const engine_config& e, worker_io& io, bool runs_delivered) {
  const std::uint64_t* fired = *fired_at;
  event_counts& ev = io.counts[c.layer];
  const int parts = e.parts;
  // Emission with the buffer's cursor and the counters in registers.
  spike_buffer* out = io.spikes;
  auto& outp = *io.outputs;
  std::int64_t fired_count = 0, hop_count = 0, crossing_count = 0;
  if (e.record)
    for (int w = 0; w < 4; ++w)
      for (std::uint64_t bits = fired[w] & c.has_dest[static_cast<std::size_t>(w)]; bits; bits &= bits - 1)
        io.fired->push_back(
            {ci, static_cast<std::uint16_t>(w * 64 + std::countr_zero(bits))});
  // Spikes to cores: the neuron's spike with its delay in the slot field, the
  // tick added (mod e.slots). One cursor in a register when there is
  // one partition; a cursor per partition otherwise.
  const std::uint64_t tick_add = static_cast<std::uint64_t>(now % e.slots) << 48;
  const std::uint64_t slot_wrap = ~(~static_cast<std::uint64_t>(e.slots - 1) << 48);  // keep the slot's bits
  auto spike_of = [&](std::size_t j) { return std::bit_cast<spike>((c.proto[j] + tick_add) & slot_wrap); };
  if (c.direct) {
    if (!runs_delivered)
      deliver_runs(c, fired_at, 1, now, e.sched, e.axon_words, e.slots, e.atomic, e.bmi2, hop_count, crossing_count);
  } else if (parts == 1) {
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

// The neuron equations of docs/HARDWARE.md 1.2 for one core and one tick.
void update_core_plain(core_data& c, std::uint32_t ci, std::uint64_t* slot, std::int64_t now, const engine_config& e,
                       worker_io& io) {
  event_counts& ev = io.counts[c.layer];
  spike_buffer* out = io.spikes;
  auto& outp = *io.outputs;
  const std::int64_t vmin = e.vmin, vmax = e.vmax;
  const int parts = e.parts;
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
    if (e.record) io.fired->push_back({ci, static_cast<std::uint16_t>(j)});
    if (p.dest == hw::dest_kind::core) {
      out[part_of(p.dest_core, parts)].push(
          {p.dest_core, p.dest_axon, static_cast<std::uint16_t>((now + p.delay_ticks) % e.slots)});
      ev.hops += c.hops[static_cast<std::size_t>(j)];
      ev.chip_crossings += c.crossings[static_cast<std::size_t>(j)];
    } else {
      outp.push_back({p.dest_axon, now + p.delay_ticks});
      ++ev.offchip_spikes;
    }
  }
}

}  // namespace

void update_core(core_data& c, std::uint32_t ci, std::uint64_t* slot, std::int64_t now, const engine_config& e,
                 worker_io& io) {
  c.fast ? update_core_fast(c, ci, slot, now, e, io) : update_core_plain(c, ci, slot, now, e, io);
}

namespace {

// update_core_epoch in ring mode: the epoch's inputs come from the core's
// axon rings, and each neuron's spikes of the epoch go into its destination
// axon's ring at once (or out, to off-chip ports, tick by tick).
void update_core_rings(const core_data& c, std::uint64_t* rings, std::int64_t t0, int ticks, const engine_config& e,
                       worker_io& io) {
  event_counts& ev = io.counts[c.layer];
  alignas(64) std::uint64_t out[256 * 4];
  std::size_t stride = 1;
  ev.synaptic_events += integrate_epoch_rings(c, rings, t0, ticks, e.avx2, out, stride);
  ev.neuron_updates += std::int64_t{c.with_dest} * ticks;
  auto& outp = *io.outputs;
  const std::size_t core_words = static_cast<std::size_t>(e.slots) * e.axon_words;
  auto ring_of = [&](const core_data::destination& d) {
    return e.sched + std::size_t{d.core} * core_words + std::size_t{d.axon} * ring_words;
  };
  constexpr std::size_t ahead = 8;  // the destination ring a few neurons on is fetched meanwhile
  for (std::size_t w = 0; w < 4; ++w)
    for (std::uint64_t bits = c.has_dest[w]; bits; bits &= bits - 1) {
      const std::size_t j = w * 64 + static_cast<std::size_t>(std::countr_zero(bits));
      if (j + ahead < 256 && c.dest[j + ahead].kind == static_cast<std::uint8_t>(hw::dest_kind::core))
        __builtin_prefetch(ring_of(c.dest[j + ahead]), 1);
      const std::uint64_t* o = out + j * stride;
      std::int64_t n = 0;
      for (std::size_t b = 0; b < stride; ++b) n += std::popcount(o[b]);
      if (n == 0) continue;
      ev.spikes += n;
      const auto& d = c.dest[j];
      if ((c.to_core[w] >> (j % 64)) & 1) {
        ring_or(ring_of(d), static_cast<std::size_t>(t0 + d.delay) % static_cast<std::size_t>(e.slots), o, stride, e.atomic);
        ev.hops += n * d.hops;
        ev.chip_crossings += n * d.crossings;
      } else {
        for (std::size_t b = 0; b < stride; ++b)
          for (std::uint64_t f = o[b]; f; f &= f - 1)
            outp.push_back({d.axon, t0 + static_cast<std::int64_t>(64 * b) + std::countr_zero(f) + d.delay});
        ev.offchip_spikes += n;
      }
    }
}

}  // namespace

void update_core_epoch(core_data& c, std::uint32_t ci, std::uint64_t* sched, std::int64_t t0, int ticks,
                       const engine_config& e, worker_io& io) {
  if (e.ring) return update_core_rings(c, sched, t0, ticks, e, io);
  if (!c.batched) {
    for (int k = 0; k < ticks; ++k)
      update_core(c, ci, sched + static_cast<std::size_t>((t0 + k) % e.slots) * e.axon_words, t0 + k, e, io);
    return;
  }
  std::uint64_t fired[long_epoch][5];
  event_counts& ev = io.counts[c.layer];
  ev.synaptic_events += integrate_epoch(c, sched, e.slots, t0, ticks, e.avx2, fired);
  ev.neuron_updates += std::int64_t{c.with_dest} * ticks;
  if (c.direct)  // all the epoch's spikes to cores at once, run by run
    deliver_runs(c, fired, ticks, t0, e.sched, e.axon_words, e.slots, e.atomic, e.bmi2, ev.hops, ev.chip_crossings);
  for (int k = 0; k < ticks; ++k) emit_fast(c, ci, fired + k, t0 + k, e, io, true);
}

}  // namespace nmc::runtime::tn
