// Grid compiler: place, route (PathFinder), balance delays, emit. See danna.hpp.
//
// Routing vocabulary. Every element carries at most one *signal* once routing
// has converged:
//   raw(S, a)   the output of neuron S, emitted a cycles after S fires (relays,
//               weight 1, shared by every route that needs S at that time);
//   weight(D,w) a weight element: sums raw inputs that arrive together and
//               multiplies by w (the edge weight, applied once), w != 1;
//   sum(D)      a merge element on the way into neuron D (weight 1); raw
//               inputs of weight 1 join any merge that takes them at their
//               time, or D itself when a relay next to it is on time.
// A *net* is one destination neuron D with all its input edges; its weight and
// merge elements form a tree rooted at D. PathFinder rips up and reroutes the
// nets that use an element holding two signals, raising the price of shared
// elements each iteration and remembering the history of congestion, until no
// element is overused.
//
// Timing. Every route has an exact latency: Eedn programs fix each neuron's
// firing cycle up front (its sources' cycles plus distance and room for
// detours, so every input arrives in the same cycle and frames pipeline one
// per cycle); TENNLab programs need delay x cycles-per-step per edge. The
// search tracks the arrival with every delay at its minimum and how many new
// weight/merge elements (TENNLab: also relays) the route has; a goal is taken
// only if the remaining slack fits in their delays (1..D each). Relays of Eedn
// programs keep delay 1 so that they stay shareable, except on an edge whose
// source leaves more slack than that (searched again with new relays taking
// delays; a relay's signal is keyed by its arrival, so it stays shareable by
// routes that need the source at that cycle). o(x), the cycles from an
// element's emission to the neuron's input, is fixed when an element is
// created; later routes that join it must match it.
//
// NMC_DANNA_DEBUG=1 prints the overused elements and failed searches.

#include <nmc/compiler/danna.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <numeric>
#include <ostream>
#include <queue>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <nmc/error.hpp>

namespace nmc::compiler {

namespace {

constexpr std::uint64_t tag_weight = 1ULL << 62, tag_sum = 2ULL << 62;
constexpr int max_arrival = (1 << 24) - 1;
constexpr float inf = std::numeric_limits<float>::infinity();

std::uint64_t raw_key(std::uint32_t s, int a) { return (std::uint64_t{s} << 24) | static_cast<std::uint32_t>(a); }
std::uint64_t sum_key(std::uint32_t d) { return tag_sum | d; }
// A weight-1 element is a merge: raw inputs of weight 1 join any merge
// element of the neuron that takes them at their time.
std::uint64_t weight_key(std::uint32_t d, int w) {
  return w == 1 ? sum_key(d) : tag_weight | (std::uint64_t{d} << 17) | static_cast<std::uint32_t>(w + 65536);
}
bool is_raw(std::uint64_t k) { return (k >> 62) == 0; }
int raw_arrival(std::uint64_t k) { return static_cast<int>(k & max_arrival); }

struct occupant {
  std::uint64_t key = 0;
  std::int32_t elem = -1;
  std::int32_t parent = -1;  // raw: occupant it listens to (-1: the source neuron); weight/sum: net node index
  std::int32_t refs = 0;
  std::int32_t next = -1;
  std::int32_t r = 0;        // weight element: o + d its raw inputs need
};

struct node {
  std::int32_t elem = -1;
  std::int32_t parent = -1;  // node listening to this one (-1: the neuron D)
  std::int16_t weight = 1;
  bool is_weight = false;
  std::int32_t r = 0;
  std::int32_t o = 0;
  std::uint8_t delay = 1;
  std::int32_t occ = -1;
};

struct net_route {
  std::vector<node> nodes;
  std::vector<std::pair<std::int32_t, std::int32_t>> raw_links;  // (weight node or -1: D, raw element it listens to)
  std::vector<std::int32_t> raw_refs;                             // occupants this net holds a reference on
  std::vector<std::int32_t> edge_len;                             // synapse elements per routed edge
  bool timing_ok = true;
};

// A crossbar block laid out as a systolic array (make_crossbars). Row k (y0 +
// k) is the line of source k: its start node at x0 - 2 P[k], P[k] prefix
// relays every other column up to x0 (they delay the row so that it meets the
// chains in time), then a relay every other column x0 + 2i as far as the
// line's last crossing. Column j is a chain of synapse elements at x0 + 2j + 1:
// the element in row k hears the chain above it and, where line k crosses
// chain j with weight w, the line's relay to its left; the output neuron sits
// below the chain's last element. Every element has delay 1 past the prefix,
// so a chain element in row k sees the chain above and its line in one cycle
// when row k + 1 reaches the chains 1 cycle (plus any tile crossing) after
// row k. Signs: chain element k multiplies by s_k = w_k w_next (w_last for
// the last crossing, 1 where a chain only passes a line), so the product of
// the factors from crossing k down is w_k and the neuron sees sum w_k x_k.
struct macro {
  std::uint32_t group = 0;
  std::vector<std::uint32_t> rows, cols;  // line-start nodes, output neurons
  std::vector<std::vector<std::int8_t>> w;  // [row][column]: weight of the crossing, 0: none
  int S = 0, N = 0;
  int x0 = 0, y0 = 0;
  int gap = 0;                    // columns left of x0 for the prefixes
  std::vector<int> P, dL;         // prefix relays; L_k - L_0 (the cycle row k meets the chains, from row 0's)
  // Cycles row k's prefix takes (its relays' delays plus tile crossings),
  // D[k] <= hi[k], the most its relays can delay. A line start whose route
  // would arrive too early fires earlier, its prefix taking the cycles
  // (line_earlier).
  std::vector<int> hi, D;
  std::vector<int> phi;           // cycles from x0 to the relay of column j (tile crossings)
  std::vector<std::int32_t> off_start, off_sink;  // firing cycles relative to L_0
};

struct fit_numbers {
  std::int64_t neurons = 0, elements = 0;
};

class grid_router {
public:
  grid_router(const netlist& nl, const hw::danna_target& t, const danna_options& opts)
      : nl_(nl), t_(t), opts_(opts), W_(t.width()), H_(t.height()), E_(static_cast<std::size_t>(W_) * H_) {
    for (const auto& o : t.neighbours) dx_.push_back(o[0]), dy_.push_back(o[1]), reach_ = std::max({reach_, std::abs(o[0]), std::abs(o[1])});
    in_edges_.resize(nl.neurons.size());
    consumers_.resize(nl.neurons.size());
    for (std::size_t e = 0; e < nl.edges.size(); ++e) {
      const auto& to = nl.neurons[nl.edges[e].to];
      if (to.crossbar >= 0 && to.sum_weight == 0) continue;  // a crossing of a crossbar: no route
      in_edges_[nl.edges[e].to].push_back(static_cast<std::uint32_t>(e));
      consumers_[nl.edges[e].from].push_back(nl.edges[e].to);
    }
    for (auto& c : consumers_) c.erase(std::unique(c.begin(), c.end()), c.end());
    xs_.resize(E_), ys_.resize(E_), tile_.resize(E_);
    for (std::size_t e = 0; e < E_; ++e) {
      xs_[e] = static_cast<std::int32_t>(e % static_cast<std::size_t>(W_));
      ys_[e] = static_cast<std::int32_t>(e / static_cast<std::size_t>(W_));
      tile_[e] = (ys_[e] / t_.tile_h) * t_.tiles_x + xs_[e] / t_.tile_w;
    }
    hops_.resize(static_cast<std::size_t>(std::max(W_, H_)) + 1);
    for (std::size_t d = 0; d < hops_.size(); ++d) hops_[d] = (static_cast<int>(d) + reach_ - 1) / reach_;
  }

  void place();
  void route();
  hw::dn_program emit(const std::string& target_text);

private:
  const netlist& nl_;
  const hw::danna_target& t_;
  danna_options opts_;
  int W_, H_;
  std::size_t E_;
  std::vector<int> dx_, dy_;
  int reach_ = 1;
  int pitch_ = 0;
  std::vector<std::vector<std::uint32_t>> in_edges_, consumers_;
  std::vector<std::int32_t> neuron_at_, site_;
  std::vector<std::int32_t> head_;
  std::vector<occupant> pool_;
  std::int32_t free_ = -1;
  std::vector<std::uint8_t> nocc_;
  std::vector<float> hist_;
  std::vector<std::vector<std::int32_t>> raw_elems_;  // per source: elements that may hold its raw signal
  std::vector<net_route> nets_;
  std::vector<std::int32_t> time_of_;  // frames: cycle in which each neuron fires (after its frame's input)
  float pres_fac_ = 0.5f;
  std::uint32_t cycles_per_tick = 1;
  // New slack-taking elements a search counts (each can absorb delay_max -
  // delay_min cycles), and log2 of the k stride of a search state id.
  static constexpr int kcap = 16;
  static constexpr int kshift_ = std::bit_width(static_cast<unsigned>(kcap));
  bool relay_slack_ = false;  // frames: this search lets new relays take delays too
  std::vector<std::uint32_t> stamp_;  // element -> generation of the net route that last took it
  std::uint32_t gen_ = 0;  // new elements a search counts (each can absorb delay_max - delay_min cycles)
  int iterations_ = 0;
  std::int64_t searches_ = 0, expanded_ = 0;  // per PathFinder iteration, for the progress lines
  std::int64_t first_overuse_ = 0;
  std::chrono::steady_clock::time_point route_start_;  // --route-seconds
  std::int64_t last_over_ = -1;                       // overused elements after the last full iteration (-1: none yet)
  int attempt_ = 0;                                   // net orders tried, this one included
  const bool debug_ = std::getenv("NMC_DANNA_DEBUG") != nullptr;  // the failed searches' details on stderr
  // search scratch
  std::vector<float> g_;
  std::vector<std::int32_t> prev_, aval_;
  std::vector<std::uint8_t> closed_;
  std::vector<std::uint8_t> near_;  // element -> neurons it neighbours
  std::vector<std::uint32_t> exit_owner_;  // element -> 1 + the neuron whose exit it is (0: none)
  std::vector<std::int32_t> touched_;

