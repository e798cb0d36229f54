// The DANNA-style grid target: description loader, program format, place and
// route, and the grid simulator against the reference pass.
#include <doctest/doctest.h>

#include <random>

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

TEST_CASE("danna: the shipped description loads with the 16 neighbours of HARDWARE.md 2.1") {
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

TEST_CASE("danna: the report counts elements by kind and route lengths") {
  const auto p = compile_small(test::small_eedn_yaml, grid(80, 80));
  std::int64_t neurons = 0, synapses = 0;
  for (const auto& e : p.elements) (e.kind == hw::element_kind::neuron ? neurons : synapses) += 1;
  CHECK(p.report_json.find(fmt::format("\"neuron_elements\":{}", neurons)) != std::string::npos);
  CHECK(synapses > 0);
  CHECK(p.report_json.find("\"mean_route_length\"") != std::string::npos);
}

TEST_CASE("danna: nmc compile, inspect and simulate a grid program on Fashion-MNIST, agreeing with the reference") {
  if (!test::have_fashion_mnist()) return;
  test::temp_dir dir;
  const auto prog = (dir / "grid.dn").string();
  const std::string model = std::string(NMC_SOURCE_DIR) + "/examples/grid_fmnist.yaml";
  const auto c = test::run_nmc("compile " + model + " --target danna --grid 160x160 -o " + prog);
  REQUIRE(c.code == 0);
  CHECK(c.out.find("PathFinder iterations") != std::string::npos);
  const auto i = test::run_nmc("inspect " + prog + " --json");
  REQUIRE(i.code == 0);
  const auto j = nlohmann::json::parse(i.out);
  CHECK(j["target"] == "danna");
  CHECK(j["neuron_elements"].get<int>() == 994);
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
}
