// Diagnostics of the grid target: each asserts the error type and that the
// message names the thing, the numbers and a way out.
#include <doctest/doctest.h>

#include <filesystem>

#include <fmt/format.h>

#include <nmc/compiler/danna.hpp>
#include <nmc/compiler/netlist.hpp>
#include <nmc/convert/tennlab.hpp>
#include <nmc/convert/yaml_model.hpp>
#include <nmc/error.hpp>
#include <nmc/files.hpp>
#include <nmc/hw/danna.hpp>

#include "common/fashion_mnist.hpp"
#include "common/run_nmc.hpp"
#include "common/sample_data.hpp"
#include "common/temp_dir.hpp"

using namespace nmc;

namespace {

hw::dn_program compile_on(int w, int h, const compiler::danna_options& opts = {}) {
  const auto net = convert::parse_yaml_model(test::small_eedn_yaml, "small.yaml");
  const auto text = hw::with_geometry(read_file(hw::default_danna_path()), "danna.yaml", w, h, 1, 1);
  return compiler::compile_danna(compiler::netlist_from_model(net, convert::to_yaml(net)), hw::parse_danna(text, "danna.yaml"),
                                 text, opts);
}

const std::string props = R"("Properties": {"node_properties": [{"name": "Threshold", "index": 0}],
  "edge_properties": [{"name": "Weight", "index": 0}, {"name": "Delay", "index": 1}]})";

std::string net(const std::string& nodes, const std::string& edges, const std::string& extra = "") {
  return "{" + props + ", \"Nodes\": [" + nodes + "], \"Edges\": [" + edges + "], \"Inputs\": [0], \"Outputs\": [1]" + extra + "}";
}

const std::string two_nodes = R"({"id": 0, "values": [1]}, {"id": 1, "values": [2]})";

}  // namespace

TEST_CASE("error: danna grid too small for the neurons") {
  CHECK_THROWS_WITH_AS(compile_on(24, 24),
                       doctest::Contains("102 neurons and 16 partial-sum elements need at least 1416 elements (about 12 "
                                         "per node"),
                       fit_error);
  try {
    compile_on(24, 24);
  } catch (const fit_error& e) {
    CHECK(std::string(e.what()).find("24 x 24 grid") != std::string::npos);
    CHECK(e.hint().find("--tiles") != std::string::npos);
  }
}

TEST_CASE("error: danna grid too small to route: the worst congested region and a suggestion") {
  // The smallest grid the placement takes routes after 30 iterations; one
  // iteration per attempt leaves it congested.
  compiler::danna_options one;
  one.max_iterations = 1;
  try {
    compile_on(34, 34, one);
    FAIL("34 x 34 should not route in one iteration");
  } catch (const fit_error& e) {
    const std::string what = e.what();
    CHECK(what.find("routing did not converge: 4 attempts in different net orders, each stopped after 1 PathFinder") !=
          std::string::npos);
    CHECK(what.find(" overused elements; ") != std::string::npos);
    CHECK(what.find("worst congested region") != std::string::npos);
    CHECK(what.find("of 1156 (34 x 34)") != std::string::npos);
    CHECK(e.hint().find("larger grid") != std::string::npos);
  }
}

TEST_CASE("error: danna partial sums wider than the grid's values name the bits and the way out") {
  const auto net = convert::parse_yaml_model(test::small_eedn_yaml, "small.yaml");
  auto text = hw::with_geometry(read_file(hw::default_danna_path()), "danna.yaml", 80, 80, 1, 1);
  const auto at = text.find("value_bits: 16");
  REQUIRE(at != std::string::npos);
  text.replace(at, 14, "value_bits: 3");  // values up to 3; partial sums of partial sums carry 4
  compiler::danna_options o;
  o.max_fan_in = 2;
  try {
    compiler::compile_danna(compiler::netlist_from_model(net, convert::to_yaml(net)), hw::parse_danna(text, "danna.yaml"),
                            text, o);
    FAIL("3-bit values should not hold the partial sums");
  } catch (const fit_error& e) {
    CHECK(std::string(e.what()).find("can carry 4, beyond the grid's 3-bit values") != std::string::npos);
    CHECK(e.hint().find("wider values") != std::string::npos);
  }
}