  // Per-element coordinates and tiles, and hops per Chebyshev distance, as
  // tables: the searches call these millions of times (no divisions there).
  std::vector<std::int32_t> xs_, ys_, tile_;
  std::vector<std::int32_t> hops_;
  int ex(std::int32_t e) const { return xs_[static_cast<std::size_t>(e)]; }
  int ey(std::int32_t e) const { return ys_[static_cast<std::size_t>(e)]; }
  int tile_of(std::int32_t e) const { return tile_[static_cast<std::size_t>(e)]; }
  int xc(std::int32_t a, std::int32_t b) const { return tile_of(a) == tile_of(b) ? 0 : t_.tile_crossing_cycles; }
  int h(std::int32_t a, std::int32_t b) const {
    return hops_[static_cast<std::size_t>(std::max(std::abs(ex(a) - ex(b)), std::abs(ey(a) - ey(b))))];
  }
  std::int32_t find(std::int32_t elem, std::uint64_t key) const {
    for (auto o = head_[static_cast<std::size_t>(elem)]; o >= 0; o = pool_[static_cast<std::size_t>(o)].next)
      if (pool_[static_cast<std::size_t>(o)].key == key) return o;
    return -1;
  }
  std::int32_t add(std::int32_t elem, std::uint64_t key, std::int32_t parent, std::int32_t r) {
    std::int32_t o;
    if (free_ >= 0) {
      o = free_;
      free_ = pool_[static_cast<std::size_t>(o)].next;
    } else {
      o = static_cast<std::int32_t>(pool_.size());
      pool_.emplace_back();
    }
    auto& oc = pool_[static_cast<std::size_t>(o)];
    oc = {key, elem, parent, 1, head_[static_cast<std::size_t>(elem)], r};
    head_[static_cast<std::size_t>(elem)] = o;
    ++nocc_[static_cast<std::size_t>(elem)];
    return o;
  }
  void release(std::int32_t o) {
    auto& oc = pool_[static_cast<std::size_t>(o)];
    if (--oc.refs > 0) return;
    auto* p = &head_[static_cast<std::size_t>(oc.elem)];
    while (*p != o) p = &pool_[static_cast<std::size_t>(*p)].next;
    *p = oc.next;
    --nocc_[static_cast<std::size_t>(oc.elem)];
    oc.next = free_;
    oc.key = ~0ULL;
    free_ = o;
  }
  void ref_chain(std::int32_t o, net_route& n) {
    for (; o >= 0; o = pool_[static_cast<std::size_t>(o)].parent) {
      ++pool_[static_cast<std::size_t>(o)].refs;
      n.raw_refs.push_back(o);
    }
  }
  // True if `v` holds a weight or merge element of neuron d's own tree: a
  // route of d never takes it over (it would sum into its own tree).
  bool holds_net(std::int32_t v, std::uint32_t d) const {
    for (auto o = head_[static_cast<std::size_t>(v)]; o >= 0; o = pool_[static_cast<std::size_t>(o)].next) {
      const auto k = pool_[static_cast<std::size_t>(o)].key;
      if ((k >> 62) == 1 && ((k >> 17) & 0xffffffffULL) == d) return true;
      if ((k >> 62) == 2 && (k & 0xffffffffULL) == d) return true;
    }
    return false;
  }
  // Weight and merge elements next to another neuron crowd the exits of
  // that neuron's relays: they cost a little more.
  float crowd(std::int32_t v, std::int32_t de) const {
    const int others = near_[static_cast<std::size_t>(v)] - (h(v, de) <= 1 && std::max(std::abs(ex(v) - ex(de)), std::abs(ey(v) - ey(de))) <= reach_ ? 1 : 0);
    return others > 0 ? 1.5f : 0.0f;
  }
  float cost(std::int32_t v) const {
    return (1.0f + hist_[static_cast<std::size_t>(v)]) * (1.0f + pres_fac_ * nocc_[static_cast<std::size_t>(v)]);
  }
  // Sharing a relay is free unless the element is overused: then every net
  // that keeps it pays its share of the congestion (else nobody ever leaves).
  float shared_cost(std::int32_t v) const {
    const auto c = nocc_[static_cast<std::size_t>(v)];
    return c > 1 ? (1.0f + hist_[static_cast<std::size_t>(v)]) * pres_fac_ * static_cast<float>(c - 1) : 0.0f;
  }
  void rip_up(std::uint32_t d);
  // Crossbars
  std::vector<macro> macros_;
  std::vector<std::int32_t> base_;  // per crossbar: L_0, the cycle row 0 meets the chains
  std::vector<std::int32_t> col_of_;  // output neuron -> its column in its crossbar
  std::vector<std::int32_t> row_of_;  // line start -> its row in its crossbar
  std::int32_t at(int x, int y) const { return y * W_ + x; }
  void finalize_macro(macro& m, const std::vector<std::int32_t>& T);
  void plan_times(bool finalize);
  void shift_macro(std::size_t x, int by, std::vector<bool>& dirty, std::vector<std::uint32_t>& moved);
  void line_earlier(std::uint32_t r, int by);
  std::int32_t planned_time(std::uint32_t d) const;
  void fire_later(std::uint32_t d, int by, std::vector<bool>& dirty);
  bool route_net(std::uint32_t d, std::int32_t target, int margin);
  int early_by_ = 0;  // a failed search's goals came this many cycles too early at least (0: none early)
  bool route_edge(std::uint32_t d, std::uint32_t edge, std::int32_t latency, int margin, net_route& n, int retry = 0);
  [[noreturn]] void not_routable(const std::string& why, const std::string& hint = "");
  void check_time_limit(std::size_t visited);
  void print_overused() const;
};

void grid_router::place() {
  const auto n = nl_.neurons.size();
  // Crossbars go to a region on the grid's right edge, one above the other;
  // the lattice block of the other nodes takes the rest.
  macros_.clear();
  col_of_.assign(n, -1);
  int region = 0;
  {
    row_of_.assign(n, -1);
    for (const auto& c : nl_.crossbars) {
      macro m;
      m.group = c.group;
      m.rows = c.rows;
      m.cols = c.cols;
      m.S = static_cast<int>(c.rows.size());
      m.N = static_cast<int>(c.cols.size());
      for (int k = 0; k < m.S; ++k) row_of_[c.rows[static_cast<std::size_t>(k)]] = k;
      for (int j = 0; j < m.N; ++j) col_of_[c.cols[static_cast<std::size_t>(j)]] = j;
      m.w.assign(static_cast<std::size_t>(m.S), std::vector<std::int8_t>(static_cast<std::size_t>(m.N), 0));
      macros_.push_back(std::move(m));
    }
    for (const auto& ed : nl_.edges) {
      const auto& to = nl_.neurons[ed.to];
      if (to.crossbar < 0 || to.sum_weight != 0) continue;
      auto& m = macros_[static_cast<std::size_t>(to.crossbar)];
      m.w[static_cast<std::size_t>(row_of_[ed.from])][static_cast<std::size_t>(col_of_[ed.to])] = static_cast<std::int8_t>(ed.weight);
    }
    // One column of blocks, their line starts facing the lattice (a block's
    // chains are a wall no route crosses: a second column could not be fed).
    int col_w = 0, y = 2;
    for (auto& m : macros_) {
      // Room for the prefixes: rows meet the chains about (1 + crossing) cycles
      // apart, a prefix relay delays up to 15 (10 planned), and the feeds differ.
      const int allow = (m.S * (1 + t_.tile_crossing_cycles) + 60) / 10 + 2;
      m.gap = 2 * allow + 4;
      const int w = m.gap + 2 * m.N + 2, h = m.S + 4;
      const auto layer = m.group < nl_.groups.size() ? nl_.groups[m.group] : std::string("-");
      m.x0 = m.gap;
      m.y0 = y;
      y += h;
      col_w = std::max(col_w, w);
      if (y > H_) {
        throw fit_error(fmt::format("{}: the crossbars up to that of layer '{}' ({} lines x {} neurons) need {} rows, "
                                    "more than the {} x {} grid has",
                                    nl_.source.empty() ? nl_.model_name : nl_.source, layer, m.S, m.N, y, W_, H_),
                        fmt::format("use a taller grid (--grid {}x{} or more), or --crossbar-fan-in 0 to route the "
                                    "layers as partial sums", std::max(W_, 3 * col_w), y));
      }
    }
    region = col_w;
  }
  const int W_lat = W_ - region;
  std::size_t nlat = 0;
  for (const auto& nr : nl_.neurons) nlat += nr.crossbar < 0;
  if (W_lat < 8) {
    throw fit_error(fmt::format("{}: the crossbars take {} of the grid's {} columns, leaving no room for the other {} nodes",
                                nl_.source.empty() ? nl_.model_name : nl_.source, region, W_, nlat),
                    fmt::format("use a wider grid (--grid {}x{} or more), or --crossbar-fan-in 0", 2 * region + 40, H_));
  }
  // Room per node: its fan-in and fan-out in elements (weight and merge
  // elements gather around a neuron, relays around its source).
  std::size_t routed_edges = 0;
  for (const auto& ie : in_edges_) routed_edges += ie.size();
  const double deg = 1.0 + 1.25 * static_cast<double>(routed_edges) / static_cast<double>(std::max<std::size_t>(1, nlat));
  const int want = std::max(3, static_cast<int>(std::ceil(std::sqrt(4.0 * deg))));
  int p = 0, lx = 0, ly = 0;
  for (int q = want + want / 2; q >= 3; --q) {  // a little more room when the grid has it
    lx = (W_lat - 1) / q + 1, ly = (H_ - 1) / q + 1;
    if (static_cast<double>(lx) * ly >= 1.15 * static_cast<double>(nlat) + 4) {
      p = q;
      break;
    }
  }
  if (p == 0) {
    const std::int64_t needed = static_cast<std::int64_t>(nlat) * 12 + static_cast<std::int64_t>(region) * H_;
    const int side = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(needed) / (t_.tile_w * t_.tile_h))));
    std::size_t sums = 0;
    for (const auto& nr : nl_.neurons) sums += nr.sum_weight != 0 && nr.crossbar < 0;
    auto who = sums == 0 ? fmt::format("{} neurons", nlat) : fmt::format("{} neurons and {} partial-sum elements", nlat - sums, sums);
    if (region > 0) who += fmt::format(" (besides {} columns of crossbars)", region);
    throw fit_error(fmt::format("{}: {} need at least {} elements (about 12 per node: a 3 x 3 site and its "
                                "routes), but the {} x {} grid ({} tile{} of {} x {}) has {}",
                                nl_.source.empty() ? nl_.model_name : nl_.source, who, needed, W_, H_, t_.tiles(),
                                t_.tiles() == 1 ? "" : "s", t_.tile_w, t_.tile_h, t_.elements()),
                    fmt::format("use a larger grid: --tiles {}x{} or more", side, side));
  }
  pitch_ = p;
  // Use a square-ish block of the lattice just large enough, centred.
  const int side = static_cast<int>(std::ceil(std::sqrt(1.3 * static_cast<double>(nlat)))) + 1;
  // (wider than square on a short grid; the whole lattice if the block would hold too few sites)
  int bx = std::min(lx, std::max(side, static_cast<int>(std::ceil(1.3 * static_cast<double>(nlat) / ly)) + 1));
  int byy = std::min(ly, static_cast<int>((1.3 * static_cast<double>(nlat)) / bx) + 2);
  if (static_cast<std::size_t>(bx) * static_cast<std::size_t>(byy) < nlat) bx = lx, byy = ly;
  const int ox = (W_lat - ((bx - 1) * p + 1)) / 2, oy = (H_ - ((byy - 1) * p + 1)) / 2;
  neuron_at_.assign(E_, -1);
  site_.assign(n, -1);
  std::vector<std::int32_t> taken(static_cast<std::size_t>(bx) * byy, -1);
  // Every layer spans the whole block at its feature-map position (a neuron
  // of the next layer lands near its receptive field); the nearest free
  // lattice site wins, layer by layer. Partial-sum nodes follow, in netlist
  // order (sources first), each at the centroid of its sources: the sum is
  // formed where its inputs are and travels on as one value (placing them
  // halfway to the neuron used more elements and left 2.5x the overuse).
  std::vector<std::uint32_t> order;
  for (std::uint32_t i = 0; i < n; ++i)
    if (nl_.neurons[i].sum_weight == 0 && nl_.neurons[i].crossbar < 0) order.push_back(i);
  std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
    const auto& A = nl_.neurons[a];
    const auto& B = nl_.neurons[b];
    return std::tie(A.group, A.channel) < std::tie(B.group, B.channel);
  });
  for (std::uint32_t i = 0; i < n; ++i)
    if (nl_.neurons[i].sum_weight != 0 && nl_.neurons[i].crossbar < 0) order.push_back(i);
  auto lattice_x = [&](std::int32_t e) { return static_cast<double>(ex(e) - ox) / p; };
  auto lattice_y = [&](std::int32_t e) { return static_cast<double>(ey(e) - oy) / p; };
  for (auto i : order) {
    const auto& nr = nl_.neurons[i];
    double tx = nl_.mode == hw::dn_mode::frames ? nr.fx * bx - 0.5 : static_cast<double>(i % static_cast<std::size_t>(bx));
    double ty = nl_.mode == hw::dn_mode::frames ? nr.fy * byy - 0.5 : static_cast<double>(i / static_cast<std::size_t>(bx));
    if (nr.sum_weight != 0) {  // at the centroid of its sources (placed already)
      tx = ty = 0;
      for (auto e : in_edges_[i]) tx += lattice_x(site_[nl_.edges[e].from]), ty += lattice_y(site_[nl_.edges[e].from]);
      tx /= static_cast<double>(in_edges_[i].size());
      ty /= static_cast<double>(in_edges_[i].size());
    }
    const int cx = std::clamp(static_cast<int>(std::lround(tx)), 0, bx - 1), cy = std::clamp(static_cast<int>(std::lround(ty)), 0, byy - 1);
    int found = -1;
    for (int r = 0; found < 0 && r < std::max(bx, byy); ++r) {
      double best_d = 1e30;
      for (int yy = std::max(0, cy - r); yy <= std::min(byy - 1, cy + r); ++yy)
        for (int xx = std::max(0, cx - r); xx <= std::min(bx - 1, cx + r); ++xx) {
          if (std::max(std::abs(xx - cx), std::abs(yy - cy)) != r) continue;
          if (taken[static_cast<std::size_t>(yy) * bx + xx] >= 0) continue;
          const double dd = (xx - tx) * (xx - tx) + (yy - ty) * (yy - ty);
          if (dd < best_d) best_d = dd, found = yy * bx + xx;
        }
    }
    if (found < 0) throw internal_error("grid placement: no free site");
    taken[static_cast<std::size_t>(found)] = static_cast<std::int32_t>(i);
    const std::int32_t e = (oy + (found / bx) * p) * W_ + ox + (found % bx) * p;
    site_[i] = e;
    neuron_at_[static_cast<std::size_t>(e)] = static_cast<std::int32_t>(i);
  }
  // Crossbars: the output neurons below their chains, the chain and line area
  // taken; the line starts (and their prefixes) wait for the firing cycles
  // planned from their sources.
  for (auto& m : macros_) {
    m.x0 += W_lat + (region - (m.gap + 2 * m.N + 2));  // the blocks' right edges aligned with the grid's
    for (int y = m.y0; y < m.y0 + m.S; ++y)
      for (int x = m.x0; x < m.x0 + 2 * m.N; ++x) neuron_at_[static_cast<std::size_t>(at(x, y))] = -2;
    for (int j = 0; j < m.N; ++j) {
      const auto c = m.cols[static_cast<std::size_t>(j)];
      site_[c] = at(m.x0 + 2 * j + 1, m.y0 + m.S);
      neuron_at_[static_cast<std::size_t>(site_[c])] = static_cast<std::int32_t>(c);
    }
    for (int k = 0; k < m.S; ++k) site_[m.rows[static_cast<std::size_t>(k)]] = at(m.x0 - m.gap / 2, m.y0 + k);
  }
  if (!macros_.empty()) plan_times(true);
  // One exit per neuron that feeds others: a neighbour only its own relays
  // may take, so that its merge tree and other routes never wall it in.
  exit_owner_.assign(E_, 0);
  for (std::uint32_t i = 0; i < n; ++i) {
    if (consumers_[i].empty()) continue;
    for (std::size_t k = 0; k < dx_.size(); ++k) {
      const int x = ex(site_[i]) + dx_[k], y = ey(site_[i]) + dy_[k];
      if (x < 0 || y < 0 || x >= W_ || y >= H_) continue;
      const auto v = static_cast<std::size_t>(y * W_ + x);
      if (neuron_at_[v] != -1 || exit_owner_[v] != 0) continue;
      exit_owner_[v] = i + 1;
      break;
    }
  }
  // Elements a neuron can be heard from: its outgoing relays need one of them.
  near_.assign(E_, 0);
  for (std::uint32_t i = 0; i < n; ++i)
    for (std::size_t k = 0; k < dx_.size(); ++k) {
      const int x = ex(site_[i]) + dx_[k], y = ey(site_[i]) + dy_[k];
      if (x >= 0 && y >= 0 && x < W_ && y < H_) ++near_[static_cast<std::size_t>(y * W_ + x)];
    }
}

