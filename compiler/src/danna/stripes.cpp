// The stripes layout of the grid compiler (see danna.hpp): Eedn networks of
// any size laid out by construction, with no routing search.
//
// Every layer is cut into stripes: the neurons of one output row (one row of
// its feature map; a dense layer is one row), split further into the groups
// of neurons that share no source (grouped convolutions). A stripe is a
// crossbar: line k (grid row y0 + k) carries source k to the right on even
// columns, chain j (column x0 + 2j + 1) accumulates its crossings downwards
// and its neuron sits below the last line. Lines are sorted by the position of
// their source and chains by position, so line k runs only as far as its last
// crossing and chain j starts at its first: a stripe fills about half its
// rectangle.
//
// Stripes are stacked in one column, a stripe as soon as every value it needs
// has been produced (deepest layer first, so values are consumed soon after
// they are made). Left of the stripes lies the bus field: every value a later
// stripe needs goes down its neuron's column into the stripe's band (one row
// per value), left along that row to its bus, a vertical chain of relays on an
// odd column that runs down past every stripe that reads it; the line that
// reads it starts next to the bus in the line's row. Buses share columns when
// their rows do not overlap (interval colouring). Vertical wires use odd
// columns and horizontal ones even columns, so wires cross without touching:
// a link of two columns (+-2, 0) steps over a bus.
//
// Input bits need no wires: the first element of a line that reads an input
// bit is an input port, injected at the cycle the line needs it (the host
// delivers a bit to every port that reads it).
//
// Timing is exact by construction. Line k must reach column x0 in cycle
// A_0 + dL_k (dL_k: k plus the tile crossings down the stripe's rows): then
// every chain element sees the chain above and its line in the same cycle.
// Stripes are timed in order: A_0 is the earliest cycle every line can make,
// and a line that could be earlier waits in the delays of its first elements
// (up to the maximum delay each) and then in the bus relays above its tap.
// A final check recomputes every element's input cycles from the elements it
// hears: all inputs of an element must arrive in one cycle.

#include <nmc/compiler/danna.hpp>

#include <algorithm>
#include <map>
#include <numeric>
#include <ostream>
#include <queue>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <nmc/error.hpp>

namespace nmc::compiler {

namespace {

using hw::element_kind;

struct stripe {
  std::uint32_t group = 0;
  std::vector<std::uint32_t> rows;                     // source of line k
  std::vector<std::uint32_t> cols;                     // neuron of chain j
  std::vector<std::vector<std::pair<int, int>>> hits;  // chain j: (line, weight +-1), lines ascending
  std::vector<int> last;                               // line k: its last chain
  // Pooling neurons attached below the chains (see lay_stripe): pool p sums
  // the neurons of chains window_begin[p] .. window_begin[p + 1] - 1.
  std::vector<std::uint32_t> pools;
  std::vector<int> window_begin;
  int y0 = 0;
  int tracks = 0;  // band rows
  int extra_rows() const { return pools.empty() ? 0 : 3; }  // below the neuron row: the pools' relays, sums, neurons
};

// A value a later stripe reads: made by a neuron in column x0 + 2 col + 1,
// row `row` (a chain's neuron or a pool), it goes down to its band row, left
// to its bus column x and down the bus. Its path is laid out when the first
// line reads it (so that path can wait for that line).
struct bus {
  std::uint32_t neuron = 0;
  int col = 0, row = 0;
  int top = 0, bottom = 0;  // band row, the last row read
  int x = 0;                // odd column
  bool started = false;     // the path to the first reader is laid out
  int cur_y = 0;            // the lowest element laid out so far
  std::int32_t cur_o = 0;   // its firing cycle
  int len = 0;              // synapse elements from the value's neuron to that element
};

// Thrown by lay_stripe: the stripe needs this many more rows above it.
struct need_rows {
  int rows = 0;
};

struct cell {
  int x = 0, y = 0, dx = 0, dy = 0;  // position and the offset it hears
};

class stripe_layout {
public:
  stripe_layout(const netlist& nl, const hw::danna_target& t, const danna_options& opts) : nl_(nl), t_(t), opts_(opts) {}

  hw::dn_program build(const std::string& target_text);

private:
  void partition();
  void stack();
  void buses();
  void lay_stripe(const stripe& s);
  std::vector<cell> path_to(const bus& b, int y) const;
  void check_timing() const;
  void fits() const;  // throws fit_error when the layout is larger than the grid
  hw::dn_program program(const std::string& target_text);  // takes the elements

  std::int32_t at(int x, int y) const { return occ_[static_cast<std::size_t>(y) * static_cast<std::size_t>(W_) + static_cast<std::size_t>(x)]; }
  int tile(int x, int y) const { return (y / t_.tile_h) * t_.tiles_x + x / t_.tile_w; }
  int xc(int x1, int y1, int x2, int y2) const { return tile(x1, y1) == tile(x2, y2) ? 0 : t_.tile_crossing_cycles; }
  // A new element at (x, y) that hears the elements at the given offsets; its
  // firing cycle follows from theirs (all must agree: check_timing).
  std::int32_t put(int x, int y, element_kind kind, int weight, int delay, std::uint32_t layer,
                   std::initializer_list<std::array<int, 2>> hears);
  std::int32_t neuron_for(std::uint32_t n, int x, int y, std::initializer_list<std::array<int, 2>> hears);

