// The tick loop of the TrueNorth simulator: which core runs when, on which
// worker, and where its spikes go. The neuron equations live in the core
// engine (truenorth/core_engine.cpp), the kernels in truenorth/kernels.cpp,
// the epoch plan and the memory estimate in truenorth/epochs.cpp, and spike
// delivery behind the spike_exchange seam (tn_exchange.hpp).
//
// The order of one tick (tn_sim.hpp says it for users):
//   1. inputs due this tick are already in the axon schedulers (inject*);
//   2. update: every core this process owns, in parallel over workers, reads
//      and clears its scheduler slot for the tick, integrates, updates its
//      neurons and writes its spikes into its worker's buffers, bucketed by
//      destination partition;
//   3. exchange: the buffers go through the spike_exchange once, which sets
//      each spike's axon bit in slot tick + delay of its core (here or on the
//      process that owns it); then the output spikes are handed over.
// A spike emitted at tick t lands at t + delay >= t + 1, so no core reads a
// slot that this tick's exchange writes: the update phase needs no ordering
// among cores. Epochs (run_epoch) run the same steps level by level.

#include <nmc/runtime/tn_sim.hpp>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <string>

#include <fmt/format.h>

#include <nmc/error.hpp>
#include <nmc/runtime/parallel.hpp>
#include <nmc/runtime/tn_exchange.hpp>

#include "huge_buffer.hpp"
#include "truenorth/core_engine.hpp"
#include "truenorth/epoch_kernel.hpp"
#include "truenorth/epochs.hpp"
#include "truenorth/layout.hpp"

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

event_counts& event_counts::operator-=(const event_counts& o) {
  synaptic_events -= o.synaptic_events;
  neuron_updates -= o.neuron_updates;
  spikes -= o.spikes;
  hops -= o.hops;
  chip_crossings -= o.chip_crossings;
  offchip_spikes -= o.offchip_spikes;
  return *this;
}

struct tn_simulator::impl {
  const hw::tn_program& program;
  int threads;
  tn::engine_config engine;
  std::vector<tn::core_data> cores;  // every core of the program; only the owned ones lowered
  std::vector<std::uint32_t> owned;  // the cores this process updates, ascending
  // Axon schedulers of every core, [core][slot][axon word]: a core's slots
  // are contiguous, so its update reads one short run of memory.
  huge_buffer<std::uint64_t> sched;
  huge_buffer<std::uint64_t> crossbars;  // the owned cores' crossbars, in `owned` order
  std::size_t axon_words = 0;
  std::size_t slots = tn::short_slots;  // per scheduler (tn::scheduler_slots_for)
  std::int64_t t = 0;
  std::unique_ptr<worker_team> team;  // threads > 1 only
  // Spikes are bucketed by destination partition (tn::part_of) as they are
  // emitted, so the exchange can deliver each partition on one thread with
  // plain ORs. Buffer [worker * parts + partition].
  int parts = 1;
  std::vector<tn::spike_buffer> spikes;
  std::vector<std::span<const spike>> spike_views;
  std::vector<std::vector<output_spike>> outputs;  // per worker
  std::vector<std::vector<event_counts>> counts;   // per worker, per layer
  std::vector<std::vector<fired_neuron>> fired_by_worker;
  std::vector<fired_neuron> fired_sorted;
  std::vector<std::vector<std::int32_t>> input;  // per worker: a core's input sums this tick
  std::vector<tn::worker_io> io;                 // per worker: views of the above
  mutable std::vector<event_counts> summed;
  local_exchange own_exchange;
  spike_exchange* exchange = &own_exchange;
  std::unique_ptr<spike_delivery> delivery;

  // Epoch execution (acyclic programs): the owned cores grouped by level of
  // the core graph; `epoch` ticks per advance (1: tick by tick). Every
  // process walks every level, owning cores there or not, so that each
  // exchange is made by all of them.
  std::vector<std::vector<std::uint32_t>> levels;
  int epoch = 1;