// Frames: the cycle a neuron can fire in at the earliest with its sources'
// planned cycles, the distance and room for detours.
std::int32_t grid_router::planned_time(std::uint32_t d) const {
  std::int32_t t = 0;
  for (auto e : in_edges_[d]) {
    const auto sr = nl_.edges[e].from;
    const int dist = h(site_[sr], site_[d]);
    t = std::max(t, time_of_[sr] + dist + 2 + dist / 3 + 3);
  }
  return t;
}

// Frames: neuron d fires `by` cycles later. Its consumers' latencies change
// (their nets are routed again) and their cycles follow where they must, and
// so on downstream.
void grid_router::fire_later(std::uint32_t d, int by, std::vector<bool>& dirty) {
  std::vector<std::uint32_t> moved;
  if (const auto x = nl_.neurons[d].crossbar; x >= 0) shift_macro(static_cast<std::size_t>(x), by, dirty, moved);
  else time_of_[d] += by, moved.push_back(d);
  while (!moved.empty()) {
    const auto x = moved.back();
    moved.pop_back();
    for (auto c : consumers_[x]) {
      dirty[c] = true;
      const auto t = planned_time(c);
      if (t <= time_of_[c]) continue;
      if (const auto xb = nl_.neurons[c].crossbar; xb >= 0) shift_macro(static_cast<std::size_t>(xb), t - time_of_[c], dirty, moved);
      else time_of_[c] = t, moved.push_back(c);
    }
  }
}

// A crossbar's cycles move together: its lines and its outputs. (Letting
// the lines' prefixes absorb the move instead, so that their routes keep
// their latencies, was tried: all_layers' overuse then fell far more slowly,
// as the line starts' routes kept no room for detours.)
void grid_router::shift_macro(std::size_t x, int by, std::vector<bool>& dirty, std::vector<std::uint32_t>& moved) {
  base_[x] += by;
  for (auto r : macros_[x].rows) time_of_[r] += by, dirty[r] = true;
  for (auto c : macros_[x].cols) time_of_[c] += by, moved.push_back(c);
}

