// The DANNA-style grid target: description loader, program format, place and
// route, and the grid simulator against the reference pass.
#include <doctest/doctest.h>

#include <map>
#include <random>
#include <set>

#include <nmc/compiler/danna.hpp>
#include <nmc/compiler/netlist.hpp>
#include <nmc/convert/yaml_model.hpp>
#include <nmc/error.hpp>
#include <nmc/files.hpp>
#include <nmc/hw/danna.hpp>
#include <nmc/hw/dn_program.hpp>
#include <nmc/model/reference.hpp>
#include <nmc/runtime/dataset.hpp>
#include <nmc/runtime/dn_sim.hpp>

#include <nlohmann/json.hpp>

#include "common/fashion_mnist.hpp"
#include "common/sample_data.hpp"
#include "common/run_nmc.hpp"
#include "common/temp_dir.hpp"

using namespace nmc;

namespace {

const std::string& danna_text() {
  static const std::string t = read_file(hw::default_danna_path());
  return t;
}

hw::dn_program compile_small(const std::string& yaml, const std::string& geometry_text) {
  const auto net = convert::parse_yaml_model(yaml, "small.yaml");
  const auto nl = compiler::netlist_from_model(net, convert::to_yaml(net));
  return compiler::compile_danna(nl, hw::parse_danna(geometry_text, "danna.yaml"), geometry_text, {});
}

std::string grid(int w, int h, int tx = 1, int ty = 1) {
  return hw::with_geometry(danna_text(), "danna.yaml", w, h, tx, ty);
}

// Every frame's class counts from the grid equal the reference pass's.
void check_against_reference(const hw::dn_program& p, const std::string& yaml, std::size_t frames, int threads) {
  const auto net = convert::parse_yaml_model(yaml, "small.yaml");
  const auto data = test::random_frames(net, frames, 7);
  const auto r = runtime::run_dn_frames(p, data, threads);
  model::reference_net ref(net);
  auto ws = ref.make_workspace();
  std::size_t same = 0;
  for (std::size_t f = 0; f < frames; ++f) {
    ref.run(data.frame(f), ws);
    bool eq = true;
    for (std::size_t c = 0; c < ws.counts().size(); ++c) eq &= r.counts[f * ws.counts().size() + c] == ws.counts()[c];
    same += eq;
    if (!eq) MESSAGE("frame " << f << " differs");
  }
  CHECK(same == frames);
}

}  // namespace

TEST_CASE("danna: the shipped description loads with the 16 neighbours of docs/HARDWARE.md 2.1") {
  const auto t = hw::parse_danna(danna_text(), "danna.yaml");
  CHECK(t.tile_w == 75);
  CHECK(t.tile_h == 75);
  CHECK(t.neighbours.size() == 16);
  CHECK(t.delay_max_cycles == 15);
  CHECK(t.weight_min == -128);
  CHECK(t.weight_max == 127);
  CHECK(danna_text().find("assumption") != std::string::npos);
}

TEST_CASE("danna: description errors name the key and the line") {
  auto bad = danna_text();
  bad.replace(bad.find("delay_max_cycles: 15"), 20, "delay_max_cycles: 99");
  CHECK_THROWS_WITH_AS(hw::parse_danna(bad, "d.yaml"), doctest::Contains("element.delay_max_cycles = 99 is outside"),
                       config_error);
  auto typo = danna_text();
  typo.replace(typo.find("fire_pj"), 7, "fyre_pj");
  CHECK_THROWS_AS(hw::parse_danna(typo, "d.yaml"), config_error);
  auto one_way = danna_text();
  one_way.replace(one_way.find("[-1,0],"), 7, "");
  CHECK_THROWS_WITH_AS(hw::parse_danna(one_way, "d.yaml"), doctest::Contains("without its opposite"), config_error);
}