  const netlist& nl_;
  const hw::danna_target& t_;
  const danna_options& opts_;
  std::vector<stripe> parts_;            // from partition
  std::vector<int> gap_;                 // rows left empty above the i-th stripe stacked
  std::vector<stripe> stripes_;          // in stacking order
  std::vector<std::int32_t> bit_of_;     // neuron -> input bit, -1: not an input
  std::vector<std::int32_t> bus_of_;     // neuron -> its bus, -1: none
  std::vector<std::int32_t> pool_of_;    // neuron -> the attached pool that reads it, -1: none
  std::vector<bus> buses_;
  int ncols_ = 0, x0_ = 0, W_ = 0, H_ = 0;
  std::vector<std::int32_t> occ_;        // grid position -> element, -1: unused
  std::vector<hw::dn_element> el_;
  std::vector<std::int32_t> fire_;       // element -> the cycle it emits a frame's value (frame 0 injected in cycle 0)
  std::vector<hw::dn_port> inputs_;
  std::vector<std::int32_t> elem_of_;    // neuron -> its element
  std::int64_t relays_ = 0, delaying_ = 0, chain_elements_ = 0, line_elements_ = 0, crossings_ = 0;
  std::int64_t transport_sum_ = 0, transport_max_ = 0, transports_ = 0;
};

// Stripes: (layer, output row, sharing component). A pooling layer whose
// neurons sum (weights +1) neurons of one layer that feed nothing else is
// attached to that layer's stripes instead: the stripe is a row of pools and
// each pool's inputs are adjacent chains. Lines sorted by the source's
// position (column, then row, then id), chains by position (their pool's
// first) then id.
void stripe_layout::partition() {
  const auto N = nl_.neurons.size();
  bit_of_.assign(N, -1);
  for (std::size_t i = 0; i < nl_.inputs.size(); ++i) bit_of_[nl_.inputs[i]] = static_cast<std::int32_t>(i);
  std::vector<std::vector<std::pair<std::uint32_t, int>>> in(N);  // neuron -> (source, weight)
  for (const auto& e : nl_.edges) in[e.to].emplace_back(e.from, e.weight);
  std::vector<int> readers(N, 0);
  for (std::uint32_t n = 0; n < N; ++n) {
    auto& v = in[n];
    std::sort(v.begin(), v.end());
    std::vector<std::pair<std::uint32_t, int>> merged;
    for (const auto& [s, w] : v) {
      if (!merged.empty() && merged.back().first == s) merged.back().second += w;
      else merged.emplace_back(s, w);
    }
    std::erase_if(merged, [](const auto& p) { return p.second == 0; });
    for (const auto& [s, w] : merged) {
      if (w != 1 && w != -1) {
        throw fit_error(fmt::format("{}: neuron {} hears neuron {} with weight {}; the stripes layout takes weights "
                                    "+1 and -1 (Eedn's trinary synapses)", nl_.source, n, s, w),
                        "use --layout route for networks with other weights");
      }
      ++readers[s];
    }
    v = std::move(merged);
  }
  std::vector<bool> is_output(N, false);
  for (auto o : nl_.outputs) is_output[o] = true;
  // Attached pooling layers: every neuron of the group sums, with weights +1,
  // neurons of one other layer that it alone reads.
  const auto G = std::max<std::size_t>(nl_.groups.size(), 1);
  std::vector<std::int64_t> source_group(G, -2);  // -2: no neuron seen; -1: not attachable
  for (std::uint32_t n = 0; n < N; ++n) {
    if (bit_of_[n] >= 0) continue;
    auto& sg = source_group[nl_.neurons[n].group];
    if (sg == -1) continue;
    bool ok = !in[n].empty();
    for (const auto& [x, w] : in[n]) {
      ok = ok && w == 1 && bit_of_[x] < 0 && readers[x] == 1 && !is_output[x] &&
           (sg < 0 || nl_.neurons[x].group == static_cast<std::uint32_t>(sg)) && nl_.neurons[x].group != nl_.neurons[n].group;
      if (ok && sg < 0) sg = nl_.neurons[x].group;
    }
    if (!ok) sg = -1;
  }
  pool_of_.assign(N, -1);
  std::vector<bool> attached(N, false);
  for (std::uint32_t n = 0; n < N; ++n) {
    if (bit_of_[n] >= 0 || source_group[nl_.neurons[n].group] < 0) continue;
    attached[n] = true;
    for (const auto& [x, w] : in[n]) pool_of_[x] = static_cast<std::int32_t>(n);
  }
  // A neuron's row: its pool's row if it has one.
  auto key_neuron = [&](std::uint32_t n) { return pool_of_[n] >= 0 ? static_cast<std::uint32_t>(pool_of_[n]) : n; };
  std::map<std::pair<std::uint32_t, float>, int> row_of;  // (group, fy) -> row
  auto row_key = [&](std::uint32_t n) { return std::make_pair(nl_.neurons[key_neuron(n)].group, nl_.neurons[key_neuron(n)].fy); };
  for (std::uint32_t n = 0; n < N; ++n)
    if (bit_of_[n] < 0 && !attached[n]) row_of.emplace(row_key(n), 0);
  {
    int r = 0;
    for (auto& [k, v] : row_of) v = r++;
  }
  // Neurons of one row that share a source or a pool are in one stripe (union-find).
  std::vector<std::uint32_t> parent(N);
  std::iota(parent.begin(), parent.end(), 0U);
  auto find = [&](std::uint32_t a) {
    while (parent[a] != a) a = parent[a] = parent[parent[a]];
    return a;
  };
  std::map<std::tuple<std::uint32_t, int, std::uint32_t>, std::uint32_t> first_reader;  // (group, row, source) -> neuron
  for (std::uint32_t n = 0; n < N; ++n) {
    if (bit_of_[n] >= 0 || attached[n]) continue;
    const int r = row_of.at(row_key(n));
    for (const auto& [s, w] : in[n]) {
      const auto [it, fresh] = first_reader.emplace(std::make_tuple(nl_.neurons[n].group, r, s), n);
      if (!fresh) parent[find(n)] = find(it->second);
    }
    if (pool_of_[n] >= 0) {
      const auto [it, fresh] = first_reader.emplace(std::make_tuple(~0U, r, static_cast<std::uint32_t>(pool_of_[n])), n);
      if (!fresh) parent[find(n)] = find(it->second);
    }
  }
  std::map<std::tuple<std::uint32_t, int, std::uint32_t>, std::size_t> index;  // (group, row, root) -> stripe
  std::vector<stripe> made;
  for (std::uint32_t n = 0; n < N; ++n) {
    if (bit_of_[n] >= 0 || attached[n]) continue;
    const auto& nr = nl_.neurons[n];
    if (nr.sum_weight != 0 || nr.crossbar >= 0) throw internal_error("stripes layout: the netlist was split");
    const auto key = std::make_tuple(nr.group, row_of.at(row_key(n)), find(n));
    const auto [it, fresh] = index.emplace(key, made.size());
    if (fresh) made.emplace_back().group = nr.group;
    made[it->second].cols.push_back(n);
  }
  auto pos_less = [&](std::uint32_t a, std::uint32_t b) {
    const auto &na = nl_.neurons[a], &nb = nl_.neurons[b];
    return std::tie(na.fx, na.fy, a) < std::tie(nb.fx, nb.fy, b);
  };
  auto chain_less = [&](std::uint32_t a, std::uint32_t b) {
    const auto ka = key_neuron(a), kb = key_neuron(b);
    if (ka != kb) return pos_less(ka, kb);
    return pos_less(a, b);
  };
  for (auto& s : made) {
    std::sort(s.cols.begin(), s.cols.end(), chain_less);
    for (std::size_t j = 0; j < s.cols.size(); ++j) {
      const auto p = pool_of_[s.cols[j]];
      if (p >= 0 && (s.pools.empty() || s.pools.back() != static_cast<std::uint32_t>(p))) {
        s.pools.push_back(static_cast<std::uint32_t>(p));
        s.window_begin.push_back(static_cast<int>(j));
      }
    }
    s.window_begin.push_back(static_cast<int>(s.cols.size()));
    for (auto n : s.cols)
      for (const auto& [src, w] : in[n]) s.rows.push_back(src);
    std::sort(s.rows.begin(), s.rows.end(), pos_less);
    s.rows.erase(std::unique(s.rows.begin(), s.rows.end()), s.rows.end());
    std::map<std::uint32_t, int> line;
    for (std::size_t k = 0; k < s.rows.size(); ++k) line[s.rows[k]] = static_cast<int>(k);
    s.hits.resize(s.cols.size());
    s.last.assign(s.rows.size(), -1);
    for (std::size_t j = 0; j < s.cols.size(); ++j) {
      for (const auto& [src, w] : in[s.cols[j]]) s.hits[j].emplace_back(line.at(src), w);
      std::sort(s.hits[j].begin(), s.hits[j].end());
      for (const auto& [k, w] : s.hits[j]) s.last[static_cast<std::size_t>(k)] = static_cast<int>(j);
      if (static_cast<std::int64_t>(s.hits[j].size()) > t_.value_max()) {
        throw fit_error(fmt::format("{}: a neuron of layer '{}' sums {} inputs along its chain, beyond the grid's "
                                    "{}-bit values", nl_.source, nl_.groups.at(s.group), s.hits[j].size(), t_.value_bits),
                        "use a grid description with wider values");
      }
    }
  }
  parts_ = std::move(made);
  gap_.assign(parts_.size(), 0);
}

// Stacking order and rows: a stripe once all its sources are made, the
// deepest layer first; each stripe's band gets a row per value a later stripe
// reads.
void stripe_layout::stack() {
  const auto N = nl_.neurons.size();
  std::vector<bool> done(N, false), placed(parts_.size(), false), read(N, false);
  for (std::uint32_t n = 0; n < N; ++n) done[n] = bit_of_[n] >= 0;
  for (const auto& s : parts_)
    for (auto r : s.rows) read[r] = true;
  bus_of_.assign(N, -1);
  std::vector<stripe> order;
  int y = 0;
  for (std::size_t count = 0; count < parts_.size(); ++count) {
    std::int64_t pick = -1;
    for (std::size_t i = 0; i < parts_.size(); ++i) {
      if (placed[i]) continue;
      if (!std::all_of(parts_[i].rows.begin(), parts_[i].rows.end(), [&](std::uint32_t r) { return done[r]; })) continue;
      if (pick < 0 || parts_[i].group > parts_[static_cast<std::size_t>(pick)].group) pick = static_cast<std::int64_t>(i);
    }
    if (pick < 0) throw internal_error("stripes layout: the netlist has a cycle");
    placed[static_cast<std::size_t>(pick)] = true;
    auto s = parts_[static_cast<std::size_t>(pick)];
    y += gap_[count];
    s.y0 = y;
    const int S = static_cast<int>(s.rows.size());
    auto value = [&](std::uint32_t n, int col, int row) {
      done[n] = true;
      if (!read[n]) return;
      bus b;
      b.neuron = n;
      b.col = col;
      b.row = row;
      b.top = b.bottom = y + S + 1 + s.extra_rows() + s.tracks++;
      bus_of_[n] = static_cast<std::int32_t>(buses_.size());
      buses_.push_back(b);
    };
    for (std::size_t j = 0; j < s.cols.size(); ++j) value(s.cols[j], static_cast<int>(j), y + S);
    for (std::size_t p = 0; p < s.pools.size(); ++p) value(s.pools[p], s.window_begin[p + 1] - 1, y + S + 3);
    y += S + 1 + s.extra_rows() + s.tracks;
    order.push_back(std::move(s));
  }
  stripes_ = std::move(order);
  H_ = y;
}

// Bus columns: a value's bus runs from its band row down to the last line
// that reads it; columns by interval colouring (a column is free again below
// the end of the bus it held).
void stripe_layout::buses() {
  for (const auto& s : stripes_)
    for (std::size_t k = 0; k < s.rows.size(); ++k)
      if (const auto b = bus_of_[s.rows[k]]; b >= 0) {
        auto& bb = buses_[static_cast<std::size_t>(b)];
        bb.bottom = std::max(bb.bottom, s.y0 + static_cast<int>(k));
      }
  std::vector<std::size_t> by_top(buses_.size());
  std::iota(by_top.begin(), by_top.end(), std::size_t{0});
  std::sort(by_top.begin(), by_top.end(), [&](std::size_t a, std::size_t b) { return buses_[a].top < buses_[b].top; });
  using slot = std::pair<int, int>;  // (bottom of the bus holding it, column)
  std::priority_queue<slot, std::vector<slot>, std::greater<>> busy;
  std::priority_queue<int, std::vector<int>, std::greater<>> free_cols;
  for (auto i : by_top) {
    auto& b = buses_[i];
    while (!busy.empty() && busy.top().first < b.top) free_cols.push(busy.top().second), busy.pop();
    int c = 0;
    if (free_cols.empty()) c = ncols_++;
    else c = free_cols.top(), free_cols.pop();
    b.x = c;  // a colour for now: colour 0 is the column next to the stripes
    busy.emplace(b.bottom, c);
  }
  x0_ = 2 * ncols_ + 2;
  for (auto& b : buses_) b.x = x0_ - 3 - 2 * b.x;
  std::size_t widest = 0;
  for (const auto& s : stripes_) widest = std::max(widest, s.cols.size());
  W_ = x0_ + 2 * static_cast<int>(widest) + 1;
}

std::int32_t stripe_layout::put(int x, int y, element_kind kind, int weight, int delay, std::uint32_t layer,
                                std::initializer_list<std::array<int, 2>> hears) {
  const auto cell = static_cast<std::size_t>(y) * static_cast<std::size_t>(W_) + static_cast<std::size_t>(x);
  if (x < 0 || y < 0 || x >= W_ || y >= H_ || occ_[cell] >= 0)
    throw internal_error(fmt::format("stripes layout: element ({}, {}) is outside the layout or taken", x, y));
  hw::dn_element e;
  e.x = static_cast<std::uint32_t>(x);
  e.y = static_cast<std::uint32_t>(y);
  e.kind = kind;
  e.weight = static_cast<std::int16_t>(weight);
  e.delay = static_cast<std::uint8_t>(delay);
  e.layer = layer;
  std::int32_t see = -1;
  for (const auto& [dx, dy] : hears) {
    const auto it = std::find(t_.neighbours.begin(), t_.neighbours.end(), std::array<int, 2>{dx, dy});
    const bool inside = x + dx >= 0 && y + dy >= 0 && x + dx < W_ && y + dy < H_;
    const auto u = inside ? at(x + dx, y + dy) : -1;
    if (it == t_.neighbours.end() || u < 0)
      throw internal_error(fmt::format("stripes layout: ({}, {}) cannot hear ({}, {})", x, y, x + dx, y + dy));
    e.listen |= static_cast<std::uint16_t>(1U << (it - t_.neighbours.begin()));
    const int c = xc(x + dx, y + dy, x, y);
    crossings_ += c != 0;
    see = std::max(see, fire_[static_cast<std::size_t>(u)] + 1 + c);
  }
  const auto id = static_cast<std::int32_t>(el_.size());
  occ_[cell] = id;
  el_.push_back(e);
  fire_.push_back(kind == element_kind::neuron ? see : see + delay - 1);
  if (kind == element_kind::synapse && weight == 1) relays_ += 1, delaying_ += delay > t_.delay_min_cycles;
  return id;
}

std::int32_t stripe_layout::neuron_for(std::uint32_t n, int x, int y, std::initializer_list<std::array<int, 2>> hears) {
  const auto& nr = nl_.neurons[n];
  if (nr.threshold < -t_.threshold_max() - 1 || nr.threshold > t_.threshold_max()) {
    throw fit_error(fmt::format("{}: neuron {} of layer '{}' has threshold {}, outside the grid's {}-bit range", nl_.source,
                                n, nl_.groups.at(nr.group), nr.threshold, t_.threshold_bits),
                    "use smaller thresholds, or a grid description with more threshold bits");
  }
  const auto e = put(x, y, element_kind::neuron, 1, 1, nr.group, hears);
  auto& el = el_[static_cast<std::size_t>(e)];
  el.threshold = nr.threshold;
  el.charge_min = std::max<std::int32_t>(nr.charge_min, -t_.charge_max() - 1);
  el.leak = nr.leak;
  elem_of_[n] = e;
  return e;
}

// The cells from bus b's lowest element laid out (or, before its first
// reader, from its neuron) to its element in row y: first down the neuron's
// column to the band row, left along it, the bus's top, then down the bus.
std::vector<cell> stripe_layout::path_to(const bus& b, int y) const {
  std::vector<cell> p;
  int from = b.cur_y;
  if (!b.started) {
    const int c = x0_ + 2 * b.col + 1;
    for (int r = b.row + 1; r <= b.top; ++r) p.push_back({c, r, 0, -1});
    for (int x = c - 1; x > b.x; x -= 2) p.push_back({x, b.top, x == c - 1 ? 1 : 2, 0});
    p.push_back({b.x, b.top, 1, 0});
    from = b.top;
  }
  for (int r = from + 1; r <= y; ++r) p.push_back({b.x, r, 0, -1});
  return p;
}

// One stripe: its lines (timed, see the file comment), its chains and
// neurons, its pools.
void stripe_layout::lay_stripe(const stripe& s) {
  const int S = static_cast<int>(s.rows.size()), N = static_cast<int>(s.cols.size());
  const int dmax = t_.delay_max_cycles, y0 = s.y0;
  auto sz = [](int i) { return static_cast<std::size_t>(i); };
  auto cycles = [&](const std::vector<cell>& p) {  // through cells of delay 1
    std::int32_t c = 0;
    for (const auto& e : p) c += 1 + xc(e.x + e.dx, e.y + e.dy, e.x, e.y);
    return c;
  };
  // dL_k, and the earliest cycle each line can reach x0.
  std::vector<std::int32_t> dL(sz(S), 0), earliest(sz(S), 0);
  for (int k = 1; k < S; ++k) dL[sz(k)] = dL[sz(k - 1)] + 1 + xc(x0_ + 1, y0 + k - 1, x0_ + 1, y0 + k);
  std::vector<std::vector<cell>> line(sz(S)), feed(sz(S));  // line k up to x0; the bus path to its tap
  std::int32_t A0 = std::numeric_limits<std::int32_t>::min();
  for (int k = 0; k < S; ++k) {
    const int y = y0 + k;
    const auto src = s.rows[sz(k)];
    if (bit_of_[src] >= 0) {
      line[sz(k)].push_back({x0_, y, -2, 0});
      earliest[sz(k)] = cycles(line[sz(k)]);  // injected in cycle 0 at the earliest
    } else {
      const auto& b = buses_[static_cast<std::size_t>(bus_of_[src])];
      feed[sz(k)] = path_to(b, y);
      for (int x = b.x + 1; x <= x0_; x += 2) line[sz(k)].push_back({x, y, x == b.x + 1 ? -1 : -2, 0});
      const std::int32_t from = b.started ? b.cur_o : fire_[static_cast<std::size_t>(elem_of_[src])];
      earliest[sz(k)] = from + cycles(feed[sz(k)]) + cycles(line[sz(k)]);
    }
    A0 = std::max(A0, earliest[sz(k)] - dL[sz(k)]);
  }
  if (S == 0) A0 = 0;
  // A value that must wait longer than its path's relays can delay it: rows
  // of gap above the stripe give every bus into it more relays (each row
  // delays every line by 1 cycle and adds dmax - 1 cycles of room).
  int gap = 0;
  for (int k = 0; k < S; ++k) {
    if (bit_of_[s.rows[sz(k)]] >= 0) continue;
    const auto room = static_cast<std::int32_t>(line[sz(k)].size() + feed[sz(k)].size()) * (dmax - 1);
    const std::int32_t slack = A0 + dL[sz(k)] - earliest[sz(k)];
    if (slack > room) gap = std::max<int>(gap, (slack - room + dmax - 3) / (dmax - 2) + 1);
  }
  if (gap > 0) throw need_rows{gap};
  auto spread = [](std::int32_t extra, std::size_t n, std::size_t i) {
    const auto e = static_cast<std::size_t>(extra);
    return static_cast<int>(e / n + (i < e % n ? 1 : 0));
  };
  for (int k = 0; k < S; ++k) {
    const int y = y0 + k;
    const auto src = s.rows[sz(k)];
    const std::int32_t slack = A0 + dL[sz(k)] - earliest[sz(k)];
    const auto& ln = line[sz(k)];
    if (const auto bit = bit_of_[src]; bit >= 0) {
      const auto e = put(x0_ - 2, y, element_kind::neuron, 1, 1, nl_.neurons[src].group, {});
      el_[static_cast<std::size_t>(e)].threshold = 1;
      fire_[static_cast<std::size_t>(e)] = slack;
      inputs_.push_back({static_cast<std::uint32_t>(e), -1, slack, bit});
      for (const auto& c : ln) put(c.x, c.y, element_kind::synapse, 1, 1, s.group, {{c.dx, c.dy}});
      transport_sum_ += 1;
      transport_max_ = std::max<std::int64_t>(transport_max_, 1);
    } else {
      auto& b = buses_[static_cast<std::size_t>(bus_of_[src])];
      const auto& fd = feed[sz(k)];
      const std::int32_t line_extra = std::min<std::int32_t>(slack, static_cast<std::int32_t>(ln.size()) * (dmax - 1));
      const std::int32_t feed_extra = slack - line_extra;
      const auto g = nl_.neurons[src].group;
      for (std::size_t i = 0; i < fd.size(); ++i)
        put(fd[i].x, fd[i].y, element_kind::synapse, 1, 1 + spread(feed_extra, fd.size(), i), g, {{fd[i].dx, fd[i].dy}});
      b.started = true;
      b.cur_y = y;
      b.cur_o = fire_[static_cast<std::size_t>(at(b.x, y))];
      b.len += static_cast<int>(fd.size());
      for (std::size_t i = 0; i < ln.size(); ++i)
        put(ln[i].x, ln[i].y, element_kind::synapse, 1, 1 + spread(line_extra, ln.size(), i), s.group, {{ln[i].dx, ln[i].dy}});
      transport_sum_ += b.len + static_cast<std::int64_t>(ln.size());
      transport_max_ = std::max<std::int64_t>(transport_max_, b.len + static_cast<std::int64_t>(ln.size()));
    }
    ++transports_;
    line_elements_ += static_cast<std::int64_t>(ln.size()) + s.last[sz(k)];
    for (int i = 1; i <= s.last[sz(k)]; ++i) put(x0_ + 2 * i, y, element_kind::synapse, 1, 1, s.group, {{-2, 0}});
  }
  // Chains and neurons.
  for (int j = 0; j < N; ++j) {
    const auto& h = s.hits[sz(j)];
    const int c = x0_ + 2 * j + 1;
    const auto n = s.cols[sz(j)];
    if (h.empty()) {  // a neuron that hears nothing is a constant: any cycle will do, this one is its chain's
      const auto e = neuron_for(n, c, y0 + S, {});
      fire_[static_cast<std::size_t>(e)] = A0 + (S > 0 ? dL[sz(S - 1)] : 0) + j + 2;
      continue;
    }
    std::size_t i = 0;
    for (int k = h.front().first; k < S; ++k) {
      int sign = 1;
      const bool crossing = i < h.size() && h[i].first == k;
      if (crossing) {
        sign = i + 1 < h.size() ? h[i].second * h[i + 1].second : h[i].second;
        ++i;
      }
      if (crossing && k > h.front().first) put(c, y0 + k, element_kind::synapse, sign, 1, s.group, {{-1, 0}, {0, -1}});
      else if (crossing) put(c, y0 + k, element_kind::synapse, sign, 1, s.group, {{-1, 0}});
      else put(c, y0 + k, element_kind::synapse, sign, 1, s.group, {{0, -1}});
      ++chain_elements_;
    }
    neuron_for(n, c, y0 + S, {{0, -1}});
  }
  // Pools: below each chain neuron of a window a relay (row +1), then a sum
  // passed right along row +2 (each hears the relay above and the sum two
  // columns left), the pool's neuron below the window's last sum (row +3).
  // The relays' and sums' delays line the inputs up: the chains' neurons fire
  // about one cycle apart, as the sums move.
  for (std::size_t p = 0; p < s.pools.size(); ++p) {
    const int j0 = s.window_begin[p], j1 = s.window_begin[p + 1];
    std::int32_t prev = -1;  // the sum two columns left
    for (int j = j0; j < j1; ++j) {
      const int c = x0_ + 2 * j + 1, yn = y0 + S;
      const auto g = s.group;
      // through a relay of delay 1: the cycle the sum at (c, yn + 2) sees it
      const std::int32_t via_relay = fire_[static_cast<std::size_t>(at(c, yn))] + 1 + xc(c, yn, c, yn + 1) + 1 + xc(c, yn + 1, c, yn + 2);
      int relay_delay = 1;
      if (prev >= 0) {
        const std::int32_t via_sum = fire_[static_cast<std::size_t>(prev)] + 1 + xc(c - 2, yn + 2, c, yn + 2);
        if (via_relay < via_sum) {
          relay_delay += via_sum - via_relay;
        } else if (via_relay > via_sum) {  // the sum to the left waits (it has no other listener yet)
          auto& d = el_[static_cast<std::size_t>(prev)].delay;
          d = static_cast<std::uint8_t>(d + via_relay - via_sum);
          fire_[static_cast<std::size_t>(prev)] += via_relay - via_sum;
        }
      }
      if (relay_delay > dmax || (prev >= 0 && el_[static_cast<std::size_t>(prev)].delay > dmax)) {
        throw internal_error(fmt::format("stripes layout: a pool's inputs in row {} are more than {} cycles apart", yn, dmax));
      }
      put(c, yn + 1, element_kind::synapse, 1, relay_delay, g, {{0, -1}});
      if (prev >= 0) prev = put(c, yn + 2, element_kind::synapse, 1, 1, g, {{0, -1}, {-2, 0}});
      else prev = put(c, yn + 2, element_kind::synapse, 1, 1, g, {{0, -1}});
    }
    neuron_for(s.pools[p], x0_ + 2 * (j1 - 1) + 1, y0 + S + 3, {{0, -1}});
  }
}

// Every element's inputs arrive in one cycle, and it fires when its delay
// says: recomputed from the finished layout.
void stripe_layout::check_timing() const {
  for (std::size_t v = 0; v < el_.size(); ++v) {
    const auto& e = el_[v];
    std::int32_t see = std::numeric_limits<std::int32_t>::min();
    for (std::size_t k = 0; k < t_.neighbours.size(); ++k) {
      if (!(e.listen >> k & 1U)) continue;
      const int x = static_cast<int>(e.x) + t_.neighbours[k][0], y = static_cast<int>(e.y) + t_.neighbours[k][1];
      const auto u = static_cast<std::size_t>(at(x, y));
      const std::int32_t a = fire_[u] + 1 + xc(x, y, static_cast<int>(e.x), static_cast<int>(e.y));
      if (see != std::numeric_limits<std::int32_t>::min() && a != see) {
        throw internal_error(fmt::format("stripes layout: element ({}, {}) hears inputs in cycles {} and {}", e.x, e.y, see, a));
      }
      see = a;
    }
    if (see == std::numeric_limits<std::int32_t>::min()) continue;  // an input port or a constant neuron
    const std::int32_t fires = e.kind == element_kind::neuron ? see : see + e.delay - 1;
    if (fires != fire_[v] || e.delay < t_.delay_min_cycles || e.delay > t_.delay_max_cycles) {
      throw internal_error(fmt::format("stripes layout: element ({}, {}) fires in cycle {}, planned {}", e.x, e.y, fires, fire_[v]));
    }
  }
}

hw::dn_program stripe_layout::build(const std::string& target_text) {
  for (const std::array<int, 2> o : {std::array<int, 2>{-2, 0}, {2, 0}, {-1, 0}, {1, 0}, {0, -1}}) {
    if (std::find(t_.neighbours.begin(), t_.neighbours.end(), o) == t_.neighbours.end()) {
      throw fit_error(fmt::format("{}: the stripes layout needs links to the neighbours (+-2, 0), (+-1, 0) and (0, -1); "
                                  "the grid description {} has no ({}, {})", nl_.source, t_.source, o[0], o[1]),
                      "use --layout route, or a grid description with these links");
    }
  }
  if (t_.delay_min_cycles != 1) {
    throw fit_error(fmt::format("{}: the stripes layout needs synapse delays from 1 cycle; {} starts at {}", nl_.source,
                                t_.source, t_.delay_min_cycles), "use --layout route");
  }
  partition();
  for (int attempt = 0;; ++attempt) {
    buses_.clear();
    el_.clear();
    fire_.clear();
    inputs_.clear();
    ncols_ = 0;
    relays_ = delaying_ = chain_elements_ = line_elements_ = crossings_ = 0;
    transport_sum_ = transport_max_ = transports_ = 0;
    stack();
    buses();
    fits();
    occ_.assign(static_cast<std::size_t>(W_) * static_cast<std::size_t>(H_), -1);
    elem_of_.assign(nl_.neurons.size(), -1);
    std::size_t i = 0;
    try {
      for (; i < stripes_.size(); ++i) lay_stripe(stripes_[i]);
      break;
    } catch (const need_rows& n) {
      if (attempt >= 1000) throw internal_error("stripes layout: the timing did not settle");
      gap_[i] += n.rows;
      if (opts_.log) *opts_.log << fmt::format("stripes: {} rows of gap above stripe {} (its values wait)\n", n.rows, i);
    }
  }
  check_timing();
  return program(target_text);
}

void stripe_layout::fits() const {
  if (opts_.log) {
    *opts_.log << fmt::format("stripes: {} stripes, {} buses in {} columns, layout {} x {} elements\n", stripes_.size(),
                              buses_.size(), ncols_, W_, H_);
  }
  if (W_ > t_.width() || H_ > t_.height()) {
    const int tx = (W_ + t_.tile_w - 1) / t_.tile_w, ty = (H_ + t_.tile_h - 1) / t_.tile_h;
    throw fit_error(fmt::format("{}: the stripes layout needs {} x {} elements ({} stripes, a bus field of {} columns); "
                                "the grid is {} x {}", nl_.source, W_, H_, stripes_.size(), 2 * ncols_ + 2, t_.width(),
                                t_.height()),
                    fmt::format("use --tiles {}x{} (tiles of {} x {}) or --grid {}x{}", tx, ty, t_.tile_w, t_.tile_h, W_, H_));
  }
}

hw::dn_program stripe_layout::program(const std::string& target_text) {
  hw::dn_program p = program_header(nl_, t_, target_text);
  p.cycles_per_tick = 1;
  p.inputs = inputs_;
  std::int32_t latency = 0;
  for (std::size_t k = 0; k < nl_.outputs.size(); ++k) {
    const auto e = elem_of_[nl_.outputs[k]];
    if (e < 0) throw internal_error("stripes layout: an output neuron was not laid out");
    const auto off = fire_[static_cast<std::size_t>(e)];
    latency = std::max(latency, off);
    p.outputs.push_back({static_cast<std::uint32_t>(e), k < nl_.output_class.size() ? nl_.output_class[k] : static_cast<std::int32_t>(k), off, -1});
  }
  p.latency_cycles = static_cast<std::uint32_t>(latency);
  std::int64_t neurons = 0;
  for (const auto& e : el_) neurons += e.kind == element_kind::neuron;
  const auto used = static_cast<std::int64_t>(el_.size());
  nlohmann::ordered_json j;
  j["layout"] = "stripes";
  j["grid_width"] = t_.width();
  j["grid_height"] = t_.height();
  j["layout_width"] = W_;
  j["layout_height"] = H_;
  j["tiles_x"] = t_.tiles_x;
  j["tiles_y"] = t_.tiles_y;
  j["elements_available"] = t_.elements();
  j["elements_used"] = used;
  j["neuron_elements"] = neurons - static_cast<std::int64_t>(inputs_.size());
  j["input_port_elements"] = static_cast<std::int64_t>(inputs_.size());
  j["partial_sum_elements"] = 0;
  j["relay_elements"] = relays_;
  j["delaying_relays"] = delaying_;
  j["weight_elements"] = 0;
  j["merge_elements"] = 0;
  j["crossbars"] = static_cast<std::int64_t>(stripes_.size());
  j["crossbar_elements"] = line_elements_ + chain_elements_;
  std::size_t pools = 0;
  for (const auto& st : stripes_) pools += st.pools.size();
  j["attached_pools"] = static_cast<std::int64_t>(pools);
  j["bus_columns"] = ncols_;
  j["buses"] = static_cast<std::int64_t>(buses_.size());
  j["utilisation"] = static_cast<double>(used) / static_cast<double>(t_.elements());
  j["edges"] = static_cast<std::int64_t>(nl_.edges.size());
  // Routes: from a value's neuron (or input port) to the line element at x0 of
  // each stripe that reads it.
  j["routes"] = transports_;
  j["mean_route_length"] = transports_ ? static_cast<double>(transport_sum_) / static_cast<double>(transports_) : 0.0;
  j["max_route_length"] = transport_max_;
  j["pathfinder_iterations"] = 0;
  j["first_iteration_overused_elements"] = 0;
  j["tile_crossing_links"] = crossings_;
  j["latency_cycles"] = p.latency_cycles;
  j["cycles_per_tick"] = 1;
  p.report_json = j.dump();
  p.elements = std::move(el_);  // the layout is done with them (tens of millions for a large model)
  return p;
}

}  // namespace

hw::dn_program compile_danna_stripes(const netlist& nl, const hw::danna_target& target, const std::string& target_text,
                                     const danna_options& opts) {
  if (nl.mode != hw::dn_mode::frames) {
    throw fit_error(fmt::format("{}: the stripes layout lays out Eedn networks (frames); a TENNLab network needs its "
                                "edges' delays routed", nl.source), "use --layout route");
  }
  stripe_layout l(nl, target, opts);
  auto p = l.build(target_text);
  hw::verify_program(p, true);
  return p;
}

}  // namespace nmc::compiler
