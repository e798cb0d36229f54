// partition: splits every unit into logical cores and connects them (fan-out).
//
// Units are processed from the output backwards, so that when a unit is tiled
// the cores that read it already exist: the number of copies each of its
// neurons needs (one slot per destination axon, plus one per output port) is
// known exactly. A tile is a block of output channels times a rectangular
// patch of output positions; it must fit the axons (counted conservatively
// from the receptive field, two axons per input for trinary weights) and the
// neuron slots (the exact sum of its neurons' copies). For every way of
// cutting the channels into blocks, the positions are cut into rows of
// bands and each band into patches, band heights and patch widths chosen by
// dynamic programming for the fewest cores: patches differ in size, so those
// at the border, which read fewer inputs, grow. The cheapest channel cut wins.
// A core's axons are then the distinct (input, sign) pairs its neurons use.
//
// A neuron needing more copies than `max_copies` sends one spike to splitter
// cores instead, which make the copies (one extra tick, which the timing pass
// absorbs in the delays of the other inputs).
//
// The lower bound reported per unit is the larger of two bounds that hold for
// any partition into tiles of this family (a set of output channels times a
// rectangular patch), whatever their sizes and wherever they sit:
//   - slots: ceil(copies / N), no core holds more than N neuron slots;
//   - axons: ceil(sum over live neurons n of 1 / m(n)), where m(n) is the most
//     neurons any tile containing n can hold within the axon and slot limits
//     (edge patches read fewer inputs, so m depends on the position). A core
//     with k neurons adds at most k * 1/k = 1 to the sum.

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <tuple>

#include <fmt/format.h>

#include <nmc/compiler/passes.hpp>
#include <nmc/error.hpp>

namespace nmc::compiler {

using namespace nmc::model;

namespace {

using range = std::pair<int, int>;

// How a unit's neurons may be grouped and how many inputs a group reads.
struct geometry {
  int channels = 0, height = 0, width = 0;
  std::vector<std::vector<range>> channel_options;
  // input rows for output rows [a, b): the clipped receptive field
  int kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0, in_h = 1, in_w = 1;
  int per_group_in = 0, out_per_group = 1;  // conv: inputs per group, outputs per group
  std::int64_t dense_inputs = -1;            // dense: every neuron reads all inputs
  bool pool = false;