// Frames-mode netlist, one input vector: neurons give 0/1, partial-sum nodes
// their weighted sums (what the grid's elements pass on).
std::vector<std::int64_t> eval_netlist(const compiler::netlist& nl, const std::vector<int>& bits) {
  const auto n = nl.neurons.size();
  std::vector<std::int64_t> in(n, 0), out(n, 0);
  std::vector<int> port(n, -1);
  for (std::size_t k = 0; k < nl.inputs.size(); ++k) port[nl.inputs[k]] = static_cast<int>(k);
  std::vector<std::vector<std::size_t>> into(n);
  for (std::size_t e = 0; e < nl.edges.size(); ++e) into[nl.edges[e].to].push_back(e);
  for (std::size_t i = 0; i < n; ++i) {
    if (port[i] >= 0) {
      out[i] = bits[static_cast<std::size_t>(port[i])];
      continue;
    }
    for (auto e : into[i]) in[i] += nl.edges[e].weight * out[nl.edges[e].from];
    out[i] = nl.neurons[i].sum_weight != 0 ? nl.neurons[i].sum_weight * in[i] : in[i] >= nl.neurons[i].threshold;
  }
  return out;
}

TEST_CASE("danna: partial-sum nodes keep every neuron's sum and bound every fan-in") {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 20; ++trial) {
    compiler::netlist nl;
    const int inputs = 50, neurons = 40;
    const int cap = 2 + trial % 9;
    std::uniform_real_distribution<float> pos(0.0f, 1.0f);
    for (int i = 0; i < inputs + neurons; ++i) {
      compiler::net_neuron nr;
      nr.threshold = static_cast<std::int32_t>(rng() % 9) - 4;
      nr.fx = pos(rng), nr.fy = pos(rng);
      nl.neurons.push_back(nr);
      if (i < inputs) {
        nl.inputs.push_back(static_cast<std::uint32_t>(i));
        continue;
      }
      const int fan_in = static_cast<int>(rng() % 70);
      for (int k = 0; k < fan_in; ++k) {
        const int w = trial % 4 == 3 ? static_cast<int>(rng() % 7) - 3 : (rng() % 2 ? 1 : -1);
        nl.edges.push_back({static_cast<std::uint32_t>(rng() % static_cast<unsigned>(i)), static_cast<std::uint32_t>(i), w == 0 ? 2 : w, 0});
      }
    }
    for (int i = inputs; i < inputs + neurons; ++i) nl.outputs.push_back(static_cast<std::uint32_t>(i));
    const auto split = compiler::split_fan_in(nl, cap);
    REQUIRE(split.outputs.size() == nl.outputs.size());
    std::vector<int> fan_in(split.neurons.size(), 0);
    std::map<std::int32_t, int> weights;
    for (const auto& ed : nl.edges) ++weights[ed.weight];
    for (const auto& ed : split.edges) {
      CHECK(ed.from < ed.to);  // still in topological order
      ++fan_in[ed.to];
      if (split.neurons[ed.to].sum_weight != 0) CHECK(ed.weight == 1);  // the node applies the weight once
    }
    std::size_t sums = 0;
    for (std::size_t i = 0; i < split.neurons.size(); ++i) {
      sums += split.neurons[i].sum_weight != 0;
      // wider only where no two inputs share a weight (nothing to group)
      if (fan_in[i] > cap) CHECK(static_cast<std::size_t>(fan_in[i]) <= weights.size());
    }
    CHECK(sums > 0);
    for (int f = 0; f < 20; ++f) {
      std::vector<int> bits(inputs);
      for (auto& b : bits) b = static_cast<int>(rng() % 2);
      const auto a = eval_netlist(nl, bits);
      const auto b = eval_netlist(split, bits);
      for (std::size_t k = 0; k < nl.outputs.size(); ++k) CHECK(a[nl.outputs[k]] == b[split.outputs[k]]);
    }
  }
}

