// Partial-sum nodes for wide fan-in (see danna.hpp: split_fan_in).
//
// Why: a grid element hears at most its 16 neighbours, so a neuron with 40 or
// 128 inputs needs a tree of merge elements, and if that tree grows from the
// neuron outwards every raw input has to travel into the few elements next to
// the neuron. Splitting the sum up front gives the placer nodes it can spread
// out (each one near its sources), and the router only short, narrow nets.

#include <nmc/compiler/danna.hpp>

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include <nmc/error.hpp>

namespace nmc::compiler {

namespace {

struct entry {
  std::uint32_t id;  // node in the new netlist
  float fx, fy;
};

// Recursive bisection along the wider spread of the positions, into groups
// of at most `cap` of about equal size.
void bisect(std::vector<entry> v, std::size_t cap, std::vector<std::vector<entry>>& groups) {
  if (v.size() <= cap) {
    groups.push_back(std::move(v));
    return;
  }
  const auto [x0, x1] = std::minmax_element(v.begin(), v.end(), [](const entry& a, const entry& b) { return a.fx < b.fx; });
  const auto [y0, y1] = std::minmax_element(v.begin(), v.end(), [](const entry& a, const entry& b) { return a.fy < b.fy; });
  const bool by_x = x1->fx - x0->fx >= y1->fy - y0->fy;
  std::stable_sort(v.begin(), v.end(), [by_x](const entry& a, const entry& b) { return by_x ? a.fx < b.fx : a.fy < b.fy; });
  const std::size_t n = (v.size() + cap - 1) / cap;
  const std::size_t cut = v.size() * (n / 2) / n;
  bisect(std::vector<entry>(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(cut)), cap, groups);
  bisect(std::vector<entry>(v.begin() + static_cast<std::ptrdiff_t>(cut), v.end()), cap, groups);
}

}  // namespace

netlist split_fan_in(const netlist& nl, int max_fan_in) {
  if (nl.mode != hw::dn_mode::frames || max_fan_in < 2) return nl;
  const auto cap = static_cast<std::size_t>(max_fan_in);
  const auto n = nl.neurons.size();
  std::vector<std::vector<std::uint32_t>> in(n);
  for (std::size_t e = 0; e < nl.edges.size(); ++e) in[nl.edges[e].to].push_back(static_cast<std::uint32_t>(e));
  netlist out = nl;
  out.neurons.clear();
  out.edges.clear();
  std::vector<std::uint32_t> id(n, 0);
  for (std::uint32_t i = 0; i < n; ++i) {
    const auto& nr = nl.neurons[i];
    // (node, weight) pairs the neuron hears
    std::vector<std::pair<entry, std::int32_t>> level;
    for (auto e : in[i]) {
      const auto& ed = nl.edges[e];
      if (ed.from >= i) throw internal_error("split_fan_in: the netlist is not in topological order");
      const auto s = id[ed.from];
      level.push_back({{s, out.neurons[s].fx, out.neurons[s].fy}, ed.weight});
    }
    const auto first_sum = out.neurons.size();
    while (level.size() > cap && nr.crossbar < 0) {  // a crossbar's neuron hears its chain alone
      std::map<std::int32_t, std::vector<entry>> by_weight;
      for (const auto& [en, w] : level) by_weight[w].push_back(en);
      std::vector<std::pair<entry, std::int32_t>> next;
      for (auto& [w, v] : by_weight) {
        std::vector<std::vector<entry>> groups;
        bisect(std::move(v), cap, groups);
        for (const auto& g : groups) {
          if (g.size() == 1) {
            next.push_back({g[0], w});
            continue;
          }
          net_neuron m;
          m.sum_weight = w;
          m.group = nr.group;
          m.channel = nr.channel;
          for (const auto& en : g) m.fx += en.fx / static_cast<float>(g.size()), m.fy += en.fy / static_cast<float>(g.size());
          const auto mid = static_cast<std::uint32_t>(out.neurons.size());
          out.neurons.push_back(m);
          for (const auto& en : g) out.edges.push_back({en.id, mid, 1, 0});
          next.push_back({{mid, m.fx, m.fy}, 1});
        }
      }
      if (next.size() >= level.size()) break;  // distinct weights, one input each: nothing to group
      level = std::move(next);
    }
    id[i] = static_cast<std::uint32_t>(out.neurons.size());
    for (auto k = first_sum; k < out.neurons.size(); ++k) out.neurons[k].name = fmt::format("partial sum into neuron {}", id[i]);
    out.neurons.push_back(nr);
    for (const auto& [en, w] : level) out.edges.push_back({en.id, id[i], w, 0});
  }
  renumber_ports(out, id);
  return out;
}

}  // namespace nmc::compiler