  impl(const hw::tn_program& p, const sim_options& opts);
  // Sets axon `axon` of core `ci` at `tick`, in either layout.
  void set_input(std::size_t ci, std::size_t axon, std::int64_t tick) {
    if (engine.ring) {
      const auto s = static_cast<std::size_t>(tick) % slots;
      sched.data()[ci * slots * axon_words + axon * tn::ring_words + s / 64] |= std::uint64_t{1} << (s % 64);
    } else {
      slot_words(ci, tick)[axon / 64] |= std::uint64_t{1} << (axon % 64);
    }
  }
  std::uint64_t* slot_words(std::size_t ci, std::int64_t tick) {
    return sched.data() + (ci * slots + static_cast<std::size_t>(tick % static_cast<std::int64_t>(slots))) * axon_words;
  }
  void update(std::uint32_t ci, int worker, std::int64_t tick) {
    tn::update_core(cores[ci], ci, slot_words(ci, tick), tick, engine, io[static_cast<std::size_t>(worker)]);
  }
  void update_epoch(std::uint32_t ci, int worker, int ticks) {
    tn::update_core_epoch(cores[ci], ci, sched.data() + ci * slots * axon_words, t, ticks, engine,
                          io[static_cast<std::size_t>(worker)]);
  }
  void exchange_spikes() {
    for (std::size_t w = 0; w < spikes.size(); ++w) spike_views[w] = {spikes[w].store.data(), spikes[w].size};
    exchange->exchange(spike_views, *delivery);
    for (auto& b : spikes) b.size = 0;
  }
  void hand_over_outputs(const output_fn& on_output) {
    exchange->outputs(outputs, on_output);
    for (auto& b : outputs) b.clear();
  }
  void run_epoch(int ticks);
};

tn_simulator::impl::impl(const hw::tn_program& p, const sim_options& opts)
    : program(p), threads(opts.threads), parts(tn::delivery_parts(opts.threads)) {
  const bool plain = opts.plain_kernels;
#if defined(__x86_64__) && defined(__GNUC__)
  engine.avx512 = !plain && opts.avx512_kernels && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
#endif
  const auto& tg = p.target;
  engine.vmax = (std::int64_t{1} << (tg.potential_bits - 1)) - 1;
  engine.vmin = -(std::int64_t{1} << (tg.potential_bits - 1));
  engine.parts = parts;
  engine.record = opts.record_spikes;
  if (opts.exchange) exchange = opts.exchange;
  if (opts.partition && !opts.partition->owner.empty() && opts.partition->owner.size() != p.cores.size()) {
    throw internal_error(fmt::format("partition of {} cores for a program of {}", opts.partition->owner.size(),
                                     p.cores.size()));
  }
  cores.resize(p.cores.size());
  for (std::uint32_t ci = 0; ci < p.cores.size(); ++ci)
    if (!opts.partition || opts.partition->owns(ci)) owned.push_back(ci);
  axon_words = static_cast<std::size_t>(tg.axons / 64);
  levels = tn::core_levels(p);
  slots = static_cast<std::size_t>(tn::scheduler_slots_for(p, !levels.empty()));
  engine.slots = static_cast<int>(slots);
  sched = huge_buffer<std::uint64_t>(cores.size() * slots * axon_words);
  const std::size_t crossbar_words = static_cast<std::size_t>(tg.axons) * static_cast<std::size_t>(tg.neurons / 64);
  crossbars = huge_buffer<std::uint64_t>(owned.size() * crossbar_words);
  std::size_t total_neurons = 0;
  for (std::size_t k = 0; k < owned.size(); ++k) {
    auto& c = cores[owned[k]];
    tn::lower_core(p, owned[k], plain, parts, crossbars.data() + k * crossbar_words, c);
    // The epoch kernel's taps cost about 14 KB per core: taken with long
    // epochs (programs of up to about 16,000 cores), where it pays most.
    if (opts.epoch_kernel && slots == tn::long_slots) tn::lower_epoch_kernel(c);
    c.owned = true;
    total_neurons += static_cast<std::size_t>(c.neurons);
  }
  // Direct delivery for fast cores whose every destination is simulated here
  // and whose runs are long enough to pay (tn::core_data::runs).
  engine.sched = sched.data();
  engine.axon_words = axon_words;
  engine.atomic = threads > 1;
#if defined(__x86_64__) && defined(__GNUC__)
  engine.bmi2 = __builtin_cpu_supports("bmi2");
  engine.avx2 = !plain && __builtin_cpu_supports("avx2");
#endif
  if (!plain && exchange->local_spikes_direct()) {
    for (auto ci : owned) {
      auto& c = cores[ci];
      if (!c.fast || c.runs.empty()) continue;
      int to_core = 0;
      for (auto w : c.to_core) to_core += std::popcount(w);
      const bool local = std::all_of(c.runs.begin(), c.runs.end(), [&](const auto& r) { return cores[r.core].owned; });
      c.direct = local && to_core >= 4 * static_cast<int>(c.runs.size());
    }
  }
  // Ring mode (epoch_kernel.hpp): every core on the epoch kernel, all of
  // them here, no recording. The schedulers then hold axon rings.
  engine.ring = !plain && slots == tn::long_slots && axon_words == 4 && !engine.record && owned.size() == cores.size() &&
                exchange->local_spikes_direct() &&
                std::all_of(owned.begin(), owned.end(), [&](std::uint32_t ci) { return cores[ci].batched; });
  if (threads > 1) team = std::make_unique<worker_team>(threads);
  // Direct cores need no spike buffers, which lets epochs grow. Not when the
  // cores are split among processes: which cores deliver directly differs
  // from process to process, and every process must run the same epochs, so
  // the plan then depends on the program alone.
  // In ring mode no core uses the spike buffers.
  std::vector<bool> direct(cores.size());
  for (std::size_t ci = 0; ci < cores.size(); ++ci) direct[ci] = cores[ci].direct || engine.ring;
  const tn::epoch_plan plan = tn::plan_epochs(p, levels, engine.record, parts, opts.partition ? nullptr : &direct);
  epoch = plan.ticks;
  for (auto& l : levels) std::erase_if(l, [&](std::uint32_t ci) { return !cores[ci].owned; });
  // Buffers sized for the worst case (every neuron fires) so the loop never allocates.
  const auto nw = static_cast<std::size_t>(threads);
  spikes.resize(nw * static_cast<std::size_t>(parts));
  for (std::size_t b = 0; b < spikes.size(); ++b) spikes[b].store.resize(plan.to_part[b % static_cast<std::size_t>(parts)]);
  outputs.resize(nw);
  counts.assign(nw, std::vector<event_counts>(p.layers.size()));
  spike_views.resize(spikes.size());
  for (auto& b : outputs) b.reserve(plan.outputs);
  if (engine.record) {
    fired_by_worker.resize(nw);
    for (auto& b : fired_by_worker) b.reserve(total_neurons);
    fired_sorted.reserve(total_neurons);
  }
  input.assign(nw, std::vector<std::int32_t>(static_cast<std::size_t>(tg.neurons), 0));
  io.resize(nw);
  for (std::size_t w = 0; w < nw; ++w) {
    io[w] = {spikes.data() + w * static_cast<std::size_t>(parts), &outputs[w], counts[w].data(),
             engine.record ? &fired_by_worker[w] : nullptr, input[w].data()};
  }
  delivery = std::make_unique<spike_delivery>(sched.data(), axon_words, slots, team.get(), parts);
}