TEST_CASE("danna: crossbar blocks keep every neuron's sum, and partial sums leave their neurons alone") {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 12; ++trial) {
    // inputs, then a dense layer (layer 1) over them, then a second dense layer (layer 2)
    compiler::netlist nl;
    nl.groups = {"in", "d1", "d2"};
    const int inputs = 30 + trial, d1 = 6 + trial % 5, d2 = 4;
    std::uniform_real_distribution<float> pos(0.0f, 1.0f);
    auto add = [&](std::uint32_t group) {
      compiler::net_neuron nr;
      nr.group = group;
      nr.threshold = static_cast<std::int32_t>(rng() % 7) - 3;
      nr.fx = pos(rng), nr.fy = pos(rng);
      nl.neurons.push_back(nr);
      return static_cast<std::uint32_t>(nl.neurons.size() - 1);
    };
    for (int i = 0; i < inputs; ++i) nl.inputs.push_back(add(0));
    std::vector<std::uint32_t> first;
    for (int j = 0; j < d1; ++j) {
      const auto id = add(1);
      first.push_back(id);
      for (int i = 0; i < inputs; ++i)
        if (rng() % 4 != 0) nl.edges.push_back({static_cast<std::uint32_t>(i), id, rng() % 2 ? 1 : -1, 0});
    }
    for (int j = 0; j < d2; ++j) {
      const auto id = add(2);
      nl.outputs.push_back(id);
      // trial % 3 == 2: a weight of 2 keeps this neuron out of any crossbar
      for (auto s : first) nl.edges.push_back({s, id, trial % 3 == 2 && j == 0 && s == first[0] ? 2 : (rng() % 2 ? 1 : -1), 0});
    }
    const auto xb = compiler::make_crossbars(nl, 4);
    REQUIRE(!xb.crossbars.empty());
    CHECK(xb.crossbars[0].cols.size() == static_cast<std::size_t>(d1));
    for (const auto& ed : xb.edges) CHECK(ed.from < ed.to);  // still in topological order
    std::size_t cols = 0;
    for (std::size_t c = 0; c < xb.crossbars.size(); ++c) {
      cols += xb.crossbars[c].cols.size();
      for (auto r : xb.crossbars[c].rows) {
        CHECK(xb.neurons[r].sum_weight == 1);
        CHECK(xb.neurons[r].crossbar == static_cast<std::int32_t>(c));
      }
      for (auto k : xb.crossbars[c].cols) CHECK(xb.neurons[k].crossbar == static_cast<std::int32_t>(c));
    }
    CHECK(cols == static_cast<std::size_t>(d1 + (trial % 3 == 2 ? d2 - 1 : d2)));
    // partial sums split the wide neurons outside the crossbars only, and keep the blocks' numbering right
    const auto split = compiler::split_fan_in(xb, 3);
    for (const auto& c : split.crossbars)
      for (auto k : c.cols) CHECK(split.neurons[k].crossbar >= 0);
    for (int f = 0; f < 20; ++f) {
      std::vector<int> bits(static_cast<std::size_t>(inputs));
      for (auto& b : bits) b = static_cast<int>(rng() % 2);
      const auto a = eval_netlist(nl, bits);
      const auto b = eval_netlist(xb, bits);
      const auto c = eval_netlist(split, bits);
      for (std::size_t k = 0; k < nl.outputs.size(); ++k) {
        CHECK(a[nl.outputs[k]] == b[xb.outputs[k]]);
        CHECK(a[nl.outputs[k]] == c[split.outputs[k]]);
      }
    }
  }
}

TEST_CASE("danna: a dense layer as a crossbar agrees with the reference, within a tile and across tiles") {
  const auto net = convert::parse_yaml_model(test::small_eedn_yaml, "small.yaml");
  const auto nl = compiler::netlist_from_model(net, convert::to_yaml(net));
  compiler::danna_options o;
  o.crossbar_fan_in = 3;  // the 8 x 4 dense layer 'fc' and the convolution's blocks (weights of both signs)
  for (const auto& text : {grid(80, 80), grid(10, 10, 9, 9)}) {
    const auto p = compiler::compile_danna(nl, hw::parse_danna(text, "danna.yaml"), text, o);
    const auto j = nlohmann::json::parse(p.report_json);
    CHECK(j["crossbars"].get<int>() >= 2);
    CHECK(j["crossbar_elements"].get<int>() >= 8 + 4);  // the line starts and at least a chain element per neuron
    check_against_reference(p, test::small_eedn_yaml, 200, 2);
  }
}

// A skip connection: 'fc' hears act0 directly and again two layers later, so
// act0's routes into it must hold its spikes back for far more cycles than
// its weight and merge elements can: new relays take delays too.
constexpr const char* skip_yaml = R"(format: nmc-model/1
name: skip
layers:
  - {name: input, type: input, shape: [1, 4, 4], levels: [128]}
  - {name: conv0, type: conv2d, out_channels: 2, kernel: 2, stride: 2, weights: "----0-+-"}
  - {name: act0, type: threshold, threshold: [1, 0]}
  - {name: conv1, type: conv2d, input: act0, out_channels: 2, kernel: 3, padding: 1, weights: "+-++0---+--++----+++--+0+0+-+++-+-0+"}
  - {name: act1, type: threshold, threshold: [0, 1]}
  - {name: conv2, type: conv2d, input: act1, out_channels: 2, kernel: 3, padding: 1, weights: "+-+-0+0+-+-0--+--0+0--0---+--00+++++"}
  - {name: act2, type: threshold, threshold: [0, 1]}
  - {name: both, type: concat, inputs: [act0, act2]}
  - {name: flat, type: flatten}
  - {name: fc, type: dense, out_features: 4, weights: "-+-+--+++-+---0----0--0+---0-0+0++---0-0+-++--+--++++++--+-0--0-"}
  - {name: act_fc, type: threshold, threshold: [1, 0, 2, 1]}
  - {name: out, type: output, classes: 2, class_of: [0, 1, 0, 1]}
)";

