// place: assigns every logical core a site (chip, x, y), minimising the
// traffic-weighted distance of its connections while keeping every spike path
// within the router's reach.
//
// The core graph (Boost.Graph) has an edge per pair of connected cores,
// weighted by the number of spike paths between them (a uniform-traffic
// estimate). A connection's cost is its mesh hops plus, per chip boundary
// crossed, the energy of a crossing expressed in hops, plus a penalty per core
// beyond the reach. The model uses the fewest chips that hold its cores, in a
// near-square block of the arrangement (hw::chip_grid).
//
// Three starts: layer order along a Hilbert curve of each chip, plain
// row-major order, and the spatial start: every core goes where its neurons'
// image position falls on the block of chips (so the tiles of every layer
// that see one part of the image sit together, whatever the layer sizes),
// legalised along a generalised Hilbert curve over a compact part of the
// block. Simulated annealing runs from the better layer-order start and from
// the spatial start (which anneals better differs from model to model) and
// the cheaper result is kept. It swaps cores (or moves them to free sites)
// within a window that shrinks as the temperature falls; its starting
// temperature comes from moves within one chip, so that the far larger cost
// of a chip crossing does not scramble the start (moves across a chip edge
// are still tried, and taken when they pay).
// Deterministic for a given seed.

#include <algorithm>
#include <cmath>
#include <random>
#include <tuple>

#include <boost/graph/adjacency_list.hpp>
#include <fmt/format.h>

#include <nmc/compiler/passes.hpp>
#include <nmc/error.hpp>
#include <nmc/hw/truenorth.hpp>

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

// floor(a / b) for b > 0 (C++ division truncates towards zero).
int floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
int sign_of(int v) { return (v > 0) - (v < 0); }

// A generalised Hilbert curve over a w x h rectangle (any sizes), after
// Cervený's "gilbert" construction: consecutive points are mesh neighbours and
// nearby points on the curve stay nearby on the rectangle.
void gilbert(int x, int y, int ax, int ay, int bx, int by, std::vector<std::pair<int, int>>& out) {
  const int w = std::abs(ax + ay), h = std::abs(bx + by);
  const int dax = sign_of(ax), day = sign_of(ay), dbx = sign_of(bx), dby = sign_of(by);
  if (h == 1) {
    for (int i = 0; i < w; ++i, x += dax, y += day) out.emplace_back(x, y);
    return;
  }
  if (w == 1) {
    for (int i = 0; i < h; ++i, x += dbx, y += dby) out.emplace_back(x, y);
    return;
  }
  int ax2 = floor_div(ax, 2), ay2 = floor_div(ay, 2), bx2 = floor_div(bx, 2), by2 = floor_div(by, 2);
  const int w2 = std::abs(ax2 + ay2), h2 = std::abs(bx2 + by2);
  if (2 * w > 3 * h) {
    if (w2 % 2 && w > 2) ax2 += dax, ay2 += day;
    gilbert(x, y, ax2, ay2, bx, by, out);
    gilbert(x + ax2, y + ay2, ax - ax2, ay - ay2, bx, by, out);
  } else {
    if (h2 % 2 && h > 2) bx2 += dbx, by2 += dby;
    gilbert(x, y, bx2, by2, ax2, ay2, out);
    gilbert(x + bx2, y + by2, ax, ay, bx - bx2, by - by2, out);
    gilbert(x + (ax - dax) + (bx2 - dbx), y + (ay - day) + (by2 - dby), -bx2, -by2, -(ax - ax2), -(ay - ay2), out);
  }
}

std::vector<std::pair<int, int>> gilbert_curve(int w, int h) {
  std::vector<std::pair<int, int>> out;
  out.reserve(static_cast<std::size_t>(w) * static_cast<std::size_t>(h));
  if (w >= h) {
    gilbert(0, 0, w, 0, 0, h, out);
  } else {
    gilbert(0, 0, 0, h, w, 0, out);
  }
  return out;
}