tn_simulator::tn_simulator(const hw::tn_program& program, const sim_options& opts) {
  if (opts.threads < 1) throw usage_error(fmt::format("--threads {} must be at least 1", opts.threads));
  check_memory(program, opts);
  impl_ = std::make_unique<impl>(program, opts);
}

tn_simulator::~tn_simulator() = default;

void tn_simulator::inject(std::uint32_t core, std::uint16_t axon, int delay) {
  auto& m = *impl_;
  if (core >= m.cores.size() || axon >= m.axon_words * 64 || delay < 0 || delay >= tn::hardware_slots) {
    throw usage_error(fmt::format("inject: core {} / axon {} / delay {} out of range", core, axon, delay));
  }
  m.set_input(core, axon, m.t + delay);
}

void tn_simulator::inject_now(std::span<const hw::tn_input_target> targets) {
  auto& m = *impl_;
  for (const auto& tg : targets) m.set_input(tg.core, tg.axon, m.t);
}

void tn_simulator::inject_ahead(std::span<const hw::tn_input_target> targets, int ticks_ahead) {
  auto& m = *impl_;
  if (ticks_ahead < 0 || ticks_ahead >= m.epoch)
    throw usage_error(fmt::format("inject_ahead: {} ticks ahead, at most {}", ticks_ahead, m.epoch - 1));
  for (const auto& tg : targets) m.set_input(tg.core, tg.axon, m.t + ticks_ahead);
}

std::vector<std::uint64_t> tn_simulator::prepare_inputs(std::span<const hw::tn_input_target> targets) const {
  const auto& m = *impl_;
  std::vector<std::uint64_t> out;
  out.reserve(targets.size());
  for (const auto& tg : targets) {
    if (tg.core >= m.cores.size() || tg.axon >= m.axon_words * 64)
      throw usage_error(fmt::format("prepare_inputs: core {} / axon {} out of range", tg.core, tg.axon));
    // Tick-major: the axon's word in slot 0 and its bit; rings: the first
    // word of the axon's ring.
    const std::uint64_t core = std::uint64_t{tg.core} * m.slots * m.axon_words;
    out.push_back(m.engine.ring ? (core + tg.axon * tn::ring_words) << 6 : (core + tg.axon / 64) << 6 | (tg.axon % 64));
  }
  return out;
}

