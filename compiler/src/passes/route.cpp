// route: measures every core-to-core spike path under dimension-order routing
// (x first, then y) on the mesh of chips: hops, chip boundaries crossed, and
// the reach limit of the packet's relative address. The same estimate is made
// for a naive layer-by-layer row-major placement, so `nmc inspect` can show
// what placement gained.

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

#include <nmc/compiler/passes.hpp>
#include <nmc/error.hpp>

namespace nmc::compiler {

namespace {
struct xy {
  int x, y;
};
}  // namespace

void route_pass(compile_state& s) {
  const auto& t = s.target;
  auto global = [&](const logical_core& c) {
    return xy{static_cast<int>(c.chip % s.chips_x) * t.cores_x + c.x, static_cast<int>(c.chip / s.chips_x) * t.cores_y + c.y};
  };
  // Naive placement: cores in layer order, row-major over chip 0, then chip 1, ...
  std::vector<xy> naive(s.cores.size());
  {
    int k = 0;
    for (auto ui : s.order)
      for (auto ci : s.units[static_cast<std::size_t>(ui)].cores) {
        const int chip = k / t.cores_per_chip(), d = k % t.cores_per_chip();
        naive[static_cast<std::size_t>(ci)] = {chip % s.chips_x * t.cores_x + d % t.cores_x,
                                                chip / s.chips_x * t.cores_y + d / t.cores_x};
        ++k;
      }
  }
  route_stats r;
  std::int64_t naive_hops = 0;
  // The first path out of reach (reported), and the widest spans of all (the
  // reach that would place the model as it is, for the hint).
  const logical_core* far_from = nullptr;
  const logical_core* far_to = nullptr;
  int far_dx = 0, far_dy = 0, span_x = 0, span_y = 0, beyond = 0;
  for (const auto& c : s.cores) {
    const xy a = global(c);
    for (const auto& sl : c.slots) {
      if (sl.output) continue;
      const auto& d = s.cores[static_cast<std::size_t>(sl.dest_core)];
      const xy b = global(d);
      const int dx = b.x - a.x, dy = b.y - a.y;
      span_x = std::max(span_x, std::abs(dx));
      span_y = std::max(span_y, std::abs(dy));
      if (std::abs(dx) > t.reach_x_cores || std::abs(dy) > t.reach_y_cores) {
        if (!far_from) far_from = &c, far_to = &d, far_dx = dx, far_dy = dy;
        ++beyond;
      }
      const std::int64_t hops = std::abs(dx) + std::abs(dy);
      const std::int64_t crossings = std::abs(b.x / t.cores_x - a.x / t.cores_x) + std::abs(b.y / t.cores_y - a.y / t.cores_y);
      ++r.connections;
      r.total_hops += hops;
      r.max_hops = std::max(r.max_hops, hops);
      r.chip_crossings += crossings;
      r.crossing_connections += crossings > 0;
      const xy na = naive[static_cast<std::size_t>(&c - s.cores.data())], nb = naive[static_cast<std::size_t>(sl.dest_core)];
      naive_hops += std::abs(na.x - nb.x) + std::abs(na.y - nb.y);
    }
  }
  if (far_from) {
    const auto& c = *far_from;
    const auto& d = *far_to;
    throw fit_error(fmt::format("a spike path from layer '{}' (chip {} core {},{}) to layer '{}' (chip {} core {},{}) "
                                "spans {} x {} cores, beyond the reach of +/-{} x +/-{} ({} of {} paths are out of "
                                "reach after placement on {} chips arranged {} x {})",
                                s.units[static_cast<std::size_t>(c.unit)].name, c.chip, c.x, c.y,
                                s.units[static_cast<std::size_t>(d.unit)].name, d.chip, d.x, d.y, far_dx, far_dy,
                                t.reach_x_cores, t.reach_y_cores, beyond, r.connections, s.opts.chips, s.chips_x,
                                s.chips_y),
                    fmt::format("this placement needs reach_x_cores >= {} and reach_y_cores >= {} in the target "
                                "file; or give the receiving layer more groups (fewer inputs per neuron, so that "
                                "they come from fewer cores), or fewer neurons in the sending layer",
                                span_x, span_y));
  }
  r.mean_hops = r.connections ? static_cast<double>(r.total_hops) / static_cast<double>(r.connections) : 0.0;
  r.naive_mean_hops = r.connections ? static_cast<double>(naive_hops) / static_cast<double>(r.connections) : 0.0;
  s.routes = r;
}

}  // namespace nmc::compiler