TEST_CASE("danna: a skip connection's early inputs are held back by delaying relays, and agree with the reference") {
  const auto p = compile_small(skip_yaml, grid(60, 60));
  const auto j = nlohmann::json::parse(p.report_json);
  CHECK(j["delaying_relays"].get<int>() > 0);
  check_against_reference(p, skip_yaml, 200, 2);
}

TEST_CASE("danna: with and without partial sums, a small Eedn network agrees with the reference") {
  const auto net = convert::parse_yaml_model(test::small_eedn_yaml, "small.yaml");
  const auto nl = compiler::netlist_from_model(net, convert::to_yaml(net));
  const auto text = grid(80, 80);
  for (const int cap : {0, 4}) {
    compiler::danna_options o;
    o.max_fan_in = cap;
    const auto p = compiler::compile_danna(nl, hw::parse_danna(text, "danna.yaml"), text, o);
    const auto j = nlohmann::json::parse(p.report_json);
    CHECK((j["partial_sum_elements"].get<int>() > 0) == (cap > 0));
    check_against_reference(p, test::small_eedn_yaml, 200, 2);
  }
}

TEST_CASE("danna: a small Eedn network agrees with the reference on every frame, any thread count") {
  const auto p = compile_small(test::small_eedn_yaml, grid(80, 80));
  CHECK(p.mode == hw::dn_mode::frames);
  CHECK(p.latency_cycles > 0);
  check_against_reference(p, test::small_eedn_yaml, 200, 1);
  check_against_reference(p, test::small_eedn_yaml, 200, 2);
}

TEST_CASE("danna: routes across tile boundaries keep the timing (tile crossing latency)") {
  const auto p = compile_small(test::small_eedn_yaml, grid(30, 30, 3, 3));
  const auto rep = p.report_json;
  CHECK(rep.find("\"tile_crossing_links\":0") == std::string::npos);
  check_against_reference(p, test::small_eedn_yaml, 100, 2);
}

TEST_CASE("danna: simulation is identical for 1 and 2 threads (counts and events)") {
  const auto p = compile_small(test::small_eedn_yaml, grid(80, 80));
  const auto net = convert::parse_yaml_model(test::small_eedn_yaml, "small.yaml");
  const auto data = test::random_frames(net, 64, 3);
  const auto a = runtime::run_dn_frames(p, data, 1);
  const auto b = runtime::run_dn_frames(p, data, 2);
  CHECK(a.counts == b.counts);
  CHECK(a.totals.synaptic_events == b.totals.synaptic_events);
  CHECK(a.totals.hops == b.totals.hops);
  CHECK(a.totals.spikes == b.totals.spikes);
}

TEST_CASE("danna: compiling is deterministic and the program survives a file round trip") {
  const auto p = compile_small(test::small_eedn_yaml, grid(80, 80));
  const auto q = compile_small(test::small_eedn_yaml, grid(80, 80));
  CHECK(hw::serialize(p) == hw::serialize(q));
  test::temp_dir dir;
  hw::write_program(dir / "p.dn", p);
  CHECK(hw::serialize(hw::read_dn_program(dir / "p.dn")) == hw::serialize(p));
}

