// Epoch planning and the memory estimate of the TrueNorth simulator.

#include "core_engine.hpp"
#include "epochs.hpp"

#include <algorithm>
#include <bit>
#include <fstream>
#include <numeric>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include <nmc/error.hpp>
#include <nmc/runtime/tn_sim.hpp>

#include "layout.hpp"

namespace nmc::runtime {
namespace tn {

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


std::size_t epoch_plan::spikes() const { return std::accumulate(to_part.begin(), to_part.end(), std::size_t{0}); }

int scheduler_slots_for(const hw::tn_program& p, bool acyclic) {
  const std::size_t bytes = p.cores.size() * long_slots * static_cast<std::size_t>(p.target.axons) / 8;
  return acyclic && bytes <= long_slots_bytes ? long_slots : short_slots;
}

epoch_plan plan_epochs(const hw::tn_program& p, const std::vector<std::vector<std::uint32_t>>& levels, bool record,
                       int parts, const std::vector<bool>* direct) {
  const auto np = static_cast<std::size_t>(parts);
  auto count = [&](auto&& for_each_core) {
    epoch_plan e;
    e.to_part.assign(np, 0);
    for_each_core([&](std::size_t ci) {
      const bool buffered = !direct || !(*direct)[ci];
      for (const auto& nr : p.cores[ci].neurons) {
        if (buffered && nr.dest == hw::dest_kind::core) ++e.to_part[static_cast<std::size_t>(part_of(nr.dest_core, parts))];
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
      std::min<std::size_t>(epoch_limit(scheduler_slots_for(p, true)), cap / (std::max<std::size_t>(widest_spikes, 1) * sizeof(output_spike))));
  if (ticks < 4) return whole;
  const auto t = static_cast<std::size_t>(ticks);
  whole.ticks = ticks;
  for (std::size_t k = 0; k < np; ++k) whole.to_part[k] = std::max(whole.to_part[k], widest.to_part[k] * t);
  whole.outputs *= t;  // off-chip spikes are handed over once per epoch, after every level
  return whole;
}


}  // namespace tn

std::size_t estimate_memory_bytes(const hw::tn_program& p, int threads) {
  const auto axons = static_cast<std::size_t>(p.target.axons), neurons = static_cast<std::size_t>(p.target.neurons);
  // Per core: crossbar, axon types, parameters, the fast-path arrays, state
  // and schedulers; per worker: spike, output and record buffers sized for
  // every neuron firing at once.
  // A fast-path core keeps about 72 bytes per neuron (tn::core_data), a
  // general one its parameters and weights; both their potentials, hops and
  // crossings.
  std::size_t neuron_bytes = 0;
  // A fast core on the epoch kernel also keeps its taps: 2 bytes per
  // synapse of a neuron with a destination, at most 7 of padding and 4 bytes
  // of counts per such neuron (tn::lower_epoch_kernel), with long epochs only.
  const auto levels = tn::core_levels(p);
  const auto slots = static_cast<std::size_t>(tn::scheduler_slots_for(p, !levels.empty()));
  for (std::size_t ci = 0; ci < p.cores.size(); ++ci) {
    if (!tn::takes_fast_path(p, ci)) {
      neuron_bytes += neurons * (sizeof(hw::tn_neuron) + 40);
      continue;
    }
    neuron_bytes += neurons * 96;
    if (slots != tn::long_slots) continue;
    const auto& c = p.cores[ci];
    const std::size_t row_words = neurons / 64;
    std::vector<std::uint64_t> dest(row_words, 0);
    std::size_t with_dest = 0;
    for (std::size_t j = 0; j < c.neurons.size() && j < neurons; ++j)
      if (c.neurons[j].dest != hw::dest_kind::none) dest[j / 64] |= std::uint64_t{1} << (j % 64), ++with_dest;
    std::size_t taps = 0;
    for (std::size_t a = 0; a < axons; ++a)
      for (std::size_t w = 0; w < row_words; ++w)
        taps += static_cast<std::size_t>(std::popcount(c.crossbar[a * row_words + w] & dest[w]));
    neuron_bytes += 2 * (taps + 7 * with_dest) + 4 * with_dest;
  }
  const std::size_t per_core = axons * neurons / 8 + axons + slots * axons / 8 + 1024;
  const auto plan = tn::plan_epochs(p, levels, false, tn::delivery_parts(threads));
  const std::size_t per_worker = plan.spikes() * sizeof(spike) + plan.outputs * sizeof(output_spike) +
                                 p.cores.size() * neurons * sizeof(fired_neuron) + neurons * sizeof(std::int32_t);
  return p.cores.size() * per_core + neuron_bytes + static_cast<std::size_t>(std::max(threads, 1)) * per_worker;
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

}  // namespace nmc::runtime
