// TENNLab network JSON on the grid: RISP semantics on hand-computed networks
// and random networks against a direct RISP simulation.
#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <set>
#include <random>

#include <fmt/format.h>

#include <nmc/compiler/danna.hpp>
#include <nmc/convert/tennlab.hpp>
#include <nmc/error.hpp>
#include <nmc/files.hpp>
#include <nmc/hw/danna.hpp>
#include <nmc/runtime/dn_sim.hpp>
#include <nlohmann/json.hpp>

#include "common/run_nmc.hpp"
#include "common/temp_dir.hpp"

using namespace nmc;

namespace {

struct edge_spec {
  int from, to, weight, delay;
};

// A RISP network JSON: thresholds per node, edges, inputs, outputs.
std::string network_json(const std::vector<int>& thresholds, const std::vector<edge_spec>& edges,
                         const std::vector<int>& inputs, const std::vector<int>& outputs, const std::string& leak = "none",
                         int min_potential = -100, bool inclusive = true) {
  std::string s = R"({"Properties": {"node_properties": [{"name": "Threshold", "type": 73, "index": 0, "size": 1, "min_value": -127, "max_value": 127}],
  "edge_properties": [{"name": "Delay", "type": 73, "index": 1, "size": 1, "min_value": 1, "max_value": 15},
                      {"name": "Weight", "type": 73, "index": 0, "size": 1, "min_value": -127, "max_value": 127}],
  "network_properties": []}, "Nodes": [)";
  for (std::size_t i = 0; i < thresholds.size(); ++i) s += fmt::format("{}{{\"id\": {}, \"values\": [{}]}}", i ? "," : "", i * 10 + 3, thresholds[i]);
  s += "], \"Edges\": [";
  for (std::size_t i = 0; i < edges.size(); ++i)
    s += fmt::format("{}{{\"from\": {}, \"to\": {}, \"values\": [{}, {}]}}", i ? "," : "", edges[i].from * 10 + 3,
                     edges[i].to * 10 + 3, edges[i].weight, edges[i].delay);
  s += "], \"Inputs\": [";
  for (std::size_t i = 0; i < inputs.size(); ++i) s += fmt::format("{}{}", i ? "," : "", inputs[i] * 10 + 3);
  s += "], \"Outputs\": [";
  for (std::size_t i = 0; i < outputs.size(); ++i) s += fmt::format("{}{}", i ? "," : "", outputs[i] * 10 + 3);
  s += fmt::format(R"(], "Network_Values": [], "Associated_Data": {{"other": {{"proc_name": "risp"}},
    "proc_params": {{"discrete": true, "leak_mode": "{}", "min_potential": {}, "threshold_inclusive": {}}}}}}})",
                   leak, min_potential, inclusive ? "true" : "false");
  return s;
}

std::string grid(int w, int h) {
  static const std::string t = read_file(hw::default_danna_path());
  return hw::with_geometry(t, "danna.yaml", w, h, 1, 1);
}

hw::dn_program compile(const std::string& json, int size = 30) {
  const auto nl = convert::parse_tennlab(json, "net.json");
  const auto text = grid(size, size);
  return compiler::compile_danna(nl, hw::parse_danna(text, "danna.yaml"), text, {});
}

std::vector<std::vector<std::int64_t>> fires(const hw::dn_program& p, const std::vector<runtime::input_spike>& in,
                                             std::int64_t steps) {
  return runtime::run_dn_spikes(p, in, steps, 1).fire_ticks;
}

// Direct RISP simulation (the semantics the grid must reproduce).
std::vector<std::vector<std::int64_t>> risp(const std::vector<int>& thr, const std::vector<edge_spec>& edges,
                                            const std::vector<int>& inputs, const std::vector<int>& outputs,
                                            bool leak, int min_potential, const std::vector<runtime::input_spike>& in,
                                            std::int64_t steps) {
  const auto n = thr.size();
  std::vector<std::int64_t> charge(n, 0);
  std::map<std::int64_t, std::vector<std::pair<int, int>>> events;  // tick -> (node, value)
  for (const auto& s : in) events[s.tick].push_back({inputs[s.input], s.value});
  std::vector<std::vector<std::int64_t>> out(outputs.size());
  for (std::int64_t t = 0; t < steps; ++t) {
    std::vector<std::int64_t> add(n, 0);
    for (const auto& [node, v] : events[t]) add[static_cast<std::size_t>(node)] += v;
    for (std::size_t i = 0; i < n; ++i) {
      if (add[i] != 0) charge[i] = std::clamp<std::int64_t>(charge[i] + add[i], min_potential, 32767);
      if (charge[i] >= thr[i]) {
        charge[i] = 0;
        for (const auto& e : edges)
          if (e.from == static_cast<int>(i)) events[t + e.delay].push_back({e.to, e.weight});
        for (std::size_t o = 0; o < outputs.size(); ++o)
          if (outputs[o] == static_cast<int>(i)) out[o].push_back(t);
      } else if (leak) {
        charge[i] = 0;
      }
    }
  }
  return out;
}

}  // namespace