TEST_CASE("danna: a corrupt, truncated or wrong-version program is a clear error") {
  const auto p = compile_small(test::small_eedn_yaml, grid(80, 80));
  const auto bytes = hw::serialize(p);
  auto flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x5a;
  CHECK_THROWS_WITH_AS(hw::deserialize_dn(flipped, "p.dn"), doctest::Contains("checksum"), model_error);
  CHECK_THROWS_WITH_AS(hw::deserialize_dn(bytes.substr(0, bytes.size() - 9), "p.dn"), doctest::Contains("truncated"),
                       model_error);
  auto version = bytes;
  version[8] = 9;
  CHECK_THROWS_WITH_AS(hw::deserialize_dn(version, "p.dn"), doctest::Contains("version 9"), model_error);
  CHECK_THROWS_WITH_AS(hw::deserialize_dn("NMCTNPRG", "p.dn"), doctest::Contains("not an nmc grid program"), model_error);
}

TEST_CASE("danna: the program verifier names the element: outside the grid, a position used twice, a weight out of range") {
  const auto p = compile_small(test::small_eedn_yaml, grid(80, 80));
  CHECK_NOTHROW(hw::verify_program(p, false));
  auto outside = p;
  outside.elements[5].x = 80;
  CHECK_THROWS_WITH_AS(hw::verify_program(outside, false), doctest::Contains("element 5 at (80, "), model_error);
  CHECK_THROWS_WITH_AS(hw::verify_program(outside, true), doctest::Contains("outside the 80 x 80 grid"), internal_error);
  // Positions in use are checked with a bit per grid element, or sorted where the grid dwarfs the program.
  for (const int size : {80, 4000}) {
    CAPTURE(size);
    auto twice = p;
    twice.target = hw::parse_danna(grid(size, size), "danna.yaml");
    CHECK_NOTHROW(hw::verify_program(twice, false));
    twice.elements[7].x = twice.elements[3].x;
    twice.elements[7].y = twice.elements[3].y;
    const auto expected = fmt::format("({}, {}): position used twice", p.elements[3].x, p.elements[3].y);
    CHECK_THROWS_WITH_AS(hw::verify_program(twice, false), doctest::Contains(expected.c_str()), model_error);
  }
  auto weight = p;
  for (auto& e : weight.elements) {
    if (e.kind == hw::element_kind::synapse) {
      e.weight = 1000;
      break;
    }
  }
  CHECK_THROWS_WITH_AS(hw::verify_program(weight, false), doctest::Contains("weight 1000 outside -128..127"), model_error);
}

TEST_CASE("danna: the report counts elements by kind and route lengths") {
  const auto p = compile_small(test::small_eedn_yaml, grid(80, 80));
  std::int64_t neurons = 0, synapses = 0;
  for (const auto& e : p.elements) (e.kind == hw::element_kind::neuron ? neurons : synapses) += 1;
  CHECK(p.report_json.find(fmt::format("\"neuron_elements\":{}", neurons)) != std::string::npos);
  CHECK(synapses > 0);
  CHECK(p.report_json.find("\"mean_route_length\"") != std::string::npos);
}

// The stripes layout: a convolution whose 2 x 2 pools attach below its
// chains, a grouped convolution (two stripes per row) and a dense layer.
std::string pooled_yaml() {
  std::mt19937 rng(11);
  auto weights = [&](int n) {
    std::string w;
    for (int i = 0; i < n; ++i) w += "+-0+-"[rng() % 5];
    return w;
  };
  return "format: nmc-model/1\nname: pooled\nlayers:\n"
         "  - {name: input, type: input, shape: [1, 8, 8], levels: [80, 170]}\n"
         "  - {name: conv1, type: conv2d, out_channels: 4, kernel: 3, padding: 1, weights: \"" + weights(4 * 2 * 9) + "\"}\n"
         "  - {name: act1, type: threshold, threshold: [1, 0, 2, 1]}\n"
         "  - {name: pool1, type: max_pool, kernel: 2, stride: 2}\n"
         "  - {name: conv2, type: conv2d, out_channels: 4, kernel: 3, padding: 1, groups: 2, weights: \"" + weights(4 * 2 * 9) + "\"}\n"
         "  - {name: act2, type: threshold, threshold: [0, 1, 1, 0]}\n"
         "  - {name: flat, type: flatten}\n"
         "  - {name: fc, type: dense, out_features: 4, weights: \"" + weights(4 * 64) + "\"}\n"
         "  - {name: act_fc, type: threshold, threshold: [1, 0, 2, 1]}\n"
         "  - {name: out, type: output, classes: 2, class_of: [0, 1, 0, 1]}\n";
}

