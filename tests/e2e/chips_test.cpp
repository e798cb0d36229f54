// Models of many chips: the synthetic one-chip Eedn network made 25 times as
// wide (bench/synthetic.hpp) needs more than 16 chips' worth of cores. It must
// place with every spike path within the router's reach, keep the annealed
// placement well below the naive one, and simulate with every class count equal
// to the reference pass, the same for 1 and 2 threads.

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>

#include <nmc/compiler/pipeline.hpp>
#include <nmc/convert/load.hpp>
#include <nmc/error.hpp>
#include <nmc/convert/yaml_model.hpp>
#include <nmc/hw/truenorth.hpp>
#include <nmc/runtime/dataset.hpp>
#include <nmc/runtime/tn_sim.hpp>

#include "evaluate.hpp"
#include "common/compile.hpp"
#include "common/fashion_mnist.hpp"
#include "../../bench/synthetic.hpp"

using namespace nmc;

TEST_CASE("chips: a model of more than 16 chips' cores compiles within reach and simulates bit-exactly" *
          doctest::skip(!test::have_fashion_mnist())) {
  const auto net = bench::chips_network(25);
  const auto target = hw::default_truenorth();
  compiler::pipeline_options po;
  po.opts.chips = 17;
  const auto state = compiler::compile_truenorth(net, target, test::default_target_text(), convert::to_yaml(net), po);
  const auto& p = state.program;
  REQUIRE(p.cores.size() > 16u * static_cast<std::size_t>(target.cores_per_chip()));
  CHECK(p.chips == 17);
  CHECK(p.chips_x == 5);  // a near-square block, not a column of 5 rows of 4
  CHECK(p.chips_y == 4);
  // Within reach (the route pass refuses otherwise: measured here again) and
  // far better than the layer-by-layer row-major placement.
  const auto gx = [&](const hw::tn_core& c) { return static_cast<int>(c.chip % p.chips_x) * target.cores_x + static_cast<int>(c.x); };
  const auto gy = [&](const hw::tn_core& c) { return static_cast<int>(c.chip / p.chips_x) * target.cores_y + static_cast<int>(c.y); };
  int worst_dx = 0, worst_dy = 0;
  for (const auto& c : p.cores)
    for (const auto& n : c.neurons)
      if (n.dest == hw::dest_kind::core) {
        worst_dx = std::max(worst_dx, std::abs(gx(p.cores[n.dest_core]) - gx(c)));
        worst_dy = std::max(worst_dy, std::abs(gy(p.cores[n.dest_core]) - gy(c)));
      }
  CHECK(worst_dx <= target.reach_x_cores);
  CHECK(worst_dy <= target.reach_y_cores);
  CHECK(state.routes.mean_hops < 0.5 * state.routes.naive_mean_hops);

  auto data = runtime::load_dataset("fashion-mnist:test");
  runtime::limit_frames(data, 6);
  const auto ref = cli::evaluate_reference(net, data, 2);
  runtime::sim_options one, two;
  one.threads = 1;
  two.threads = 2;
  const auto a = runtime::run_frames(p, data, one);
  const auto b = runtime::run_frames(p, data, two);
  CHECK(a.counts == ref.counts);
  CHECK(b.counts == ref.counts);
  CHECK(a.totals.spikes == b.totals.spikes);
  CHECK(a.totals.chip_crossings == b.totals.chip_crossings);
  CHECK(a.totals.chip_crossings > 0);
}

TEST_CASE("chips: chips 0 compiles onto the fewest chips that hold the cores, in a near-square block") {
  // Chips of 2 x 2 cores: the tiny model needs tens of them.
  const auto text = test::target_with({{"cores_x: 64", "cores_x: 2"}, {"cores_y: 64", "cores_y: 2"}});
  const auto target = hw::parse_truenorth(text, "small_chips.yaml");
  const auto net = convert::load_model(std::string(NMC_SOURCE_DIR) + "/examples/tiny_fmnist.yaml");
  compiler::pipeline_options po;
  po.opts.chips = 0;
  const auto state = compiler::compile_truenorth(net, target, text, convert::to_yaml(net), po);
  const auto& p = state.program;
  CHECK(p.chips == (p.cores.size() + 3) / 4);
  CHECK(p.chips_x * p.chips_x >= p.chips);  // ceil(sqrt(chips)) across
  CHECK((p.chips_x - 1) * (p.chips_x - 1) < p.chips);
  CHECK(p.chips_y == (p.chips + p.chips_x - 1) / p.chips_x);
  // One chip fewer does not hold them: the fit error says so.
  po.opts.chips = static_cast<int>(p.chips) - 1;
  CHECK_THROWS_AS(compiler::compile_truenorth(net, target, text, convert::to_yaml(net), po), fit_error);
}