TEST_CASE("tennlab: a spike takes exactly its delay in network steps") {
  const auto p = compile(network_json({1, 1}, {{0, 1, 1, 3}}, {0}, {0, 1}));
  const auto f = fires(p, {{0, 0, 1}, {4, 0, 1}}, 12);
  CHECK(f[0] == std::vector<std::int64_t>{0, 4});
  CHECK(f[1] == std::vector<std::int64_t>{3, 7});
  CHECK(p.cycles_per_tick >= 1);
}

TEST_CASE("tennlab: threshold is inclusive, charge accumulates without leak and clears with leak all") {
  const std::vector<edge_spec> e{{0, 2, 1, 1}, {1, 2, 1, 2}};
  const std::vector<runtime::input_spike> both{{0, 0, 1}, {0, 1, 1}};
  // 1 + 1 >= 2 when both arrive together (input 1's edge is one step slower)
  {
    const auto p = compile(network_json({1, 1, 2}, e, {0, 1}, {2}));
    CHECK(fires(p, {{1, 0, 1}, {0, 1, 1}}, 8)[0] == std::vector<std::int64_t>{2});
    // arriving one step apart: accumulates without leak
    CHECK(fires(p, both, 8)[0] == std::vector<std::int64_t>{2});
  }
  {
    const auto p = compile(network_json({1, 1, 2}, e, {0, 1}, {2}, "all"));
    CHECK(fires(p, {{1, 0, 1}, {0, 1, 1}}, 8)[0] == std::vector<std::int64_t>{2});
    CHECK(fires(p, both, 8)[0].empty());  // leak clears the first unit before the second arrives
  }
  {
    const auto p = compile(network_json({1, 1, 2}, e, {0, 1}, {2}, "none", -100, false));
    CHECK(fires(p, {{1, 0, 1}, {0, 1, 1}}, 8)[0].empty());  // 2 > 2 is false
  }
}

TEST_CASE("tennlab: a neuron resets to 0 when it fires") {
  // weight 3 fires node 2 (threshold 2) and leaves 0, not 1: a later +1 must not fire it
  const auto p = compile(network_json({1, 1, 2}, {{0, 2, 3, 1}, {1, 2, 1, 1}}, {0, 1}, {2}));
  CHECK(fires(p, {{0, 0, 1}, {2, 1, 1}}, 8)[0] == std::vector<std::int64_t>{1});
  CHECK(fires(p, {{0, 0, 1}, {2, 1, 1}, {4, 1, 1}}, 8)[0] == std::vector<std::int64_t>{1, 5});
}

TEST_CASE("tennlab: min_potential floors negative charge") {
  // -5 then +3 twice: with floor -2 the charge goes -2, 1, 4 -> fires at the second +3 (threshold 3)
  const std::vector<edge_spec> e{{0, 2, -5, 1}, {1, 2, 3, 1}};
  const auto p = compile(network_json({1, 1, 3}, e, {0, 1}, {2}, "none", -2));
  CHECK(fires(p, {{0, 0, 1}, {1, 1, 1}, {2, 1, 1}}, 8)[0] == std::vector<std::int64_t>{3});
  const auto q = compile(network_json({1, 1, 3}, e, {0, 1}, {2}, "none", -100));
  CHECK(fires(q, {{0, 0, 1}, {1, 1, 1}, {2, 1, 1}}, 8)[0].empty());  // -5 + 3 + 3 = 1
}

TEST_CASE("tennlab: random RISP networks on the grid match a direct RISP simulation") {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 6; ++trial) {
    const int n = 6 + trial;
    std::vector<int> thr(static_cast<std::size_t>(n));
    for (auto& t : thr) t = 1 + static_cast<int>(rng() % 3);
    std::vector<edge_spec> edges;
    std::set<std::pair<int, int>> seen;
    for (int k = 0; k < 2 * n; ++k) {
      const int a = static_cast<int>(rng() % static_cast<unsigned>(n)), b = static_cast<int>(rng() % static_cast<unsigned>(n));
      if (!seen.insert({a, b}).second) continue;
      edges.push_back({a, b, static_cast<int>(rng() % 7) - 2, 1 + static_cast<int>(rng() % 4)});
    }
    std::erase_if(edges, [](const edge_spec& e) { return e.weight == 0; });
    const std::vector<int> inputs{0, 1}, outputs{n - 1, n - 2, 2};
    const bool leak = trial % 2 == 1;
    const auto p = compile(network_json(thr, edges, inputs, outputs, leak ? "all" : "none", -4), 40);
    std::vector<runtime::input_spike> in;
    for (int t = 0; t < 30; ++t)
      if (rng() % 3 == 0) in.push_back({t, static_cast<std::uint32_t>(rng() % 2), 1 + static_cast<int>(rng() % 2)});
    CHECK(fires(p, in, 50) == risp(thr, edges, inputs, outputs, leak, -4, in, 50));
    // Relay chains run as delay lines: the same as stepping every element, events included.
    const auto folded = runtime::run_dn_spikes(p, in, 50, 2);
    const auto every = runtime::run_dn_spikes(p, in, 50, 1, {.fold_relays = false});
    CHECK(folded.fire_ticks == every.fire_ticks);
    CHECK(folded.per_layer == every.per_layer);
    CHECK(folded.totals.hops > 0);
  }
}