// Line start r fires up to `by` cycles earlier (its prefix takes them, up to
// its maximum): for a route whose source leaves more cycles than relays and
// weight elements can take.
void grid_router::line_earlier(std::uint32_t r, int by) {
  auto& m = macros_[static_cast<std::size_t>(nl_.neurons[r].crossbar)];
  const auto k = static_cast<std::size_t>(row_of_[r]);
  const int take = std::min(by, m.hi[k] - m.D[k]);
  m.D[k] += take;
  m.off_start[k] = m.dL[k] - m.D[k];
  time_of_[r] -= take;
}

// Firing cycles of every node, sources first: a node as early as its
// sources allow (planned_time), a crossbar as early as its latest line allows.
// With `finalize`, each crossbar's prefixes are laid out on the way (their
// lengths follow from when the lines' sources fire).
void grid_router::plan_times(bool finalize) {
  const auto n = nl_.neurons.size();
  time_of_.assign(n, 0);
  base_.assign(macros_.size(), 0);
  for (std::uint32_t d = 0; d < n; ++d) {
    const auto x = nl_.neurons[d].crossbar;
    if (x < 0) {
      time_of_[d] = planned_time(d);
      continue;
    }
    auto& m = macros_[static_cast<std::size_t>(x)];
    if (d == m.rows.front()) {
      if (finalize) {
        std::vector<std::int32_t> T(static_cast<std::size_t>(m.S));
        for (int k = 0; k < m.S; ++k) T[static_cast<std::size_t>(k)] = planned_time(m.rows[static_cast<std::size_t>(k)]);
        finalize_macro(m, T);
      }
      std::int32_t B = std::numeric_limits<std::int32_t>::min();
      for (int k = 0; k < m.S; ++k) {
        const auto kk = static_cast<std::size_t>(k);
        B = std::max(B, planned_time(m.rows[kk]) - m.off_start[kk]);
      }
      base_[static_cast<std::size_t>(x)] = B;
      for (int k = 0; k < m.S; ++k) time_of_[m.rows[static_cast<std::size_t>(k)]] = B + m.off_start[static_cast<std::size_t>(k)];
    }
    if (nl_.neurons[d].sum_weight == 0) time_of_[d] = base_[static_cast<std::size_t>(x)] + m.off_sink[static_cast<std::size_t>(col_of_[d])];
  }
}

// Lays out a crossbar's prefixes and fixes its timing (see `macro`). T[k]:
// the planned firing cycle of line k's start, from its source.
void grid_router::finalize_macro(macro& m, const std::vector<std::int32_t>& T) {
  const int S = m.S, N = m.N;
  auto cross = [&](int x1, int y1, int x2, int y2) { return xc(at(x1, y1), at(x2, y2)); };
  auto sz = [](int k) { return static_cast<std::size_t>(k); };
  m.dL.assign(sz(S), 0);
  for (int k = 1; k < S; ++k) m.dL[sz(k)] = m.dL[sz(k - 1)] + 1 + cross(m.x0, m.y0 + k - 1, m.x0, m.y0 + k);
  const int allow = (m.gap - 4) / 2;
  const int dmin = 2 + 2 * t_.tile_crossing_cycles;
  std::int32_t L0 = std::numeric_limits<std::int32_t>::min();
  for (int k = 0; k < S; ++k) L0 = std::max(L0, T[sz(k)] + dmin - m.dL[sz(k)]);
  m.P.assign(sz(S), 1);
  std::vector<int> lo(sz(S), 0);
  auto& hi = m.hi;
  hi.assign(sz(S), 0);
  for (int k = 0; k < S; ++k) {
    const int want = L0 + m.dL[sz(k)] - T[sz(k)];
    const int P = std::clamp((want + 9) / 10, 1, allow);
    m.P[sz(k)] = P;
    const int xs = m.x0 - 2 * P, y = m.y0 + k;
    lo[sz(k)] = hi[sz(k)] = 0;
    for (int j = 1; j <= P; ++j) {
      const int c = cross(xs + 2 * j - 2, y, xs + 2 * j, y);
      lo[sz(k)] += t_.delay_min_cycles + c, hi[sz(k)] += t_.delay_max_cycles + c;
    }
    const auto r = m.rows[sz(k)];
    site_[r] = at(xs, y);
    neuron_at_[static_cast<std::size_t>(site_[r])] = static_cast<std::int32_t>(r);
    for (int j = 1; j < P; ++j) neuron_at_[static_cast<std::size_t>(at(xs + 2 * j, y))] = -2;
  }
  // L_0 again with the prefixes as laid out; each row's prefix then takes
  // as many cycles as its source leaves (at most its relays' maximum: the
  // start fires later, and its route absorbs the rest).
  L0 = std::numeric_limits<std::int32_t>::min();
  for (int k = 0; k < S; ++k) L0 = std::max(L0, T[sz(k)] + lo[sz(k)] - m.dL[sz(k)]);
  m.D.assign(sz(S), 0);
  m.off_start.assign(sz(S), 0);
  for (int k = 0; k < S; ++k) {
    m.D[sz(k)] = std::min(hi[sz(k)], L0 + m.dL[sz(k)] - T[sz(k)]);
    m.off_start[sz(k)] = m.dL[sz(k)] - m.D[sz(k)];
  }
  m.phi.assign(sz(N), 0);
  for (int j = 1; j < N; ++j) m.phi[sz(j)] = m.phi[sz(j - 1)] + 1 + cross(m.x0 + 2 * j - 2, m.y0, m.x0 + 2 * j, m.y0);
  m.off_sink.assign(sz(N), 0);
  for (int j = 0; j < N; ++j) {
    const int c = m.x0 + 2 * j + 1;
    m.off_sink[sz(j)] = m.dL[sz(S - 1)] + m.phi[sz(j)] + cross(c - 1, m.y0, c, m.y0) + 1 + 1 + cross(c, m.y0 + S - 1, c, m.y0 + S);
  }
}

void grid_router::rip_up(std::uint32_t d) {
  auto& n = nets_[d];
  for (auto o : n.raw_refs) release(o);
  for (const auto& x : n.nodes) release(x.occ);
  n = net_route{};
}

// NMC_DANNA_DEBUG: every overused element, its signals and the nets holding them.
void grid_router::print_overused() const {
  for (std::size_t v = 0; v < E_; ++v) {
    if (nocc_[v] < 2) continue;
    fmt::print(stderr, "overused ({}, {}):", v % W_, v / W_);
    for (auto o = head_[v]; o >= 0; o = pool_[static_cast<std::size_t>(o)].next) {
      const auto k = pool_[static_cast<std::size_t>(o)].key;
      fmt::print(stderr, " [{} {} {} refs {}]", k >> 62, (k >> 24) & 0xffffffffffULL, k & 0xffffff, pool_[static_cast<std::size_t>(o)].refs);
    }
    fmt::print(stderr, "\n   sources at:");
    for (auto o = head_[v]; o >= 0; o = pool_[static_cast<std::size_t>(o)].next) {
      const auto k = pool_[static_cast<std::size_t>(o)].key;
      if (is_raw(k)) fmt::print(stderr, " {}@({}, {})", k >> 24, ex(site_[k >> 24]), ey(site_[k >> 24]));
    }
    fmt::print(stderr, "\n   held by nets:");
    for (std::size_t d = 0; d < nets_.size(); ++d)
      for (auto o : nets_[d].raw_refs)
        if (pool_[static_cast<std::size_t>(o)].elem == static_cast<std::int32_t>(v))
          fmt::print(stderr, " {}@({}, {})(ok {}, row {})", d, ex(site_[d]), ey(site_[d]), nets_[d].timing_ok, row_of_[d]);
    fmt::print(stderr, "\n");
  }
}

void grid_router::not_routable(const std::string& why, const std::string& hint) {
  if (debug_) print_overused();
  // The worst congested region: the tile-sized window with the most overused elements.
  const int win = std::min({15, W_, H_});
  std::int64_t best = -1;
  int bx = 0, by = 0;
  for (int y = 0; y + win <= H_; y += std::max(1, win / 2))
    for (int x = 0; x + win <= W_; x += std::max(1, win / 2)) {
      std::int64_t over = 0;
      for (int yy = y; yy < y + win; ++yy)
        for (int xx = x; xx < x + win; ++xx) over += std::max(0, nocc_[static_cast<std::size_t>(yy * W_ + xx)] - 1);
      if (over > best) best = over, bx = x, by = y;
    }
  std::int64_t used = 0;
  for (auto c : nocc_) used += c > 0;
  const auto where = best > 0 ? fmt::format("worst congested region: {} overused elements in x {}..{}, y {}..{}", best, bx,
                                            bx + win - 1, by, by + win - 1)
                               : std::string("no element overused yet");
  throw fit_error(fmt::format("{}: {}; {} neurons and {} routing elements in use of {} ({} x {}); {}",
                              nl_.source.empty() ? nl_.model_name : nl_.source, why, nl_.neurons.size(), used,
                              t_.elements(), W_, H_, where),
                  fmt::format("{}use a larger grid (--tiles {}x{} or a larger --grid), or a smaller network", hint,
                              t_.tiles_x * 2, t_.tiles_y * 2));
}

// --route-seconds: a routing run that would take hours (millions of nets)
// stops with the numbers of where it got instead of running unbounded.
void grid_router::check_time_limit(std::size_t visited) {
  if (opts_.route_seconds <= 0) return;
  const std::chrono::duration<double> spent = std::chrono::steady_clock::now() - route_start_;
  if (spent.count() < opts_.route_seconds) return;
  const auto done = last_over_ < 0 ? std::string("the first iteration unfinished")
                                   : fmt::format("{} overused elements after the last full iteration", last_over_);
  not_routable(fmt::format("routing stopped at the limit of {:g} s: attempt {}, PathFinder iteration {}, {} of {} nets "
                           "visited, {}",
                           opts_.route_seconds, attempt_, iterations_, visited, nl_.neurons.size(), done),
               "allow more time (--route-seconds, 0: no limit), ");
}