  static int span(int a, int b, int k, int s, int p, int n) {
    const int lo = std::max(0, a * s - p), hi = std::min(n - 1, (b - 1) * s - p + k - 1);
    return std::max(0, hi - lo + 1);
  }
  std::int64_t inputs(range c, int y0, int y1, int x0, int x1) const {
    if (dense_inputs >= 0) return dense_inputs;
    const std::int64_t area = static_cast<std::int64_t>(span(y0, y1, kh, sh, ph, in_h)) *
                              span(x0, x1, kw, sw, pw, in_w);
    if (pool) return (c.second - c.first) * area;
    const int groups = (c.second - 1) / out_per_group - c.first / out_per_group + 1;
    return static_cast<std::int64_t>(groups) * per_group_in * area;
  }
};

std::vector<range> blocks(int begin, int end, int size) {
  std::vector<range> r;
  for (int c = begin; c < end; c += size) r.emplace_back(c, std::min(end, c + size));
  return r;
}

geometry make_geometry(const compile_state& s, const unit& u) {
  const network& net = *s.net;
  const layer& comp = net[u.compute];
  const tensor_shape& in = net[comp.inputs[0]].shape;
  geometry g;
  g.channels = u.shape.channels, g.height = u.shape.height, g.width = u.shape.width;
  g.in_h = in.height, g.in_w = in.width;
  int groups = 1, out_per_group = u.shape.channels;
  if (const auto* p = std::get_if<pool_op>(&comp.op)) {
    g.pool = true;
    g.kh = p->kernel_h, g.kw = p->kernel_w, g.sh = p->stride_h, g.sw = p->stride_w;
    g.ph = p->pad_h, g.pw = p->pad_w;
    for (int m = 1; m <= g.channels; ++m) g.channel_options.push_back(blocks(0, g.channels, m));
    return g;
  }
  if (const auto* cv = std::get_if<conv2d_op>(&comp.op)) {
    g.kh = cv->kernel_h, g.kw = cv->kernel_w, g.sh = cv->stride_h, g.sw = cv->stride_w;
    g.ph = cv->pad_h, g.pw = cv->pad_w;
    groups = cv->groups;
    out_per_group = cv->out_channels / groups;
    g.per_group_in = in.channels / groups;
  } else {
    g.dense_inputs = in.size();
  }
  g.out_per_group = out_per_group;
  for (int cb = 1; cb <= out_per_group; ++cb) {  // blocks inside one group
    std::vector<range> r;
    for (int gi = 0; gi < groups; ++gi) {
      auto b = blocks(gi * out_per_group, (gi + 1) * out_per_group, cb);
      r.insert(r.end(), b.begin(), b.end());
    }
    g.channel_options.push_back(std::move(r));
  }
  for (int m = 2; m <= groups; ++m) g.channel_options.push_back(blocks(0, g.channels, m * out_per_group));
  return g;
}

// 3-D prefix sums of the copies, to sum any channel range x rectangle in O(1).
struct prefix3 {
  int c, h, w;
  std::vector<std::int64_t> v;
  prefix3(const std::vector<std::int32_t>& x, int c_, int h_, int w_) : c(c_), h(h_), w(w_) {
    v.assign(static_cast<std::size_t>(c + 1) * (h + 1) * (w + 1), 0);
    for (int i = 1; i <= c; ++i)
      for (int j = 1; j <= h; ++j)
        for (int k = 1; k <= w; ++k)
          at(i, j, k) = x[(static_cast<std::size_t>(i - 1) * h + (j - 1)) * w + (k - 1)] + at(i - 1, j, k) +
                        at(i, j - 1, k) + at(i, j, k - 1) - at(i - 1, j - 1, k) - at(i - 1, j, k - 1) -
                        at(i, j - 1, k - 1) + at(i - 1, j - 1, k - 1);
  }
  std::int64_t& at(int i, int j, int k) { return v[(static_cast<std::size_t>(i) * (h + 1) + j) * (w + 1) + k]; }
  std::int64_t get(int i, int j, int k) const { return v[(static_cast<std::size_t>(i) * (h + 1) + j) * (w + 1) + k]; }
  std::int64_t sum(int c0, int c1, int y0, int y1, int x0, int x1) const {
    return get(c1, y1, x1) - get(c0, y1, x1) - get(c1, y0, x1) - get(c1, y1, x0) + get(c0, y0, x1) +
           get(c0, y1, x0) + get(c1, y0, x0) - get(c0, y0, x0);
  }
};

// The axon bound above. Groups: a tile touching k groups of a conv reads k
// groups' inputs and holds at most k * out_per_group channels; pools read one
// channel per channel. Dense layers (every neuron reads every input) have no
// position structure: the slot bound covers them.
std::int64_t axon_bound(const compile_state& s, const unit& u, const geometry& g) {
  if (g.dense_inputs >= 0 || u.kind == unit_kind::splitter) return 0;
  const int axons = s.target.axons, slots = s.target.neurons;
  const int per_channel_in = g.pool ? 1 : g.per_group_in, per_group_out = g.pool ? 1 : g.out_per_group;
  const int groups = g.channels / per_group_out;
  std::vector<std::int64_t> best(static_cast<std::size_t>(g.height) * g.width, 0);  // m per position
  bool taller = true;  // false once no patch of this height fits: taller ones read even more
  for (int th = 1; th <= g.height && taller; ++th)
    for (int tw = 1; tw <= g.width; ++tw) {
      const int area = th * tw;
      if (area > slots) break;
      bool any = false;
      for (int y0 = 0; y0 + th <= g.height; ++y0)
        for (int x0 = 0; x0 + tw <= g.width; ++x0) {
          const std::int64_t in = static_cast<std::int64_t>(geometry::span(y0, y0 + th, g.kh, g.sh, g.ph, g.in_h)) *
                                  geometry::span(x0, x0 + tw, g.kw, g.sw, g.pw, g.in_w) * per_channel_in;
          std::int64_t m = 0;
          for (int k = 1; k <= groups && k * in * u.axons_per_input <= axons; ++k)
            m = std::max<std::int64_t>(m, std::min<std::int64_t>(static_cast<std::int64_t>(k) * per_group_out, slots / area) * area);
          if (m == 0) continue;
          any = true;
          for (int y = y0; y < y0 + th; ++y)
            for (int x = x0; x < x0 + tw; ++x) {
              auto& b = best[static_cast<std::size_t>(y) * g.width + x];
              b = std::max(b, m);
            }
        }
      if (!any) {  // nor does any wider one
        taller = tw > 1;
        break;
      }
    }
  double sum = 0;
  for (int c = 0; c < g.channels; ++c)
    for (int y = 0; y < g.height; ++y)
      for (int x = 0; x < g.width; ++x) {
        if (u.copies[(static_cast<std::size_t>(c) * g.height + y) * g.width + x] == 0) continue;  // dead: no core
        const auto m = best[static_cast<std::size_t>(y) * g.width + x];
        if (m == 0) return 0;  // cannot be placed at all: the tiling reports it
        sum += 1.0 / static_cast<double>(m);
      }
  return static_cast<std::int64_t>(std::ceil(sum - 1e-9));
}

struct patch {
  int y0, y1, x0, x1;
};

// A tiling: the channel cut (an index into geometry::channel_options) and, per
// channel block, its patches (empty patches of dead neurons left out).
struct tiling {
  std::size_t option = 0;
  std::vector<std::vector<patch>> patches;
  std::int64_t cores = 0;
};

// The fewest patches for one channel block: bands of rows [y0, y1), each cut
// into patches [x0, x1) that fit. A patch that does not fit only grows
// worse (more inputs, more slots), which ends each scan. Returns false if
// some position cannot be covered at all.
bool tile_block(const compile_state& s, const unit& u, const geometry& g, const prefix3& copies, range r,
                std::vector<patch>& out) {
  const int axons = s.target.axons, slots = s.target.neurons;
  constexpr std::int64_t inf = std::numeric_limits<std::int64_t>::max() / 4;
  auto fits = [&](int y0, int y1, int x0, int x1) {
    const std::int64_t need = copies.sum(r.first, r.second, y0, y1, x0, x1);
    return need == 0 || (need <= slots && g.inputs(r, y0, y1, x0, x1) * u.axons_per_input <= axons);
  };
  auto live = [&](int y0, int y1, int x0, int x1) { return copies.sum(r.first, r.second, y0, y1, x0, x1) > 0; };
  // Band [y0, y1): cost and cuts by a 1-D DP over x.
  std::vector<std::int64_t> f(static_cast<std::size_t>(g.width) + 1);
  std::vector<int> fcut(static_cast<std::size_t>(g.width) + 1);
  auto band = [&](int y0, int y1, std::vector<patch>* emit) {
    f.assign(f.size(), inf);
    f[0] = 0;
    for (int x1 = 1; x1 <= g.width; ++x1)
      for (int x0 = x1 - 1; x0 >= 0 && fits(y0, y1, x0, x1); --x0) {
        const std::int64_t c = f[static_cast<std::size_t>(x0)] + (live(y0, y1, x0, x1) ? 1 : 0);
        if (c < f[static_cast<std::size_t>(x1)]) f[static_cast<std::size_t>(x1)] = c, fcut[static_cast<std::size_t>(x1)] = x0;
      }
    const std::int64_t cost = f[static_cast<std::size_t>(g.width)];
    if (emit && cost < inf)
      for (int x1 = g.width; x1 > 0; x1 = fcut[static_cast<std::size_t>(x1)]) {
        const int x0 = fcut[static_cast<std::size_t>(x1)];
        if (live(y0, y1, x0, x1)) emit->push_back({y0, y1, x0, x1});
      }
    return cost;
  };
  std::vector<std::int64_t> best(static_cast<std::size_t>(g.height) + 1, inf);
  std::vector<int> cut(static_cast<std::size_t>(g.height) + 1, 0);
  best[0] = 0;
  for (int y1 = 1; y1 <= g.height; ++y1)
    for (int y0 = y1 - 1; y0 >= 0; --y0) {
      const std::int64_t c = band(y0, y1, nullptr);
      if (c >= inf) break;  // a taller band cannot fit either
      if (best[static_cast<std::size_t>(y0)] + c < best[static_cast<std::size_t>(y1)])
        best[static_cast<std::size_t>(y1)] = best[static_cast<std::size_t>(y0)] + c, cut[static_cast<std::size_t>(y1)] = y0;
    }
  if (best[static_cast<std::size_t>(g.height)] >= inf) return false;
  out.clear();
  for (int y1 = g.height; y1 > 0; y1 = cut[static_cast<std::size_t>(y1)]) band(cut[static_cast<std::size_t>(y1)], y1, &out);
  std::sort(out.begin(), out.end(), [](const patch& a, const patch& b) { return std::tie(a.y0, a.x0) < std::tie(b.y0, b.x0); });
  return true;
}

tiling choose_tiling(const compile_state& s, const unit& u, const geometry& g) {
  const prefix3 copies(u.copies, g.channels, g.height, g.width);
  tiling best;
  std::vector<patch> block;
  for (std::size_t o = 0; o < g.channel_options.size(); ++o) {
    tiling t{o, {}, 0};
    bool ok = true;
    for (const range& r : g.channel_options[o]) {
      if (!tile_block(s, u, g, copies, r, block)) {
        ok = false;
        break;
      }
      t.cores += static_cast<std::int64_t>(block.size());
      t.patches.push_back(block);
      if (best.cores > 0 && t.cores >= best.cores) {  // cannot win
        ok = false;
        break;
      }
    }
    if (ok && (best.cores == 0 || t.cores < best.cores)) best = std::move(t);
  }
  return best;
}

}  // namespace

void partition_pass(compile_state& s) {
  const auto& t = s.target;
  const std::size_t n_units = s.units.size();
  const int max_copies = s.opts.max_copies > 0 ? s.opts.max_copies : t.neurons;
  s.cores.clear();
  // refs[u]: the (core, axon) pairs that read unit u's neurons (u = -1 is the input).
  std::vector<std::vector<std::pair<std::int32_t, std::int32_t>>> refs(n_units);

  auto add_core = [&](logical_core c) {
    const auto ci = static_cast<std::int32_t>(s.cores.size());
    for (std::size_t a = 0; a < c.axons.size(); ++a) {
      const auto& src = c.axons[a].src;
      if (src.unit >= 0) refs[static_cast<std::size_t>(src.unit)].emplace_back(ci, static_cast<std::int32_t>(a));
    }
    s.units[static_cast<std::size_t>(c.unit)].cores.push_back(ci);
    s.cores.push_back(std::move(c));
    return ci;
  };

  // A large model far too big for the chips is refused from its lower bounds
  // as they come, before its cores are built: counting the exact cores of a
  // model that needs 20 chips on one takes the time and memory of building
  // them all (seconds and a GB at 100,000 cores). Below `exact_cores`, or
  // within twice the chips, building them is cheap enough, and the refusal
  // gives the exact count and a --chips that works.
  constexpr std::int64_t exact_cores = 16384;
  // chips 0: as many as the model needs (set at the end).
  const std::int64_t available = s.opts.chips > 0 ? static_cast<std::int64_t>(s.opts.chips) * t.cores_per_chip()
                                                  : std::numeric_limits<std::int64_t>::max() / 4;
  std::int64_t bound_so_far = 0;
  for (std::size_t back = 0; back < n_units; ++back) {
    const std::size_t ui = n_units - 1 - back;
    const auto neurons = static_cast<std::size_t>(s.units[ui].shape.size());
    std::vector<std::int32_t> copies(neurons, 0);
    for (const auto& [c, a] : refs[ui]) ++copies[static_cast<std::size_t>(s.cores[static_cast<std::size_t>(c)].axons[static_cast<std::size_t>(a)].src.index)];
    for (const auto& p : s.port_source)
      if (p.unit == static_cast<std::int32_t>(ui)) ++copies[static_cast<std::size_t>(p.index)];

    // Splitters for neurons with more destinations than max_copies.
    std::vector<std::vector<std::pair<std::int32_t, std::int32_t>>> dests(neurons);
    bool split = false;
    for (std::size_t n = 0; n < neurons; ++n) split |= copies[n] > max_copies;
    if (split) {
      for (const auto& ref : refs[ui]) {
        const auto n = s.cores[static_cast<std::size_t>(ref.first)].axons[static_cast<std::size_t>(ref.second)].src.index;
        dests[static_cast<std::size_t>(n)].push_back(ref);
      }
      unit sp;
      sp.kind = unit_kind::splitter;
      sp.name = s.units[ui].name + "/split";
      sp.layer = sp.compute = s.units[ui].layer;
      sp.axons_per_input = 1;
      sp.split_of = static_cast<std::int32_t>(ui);
      const auto su = static_cast<std::int32_t>(s.units.size());
      refs.emplace_back();
      std::vector<std::int32_t> chunk_size;
      for (std::size_t n = 0; n < neurons; ++n) {
        if (copies[n] <= max_copies) continue;
        if (!s.port_source.empty() &&
            std::any_of(s.port_source.begin(), s.port_source.end(), [&](const source_ref& p) {
              return p.unit == static_cast<std::int32_t>(ui) && p.index == static_cast<std::int32_t>(n);
            })) {
          throw fit_error(fmt::format("layer '{}': output neuron {} also feeds {} cores; splitting it would "
                                      "delay its class spikes", s.units[ui].name, n, copies[n] - 1),
                          "read the output from a layer of its own");
        }
        const auto& d = dests[n];
        copies[n] = 0;
        for (std::size_t i = 0; i < d.size(); i += static_cast<std::size_t>(max_copies)) {
          const auto k = static_cast<std::int32_t>(sp.split_source.size());
          sp.split_source.push_back({static_cast<std::int32_t>(ui), static_cast<std::int32_t>(n)});
          const std::size_t end = std::min(d.size(), i + static_cast<std::size_t>(max_copies));
          for (std::size_t j = i; j < end; ++j) {
            s.cores[static_cast<std::size_t>(d[j].first)].axons[static_cast<std::size_t>(d[j].second)].src = {su, k};
            refs[static_cast<std::size_t>(su)].push_back(d[j]);
          }
          chunk_size.push_back(static_cast<std::int32_t>(end - i));
          ++copies[n];
        }
      }
      std::erase_if(refs[ui], [&](const auto& ref) {
        return s.cores[static_cast<std::size_t>(ref.first)].axons[static_cast<std::size_t>(ref.second)].src.unit != static_cast<std::int32_t>(ui);
      });
      sp.shape = {static_cast<int>(sp.split_source.size()), 1, 1};
      sp.copies = chunk_size;
      sp.core_of.assign(sp.split_source.size(), -1);
      std::int64_t total = 0;
      for (auto c : chunk_size) total += c;
      sp.lower_bound = (total + t.neurons - 1) / t.neurons;
      s.units.push_back(std::move(sp));
      // First-fit packing of the chunks into splitter cores.
      logical_core cur;
      cur.unit = su;
      std::int64_t used = 0;
      for (std::size_t k = 0; k < chunk_size.size(); ++k) {
        if (used + chunk_size[k] > t.neurons || static_cast<int>(cur.axons.size()) >= t.axons) {
          add_core(std::move(cur));
          cur = logical_core{};
          cur.unit = su;
          used = 0;
        }
        s.units[static_cast<std::size_t>(su)].core_of[k] = static_cast<std::int32_t>(s.cores.size());
        cur.neurons.push_back(static_cast<std::int32_t>(k));
        const auto origin = s.units[static_cast<std::size_t>(su)].split_source[k];
        cur.axons.push_back({origin, 1, origin});
        used += chunk_size[k];
      }
      if (!cur.neurons.empty()) add_core(std::move(cur));
      auto pos = std::find(s.order.begin(), s.order.end(), static_cast<std::int32_t>(ui));
      s.order.insert(pos + 1, su);
    }

    unit& u = s.units[ui];
    u.copies = std::move(copies);
    u.core_of.assign(neurons, -1);
    std::int64_t total = 0;
    for (auto c : u.copies) total += c;
    const geometry g = make_geometry(s, u);
    u.lower_bound = std::max((total + t.neurons - 1) / t.neurons, axon_bound(s, u, g));
    bound_so_far += u.lower_bound + (split ? s.units.back().lower_bound : 0);
    if (bound_so_far > 2 * available && bound_so_far > exact_cores) {
      std::string per_layer;
      for (std::size_t k = ui; k < n_units; ++k)
        per_layer += fmt::format("\n  {:<20} >= {:>6} cores", s.units[k].name, s.units[k].lower_bound);
      const auto chips_needed = (bound_so_far + t.cores_per_chip() - 1) / t.cores_per_chip();
      throw fit_error(fmt::format("the model needs at least {} cores (the lower bound of the layers from '{}' to the "
                                  "output), but {} chip{} of {} cores give {}:{}",
                                  bound_so_far, u.name, s.opts.chips, s.opts.chips == 1 ? "" : "s", t.cores_per_chip(),
                                  available, per_layer),
                      fmt::format("use --chips {} or more: the least the layers counted so far need (compiling with "
                                  "that many counts further, exactly once within twice the chips; --chips 0 counts them "
                                  "and takes as many as needed), or fewer features / "
                                  "more groups in the largest layers",
                                  chips_needed));
    }
    const tiling best = choose_tiling(s, u, g);
    if (best.cores == 0) {
      const auto worst = *std::max_element(u.copies.begin(), u.copies.end());
      throw fit_error(fmt::format("layer '{}': no tiling fits a core ({} axons, {} neurons); a neuron "
                                  "needs up to {} copies", u.name, t.axons, t.neurons, worst),
                      "use more groups, a smaller kernel, or --max-copies to use splitter cores");
    }
    const auto& option = g.channel_options[best.option];
    u.tile_c = option.front().second - option.front().first;
    // The reported patch: the largest (patches differ in size).
    for (const auto& block : best.patches)
      for (const patch& pt : block)
        if ((pt.y1 - pt.y0) * (pt.x1 - pt.x0) > u.tile_h * u.tile_w) u.tile_h = pt.y1 - pt.y0, u.tile_w = pt.x1 - pt.x0;
    std::vector<std::pair<source_ref, std::uint8_t>> used;
    for (std::size_t bi = 0; bi < option.size(); ++bi)
      for (const patch& pt : best.patches[bi]) {
          const range& r = option[bi];
          logical_core core;
          core.unit = static_cast<std::int32_t>(ui);
          used.clear();
          for (int c = r.first; c < r.second; ++c)
            for (int y = pt.y0; y < pt.y1; ++y)
              for (int x = pt.x0; x < pt.x1; ++x) {
                const auto n = static_cast<std::int32_t>((c * g.height + y) * g.width + x);
                if (u.copies[static_cast<std::size_t>(n)] == 0) continue;  // dead neuron
                core.neurons.push_back(n);
                for_each_input(s, u, n, [&](source_ref src, int w) {
                  used.emplace_back(src, static_cast<std::uint8_t>(u.kind == unit_kind::weighted && w < 0 ? 0 : 1));
                });
              }
          if (core.neurons.empty()) continue;
          std::sort(used.begin(), used.end());
          used.erase(std::unique(used.begin(), used.end()), used.end());
          for (const auto& [src, type] : used) core.axons.push_back({src, type, src});
          const auto ci = static_cast<std::int32_t>(s.cores.size());
          for (auto n : core.neurons) u.core_of[static_cast<std::size_t>(n)] = ci;
          add_core(std::move(core));
        }
  }

  // Fan-out: one slot per destination axon, in core and axon order.
  s.input_targets.assign(s.sources[s.net->input().index()].size(), {});
  for (std::size_t ci = 0; ci < s.cores.size(); ++ci) {
    for (std::size_t a = 0; a < s.cores[ci].axons.size(); ++a) {
      const auto src = s.cores[ci].axons[a].src;
      if (src.unit < 0) {
        s.input_targets[static_cast<std::size_t>(src.index)].push_back({static_cast<std::int32_t>(ci), static_cast<std::int32_t>(a)});
        continue;
      }
      const auto host = s.units[static_cast<std::size_t>(src.unit)].core_of[static_cast<std::size_t>(src.index)];
      s.cores[static_cast<std::size_t>(host)].slots.push_back(
          {src.index, false, static_cast<std::int32_t>(ci), static_cast<std::int32_t>(a), 1});
    }
  }
  for (std::size_t p = 0; p < s.port_source.size(); ++p) {
    const auto& src = s.port_source[p];
    const auto host = s.units[static_cast<std::size_t>(src.unit)].core_of[static_cast<std::size_t>(src.index)];
    s.cores[static_cast<std::size_t>(host)].slots.push_back({src.index, true, static_cast<std::int32_t>(p), 0, 1});
  }

  if (s.opts.chips == 0)
    s.opts.chips = static_cast<int>(std::max<std::size_t>(1, (s.cores.size() + static_cast<std::size_t>(t.cores_per_chip()) - 1) /
                                                                  static_cast<std::size_t>(t.cores_per_chip())));
  if (static_cast<std::int64_t>(s.cores.size()) > available) {
    std::string per_layer;
    for (auto ui : s.order) {
      const auto& u = s.units[static_cast<std::size_t>(ui)];
      per_layer += fmt::format("\n  {:<20} {:>6} cores", u.name, u.cores.size());
    }
    const auto chips_needed = (static_cast<std::int64_t>(s.cores.size()) + t.cores_per_chip() - 1) / t.cores_per_chip();
    throw fit_error(fmt::format("the model needs {} cores, but {} chip{} of {} cores give {}:{}", s.cores.size(),
                                s.opts.chips, s.opts.chips == 1 ? "" : "s", t.cores_per_chip(), available, per_layer),
                    fmt::format("use --chips {} or more (--chips 0: as many as the model needs), or fewer "
                                "features / more groups in the largest layers",
                                chips_needed));
  }
}

}  // namespace nmc::compiler