TEST_CASE("tennlab: spike files are read with line-numbered errors") {
  const auto v = runtime::parse_spike_file("# tick input value\n0 0\n3 1 2\n\n1 0\n", "s.txt", 2);
  REQUIRE(v.size() == 3);
  CHECK(v[1].tick == 1);
  CHECK(v[2].value == 2);
  CHECK_THROWS_WITH_AS(runtime::parse_spike_file("0 5\n", "s.txt", 2), doctest::Contains("s.txt:1: input 5 does not exist"),
                       data_error);
  CHECK_THROWS_WITH_AS(runtime::parse_spike_file("0 0\nx\n", "s.txt", 2), doctest::Contains("s.txt:2"), data_error);
}

TEST_CASE("tennlab: the fuzz seed corpora and crash regressions load or fail with an nmc::error") {
  int n = 0;
  for (const char* target : {"tennlab", "dn_program"}) {
    for (const char* kind : {"corpus", "regressions"}) {
      const auto dir = std::filesystem::path(NMC_SOURCE_DIR) / "tests/fuzz" / kind / target;
      for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.path().filename().string().front() == '.') continue;
        CAPTURE(entry.path().string());
        const auto bytes = read_file(entry.path());
        try {
          if (std::string(target) == "tennlab") convert::parse_tennlab(bytes, "fuzz.json");
          else hw::deserialize_dn(bytes, "fuzz.dn");
        } catch (const nmc::error&) {
        } catch (const std::exception& e) {
          FAIL_CHECK("not an nmc::error: " << e.what());
        }
        ++n;
      }
    }
  }
  CHECK(n >= 3);
  // the seeds themselves are valid
  const auto p = hw::deserialize_dn(read_file(std::filesystem::path(NMC_SOURCE_DIR) / "tests/fuzz/corpus/dn_program/small.dn"), "small.dn");
  CHECK(p.mode == hw::dn_mode::spikes);
  CHECK(convert::parse_tennlab(read_file(std::filesystem::path(NMC_SOURCE_DIR) / "tests/fuzz/corpus/tennlab/leak.json"), "leak.json")
            .neurons[1].leak == hw::leak_kind::reset);
}

TEST_CASE("tennlab: nmc compile, inspect and simulate a TENNLab network from the command line") {
  test::temp_dir dir;
  const auto net = (dir / "net.json").string(), prog = (dir / "net.dn").string(), spikes = (dir / "in.txt").string();
  atomic_write(net, network_json({1, 1, 2}, {{0, 2, 1, 1}, {1, 2, 1, 2}}, {0, 1}, {2}));
  atomic_write(spikes, std::string("# tick input\n1 0\n0 1\n5 0\n"));
  const auto c = test::run_nmc("compile " + net + " --target danna --grid 30x30 -o " + prog);
  REQUIRE(c.code == 0);
  CHECK(c.out.find("spikes mode") != std::string::npos);
  const auto i = test::run_nmc("inspect " + prog + " --json");
  REQUIRE(i.code == 0);
  CHECK(i.out.find("\"mode\": \"spikes\"") != std::string::npos);
  const auto s = test::run_nmc("simulate " + prog + " --spikes-in " + spikes + " --steps 10 --json");
  REQUIRE(s.code == 0);
  const auto j = nlohmann::json::parse(s.out.substr(s.out.find('{')));
  CHECK(j["output_fire_steps"][0] == std::vector<int>{2});  // 1 + 1 at step 2; the lone spike at 5 stays below 2
  CHECK(j["output_counts"][0] == 1);
  const auto u = test::run_nmc("simulate " + prog + " --dataset fashion-mnist:test");
  CHECK(u.code == 2);
  CHECK(u.out.find("--spikes-in") != std::string::npos);
  const auto bad = test::run_nmc("simulate " + prog + " --spikes-in " + net);
  CHECK(bad.code == 1);
}