bool grid_router::route_edge(std::uint32_t d, std::uint32_t edge, std::int32_t latency, int margin, net_route& n,
                             int retry) {
  const auto& ed = nl_.edges[edge];
  const std::uint32_t s = ed.from;
  const std::int32_t se = site_[s], de = site_[d];
  const int w = ed.weight;
  const int spread = t_.delay_max_cycles - t_.delay_min_cycles;  // extra cycles one element can add
  const bool frames_mode = nl_.mode == hw::dn_mode::frames;
  // Relays of Eedn programs keep delay 1 so that they stay shareable; an
  // edge whose source leaves more cycles than its weight and merge elements
  // can take is searched again with new relays taking delays as well.
  const bool relay_slack = !frames_mode || relay_slack_;
  const int kc = relay_slack ? kcap : 6;
  const int xmin = std::max(0, std::min(ex(se), ex(de)) - margin), xmax = std::min(W_ - 1, std::max(ex(se), ex(de)) + margin);
  const int ymin = std::max(0, std::min(ey(se), ey(de)) - margin), ymax = std::min(H_ - 1, std::max(ey(se), ey(de)) + margin);
  ++searches_;
  for (auto i : touched_) g_[static_cast<std::size_t>(i)] = inf, closed_[static_cast<std::size_t>(i)] = 0;
  touched_.clear();
  // State ids: (element of the box, phase, k), the box's rows and k in
  // power-of-two strides (shifts, not divisions). The arrays are as large as
  // the largest box searched so far, not the grid (885 bytes per element of
  // a 1,600 x 1,600 grid when they were).
  const int bshift = std::bit_width(static_cast<unsigned>(xmax - xmin));  // rows of 2^bshift >= the box's width
  const std::size_t states = (static_cast<std::size_t>(ymax - ymin + 1) << bshift) * 2 << kshift_;
  if (states > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) {
    throw internal_error(fmt::format("grid router: a search box of {} x {} elements is too large", xmax - xmin + 1, ymax - ymin + 1));
  }
  if (states > g_.size()) {
    g_.resize(states, inf), prev_.resize(states, -1), aval_.resize(states, 0), closed_.resize(states, 0);
  }
  auto sid = [&](std::int32_t e, int ph, int k) {
    const std::int32_t local = ((ey(e) - ymin) << bshift) | (ex(e) - xmin);
    return (((local << 1) | ph) << kshift_) | k;
  };
  auto elem_of = [&](std::int32_t state) {
    const std::int32_t local = state >> (kshift_ + 1);
    return ((local >> bshift) + ymin) * W_ + (local & ((1 << bshift) - 1)) + xmin;
  };
  using item = std::pair<float, std::int32_t>;
  std::priority_queue<item, std::vector<item>, std::greater<>> pq;
  auto relax = [&](std::int32_t state, std::int32_t elem, float g, std::int32_t from, std::int32_t a) {
    if (a + h(elem, de) + 1 > latency) return;  // cannot arrive in time any more
    const auto st = static_cast<std::size_t>(state);
    // A state is final once expanded: the heuristic is not consistent
    // (shared relays cost nothing), and a later, cheaper arrival with another
    // time would no longer match the states already expanded from it.
    if (g >= g_[st] || closed_[st]) return;
    if (g_[st] == inf) touched_.push_back(state);
    g_[st] = g;
    prev_[st] = from;
    aval_[st] = a;
    pq.push({g + static_cast<float>(h(elem, de)), state});
  };
  relax(sid(se, 0, 0), se, 0.0f, -1, 0);
  auto& seeds = raw_elems_[s];
  std::size_t keep = 0;
  for (auto u : seeds) {
    bool any = false;
    for (auto o = head_[static_cast<std::size_t>(u)]; o >= 0; o = pool_[static_cast<std::size_t>(o)].next) {
      const auto key = pool_[static_cast<std::size_t>(o)].key;
      if (!is_raw(key) || (key >> 24) != s) continue;
      any = true;
      if (ex(u) < xmin || ex(u) > xmax || ey(u) < ymin || ey(u) > ymax) continue;
      // Sharing a relay shares its whole chain back to the source: an
      // overused element upstream costs here too (else nets keep sharing
      // through it for free, and negotiation never moves them).
      float c = 0.0f;
      for (auto p = o; p >= 0; p = pool_[static_cast<std::size_t>(p)].parent) c += shared_cost(pool_[static_cast<std::size_t>(p)].elem);
      relax(sid(u, 0, 0), u, c, -1, raw_arrival(key));
    }
    if (any) seeds[keep++] = u;
  }
  seeds.resize(keep);

  float best = inf;
  // kind 0: D, 1: join merge, 2: join weight, 3: a relay straight into D (weight 1)
  std::int32_t best_state = -1, best_kind = -1, best_elem = -1, best_slack = 0;
  int dbg_early = 0, dbg_late = 0, dbg_near = 1 << 30, early_min = std::numeric_limits<int>::max();
  auto goal = [&](float g, std::int32_t state, int kind, std::int32_t elem, int slack, int k) {
    dbg_late += slack < 0;
    dbg_early += slack > spread * k;
    if (slack > spread * k) early_min = std::min(early_min, slack - spread * k);
    if (slack < 0 || slack > spread * k || g >= best) return;
    best = g, best_state = state, best_kind = kind, best_elem = elem, best_slack = slack;
  };
  while (!pq.empty()) {
    const auto [f, state] = pq.top();
    pq.pop();
    if (f >= best) break;
    const auto st = static_cast<std::size_t>(state);
    const float g = g_[st];
    const std::int32_t u = elem_of(state);
    const bool weighted = ((state >> kshift_) & 1) != 0;
    const int k = state & ((1 << kshift_) - 1);
    if (closed_[st]) continue;  // stale
    closed_[st] = 1;
    ++expanded_;
    if (debug_) dbg_near = std::min(dbg_near, h(u, de) * 1000 + (aval_[st] > 999 ? 999 : aval_[st]));
    const int a = aval_[st];
    const int k1 = std::min(k + 1, kc);
    const int ux = ex(u), uy = ey(u);
    for (std::size_t q = 0; q < dx_.size(); ++q) {
      const int vx = ux + dx_[q], vy = uy + dy_[q];
      if (vx < xmin || vx > xmax || vy < ymin || vy > ymax) continue;
      const std::int32_t v = vy * W_ + vx;
      const int x = xc(u, v);
      if (!weighted) {
        if (v == de && w == 1) {
          goal(g, state, 3, v, latency - a - 1 - x, k);  // the neuron hears the relay itself
          continue;
        }
        if (neuron_at_[static_cast<std::size_t>(v)] != -1) continue;  // a node, or a crossbar's element
        const auto wo = find(v, weight_key(d, w));
        if (wo >= 0) {
          goal(g + 0.01f, state, 2, v, latency - pool_[static_cast<std::size_t>(wo)].r - x - a, k);
          continue;  // an element holds one weight signal of this neuron
        }
        if (a + x + 1 < max_arrival && find(v, raw_key(s, a + x + 1)) >= 0) {
          relax(sid(v, 0, 0), v, g + shared_cost(v), state, a + x + 1);  // share an existing relay
          continue;
        }
        if (stamp_[static_cast<std::size_t>(v)] == gen_) continue;  // this neuron's routes use it already
        const auto owner = exit_owner_[static_cast<std::size_t>(v)];
        if (owner != 0 && owner != s + 1) continue;  // another neuron's exit
        // Relays keep delay 1 (k unchanged) so that they stay shareable and
        // weight and merge elements absorb the slack, unless relay_slack
        // (TENNLab programs, whose edges' latencies differ anyway, and
        // Eedn edges with more slack than that).
        relax(sid(v, 0, relay_slack ? k1 : 0), v, g + cost(v), state, a + x + 1);
        if (owner == 0) relax(sid(v, 1, relay_slack ? k1 : 1), v, g + cost(v) + crowd(v, de), state, a + x + 1);
      } else {
        if (v == de) {
          goal(g, state, 0, v, latency - a - 1 - x, k);
          continue;
        }
        if (neuron_at_[static_cast<std::size_t>(v)] != -1) continue;  // a node, or a crossbar's element
        if (const auto so = find(v, sum_key(d)); so >= 0) {
          goal(g + 0.01f, state, 1, v, latency - pool_[static_cast<std::size_t>(so)].r - x - a, k);
          continue;
        }
        if (holds_net(v, d) || stamp_[static_cast<std::size_t>(v)] == gen_ || exit_owner_[static_cast<std::size_t>(v)] != 0) continue;
        relax(sid(v, 1, k1), v, g + cost(v) + crowd(v, de), state, a + x + 1);
      }
    }
  }
  if (best_state < 0) {
    if (!relay_slack && dbg_early > 0 && dbg_late == 0) {
      relay_slack_ = true;
      const bool ok = route_edge(d, edge, latency, margin, n, retry);
      relay_slack_ = false;
      return ok;
    }
    early_by_ = dbg_early > 0 ? early_min : 0;
    if (debug_) {
      fmt::print(stderr, "edge {} ({} -> {}) at ({}, {}) -> ({}, {}): no route with latency {} (rejected goals: {} early, {} late)\n",
                 edge, s, d, ex(se), ey(se), ex(de), ey(de), latency, dbg_early, dbg_late);
      fmt::print(stderr, "  nearest state expanded: {} hops from the neuron, arriving in cycle {}\n", dbg_near / 1000, dbg_near % 1000);
    }
    return false;
  }
  struct step {
    std::int32_t elem;
    bool weighted;
    bool fresh;  // a new element (k > 0), else the seed or a shared relay
    int a;       // arrival with every delay at its minimum
    int delay = 1;
  };
  std::vector<step> path;
  for (auto st = best_state; st >= 0; st = prev_[static_cast<std::size_t>(st)]) {
    const std::int32_t el = elem_of(st);
    const bool wt = ((st >> kshift_) & 1) != 0;
    const int av = aval_[static_cast<std::size_t>(st)];
    path.push_back({el, wt, wt || (el != se && find(el, raw_key(s, av)) < 0), av});
  }
  std::reverse(path.begin(), path.end());
  // A path may pass an element twice (as a relay, then as a weight element):
  // make that element dear and search again.
  {
    std::vector<std::int32_t> elems;
    for (const auto& p : path) elems.push_back(p.elem);
    if (best_kind == 1 || best_kind == 2) elems.push_back(best_elem);
    std::sort(elems.begin(), elems.end());
    const auto dup = std::adjacent_find(elems.begin(), elems.end());
    if (dup != elems.end()) {
      if (retry >= 40) {
        if (debug_) fmt::print(stderr, "edge {} ({} -> {}): every route passes ({}, {}) twice\n", edge, s, d, ex(*dup), ey(*dup));
        return false;
      }
      hist_[static_cast<std::size_t>(*dup)] += 4.0f;
      return route_edge(d, edge, latency, margin, n, retry + 1);
    }
  }
  // The slack goes to the new elements nearest the neuron first (weight and
  // merge elements are private; relays take some only with relay_slack).
  int slack = best_slack;
  for (auto it = path.rbegin(); it != path.rend() && (relay_slack ? it->fresh : it->weighted) && slack > 0; ++it) {
    const int extra = std::min(slack, spread);
    it->delay += extra;
    slack -= extra;
  }
  if (slack != 0) throw internal_error(fmt::format("grid router: {} cycles of slack left on edge {}", slack, edge));
  // Commit from the source end.
  std::int32_t raw_occ = -1;
  std::int32_t raw_elem = se;
  int a = 0;
  std::size_t first_node = n.nodes.size();
  int length = 0;
  std::int32_t prev_elem = se;
  for (std::size_t i = 0; i < path.size(); ++i) {
    const auto& p = path[i];
    if (!p.weighted) {
      if (i == 0 && p.elem == se) continue;
      int na;
      std::int32_t o = -1;
      if (!p.fresh) {
        // find the raw occupant of s at this element with the expected arrival
        o = find(p.elem, raw_key(s, p.a));
        if (o < 0) throw internal_error("grid router: a shared relay vanished");
        na = raw_arrival(pool_[static_cast<std::size_t>(o)].key);
        ref_chain(o, n);
      } else {
        na = a + xc(prev_elem, p.elem) + p.delay;
        o = find(p.elem, raw_key(s, na));
        if (o >= 0) {
          ref_chain(o, n);  // padding made it coincide with an existing relay of the same signal
        } else {
          o = add(p.elem, raw_key(s, na), raw_occ, 0);
          n.raw_refs.push_back(o);
          raw_elems_[s].push_back(p.elem);
        }
        ++length;
      }
      raw_occ = o;
      raw_elem = p.elem;
      a = na;
      prev_elem = p.elem;
    } else {
      node x;
      x.elem = p.elem;
      x.delay = static_cast<std::uint8_t>(p.delay);
      x.is_weight = n.nodes.size() == first_node;
      x.weight = static_cast<std::int16_t>(x.is_weight ? w : 1);
      if (!x.is_weight) n.nodes.back().parent = static_cast<std::int32_t>(n.nodes.size());
      else n.raw_links.push_back({static_cast<std::int32_t>(n.nodes.size()), raw_elem});
      n.nodes.push_back(x);
      ++length;
      prev_elem = p.elem;
    }
  }
  // Offsets o (cycles from emission to the neuron's input), from the neuron end.
  if (best_kind == 2) {
    const auto wo = find(best_elem, weight_key(d, w));
    const auto& wn = n.nodes[static_cast<std::size_t>(pool_[static_cast<std::size_t>(wo)].parent)];
    if (a + xc(raw_elem, best_elem) + wn.r != latency) throw internal_error("grid router: weight join off time");
    n.raw_links.push_back({pool_[static_cast<std::size_t>(wo)].parent, raw_elem});
    ++length;
  } else if (best_kind == 3) {
    if (a + xc(raw_elem, de) + 1 != latency) throw internal_error("grid router: direct input off time");
    n.raw_links.push_back({-1, raw_elem});
  } else {
    std::int32_t o_last;
    const std::int32_t last = static_cast<std::int32_t>(n.nodes.size()) - 1;
    if (best_kind == 1) {
      const auto so = find(best_elem, sum_key(d));
      n.nodes.back().parent = pool_[static_cast<std::size_t>(so)].parent;
      o_last = pool_[static_cast<std::size_t>(so)].r + xc(n.nodes.back().elem, best_elem);
    } else {
      n.nodes.back().parent = -1;
      o_last = 1 + xc(n.nodes.back().elem, de);
    }
    std::int32_t o = o_last;
    for (auto i = last; i >= static_cast<std::int32_t>(first_node); --i) {
      auto& x = n.nodes[static_cast<std::size_t>(i)];
      x.o = o;
      x.r = o + x.delay;  // weight: o + d its raw inputs need; merge: o + d its children share
      if (i > static_cast<std::int32_t>(first_node)) o = x.r + xc(n.nodes[static_cast<std::size_t>(i - 1)].elem, x.elem);
    }
    const auto& wn = n.nodes[first_node];
    if (a + xc(raw_elem, wn.elem) + wn.r != latency) {
      throw internal_error(fmt::format("grid router: edge {} arrives at {} instead of {}", edge,
                                       a + xc(raw_elem, wn.elem) + wn.r, latency));
    }
    for (auto i = static_cast<std::int32_t>(first_node); i <= last; ++i) {
      auto& x = n.nodes[static_cast<std::size_t>(i)];
      x.occ = add(x.elem, weight_key(d, x.weight), i, x.r);  // merges have weight 1: sum(D)
    }
  }
  for (const auto& p : path) stamp_[static_cast<std::size_t>(p.elem)] = gen_;
  n.edge_len.push_back(length);
  return true;
}