hw::dn_program compile_stripes(const std::string& yaml, const std::string& text) {
  const auto net = convert::parse_yaml_model(yaml, "small.yaml");
  const auto nl = compiler::netlist_from_model(net, convert::to_yaml(net));
  compiler::danna_options o;
  o.layout = compiler::danna_layout::stripes;
  return compiler::compile_danna(nl, hw::parse_danna(text, "danna.yaml"), text, o);
}

TEST_CASE("danna: stripes, attached pools and grouped convolutions agree with the reference, any thread count") {
  const auto yaml = pooled_yaml();
  const auto p = compile_stripes(yaml, grid(400, 800));
  const auto j = nlohmann::json::parse(p.report_json);
  CHECK(j["layout"] == "stripes");
  CHECK(j["attached_pools"].get<int>() == 4 * 4 * 4);  // pool1 rides below conv1's chains
  // conv1: a stripe per pool row; conv2: two groups per row; fc: one stripe per output group
  CHECK(j["crossbars"].get<int>() >= 4 + 2 * 4 + 1);
  CHECK(j["pathfinder_iterations"].get<int>() == 0);
  // Every conv1 line reads an input bit through its own port, injected when the line needs it.
  CHECK(p.inputs.size() > 2U * 64U);
  std::set<std::int32_t> offsets;
  for (const auto& in : p.inputs) offsets.insert(in.offset);
  CHECK(offsets.size() > 1);
  check_against_reference(p, yaml, 200, 1);
  check_against_reference(p, yaml, 200, 2);
}

TEST_CASE("danna: stripes, skip connections, overlapping pools and tile crossings keep the timing") {
  for (const std::string& yaml : {std::string(test::small_eedn_yaml), std::string(skip_yaml), pooled_yaml()}) {
    CAPTURE(yaml);
    // tiles of 7 x 5: links cross tile boundaries everywhere, each crossing one cycle late
    const auto p = compile_stripes(yaml, grid(7, 5, 60, 200));
    const auto j = nlohmann::json::parse(p.report_json);
    CHECK(j["tile_crossing_links"].get<int>() > 0);
    check_against_reference(p, yaml, 150, 2);
  }
}

TEST_CASE("danna: stripes, compiling is deterministic, and a grid too small is refused with the size it needs") {
  const auto yaml = pooled_yaml();
  CHECK(compile_stripes(yaml, grid(400, 800)) == compile_stripes(yaml, grid(400, 800)));
  try {
    (void)compile_stripes(yaml, grid(40, 40));
    FAIL("expected a fit error");
  } catch (const fit_error& e) {
    const std::string what = e.what();
    CHECK(what.find("the stripes layout needs") != std::string::npos);
    CHECK(what.find("the grid is 40 x 40") != std::string::npos);
    CHECK(e.hint().find("--grid") != std::string::npos);
  }
}

// Steps the simulation that runs relay chains as delay lines and the one that
// steps every element side by side, with the same random input, and compares
// every element's firing and charge and every layer's counts after every cycle
// (so values still inside a folded chain are counted as the relays would have).
void check_folding(const hw::dn_program& p, std::int64_t cycles, std::uint32_t seed) {
  runtime::dn_simulator folded(p, 2), every(p, 1, {.fold_relays = false});
  CHECK(every.stepped_elements() == p.elements.size());
  CHECK(folded.elements() == p.elements.size());
  MESSAGE(p.model_name << ": " << folded.stepped_elements() << " of " << p.elements.size() << " elements stepped");
  CHECK(folded.stepped_elements() * 2 < p.elements.size());  // mostly wire
  std::mt19937 rng(seed);
  std::int64_t state_differs = 0, counts_differ = 0;
  for (std::int64_t c = 0; c < cycles; ++c) {
    for (std::uint32_t k = 0; k < p.inputs.size(); ++k) {
      if (c < cycles / 2 && rng() % 2) {  // then no input, so the chains drain
        folded.inject(k);
        every.inject(k);
      }
    }
    folded.step();
    every.step();
    for (std::uint32_t e = 0; e < p.elements.size(); ++e)
      state_differs += folded.fired(e) != every.fired(e) || folded.charge(e) != every.charge(e);
    counts_differ += folded.counts_per_layer() != every.counts_per_layer();
  }
  CHECK(state_differs == 0);
  CHECK(counts_differ == 0);
  const auto t = every.totals();
  CHECK(t.hops > 1000);
  CHECK(t.spikes > 100);
}