struct mesh {
  int cores_x, cores_y, cols, chips;
  double crossing_hops;
  int reach_x, reach_y;
  int gx(int site) const { return (site / (cores_x * cores_y)) % cols * cores_x + site % cores_x; }
  int gy(int site) const { return (site / (cores_x * cores_y)) / cols * cores_y + (site / cores_x) % cores_y; }
  int chip(int site) const { return site / (cores_x * cores_y); }
  int site_at(int x, int y) const {  // -1 when outside the chips
    const int cx = x / cores_x, cy = y / cores_y;
    const int chip = cy * cols + cx;
    if (x < 0 || y < 0 || cx >= cols || chip >= chips) return -1;
    return chip * cores_x * cores_y + (y % cores_y) * cores_x + x % cores_x;
  }
  // Hops, crossings in hops, and a penalty per core beyond the reach, so that
  // the annealing pulls a path that is out of reach back in.
  double dist(int a, int b) const {
    const int ax = gx(a), ay = gy(a), bx = gx(b), by = gy(b);
    const int crossings = std::abs(ax / cores_x - bx / cores_x) + std::abs(ay / cores_y - by / cores_y);
    const int dx = std::abs(ax - bx), dy = std::abs(ay - by);
    const int beyond = std::max(0, dx - reach_x) + std::max(0, dy - reach_y);
    return dx + dy + crossing_hops * crossings + reach_penalty * beyond;
  }
  static constexpr double reach_penalty = 1e4;
};

// The image position of every core: the mean of its neurons' positions, each
// as (x + 0.5) / width, (y + 0.5) / height of its unit's feature map (a
// splitter's neuron: that of the neuron it copies; dense layers: the centre).
std::vector<std::pair<double, double>> image_positions(const compile_state& s) {
  auto position = [&](std::int32_t unit, std::int32_t index) {
    const auto* u = &s.units[static_cast<std::size_t>(unit)];
    if (u->kind == unit_kind::splitter) {
      const auto src = u->split_source[static_cast<std::size_t>(index)];
      u = &s.units[static_cast<std::size_t>(src.unit)];
      index = src.index;
    }
    const int h = std::max(1, u->shape.height), w = std::max(1, u->shape.width);
    const int x = index % w, y = (index / w) % h;
    return std::pair<double, double>((x + 0.5) / w, (y + 0.5) / h);
  };
  std::vector<std::pair<double, double>> pos(s.cores.size(), {0.5, 0.5});
  for (std::size_t c = 0; c < s.cores.size(); ++c) {
    const auto& core = s.cores[c];
    if (core.neurons.empty()) continue;
    double u = 0, v = 0;
    for (auto n : core.neurons) {
      const auto [pu, pv] = position(core.unit, n);
      u += pu, v += pv;
    }
    pos[c] = {u / static_cast<double>(core.neurons.size()), v / static_cast<double>(core.neurons.size())};
  }
  return pos;
}

}  // namespace