bool grid_router::route_net(std::uint32_t d, std::int32_t target, int margin) {
  auto& n = nets_[d];
  const bool frames = nl_.mode == hw::dn_mode::frames;
  ++gen_;
  for (auto e : in_edges_[d]) {
    const auto& ed = nl_.edges[e];
    const std::int32_t latency = frames ? target - time_of_[ed.from] : ed.delay * static_cast<std::int32_t>(cycles_per_tick);
    if (!route_edge(d, e, latency, margin, n)) return false;
  }
  return true;
}

void grid_router::route() {
  const auto nn = nl_.neurons.size();
  const bool frames = nl_.mode == hw::dn_mode::frames;
  // Spikes mode: cycles per network step so that the longest edge's route fits its delay.
  if (!frames) {
    std::int64_t k = 1;
    for (const auto& ed : nl_.edges)
      k = std::max<std::int64_t>(k, (2 * h(site_[ed.from], site_[ed.to]) + 4 + ed.delay - 1) / ed.delay);
    cycles_per_tick = static_cast<std::uint32_t>(k);
  }
  route_start_ = std::chrono::steady_clock::now();
  last_over_ = -1;
  for (int restart = 0;; ++restart) {
    attempt_ = restart + 1;
    head_.assign(E_, -1);
    pool_.clear();
    free_ = -1;
    nocc_.assign(E_, 0);
    hist_.assign(E_, 0.0f);
    // Search state arrays grow with the largest search box (route_edge).
    g_.clear(), prev_.clear(), aval_.clear(), closed_.clear(), touched_.clear();
    if (frames && restart == 0) {
      // Each neuron's firing cycle: its sources' cycles plus the distance and
      // room for detours (neurons are numbered in topological order).
      plan_times(false);
    }
    raw_elems_.assign(nn, {});
    stamp_.assign(E_, 0);
    gen_ = 0;
    nets_.assign(nn, {});
    pres_fac_ = 0.5f;
    std::vector<bool> dirty(nn, true);
    std::vector<std::uint8_t> in_conflict(nn, 0);  // iterations running in which a net used an overused element
    // Net order: as numbered first, then seeded shuffles on restarts.
    std::vector<std::uint32_t> order(nn);
    std::iota(order.begin(), order.end(), 0U);
    if (restart > 0) {
      std::mt19937_64 rng(opts_.seed * 7919 + static_cast<std::uint64_t>(restart));
      std::shuffle(order.begin(), order.end(), rng);
    }
    std::uint32_t timing_failed = ~0U;
    bool converged = false;
    std::int64_t best_over = std::numeric_limits<std::int64_t>::max();
    int stalled = 0;
    for (iterations_ = 1; iterations_ <= opts_.max_iterations; ++iterations_) {
      timing_failed = ~0U;
      std::size_t visited = 0;
      for (const std::uint32_t d : order) {
        ++visited;
        if (opts_.log && visited % 2000 == 0) {
          *opts_.log << fmt::format("danna: routing iteration {}: {} of {} nets visited\n", iterations_, visited, nn);
        }
        check_time_limit(visited);
        if (!dirty[d]) continue;
        dirty[d] = false;
        rip_up(d);
        if (in_edges_[d].empty()) continue;
        bool ok = false;
        if (frames) {
          // Each neuron fires in its planned cycle; a net that cannot be
          // routed in time fires later (more room for detours).
          for (int attempt = 0; !ok && attempt < 4; ++attempt) {
            rip_up(d);
            early_by_ = 0;
            ok = route_net(d, time_of_[d], 6 + 6 * attempt);
            if (ok) break;
            // A route that arrives too early: a line start takes the cycles
            // into its prefix where it can; else the next attempt searches a
            // wider box for a longer route (firing later would only add to
            // the cycles to spend). Any other failure fires later.
            if (early_by_ > 0) {
              if (row_of_[d] >= 0) line_earlier(d, early_by_);
              continue;
            }
            fire_later(d, 3, dirty);
          }
          if (ok) dirty[d] = false;  // routed at its cycle (a crossbar's shift marks its own lines)
        } else {
          for (int attempt = 0; !ok && attempt < 3; ++attempt) {
            rip_up(d);
            ok = route_net(d, 0, 6 + 8 * attempt);
          }
        }
        if (!ok) {
          nets_[d].timing_ok = false;
          timing_failed = d;
        }
      }
      std::int64_t over = 0;
      for (std::size_t v = 0; v < E_; ++v) {
        if (nocc_[v] > 1) {
          over += nocc_[v] - 1;
          hist_[v] += 1.0f * static_cast<float>(nocc_[v] - 1);
        }
      }
      if (iterations_ == 1) first_overuse_ = over;
      if (debug_ && over <= 12) print_overused();
      last_over_ = over;
      if (opts_.log) {
        *opts_.log << fmt::format("danna: routing iteration {}: {} overused elements ({} edge searches, {:.0f} states "
                                  "expanded per search)\n",
                                  iterations_, over, searches_,
                                  searches_ ? static_cast<double>(expanded_) / static_cast<double>(searches_) : 0.0);
      }
      searches_ = expanded_ = 0;
      // A neuron that moved later re-marks its consumers; those routed before
      // it in this order still need their routes redone.
      const bool pending = std::find(dirty.begin(), dirty.end(), true) != dirty.end();
      if (over == 0 && timing_failed == ~0U && !pending) {
        converged = true;
        break;
      }
      if (over == 0 && !pending) break;
      // Stalled: no fewer overused elements for a while. The nets left in
      // conflict have no other route in this order; start again in another.
      if (over < best_over) best_over = over, stalled = 0;
      else if (++stalled >= 8) break;
      pres_fac_ *= 1.6f;
      for (std::uint32_t d = 0; d < nn; ++d) {
        bool conflict = !nets_[d].timing_ok;
        for (const auto& x : nets_[d].nodes) conflict |= nocc_[static_cast<std::size_t>(x.elem)] > 1;
        for (auto o : nets_[d].raw_refs) {
          if (conflict) break;
          conflict = nocc_[static_cast<std::size_t>(pool_[static_cast<std::size_t>(o)].elem)] > 1;
        }
        if (!conflict) {
          in_conflict[d] = 0;
          continue;
        }
        dirty[d] = true;
        // In conflict three times running: its exact latency leaves no
        // detour. It fires later (its consumers follow), which gives its
        // routes the room.
        if (frames && ++in_conflict[d] >= 3) {
          fire_later(d, 2, dirty);
          in_conflict[d] = 0;
        }
      }
    }
    if (converged) return;
    if (frames && restart < 3) continue;  // again in another net order (negotiation can get stuck)
    if (!frames && restart < 4 && timing_failed == ~0U) {
      cycles_per_tick += (cycles_per_tick + 1) / 2;  // more cycles per step: room for detours
      continue;
    }
    if (timing_failed != ~0U) {
      const auto& nr = nl_.neurons[timing_failed];
      not_routable(fmt::format("the inputs of neuron {}{} (layer '{}') cannot be routed with delays of {}..{} cycles "
                               "that balance them",
                               timing_failed, nr.name.empty() ? "" : " (" + nr.name + ")",
                               nr.group < nl_.groups.size() ? nl_.groups[nr.group] : "-", t_.delay_min_cycles,
                               t_.delay_max_cycles));
    }
    not_routable(fmt::format("routing did not converge: {} attempts in different net orders, each stopped after "
                             "{} PathFinder iterations or 8 without progress, the last with {} overused elements",
                             restart + 1, opts_.max_iterations, last_over_));
  }
}