TEST_CASE("danna: relay chains run as delay lines give every firing, charge and count of stepping every element") {
  SUBCASE("routed, across tiles") { check_folding(compile_small(test::small_eedn_yaml, grid(30, 30, 3, 3)), 300, 1); }
  SUBCASE("stripes, attached pools, across 7 x 5 tiles") { check_folding(compile_stripes(pooled_yaml(), grid(7, 5, 60, 200)), 700, 2); }
  SUBCASE("stripes, skip connection") { check_folding(compile_stripes(skip_yaml, grid(400, 800)), 500, 3); }
}

TEST_CASE("danna: nmc compile, inspect and simulate a grid program on Fashion-MNIST, agreeing with the reference") {
  if (!test::have_fashion_mnist()) return;
  test::temp_dir dir;
  const auto prog = (dir / "grid.dn").string();
  const std::string model = std::string(NMC_SOURCE_DIR) + "/examples/grid_fmnist.yaml";
  const auto c = test::run_nmc("compile " + model + " --target danna --grid 160x160 -o " + prog);
  REQUIRE(c.code == 0);
  CHECK(c.out.find("PathFinder iterations") != std::string::npos);
  CHECK(c.out.find("edges, mean length") != std::string::npos);  // the router routes netlist edges
  const auto i = test::run_nmc("inspect " + prog + " --json");
  REQUIRE(i.code == 0);
  const auto j = nlohmann::json::parse(i.out);
  CHECK(j["target"] == "danna");
  CHECK(j["neuron_elements"].get<int>() == 994);
  CHECK(j["partial_sum_elements"].get<int>() > 0);  // the dense layer's sums are split
  CHECK(j["relay_elements"].get<int>() > 0);
  CHECK(j["mean_route_length"].get<double>() > 0);
  CHECK(j["latency_cycles"].get<int>() > 0);
  CHECK(j.contains("tile_crossing_links"));
  const auto s = test::run_nmc("simulate " + prog + " --dataset fashion-mnist:test --frames 1000 --threads 2 --json");
  REQUIRE(s.code == 0);
  const auto r = nlohmann::json::parse(s.out.substr(s.out.find('{')));
  CHECK(r["frames"] == 1000);
  CHECK(r["reference_agreement"].get<double>() == 1.0);
  CHECK(r["hardware_fps"].get<double>() > 0);
  CHECK(r["energy_per_frame_uj"].get<double>() > 0);
  // The stripes layout of the same model: no routing search, the same answers.
  const auto sp = (dir / "stripes.dn").string();
  const auto cs = test::run_nmc("compile " + model + " --target danna --layout stripes --tiles 2x12 -o " + sp);
  REQUIRE(cs.code == 0);
  CHECK(cs.out.find("layout   stripes:") != std::string::npos);
  // Its route lengths are per value and reading stripe, and the line says so.
  CHECK(cs.out.find("value-to-stripe routes (for 1") != std::string::npos);
  const auto ss = test::run_nmc("simulate " + sp + " --dataset fashion-mnist:test --frames 1000 --threads 2 --json");
  REQUIRE(ss.code == 0);
  const auto rs = nlohmann::json::parse(ss.out.substr(ss.out.find('{')));
  CHECK(rs["reference_agreement"].get<double>() == 1.0);
  CHECK(rs["accuracy"] == r["accuracy"]);
  // Its relay chains run as delay lines; stepping every relay instead counts the same events.
  const auto st = test::run_nmc("simulate " + sp + " --dataset fashion-mnist:test --frames 200 --threads 2 --json --step-relays");
  REQUIRE(st.code == 0);
  const auto rt = nlohmann::json::parse(st.out.substr(st.out.find('{')));
  const auto fd = test::run_nmc("simulate " + sp + " --dataset fashion-mnist:test --frames 200 --threads 1 --json");
  REQUIRE(fd.code == 0);
  const auto rf = nlohmann::json::parse(fd.out.substr(fd.out.find('{')));
  CHECK(rf["stepped_elements"].get<std::int64_t>() * 4 < rt["stepped_elements"].get<std::int64_t>());
  for (const char* key : {"synaptic_events", "spikes", "neuron_updates", "hops", "chip_crossings", "energy_uj", "layers"})
    CHECK_MESSAGE(rt[key] == rf[key], key);
}
