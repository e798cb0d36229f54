// place: assigns every logical core a site (chip, x, y), minimising the
// traffic-weighted distance of its connections.
//
// The core graph (Boost.Graph) has an edge per pair of connected cores,
// weighted by the number of spike paths between them (a uniform-traffic
// estimate). A connection's cost is its mesh hops plus, per chip boundary
// crossed, the energy of a crossing expressed in hops. The start is
// layer-ordered along a Hilbert curve of each chip (neighbouring tiles of a
// layer and consecutive layers land close together); simulated annealing then
// swaps cores (or moves them to free sites) within a window that shrinks as
// the temperature falls. Deterministic for a given seed.

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include <boost/graph/adjacency_list.hpp>
#include <fmt/format.h>

#include <nmc/compiler/passes.hpp>
#include <nmc/error.hpp>

namespace nmc::compiler {

namespace {

using core_graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::undirectedS, boost::no_property,
                                         boost::property<boost::edge_weight_t, std::int64_t>>;

// Hilbert curve index -> (x, y) on an n x n grid (n a power of two).
std::pair<int, int> hilbert(int n, int d) {
  int x = 0, y = 0;
  for (int s = 1; s < n; s *= 2) {
    const int rx = 1 & (d / 2), ry = 1 & (d ^ rx);
    if (ry == 0) {
      if (rx == 1) x = s - 1 - x, y = s - 1 - y;
      std::swap(x, y);
    }
    x += s * rx, y += s * ry;
    d /= 4;
  }
  return {x, y};
}

struct mesh {
  int cores_x, cores_y, cols, chips;
  double crossing_hops;
  int gx(int site) const { return (site / (cores_x * cores_y)) % cols * cores_x + site % cores_x; }
  int gy(int site) const { return (site / (cores_x * cores_y)) / cols * cores_y + (site / cores_x) % cores_y; }
  int site_at(int x, int y) const {  // -1 when outside the chips
    const int cx = x / cores_x, cy = y / cores_y;
    const int chip = cy * cols + cx;
    if (x < 0 || y < 0 || cx >= cols || chip >= chips) return -1;
    return chip * cores_x * cores_y + (y % cores_y) * cores_x + x % cores_x;
  }
  double dist(int a, int b) const {
    const int ax = gx(a), ay = gy(a), bx = gx(b), by = gy(b);
    const int crossings = std::abs(ax / cores_x - bx / cores_x) + std::abs(ay / cores_y - by / cores_y);
    return std::abs(ax - bx) + std::abs(ay - by) + crossing_hops * crossings;
  }
};

}  // namespace

void place_pass(compile_state& s) {
  const auto& t = s.target;
  const int n = static_cast<int>(s.cores.size());
  s.chips_x = std::min(s.opts.chips, t.chips_x);
  s.chips_y = (s.opts.chips + s.chips_x - 1) / s.chips_x;
  const mesh m{t.cores_x, t.cores_y, s.chips_x, s.opts.chips,
               t.spike_hop_pj > 0 ? t.chip_crossing_pj / t.spike_hop_pj : 1.0};
  const int per_chip = t.cores_per_chip();
  const int sites = per_chip * s.opts.chips;

  // Core graph: edge weight = spike paths between the two cores.
  core_graph g(static_cast<std::size_t>(n));
  {
    std::map<std::pair<int, int>, std::int64_t> w;
    for (int c = 0; c < n; ++c)
      for (const auto& sl : s.cores[static_cast<std::size_t>(c)].slots)
        if (!sl.output && sl.dest_core != c) ++w[{std::min(c, sl.dest_core), std::max(c, sl.dest_core)}];
    for (const auto& [e, weight] : w) boost::add_edge(static_cast<std::size_t>(e.first), static_cast<std::size_t>(e.second), weight, g);
  }
  // Compact adjacency for the inner loop.
  std::vector<std::size_t> adj_begin(static_cast<std::size_t>(n) + 1, 0);
  std::vector<std::pair<int, double>> adj;
  const auto weight = boost::get(boost::edge_weight, g);
  for (int c = 0; c < n; ++c) {
    for (auto [e, end] = boost::out_edges(static_cast<std::size_t>(c), g); e != end; ++e)
      adj.emplace_back(static_cast<int>(boost::target(*e, g)), static_cast<double>(weight[*e]));
    adj_begin[static_cast<std::size_t>(c) + 1] = adj.size();
  }

  // Layer-ordered start along a Hilbert curve (serpentine rows if the chip side
  // is not a power of two).
  std::vector<int> order;
  for (auto ui : s.order)
    for (auto ci : s.units[static_cast<std::size_t>(ui)].cores) order.push_back(ci);
  const bool pow2 = t.cores_x == t.cores_y && (t.cores_x & (t.cores_x - 1)) == 0;
  std::vector<int> pos(static_cast<std::size_t>(n)), occ(static_cast<std::size_t>(sites), -1);
  for (int k = 0; k < n; ++k) {
    const int chip = k / per_chip, d = k % per_chip;
    int x = 0, y = 0;
    if (pow2) {
      std::tie(x, y) = hilbert(t.cores_x, d);
    } else {
      y = d / t.cores_x;
      x = y % 2 ? t.cores_x - 1 - d % t.cores_x : d % t.cores_x;
    }
    const int site = chip * per_chip + y * t.cores_x + x;
    pos[static_cast<std::size_t>(order[static_cast<std::size_t>(k)])] = site;
    occ[static_cast<std::size_t>(site)] = order[static_cast<std::size_t>(k)];
  }

  // Total cost, to keep the best placement seen.
  auto total_cost = [&] {
    double c = 0;
    for (int a = 0; a < n; ++a)
      for (std::size_t i = adj_begin[static_cast<std::size_t>(a)]; i < adj_begin[static_cast<std::size_t>(a) + 1]; ++i)
        if (adj[i].first > a) c += adj[i].second * m.dist(pos[static_cast<std::size_t>(a)], pos[static_cast<std::size_t>(adj[i].first)]);
    return c;
  };
  // Start from the better of the Hilbert order and plain row-major order.
  {
    const double hilbert_cost = total_cost();
    std::vector<int> rm_pos(static_cast<std::size_t>(n)), rm_occ(static_cast<std::size_t>(sites), -1);
    for (int k = 0; k < n; ++k) {
      rm_pos[static_cast<std::size_t>(order[static_cast<std::size_t>(k)])] = k;
      rm_occ[static_cast<std::size_t>(k)] = order[static_cast<std::size_t>(k)];
    }
    std::swap(pos, rm_pos);
    if (total_cost() < hilbert_cost) {
      occ = std::move(rm_occ);
    } else {
      std::swap(pos, rm_pos);
    }
  }
  std::vector<int> best_pos = pos;
  double cost = total_cost(), best_cost = cost;

  // Simulated annealing.
  std::mt19937_64 rng(s.opts.seed);
  auto delta_move = [&](int c, int from, int to, int other) {
    double d = 0;
    for (std::size_t i = adj_begin[static_cast<std::size_t>(c)]; i < adj_begin[static_cast<std::size_t>(c) + 1]; ++i) {
      const auto [nb, w] = adj[i];
      if (nb == other) continue;  // the swapped pair keeps its distance
      const int p = pos[static_cast<std::size_t>(nb)];
      d += w * (m.dist(to, p) - m.dist(from, p));
    }
    return d;
  };
  const int mesh_w = m.cols * t.cores_x, mesh_h = m.chips > m.cols ? s.chips_y * t.cores_y : t.cores_y;
  double radius = std::max(mesh_w, mesh_h);
  const auto moves = static_cast<std::int64_t>(s.opts.place_effort * std::max(200.0 * n, 20000.0));
  const std::int64_t steps = 100;
  const std::int64_t per_step = std::max<std::int64_t>(1, moves / steps);
  std::uniform_int_distribution<int> pick_core(0, std::max(0, n - 1));
  std::uniform_real_distribution<double> unit01(0.0, 1.0);
  auto propose = [&](int& a, int& to) {
    a = pick_core(rng);
    const int r = std::max(1, static_cast<int>(radius));
    std::uniform_int_distribution<int> off(-r, r);
    const int site = m.site_at(m.gx(pos[static_cast<std::size_t>(a)]) + off(rng), m.gy(pos[static_cast<std::size_t>(a)]) + off(rng));
    to = site;
  };
  auto delta_of = [&](int a, int to) {
    const int from = pos[static_cast<std::size_t>(a)];
    const int b = occ[static_cast<std::size_t>(to)];
    double d = delta_move(a, from, to, b);
    if (b >= 0) d += delta_move(b, to, from, a);
    return d;
  };
  // Initial temperature: the spread of random move costs.
  double temperature = 0;
  if (n > 1) {
    double sum = 0, sum2 = 0;
    int samples = 0;
    for (int i = 0; i < 200; ++i) {
      int a = 0, to = 0;
      propose(a, to);
      if (to < 0 || to == pos[static_cast<std::size_t>(a)]) continue;
      const double d = delta_of(a, to);
      sum += d, sum2 += d * d, ++samples;
    }
    if (samples > 1) temperature = 2.0 * std::sqrt(std::max(0.0, sum2 / samples - (sum / samples) * (sum / samples)));
  }
  for (std::int64_t step = 0; n > 1 && step < steps; ++step) {
    std::int64_t accepted = 0;
    for (std::int64_t i = 0; i < per_step; ++i) {
      int a = 0, to = 0;
      propose(a, to);
      if (to < 0 || to == pos[static_cast<std::size_t>(a)]) continue;
      const double d = delta_of(a, to);
      if (d <= 0 || (temperature > 0 && unit01(rng) < std::exp(-d / temperature))) {
        const int from = pos[static_cast<std::size_t>(a)], b = occ[static_cast<std::size_t>(to)];
        pos[static_cast<std::size_t>(a)] = to, occ[static_cast<std::size_t>(to)] = a;
        occ[static_cast<std::size_t>(from)] = b;
        if (b >= 0) pos[static_cast<std::size_t>(b)] = from;
        ++accepted;
        cost += d;
        if (cost < best_cost - 1e-9) best_cost = cost, best_pos = pos;
      }
    }
    // Keep the acceptance rate near 0.44 by adapting the window (VPR's rule).
    const double rate = static_cast<double>(accepted) / static_cast<double>(per_step);
    radius = std::clamp(radius * (1.0 - 0.44 + rate), 1.0, static_cast<double>(std::max(mesh_w, mesh_h)));
    temperature *= step < steps - 10 ? 0.9 : 0.0;  // finish greedily
  }

  for (int c = 0; c < n; ++c) {
    auto& core = s.cores[static_cast<std::size_t>(c)];
    const int site = best_pos[static_cast<std::size_t>(c)];
    core.chip = site / per_chip;
    core.x = site % t.cores_x;
    core.y = (site / t.cores_x) % t.cores_y;
  }
}

}  // namespace nmc::compiler