hw::dn_program grid_router::emit(const std::string& target_text) {
  hw::dn_program p = program_header(nl_, t_, target_text);
  p.cycles_per_tick = nl_.mode == hw::dn_mode::frames ? 1 : cycles_per_tick;
  auto listen_bit = [&](std::int32_t listener, std::int32_t heard) -> std::uint16_t {
    const int ddx = ex(heard) - ex(listener), ddy = ey(heard) - ey(listener);
    for (std::size_t k = 0; k < dx_.size(); ++k)
      if (dx_[k] == ddx && dy_[k] == ddy) return static_cast<std::uint16_t>(1U << k);
    throw internal_error(fmt::format("grid compiler: element ({}, {}) cannot listen to ({}, {})", ex(listener),
                                     ey(listener), ex(heard), ey(heard)));
  };
  std::vector<hw::dn_element> cfg(E_);
  std::vector<bool> used(E_, false);
  const std::int64_t vmax = t_.value_max();
  std::int64_t relays = 0, delaying = 0, weights = 0, merges = 0, crossings = 0;
  auto link = [&](std::int32_t listener, std::int32_t heard) {
    cfg[static_cast<std::size_t>(listener)].listen |= listen_bit(listener, heard);
    crossings += tile_of(listener) != tile_of(heard);
  };
  std::int64_t sums = 0, line_starts = 0;
  for (std::uint32_t i = 0; i < nl_.neurons.size(); ++i) {
    const auto& nr = nl_.neurons[i];
    const auto e = static_cast<std::size_t>(site_[i]);
    used[e] = true;
    auto& c = cfg[e];
    c.layer = nr.group;
    if (nr.sum_weight != 0) {  // a partial sum: passes w x (its inputs) on one cycle later, like a neuron's firing
      c.kind = hw::element_kind::synapse;
      c.weight = static_cast<std::int16_t>(nr.sum_weight);
      c.delay = 1;
      ++(nr.crossbar >= 0 ? line_starts : sums);
      continue;
    }
    c.kind = hw::element_kind::neuron;
    if (nr.threshold < -t_.threshold_max() - 1 || nr.threshold > t_.threshold_max()) {
      throw fit_error(fmt::format("{}: neuron {}{} has threshold {}, outside the grid's {}-bit range", nl_.source, i,
                                  nr.name.empty() ? "" : " (" + nr.name + ")", nr.threshold, t_.threshold_bits),
                      "use smaller thresholds, or a grid description with more threshold bits");
    }
    c.threshold = nr.threshold;
    c.charge_min = std::max<std::int32_t>(nr.charge_min, -t_.charge_max() - 1);
    c.leak = nr.leak;
  }
  // The largest value each node emits (neurons: 1), for the value-range check.
  std::vector<std::int64_t> mag(nl_.neurons.size(), 1);
  auto source_at = [&](std::int32_t raw) -> std::size_t {  // whose raw signal an element carries
    if (const auto i = neuron_at_[static_cast<std::size_t>(raw)]; i >= 0) return static_cast<std::size_t>(i);
    for (auto o = head_[static_cast<std::size_t>(raw)]; o >= 0; o = pool_[static_cast<std::size_t>(o)].next)
      if (is_raw(pool_[static_cast<std::size_t>(o)].key)) return static_cast<std::size_t>(pool_[static_cast<std::size_t>(o)].key >> 24);
    throw internal_error("grid compiler: a raw link to an element without a raw signal");
  };
  for (std::uint32_t d = 0; d < nets_.size(); ++d) {  // sources before consumers
    const auto& n = nets_[d];
    std::vector<std::int64_t> bound(n.nodes.size(), 0);
    std::int64_t into = 0;  // the largest sum arriving at d
    for (const auto& [node, raw] : n.raw_links) {
      if (node >= 0) bound[static_cast<std::size_t>(node)] += std::abs(n.nodes[static_cast<std::size_t>(node)].weight) * mag[source_at(raw)];
      else into += mag[source_at(raw)];
    }
    for (std::size_t i = 0; i < n.nodes.size(); ++i) {
      const auto& x = n.nodes[i];
      const auto e = static_cast<std::size_t>(x.elem);
      used[e] = true;
      auto& c = cfg[e];
      c.kind = hw::element_kind::synapse;
      c.weight = x.weight;
      c.delay = x.delay;
      c.layer = nl_.neurons[d].group;
      (x.is_weight ? weights : merges) += 1;
      if (x.parent >= 0) link(n.nodes[static_cast<std::size_t>(x.parent)].elem, x.elem);
      else link(site_[d], x.elem);
    }
    for (const auto& [node, raw] : n.raw_links) link(node >= 0 ? n.nodes[static_cast<std::size_t>(node)].elem : site_[d], raw);
    // value range: bounds of partial sums, children before parents (repeat until stable; trees are shallow)
    bool changed = true;
    std::vector<std::int64_t> total = bound;
    while (changed) {
      changed = false;
      std::vector<std::int64_t> next = bound;
      for (std::size_t i = 0; i < n.nodes.size(); ++i)
        if (n.nodes[i].parent >= 0) next[static_cast<std::size_t>(n.nodes[i].parent)] += total[i];
      if (next != total) total = next, changed = true;
    }
    for (std::size_t i = 0; i < n.nodes.size(); ++i) {
      if (n.nodes[i].parent < 0) into += total[i];
      if (total[i] > vmax) {
        throw fit_error(fmt::format("{}: a merge into neuron {} can carry {}, beyond the grid's {}-bit values", nl_.source,
                                    d, total[i], t_.value_bits),
                        "use a grid description with wider values, or smaller weights");
      }
    }
    if (const auto w = nl_.neurons[d].sum_weight; w != 0) {
      mag[d] = std::abs(w) * into;
      if (mag[d] > vmax) {
        const auto g = nl_.neurons[d].group;
        throw fit_error(fmt::format("{}: the {} (layer '{}') can carry {}, beyond the grid's {}-bit values", nl_.source,
                                    nl_.neurons[d].name, g < nl_.groups.size() ? nl_.groups[g] : "-", mag[d], t_.value_bits),
                        "use a grid description with wider values, or a smaller --max-fan-in");
      }
    }
  }
  for (std::size_t v = 0; v < E_; ++v) {
    for (auto o = head_[v]; o >= 0; o = pool_[static_cast<std::size_t>(o)].next) {
      const auto& oc = pool_[static_cast<std::size_t>(o)];
      if (!is_raw(oc.key)) continue;
      const auto s = static_cast<std::uint32_t>(oc.key >> 24);
      const std::int32_t pe = oc.parent < 0 ? site_[s] : pool_[static_cast<std::size_t>(oc.parent)].elem;
      const int pa = oc.parent < 0 ? 0 : raw_arrival(pool_[static_cast<std::size_t>(oc.parent)].key);
      auto& c = cfg[v];
      used[v] = true;
      c.kind = hw::element_kind::synapse;
      c.weight = 1;
      c.delay = static_cast<std::uint8_t>(raw_arrival(oc.key) - pa - xc(pe, static_cast<std::int32_t>(v)));
      c.layer = nl_.neurons[s].group;
      link(static_cast<std::int32_t>(v), pe);
      ++relays;
      delaying += c.delay > t_.delay_min_cycles;
    }
  }
  // Crossbars (see `macro`): prefixes and lines, then the chains.
  std::int64_t xbar_elements = line_starts;
  for (const auto& m : macros_) {
    auto put = [&](int x, int y, int weight, int delay) {
      const auto v = at(x, y);
      if (used[static_cast<std::size_t>(v)]) throw internal_error(fmt::format("crossbar element ({}, {}) is taken", x, y));
      used[static_cast<std::size_t>(v)] = true;
      auto& c = cfg[static_cast<std::size_t>(v)];
      c.kind = hw::element_kind::synapse;
      c.weight = static_cast<std::int16_t>(weight);
      c.delay = static_cast<std::uint8_t>(delay);
      c.layer = m.group;
      ++xbar_elements;
      return v;
    };
    for (int k = 0; k < m.S; ++k) {
      const auto kk = static_cast<std::size_t>(k);
      const int y = m.y0 + k, P = m.P[kk], xs = m.x0 - 2 * P;
      // The prefix's D[k] cycles, less its tile crossings, spread over its relays.
      int rem = m.D[kk];
      for (int j = 1; j <= P; ++j) rem -= xc(at(xs + 2 * j - 2, y), at(xs + 2 * j, y));
      for (int j = 1; j <= P; ++j) {
        const int d = rem / P + (j <= rem % P ? 1 : 0);
        if (d < t_.delay_min_cycles || d > t_.delay_max_cycles) throw internal_error("crossbar prefix: delay out of range");
        link(put(xs + 2 * j, y, 1, d), at(xs + 2 * j - 2, y));
      }
      int last = 0;
      for (int j = 0; j < m.N; ++j)
        if (m.w[kk][static_cast<std::size_t>(j)] != 0) last = j;
      for (int i = 1; i <= last; ++i) link(put(m.x0 + 2 * i, y, 1, 1), at(m.x0 + 2 * i - 2, y));
    }
    for (int j = 0; j < m.N; ++j) {
      const auto jj = static_cast<std::size_t>(j);
      const int c = m.x0 + 2 * j + 1;
      std::vector<int> hit;  // rows crossing this chain
      for (int k = 0; k < m.S; ++k)
        if (m.w[static_cast<std::size_t>(k)][jj] != 0) hit.push_back(k);
      if (hit.empty()) throw internal_error("crossbar chain without a crossing");
      if (static_cast<std::int64_t>(hit.size()) > vmax) {
        throw fit_error(fmt::format("{}: a chain of the crossbar of layer '{}' sums {} inputs, beyond the grid's {}-bit "
                                    "values", nl_.source, m.group < nl_.groups.size() ? nl_.groups[m.group] : "-",
                                    hit.size(), t_.value_bits),
                        "use a grid description with wider values, or --crossbar-fan-in 0");
      }
      std::size_t h = 0;
      for (int k = hit.front(); k < m.S; ++k) {
        int sign = 1;
        const bool crossing = h < hit.size() && hit[h] == k;
        if (crossing) {
          const int wk = m.w[static_cast<std::size_t>(k)][jj];
          sign = h + 1 < hit.size() ? wk * m.w[static_cast<std::size_t>(hit[h + 1])][jj] : wk;
          ++h;
        }
        const auto v = put(c, m.y0 + k, sign, 1);
        if (crossing) link(v, at(c - 1, m.y0 + k));
        if (k > hit.front()) link(v, at(c, m.y0 + k - 1));
      }
      link(site_[m.cols[jj]], at(c, m.y0 + m.S - 1));
    }
  }
  std::vector<std::int32_t> index(E_, -1);
  for (std::size_t v = 0; v < E_; ++v) {
    if (!used[v]) continue;
    cfg[v].x = static_cast<std::uint32_t>(v % static_cast<std::size_t>(W_));
    cfg[v].y = static_cast<std::uint32_t>(v / static_cast<std::size_t>(W_));
    index[v] = static_cast<std::int32_t>(p.elements.size());
    p.elements.push_back(cfg[v]);
  }
  for (std::size_t i = 0; i < nl_.inputs.size(); ++i) {
    p.inputs.push_back({static_cast<std::uint32_t>(index[static_cast<std::size_t>(site_[nl_.inputs[i]])]), -1, 0,
                        static_cast<std::int32_t>(i)});
  }
  std::int32_t latency = 0;
  for (std::size_t k = 0; k < nl_.outputs.size(); ++k) {
    const auto o = nl_.outputs[k];
    const std::int32_t off = nl_.mode == hw::dn_mode::frames ? time_of_[o] : 0;
    latency = std::max(latency, off);
    p.outputs.push_back({static_cast<std::uint32_t>(index[static_cast<std::size_t>(site_[o])]),
                         k < nl_.output_class.size() ? nl_.output_class[k] : static_cast<std::int32_t>(k), off});
  }
  p.latency_cycles = static_cast<std::uint32_t>(latency);
  std::int64_t len_sum = 0, len_max = 0, routed = 0;
  for (const auto& n : nets_)
    for (auto l : n.edge_len) len_sum += l, len_max = std::max<std::int64_t>(len_max, l), ++routed;
  const auto ne = static_cast<std::int64_t>(nl_.neurons.size());
  nlohmann::ordered_json j;
  j["grid_width"] = W_;
  j["grid_height"] = H_;
  j["tiles_x"] = t_.tiles_x;
  j["tiles_y"] = t_.tiles_y;
  j["elements_available"] = t_.elements();
  j["elements_used"] = static_cast<std::int64_t>(p.elements.size());
  j["neuron_elements"] = ne - sums - line_starts;
  j["partial_sum_elements"] = sums;
  j["relay_elements"] = relays;
  j["delaying_relays"] = delaying;  // relays that hold an early input back (delay above the minimum)
  j["weight_elements"] = weights;
  j["merge_elements"] = merges;
  j["crossbars"] = static_cast<std::int64_t>(macros_.size());
  j["crossbar_elements"] = xbar_elements;
  j["utilisation"] = static_cast<double>(p.elements.size()) / static_cast<double>(t_.elements());
  j["placement_pitch"] = pitch_;
  j["edges"] = routed;
  j["mean_route_length"] = routed ? static_cast<double>(len_sum) / static_cast<double>(routed) : 0.0;
  j["max_route_length"] = len_max;
  j["pathfinder_iterations"] = iterations_;
  j["first_iteration_overused_elements"] = first_overuse_;
  j["tile_crossing_links"] = crossings;
  j["latency_cycles"] = p.latency_cycles;
  j["cycles_per_tick"] = p.cycles_per_tick;
  p.report_json = j.dump();
  return p;
}

}  // namespace

