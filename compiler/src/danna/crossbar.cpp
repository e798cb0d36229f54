// Crossbar blocks for dense layers (see danna.hpp: make_crossbars).
//
// Why: a dense layer's neuron hears hundreds of sources that sit all over the
// previous layer's map. Routed as partial-sum trees, all those values converge
// on the few neurons of the layer and congest the grid around them. A crossbar
// moves each source's value once, along a line of relays, past every neuron of
// the layer; the neuron's sum accumulates down a chain of synapse elements that
// cross the lines. Only the line starts are routed.

#include <nmc/compiler/danna.hpp>

#include <algorithm>
#include <map>
#include <numeric>
#include <tuple>

#include <fmt/format.h>

#include <nmc/error.hpp>

namespace nmc::compiler {

netlist make_crossbars(const netlist& nl, int min_fan_in) {
  if (nl.mode != hw::dn_mode::frames || min_fan_in <= 0) return nl;
  const auto n = nl.neurons.size();
  std::vector<std::vector<std::uint32_t>> in(n);
  for (std::size_t e = 0; e < nl.edges.size(); ++e) in[nl.edges[e].to].push_back(static_cast<std::uint32_t>(e));
  // Candidates: wide neurons whose inputs are distinct sources of weight +-1
  // (the chain applies the signs, see place_route.cpp).
  std::vector<bool> cand(n, false);
  for (std::uint32_t i = 0; i < n; ++i) {
    const auto& nr = nl.neurons[i];
    if (nr.sum_weight != 0 || nr.crossbar >= 0 || in[i].size() < static_cast<std::size_t>(min_fan_in)) continue;
    std::vector<std::uint32_t> src;
    bool ok = true;
    for (auto e : in[i]) ok &= std::abs(nl.edges[e].weight) == 1, src.push_back(nl.edges[e].from);
    std::sort(src.begin(), src.end());
    cand[i] = ok && std::adjacent_find(src.begin(), src.end()) == src.end();
  }
  // Blocks: candidates of one layer connected through shared sources.
  std::vector<std::uint32_t> parent(n);
  std::iota(parent.begin(), parent.end(), 0U);
  auto root = [&](std::uint32_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  };
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::uint32_t> owner;  // (source, layer) -> a candidate hearing it
  for (std::uint32_t i = 0; i < n; ++i) {
    if (!cand[i]) continue;
    for (auto e : in[i]) {
      const auto [it, fresh] = owner.try_emplace({nl.edges[e].from, nl.neurons[i].group}, i);
      if (!fresh) parent[root(i)] = root(it->second);
    }
  }
  struct block {
    std::vector<std::uint32_t> cols, rows;
    std::size_t edges = 0;
  };
  std::vector<std::int32_t> block_of(n, -1);
  std::vector<block> blocks;
  for (std::uint32_t i = 0; i < n; ++i) {
    if (!cand[i]) continue;
    const auto r = root(i);
    if (block_of[r] < 0) block_of[r] = static_cast<std::int32_t>(blocks.size()), blocks.emplace_back();
    auto& b = blocks[static_cast<std::size_t>(block_of[r])];
    b.cols.push_back(i);
    b.edges += in[i].size();
    for (auto e : in[i]) b.rows.push_back(nl.edges[e].from);
  }
  std::vector<std::int32_t> xbar_of(n, -1);  // output neuron -> kept block
  std::vector<block> kept;
  for (auto& b : blocks) {
    std::sort(b.rows.begin(), b.rows.end());
    b.rows.erase(std::unique(b.rows.begin(), b.rows.end()), b.rows.end());
    // Sources must come before the block (topological order); a sparse block
    // would be mostly empty crossings: leave those to the router.
    const bool ordered = b.rows.back() < b.cols.front();
    const bool dense = 5 * b.edges >= b.rows.size() * b.cols.size();
    if (!ordered || !dense) continue;
    // Lines in the order of their sources' positions: nearby sources feed nearby rows.
    std::stable_sort(b.rows.begin(), b.rows.end(), [&](std::uint32_t a, std::uint32_t c) {
      const auto& A = nl.neurons[a];
      const auto& C = nl.neurons[c];
      return std::tie(A.fy, A.fx, A.channel) < std::tie(C.fy, C.fx, C.channel);
    });
    for (auto c : b.cols) xbar_of[c] = static_cast<std::int32_t>(kept.size());
    kept.push_back(std::move(b));
  }
  if (kept.empty()) return nl;

  netlist out = nl;
  out.neurons.clear();
  out.edges.clear();
  std::vector<std::uint32_t> id(n, 0);
  const auto base = static_cast<std::int32_t>(nl.crossbars.size());
  std::vector<bool> started(kept.size(), false);
  std::vector<std::map<std::uint32_t, std::uint32_t>> line(kept.size());  // per block: source -> its line start
  for (std::uint32_t i = 0; i < n; ++i) {
    const auto& nr = nl.neurons[i];
    const auto x = xbar_of[i];
    if (x >= 0 && !started[static_cast<std::size_t>(x)]) {
      started[static_cast<std::size_t>(x)] = true;
      const auto& b = kept[static_cast<std::size_t>(x)];
      const auto g = nr.group;
      for (std::size_t k = 0; k < b.rows.size(); ++k) {
        const auto& src = nl.neurons[b.rows[k]];
        net_neuron s;
        s.sum_weight = 1;
        s.group = g;
        s.fx = src.fx, s.fy = src.fy, s.channel = src.channel;
        s.crossbar = base + x;
        s.name = fmt::format("line {} of the crossbar of layer '{}'", k, g < nl.groups.size() ? nl.groups[g] : "-");
        const auto sid = static_cast<std::uint32_t>(out.neurons.size());
        out.neurons.push_back(s);
        out.edges.push_back({id[b.rows[k]], sid, 1, 0});
        line[static_cast<std::size_t>(x)][b.rows[k]] = sid;
      }
    }
    id[i] = static_cast<std::uint32_t>(out.neurons.size());
    out.neurons.push_back(nr);
    if (x >= 0) {
      out.neurons.back().crossbar = base + x;
      for (auto e : in[i]) out.edges.push_back({line[static_cast<std::size_t>(x)].at(nl.edges[e].from), id[i], nl.edges[e].weight, 0});
    } else {
      for (auto e : in[i]) {
        if (nl.edges[e].from >= i) throw internal_error("make_crossbars: the netlist is not in topological order");
        out.edges.push_back({id[nl.edges[e].from], id[i], nl.edges[e].weight, nl.edges[e].delay});
      }
    }
  }
  renumber_ports(out, id);  // (blocks made before: none from the model importers)
  for (std::size_t x = 0; x < kept.size(); ++x) {
    net_crossbar c;
    c.group = nl.neurons[kept[x].cols.front()].group;
    for (auto r : kept[x].rows) c.rows.push_back(line[x].at(r));
    for (auto v : kept[x].cols) c.cols.push_back(id[v]);
    out.crossbars.push_back(std::move(c));
  }
  return out;
}

}  // namespace nmc::compiler