TEST_CASE("error: danna crossbars taller than the grid name the layer, the rows and the way out") {
  compiler::danna_options o;
  o.crossbar_fan_in = 3;  // the convolution's blocks and the dense layer 'fc' (8 lines) become crossbars
  try {
    compile_on(80, 20, o);
    FAIL("the crossbars should not fit 20 rows");
  } catch (const fit_error& e) {
    const std::string what = e.what();
    CHECK(what.find("the crossbars up to that of layer") != std::string::npos);
    CHECK(what.find("more than the 80 x 20 grid has") != std::string::npos);
    CHECK(e.hint().find("taller grid") != std::string::npos);
    CHECK(e.hint().find("--crossbar-fan-in 0") != std::string::npos);
  }
  // Without crossbars, a short wide grid is a routing refusal, not a placement
  // bug (the lattice block grew only as a square and ran out of sites).
  CHECK_THROWS_AS(compile_on(80, 20, {}), fit_error);
}

TEST_CASE("error: danna compile that does not fit exits 1 and writes nothing") {
  test::temp_dir dir;
  const auto m = dir / "small.yaml";
  atomic_write(m, std::string(test::small_eedn_yaml));
  const auto out = dir / "p.dn";
  const auto r = test::run_nmc(fmt::format("compile {} --target danna --grid 24x24 -o {}", m.string(), out.string()));
  CHECK(r.code == 1);
  CHECK(r.out.find("fit error") != std::string::npos);
  CHECK(!std::filesystem::exists(out));
  const auto u = test::run_nmc(fmt::format("compile {} --target danna --grid 24 -o {}", m.string(), out.string()));
  CHECK(u.code == 2);
  // Out of routing time: the same refusal, the option named.
  const auto t = test::run_nmc(
      fmt::format("compile {} --target danna --grid 80x80 --route-seconds 0.000000001 -o {}", m.string(), out.string()));
  CHECK(t.code == 1);
  CHECK(t.out.find("routing stopped at the limit of 1e-09 s") != std::string::npos);
  CHECK(t.out.find("--route-seconds") != std::string::npos);
  CHECK(!std::filesystem::exists(out));
}

TEST_CASE("error: the stripes layout on too small a grid, or on a TENNLab network, exits 1 naming the way out") {
  test::temp_dir dir;
  const auto m = dir / "small.yaml";
  atomic_write(m, std::string(test::small_eedn_yaml));
  const auto out = dir / "p.dn";
  const auto r = test::run_nmc(fmt::format("compile {} --target danna --layout stripes --grid 30x30 -o {}", m.string(), out.string()));
  CHECK(r.code == 1);
  CHECK(r.out.find("the stripes layout needs") != std::string::npos);
  CHECK(r.out.find("the grid is 30 x 30") != std::string::npos);
  CHECK(r.out.find("hint: use --tiles") != std::string::npos);
  CHECK(!std::filesystem::exists(out));
  const auto u = test::run_nmc(fmt::format("compile {} --target danna --layout diagonal -o {}", m.string(), out.string()));
  CHECK(u.code == 2);
  compiler::netlist nl;
  nl.mode = hw::dn_mode::spikes;
  nl.source = "net.json";
  const auto text = read_file(hw::default_danna_path());
  compiler::danna_options o;
  o.layout = compiler::danna_layout::stripes;
  CHECK_THROWS_WITH_AS(compiler::compile_danna(nl, hw::parse_danna(text, "danna.yaml"), text, o),
                       doctest::Contains("net.json: the stripes layout lays out Eedn networks"), fit_error);
}

TEST_CASE("error: danna routing past --route-seconds stops with where it got and the way out") {
  compiler::danna_options o;
  o.route_seconds = 1e-9;  // spent before the first net is routed
  try {
    compile_on(80, 80, o);
    FAIL("routing should stop at the time limit");
  } catch (const fit_error& e) {
    const std::string what = e.what();
    CHECK(what.find("routing stopped at the limit of 1e-09 s: attempt 1, PathFinder iteration 1, 1 of ") != std::string::npos);
    CHECK(what.find("nets visited, the first iteration unfinished") != std::string::npos);
    CHECK(what.find("no element overused yet") != std::string::npos);
    CHECK(e.hint().find("allow more time (--route-seconds, 0: no limit), use a larger grid") != std::string::npos);
  }
  // A limit that is not reached changes nothing.
  o.route_seconds = 3600;
  CHECK(compile_on(80, 80, o) == compile_on(80, 80, {}));
}