hw::dn_program compile_danna(const netlist& nl, const hw::danna_target& target, const std::string& target_text,
                             const danna_options& opts) {
  if (opts.layout == danna_layout::stripes) return compile_danna_stripes(nl, target, target_text, opts);
  for (const auto& ed : nl.edges) {
    if (ed.from >= nl.neurons.size() || ed.to >= nl.neurons.size()) throw internal_error("netlist edge out of range");
    if (ed.weight < target.weight_min || ed.weight > target.weight_max || ed.weight == 0) {
      auto name = [&](std::uint32_t i) { return nl.neurons[i].name.empty() ? fmt::format("neuron {}", i) : nl.neurons[i].name; };
      throw fit_error(fmt::format("{}: edge {} -> {} has weight {}, the grid's synapses take {}..{} (not 0)", nl.source,
                                  name(ed.from), name(ed.to), ed.weight, target.weight_min, target.weight_max),
                      "scale the network's weights into the synapse range");
    }
  }
  // Crossbars need the links of their layout ((-2, 0), (-1, 0), (0, -1)) and
  // delays from 1.
  bool links = target.delay_min_cycles == 1;
  for (const std::array<int, 2> o : {std::array<int, 2>{-2, 0}, {-1, 0}, {0, -1}})
    links &= std::find(target.neighbours.begin(), target.neighbours.end(), o) != target.neighbours.end();
  const netlist split = split_fan_in(make_crossbars(nl, links ? opts.crossbar_fan_in : 0), opts.max_fan_in);
  grid_router r(split, target, opts);
  r.place();
  r.route();
  auto p = r.emit(target_text);
  hw::verify_program(p, true);
  return p;
}

}  // namespace nmc::compiler