void tn_simulator::inject_prepared(std::span<const std::uint64_t> prepared, int ticks_ahead) {
  auto& m = *impl_;
  if (ticks_ahead < 0 || ticks_ahead >= m.epoch)
    throw usage_error(fmt::format("inject_prepared: {} ticks ahead, at most {}", ticks_ahead, m.epoch - 1));
  const auto s = static_cast<std::size_t>((m.t + ticks_ahead) % static_cast<std::int64_t>(m.slots));
  if (m.engine.ring) {
    std::uint64_t* base = m.sched.data() + s / 64;
    const std::uint64_t bit = std::uint64_t{1} << (s % 64);
    for (const auto e : prepared) base[e >> 6] |= bit;
    return;
  }
  std::uint64_t* base = m.sched.data() + s * m.axon_words;
  for (const auto e : prepared) base[e >> 6] |= std::uint64_t{1} << (e & 63);
}

void tn_simulator::inject_epoch(std::span<const std::uint64_t> prepared, std::span<const std::uint64_t, 4> ticks) {
  auto& m = *impl_;
  for (std::size_t b = 0; b < 4; ++b)
    if (ticks[b] && 64 * b + static_cast<std::size_t>(std::bit_width(ticks[b])) > static_cast<std::size_t>(m.epoch))
      throw usage_error(fmt::format("inject_epoch: a tick beyond the epoch of {}", m.epoch));
  if (m.engine.ring) {
    const auto s = static_cast<std::size_t>(m.t % static_cast<std::int64_t>(m.slots));
    constexpr std::size_t ahead = 8;  // the ring a few targets on is fetched meanwhile
    for (std::size_t i = 0; i < prepared.size(); ++i) {
      if (i + ahead < prepared.size()) __builtin_prefetch(m.sched.data() + (prepared[i + ahead] >> 6), 1);
      tn::ring_or(m.sched.data() + (prepared[i] >> 6), s, ticks.data(), 4, false);
    }
    return;
  }
  for (std::size_t b = 0; b < 4; ++b)
    for (std::uint64_t bits = ticks[b]; bits; bits &= bits - 1) inject_prepared(prepared, static_cast<int>(64 * b) + std::countr_zero(bits));
}

int tn_simulator::epoch_ticks() const { return impl_->epoch; }

void tn_simulator::advance(int ticks, const output_fn& on_output) {
  auto& m = *impl_;
  if (ticks < 1 || ticks > m.epoch) throw usage_error(fmt::format("advance: {} ticks, at most {}", ticks, m.epoch));
  if (ticks == 1) return step(on_output);
  m.run_epoch(ticks);
  m.hand_over_outputs(on_output);
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
      for (auto ci : level) update_epoch(ci, 0, ticks);
    } else {
      auto body = [&](std::size_t begin, std::size_t end, int w) {
        for (std::size_t i = begin; i < end; ++i) update_epoch(level[i], w, ticks);
      };
      team->for_chunks(level.size(), 2, body);
    }
    exchange_spikes();
  }
}

void tn_simulator::step(const output_fn& on_output) {
  auto& m = *impl_;
  for (auto& b : m.outputs) b.clear();
  for (auto& b : m.fired_by_worker) b.clear();
  if (m.engine.ring) {  // the schedulers are rings: only the epoch path reads them
    m.run_epoch(1);
    m.hand_over_outputs(on_output);
    ++m.t;
    return;
  }
  const std::size_t n = m.owned.size();
  if (m.threads == 1) {
    for (std::size_t i = 0; i < n; ++i) m.update(m.owned[i], 0, m.t);
  } else {
    auto body = [&](std::size_t begin, std::size_t end, int w) {
      for (std::size_t i = begin; i < end; ++i) m.update(m.owned[i], w, m.t);
    };
    m.team->for_chunks(n, 16, body);
  }
  m.exchange_spikes();
  if (m.engine.record) {
    m.fired_sorted.clear();
    for (const auto& b : m.fired_by_worker) m.fired_sorted.insert(m.fired_sorted.end(), b.begin(), b.end());
    std::sort(m.fired_sorted.begin(), m.fired_sorted.end());  // worker order must not show
  }
  m.hand_over_outputs(on_output);
  ++m.t;
}

std::int64_t tn_simulator::tick() const { return impl_->t; }
const std::vector<fired_neuron>& tn_simulator::fired() const { return impl_->fired_sorted; }
std::int32_t tn_simulator::potential(std::uint32_t core, std::uint32_t neuron) const {
  const auto& c = impl_->cores.at(core);
  if (!c.owned) throw usage_error(fmt::format("potential: core {} is not simulated by this process", core));
  return c.v.at(neuron);
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