TEST_CASE("error: tennlab invalid JSON names the file and the position") {
  CHECK_THROWS_WITH_AS(convert::parse_tennlab("{\"Nodes\": [", "n.json"), doctest::Contains("n.json: not valid JSON"),
                       model_error);
  CHECK_THROWS_WITH_AS(convert::parse_tennlab("{\"Nodes\": []}", "n.json"), doctest::Contains("lacks \"Properties\""),
                       model_error);
}

TEST_CASE("error: tennlab edge to a node that does not exist") {
  CHECK_THROWS_WITH_AS(convert::parse_tennlab(net(two_nodes, R"({"from": 0, "to": 7, "values": [1, 1]})"), "n.json"),
                       doctest::Contains("edge #0 of \"Edges\": \"to\" names node 7, which does not exist"), model_error);
}

TEST_CASE("error: tennlab delay below 1 and non-integer values") {
  CHECK_THROWS_WITH_AS(convert::parse_tennlab(net(two_nodes, R"({"from": 0, "to": 1, "values": [1, 0]})"), "n.json"),
                       doctest::Contains("edge 0 -> 1: delay 0 is below 1"), model_error);
  CHECK_THROWS_WITH_AS(convert::parse_tennlab(net(two_nodes, R"({"from": 0, "to": 1, "values": [0.5, 1]})"), "n.json"),
                       doctest::Contains("edge 0 -> 1: weight 0.5 is not an integer"), model_error);
  CHECK_THROWS_WITH_AS(convert::parse_tennlab(net(R"({"id": 0, "values": [1]}, {"id": 1, "values": []})", ""), "n.json"),
                       doctest::Contains("node 1: \"values\" has 0 entries, threshold is at index 0"), model_error);
}

TEST_CASE("error: tennlab duplicate node ids, unknown inputs, unsupported settings") {
  CHECK_THROWS_WITH_AS(convert::parse_tennlab(net(R"({"id": 0, "values": [1]}, {"id": 0, "values": [1]})", ""), "n.json"),
                       doctest::Contains("node 0: id used twice"), model_error);
  CHECK_THROWS_WITH_AS(convert::parse_tennlab("{" + props + R"(, "Nodes": [{"id": 0, "values": [1]}], "Edges": [], "Inputs": [3], "Outputs": []})", "n.json"),
                       doctest::Contains("\"Inputs\" names node 3"), model_error);
  CHECK_THROWS_WITH_AS(
      convert::parse_tennlab(net(two_nodes, "", R"(, "Associated_Data": {"proc_params": {"leak_mode": "sometimes"}})"), "n.json"),
      doctest::Contains("leak_mode 'sometimes'"), model_error);
}

TEST_CASE("error: tennlab weight outside the grid's synapse range") {
  const auto nl = convert::parse_tennlab(net(two_nodes, R"({"from": 0, "to": 1, "values": [300, 1]})"), "n.json");
  const auto text = read_file(hw::default_danna_path());
  CHECK_THROWS_WITH_AS(compiler::compile_danna(nl, hw::parse_danna(text, "d.yaml"), text, {}),
                       doctest::Contains("edge node 0 -> node 1 has weight 300, the grid's synapses take -128..127"), fit_error);
}

TEST_CASE("error: a grid simulation that would not fit in memory is refused with both numbers, before allocating") {
  if (!test::have_fashion_mnist()) return;
  test::temp_dir dir;
  const auto prog = (dir / "stripes.dn").string();
  REQUIRE(test::run_nmc("compile " + std::string(NMC_SOURCE_DIR) + "/examples/grid_fmnist.yaml --target danna --layout stripes "
                        "--tiles 2x12 -o " + prog).code == 0);
  const auto r = test::run_nmc("simulate " + prog + " --frames 10 --max-memory 1");
  CHECK(r.code == 1);
  CHECK(r.out.find("fit error: simulating 43281 grid elements (") != std::string::npos);
  CHECK(r.out.find("relays in") != std::string::npos);
  CHECK(r.out.find("but only 1.0 MiB is allowed by --max-memory") != std::string::npos);
  CHECK(r.out.find("raise --max-memory") != std::string::npos);
  // Stepping every relay needs several times more, and the hint says what saves it.
  const auto s = test::run_nmc("simulate " + prog + " --frames 10 --max-memory 1 --step-relays");
  CHECK(s.code == 1);
  CHECK(s.out.find("(43281 stepped, 0 relays in 0 delay lines)") != std::string::npos);
  CHECK(s.out.find("without --step-relays") != std::string::npos);
  CHECK(test::run_nmc("simulate " + prog + " --frames 10 --max-memory 4").code == 0);
}