void place_pass(compile_state& s) {
  const auto& t = s.target;
  const int n = static_cast<int>(s.cores.size());
  const auto grid = hw::chip_grid(s.opts.chips, t);
  s.chips_x = grid.x;
  s.chips_y = grid.y;
  const mesh m{t.cores_x,
               t.cores_y,
               s.chips_x,
               s.opts.chips,
               t.spike_hop_pj > 0 ? t.chip_crossing_pj / t.spike_hop_pj : 1.0,
               t.reach_x_cores,
               t.reach_y_cores};
  const int per_chip = t.cores_per_chip();
  const int sites = per_chip * s.opts.chips;

  // Core graph: edge weight = spike paths between the two cores.
  core_graph g(static_cast<std::size_t>(n));
  {
    std::vector<std::pair<int, int>> paths;
    for (int c = 0; c < n; ++c)
      for (const auto& sl : s.cores[static_cast<std::size_t>(c)].slots)
        if (!sl.output && sl.dest_core != c) paths.emplace_back(std::min(c, sl.dest_core), std::max(c, sl.dest_core));
    std::sort(paths.begin(), paths.end());
    for (std::size_t i = 0; i < paths.size();) {
      std::size_t j = i;
      while (j < paths.size() && paths[j] == paths[i]) ++j;
      boost::add_edge(static_cast<std::size_t>(paths[i].first), static_cast<std::size_t>(paths[i].second),
                      static_cast<std::int64_t>(j - i), g);
      i = j;
    }
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

  std::vector<int> pos(static_cast<std::size_t>(n)), occ(static_cast<std::size_t>(sites), -1);
  auto total_cost = [&] {
    double c = 0;
    for (int a = 0; a < n; ++a)
      for (std::size_t i = adj_begin[static_cast<std::size_t>(a)]; i < adj_begin[static_cast<std::size_t>(a) + 1]; ++i)
        if (adj[i].first > a) c += adj[i].second * m.dist(pos[static_cast<std::size_t>(a)], pos[static_cast<std::size_t>(adj[i].first)]);
    return c;
  };

  // The starts: each sets pos.
  std::vector<int> order;
  for (auto ui : s.order)
    for (auto ci : s.units[static_cast<std::size_t>(ui)].cores) order.push_back(ci);
  const bool pow2 = t.cores_x == t.cores_y && (t.cores_x & (t.cores_x - 1)) == 0;
  // 1. Layer order along a Hilbert curve of each chip (serpentine rows if the
  // chip side is not a power of two), chip after chip.
  auto layer_hilbert = [&] {
    for (int k = 0; k < n; ++k) {
      const int chip = k / per_chip, d = k % per_chip;
      int x = 0, y = 0;
      if (pow2) {
        std::tie(x, y) = hilbert(t.cores_x, d);
      } else {
        y = d / t.cores_x;
        x = y % 2 ? t.cores_x - 1 - d % t.cores_x : d % t.cores_x;
      }
      pos[static_cast<std::size_t>(order[static_cast<std::size_t>(k)])] = chip * per_chip + y * t.cores_x + x;
    }
  };
  // 2. Layer order, row-major over chip 0, then chip 1, ...
  auto layer_rows = [&] {
    for (int k = 0; k < n; ++k) pos[static_cast<std::size_t>(order[static_cast<std::size_t>(k)])] = k;
  };
  // 3. The spatial start, on the fewest chips, in a near-square block of the
  // arrangement's columns.
  auto spatial = [&] {
    const int used = std::max(1, (n + per_chip - 1) / per_chip);
    // The block: bx x by existing chips, at least `used`, the most compact.
    int bx = 0, by = 0;
    for (int x = 1; x <= s.chips_x; ++x) {
      const int y = (used + x - 1) / x;
      if (y > s.chips_y || (y - 1) * s.chips_x + x > s.opts.chips) continue;
      const auto span = std::max(x * t.cores_x, y * t.cores_y), best = std::max(bx * t.cores_x, by * t.cores_y);
      if (bx == 0 || span < best || (span == best && x * y < bx * by)) bx = x, by = y;
    }
    // A compact rectangle of about n sites in the block (cores spread over
    // every site would sit farther apart); else the block; else (no block of
    // whole chips: the last row is partial) every chip.
    int w = 0, h = 0;
    std::vector<std::pair<int, int>> curve;
    std::vector<int> curve_sites;  // sites in curve order (points on existing chips)
    std::vector<std::pair<int, int>> shapes;
    if (bx > 0) {
      const int bw = bx * t.cores_x, bh = by * t.cores_y;
      const double aspect = static_cast<double>(bw) / bh;
      const int cw = std::clamp(static_cast<int>(std::ceil(std::sqrt(n * aspect))), 1, bw);
      shapes.emplace_back(cw, std::clamp((n + cw - 1) / cw, 1, bh));
      shapes.emplace_back(bw, bh);
    }
    shapes.emplace_back(s.chips_x * t.cores_x, s.chips_y * t.cores_y);
    for (const auto& [sw, sh] : shapes) {
      w = sw, h = sh;
      curve = gilbert_curve(w, h);
      curve_sites.clear();
      for (const auto& [x, y] : curve)
        if (const int site = m.site_at(x, y); site >= 0) curve_sites.push_back(site);
      if (static_cast<int>(curve_sites.size()) >= n) break;
    }
    std::vector<int> rank(curve.size());  // block point -> its index on the curve
    for (std::size_t k = 0; k < curve.size(); ++k)
      rank[static_cast<std::size_t>(curve[k].second) * static_cast<std::size_t>(w) + static_cast<std::size_t>(curve[k].first)] =
          static_cast<int>(k);
    const auto image = image_positions(s);
    std::vector<int> depth(s.units.size(), 0);
    for (std::size_t k = 0; k < s.order.size(); ++k) depth[static_cast<std::size_t>(s.order[k])] = static_cast<int>(k);
    struct keyed {
      int rank, depth, core;
      bool operator<(const keyed& o) const { return std::tie(rank, depth, core) < std::tie(o.rank, o.depth, o.core); }
    };
    std::vector<keyed> keys;
    keys.reserve(static_cast<std::size_t>(n));
    for (int c = 0; c < n; ++c) {
      const auto [u, v] = image[static_cast<std::size_t>(c)];
      const int x = std::clamp(static_cast<int>(u * w), 0, w - 1), y = std::clamp(static_cast<int>(v * h), 0, h - 1);
      keys.push_back({rank[static_cast<std::size_t>(y) * static_cast<std::size_t>(w) + static_cast<std::size_t>(x)],
                      depth[static_cast<std::size_t>(s.cores[static_cast<std::size_t>(c)].unit)], c});
    }
    std::sort(keys.begin(), keys.end());
    // Spread the cores evenly over the curve's sites (free sites between them).
    const auto S = static_cast<std::int64_t>(curve_sites.size());
    for (int k = 0; k < n; ++k)
      pos[static_cast<std::size_t>(keys[static_cast<std::size_t>(k)].core)] =
          curve_sites[static_cast<std::size_t>(static_cast<std::int64_t>(k) * S / n)];
  };
  // Simulated annealing from `pos`: returns the best placement seen and its
  // cost. Moves go to any site within a window around the core (a swap when
  // the site is taken); the starting temperature is twice the spread of the
  // costs of moves within a chip, so that the far larger cost of a chip
  // crossing does not set it (moves across a boundary are still tried, and
  // taken when they pay).
  const int chip_side = std::max(t.cores_x, t.cores_y);
  const auto moves = static_cast<std::int64_t>(s.opts.place_effort * std::max(200.0 * n, 20000.0));
  auto anneal = [&](double& best_cost) {
    for (auto& o : occ) o = -1;
    for (int c = 0; c < n; ++c) occ[static_cast<std::size_t>(pos[static_cast<std::size_t>(c)])] = c;
    double cost = total_cost();
    best_cost = cost;
    std::vector<int> best_pos = pos;
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
    double radius = chip_side;
    const std::int64_t steps = 100;
    const std::int64_t per_step = std::max<std::int64_t>(1, moves / steps);
    std::uniform_int_distribution<int> pick_core(0, std::max(0, n - 1));
    std::uniform_real_distribution<double> unit01(0.0, 1.0);
    auto propose = [&](int& a, int& to) {
      a = pick_core(rng);
      const int r = std::max(1, static_cast<int>(radius));
      std::uniform_int_distribution<int> off(-r, r);
      const int from = pos[static_cast<std::size_t>(a)];
      to = m.site_at(m.gx(from) + off(rng), m.gy(from) + off(rng));
    };
    auto delta_of = [&](int a, int to) {
      const int from = pos[static_cast<std::size_t>(a)];
      const int b = occ[static_cast<std::size_t>(to)];
      double d = delta_move(a, from, to, b);
      if (b >= 0) d += delta_move(b, to, from, a);
      return d;
    };
    double temperature = 0;
    if (n > 1) {
      double sum = 0, sum2 = 0;
      int samples = 0;
      for (int i = 0; i < 200; ++i) {
        int a = 0, to = 0;
        propose(a, to);
        const int from = pos[static_cast<std::size_t>(a)];
        if (to < 0 || to == from || m.chip(to) != m.chip(from)) continue;
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
        }
      }
      if (cost < best_cost - 1e-9) best_cost = cost, best_pos = pos;  // once a step: a copy is n words
      // Keep the acceptance rate near 0.44 by adapting the window (VPR's rule).
      const double rate = static_cast<double>(accepted) / static_cast<double>(per_step);
      radius = std::clamp(radius * (1.0 - 0.44 + rate), 1.0, static_cast<double>(chip_side));
      temperature *= step < steps - 10 ? 0.9 : 0.0;  // finish greedily
    }
    return best_pos;
  };

  // Annealed from the better layer-order start and from the spatial start
  // (which anneals better differs from model to model); the cheaper result
  // is kept.
  layer_hilbert();
  const double hilbert_cost = total_cost();
  layer_rows();
  if (total_cost() >= hilbert_cost) layer_hilbert();
  double layered_cost = 0, spatial_cost = 0;
  std::vector<int> best_pos = anneal(layered_cost);
  spatial();
  auto spatial_pos = anneal(spatial_cost);
  if (spatial_cost < layered_cost) best_pos = std::move(spatial_pos);

  for (int c = 0; c < n; ++c) {
    auto& core = s.cores[static_cast<std::size_t>(c)];
    const int site = best_pos[static_cast<std::size_t>(c)];
    core.chip = site / per_chip;
    core.x = site % t.cores_x;
    core.y = (site / t.cores_x) % t.cores_y;
  }
}

}  // namespace nmc::compiler
