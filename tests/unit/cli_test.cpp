// End-to-end tests of the nmc executable: exit codes, messages, JSON output.
#include <doctest/doctest.h>

#include <array>
#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include <nmc/files.hpp>

#include "common/fashion_mnist.hpp"
#include "common/run_nmc.hpp"
#include "common/temp_dir.hpp"

using nmc::test::have_fashion_mnist;

namespace {

using nmc::test::run_nmc;

nmc::test::run_result nmc_run(const std::string& args) { return run_nmc(args); }

std::string example(const char* name) { return std::string(NMC_SOURCE_DIR) + "/examples/" + name; }

}  // namespace

TEST_CASE("cli: --help, no subcommand, unknown option") {
  auto r = nmc_run("--help");
  CHECK(r.code == 0);
  CHECK(r.out.find("inspect") != std::string::npos);
  CHECK(r.out.find("eval") != std::string::npos);
  CHECK(nmc_run("").code == 2);
  CHECK(nmc_run("inspect --bogus x.yaml").code == 2);
  CHECK(nmc_run("eval").code == 2);
}

TEST_CASE("cli: inspect prints layers, fan-in and the weight histogram") {
  auto r = nmc_run("inspect " + example("tiny_fmnist.yaml"));
  INFO(r.out);
  CHECK(r.code == 0);
  CHECK(r.out.find("conv1") != std::string::npos);
  CHECK(r.out.find("weights -1 / 0 / +1") != std::string::npos);
  r = nmc_run("inspect --json " + example("tiny_fmnist.yaml"));
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["layers"].size() > 3);
  std::int64_t hist = 0;
  for (const auto& l : j["layers"]) {
    hist += l["weights"]["-1"].get<std::int64_t>() + l["weights"]["0"].get<std::int64_t>() +
            l["weights"]["+1"].get<std::int64_t>();
  }
  CHECK(hist == j["totals"]["weights"]["-1"].get<std::int64_t>() +
                    j["totals"]["weights"]["0"].get<std::int64_t>() +
                    j["totals"]["weights"]["+1"].get<std::int64_t>());
  CHECK(hist > 0);
}

TEST_CASE("cli: bad model files exit 1 with the file and line") {
  nmc::test::temp_dir dir;
  nmc::atomic_write(dir / "bad.yaml", "format: nmc-model/1\nlayers:\n  - {name: a, type: bogus}\n");
  auto r = nmc_run("inspect " + (dir / "bad.yaml").string());
  CHECK(r.code == 1);
  CHECK(r.out.find("bad.yaml:3: layer 'a': unknown type 'bogus'") != std::string::npos);
  CHECK(r.out.find("hint:") != std::string::npos);
  r = nmc_run("inspect " + (dir / "missing.yaml").string());
  CHECK(r.code == 1);
  CHECK(r.out.find("no such file") != std::string::npos);
}

TEST_CASE("cli: eval reports accuracy and frames/s, identical for 1 and 2 threads" *
          doctest::skip(!have_fashion_mnist())) {
  nmc::test::temp_dir dir;
  const auto m = example("tiny_fmnist.yaml");
  auto r1 = nmc_run("eval " + m + " --frames 2000 --threads 1 --json --counts " + (dir / "c1.csv").string());
  auto r2 = nmc_run("eval " + m + " --frames 2000 --threads 2 --json --counts " + (dir / "c2.csv").string());
  INFO(r1.out);
  REQUIRE(r1.code == 0);
  REQUIRE(r2.code == 0);
  const auto j1 = nlohmann::json::parse(r1.out), j2 = nlohmann::json::parse(r2.out);
  CHECK(j1["frames"] == 2000);
  CHECK(j1["accuracy"].get<double>() > 0.5);  // a trained model, far above chance (0.1)
  CHECK(j1["frames_per_s"].get<double>() > 0);
  CHECK(j1["correct"] == j2["correct"]);
  CHECK(j1["confusion"] == j2["confusion"]);
  CHECK(nmc::read_file(dir / "c1.csv") == nmc::read_file(dir / "c2.csv"));
  auto text = nmc_run("eval " + m + " --frames 100");
  CHECK(text.code == 0);
  CHECK(text.out.find("accuracy") != std::string::npos);
  CHECK(text.out.find("frames/s") != std::string::npos);
}

TEST_CASE("cli: eval errors: too many frames, unknown dataset, unwritable counts file" *
          doctest::skip(!have_fashion_mnist())) {
  const auto m = example("tiny_fmnist.yaml");
  auto r = nmc_run("eval " + m + " --frames 20000");
  CHECK(r.code == 1);
  CHECK(r.out.find("--frames 20000 but fashion-mnist:test has only 10000 frames") != std::string::npos);
  r = nmc_run("eval " + m + " --dataset cifar10:test");
  CHECK(r.code == 2);
  CHECK(r.out.find("unknown dataset 'cifar10:test'") != std::string::npos);
  r = nmc_run("eval " + m + " --frames 10 --counts /nonexistent-dir/c.csv");
  CHECK(r.code == 1);
  CHECK(r.out.find("directory /nonexistent-dir does not exist") != std::string::npos);
}

TEST_CASE("cli: ONNX errors exit 1 with the node or file named") {
  nmc::test::temp_dir dir;
  const std::string good = nmc::read_file(std::string(NMC_SOURCE_DIR) + "/models/fmnist_small.onnx");
  nmc::atomic_write(dir / "cut.onnx", good.substr(0, good.size() / 3));
  nmc::atomic_write(dir / "text.onnx", "not a model at all\n");
  auto r = nmc_run("inspect " + (dir / "cut.onnx").string());
  CHECK(r.code == 1);
  CHECK(r.out.find("cut.onnx") != std::string::npos);
  r = nmc_run("inspect " + (dir / "text.onnx").string());
  CHECK(r.code == 1);
  CHECK(r.out.find("not an ONNX model") != std::string::npos);
  r = nmc_run("inspect " + std::string(NMC_SOURCE_DIR) + "/models/fmnist_small.onnx --json");
  CHECK(r.code == 0);
  CHECK(nlohmann::json::parse(r.out)["totals"]["neurons"] == 24744);
}

TEST_CASE("cli: Ctrl-C leaves a valid partial report and exit code 130" * doctest::skip(!have_fashion_mnist())) {
  nmc::test::temp_dir dir;
  const auto program = (dir / "p.nmc").string(), report = (dir / "r.json").string();
  // The 60,000 training frames: the test set's 10,000 take the tiny model
  // under a second now, and a bigger model would still be loading at the
  // interrupt under the sanitizers.
  REQUIRE(nmc_run("compile " + example("tiny_fmnist.yaml") + " -o " + program).code == 0);
  const std::string cmd = "sh -c '" + std::string(NMC_BINARY) + " simulate " + program +
                          " --dataset fashion-mnist:train --threads 1 --report " + report +
                          " > /dev/null 2>&1 & pid=$!; sleep 0.8; kill -INT $pid; wait $pid; exit $?'";
  const int status = std::system(cmd.c_str());
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 130);
  const auto j = nlohmann::json::parse(nmc::read_file(report));
  CHECK(j["partial"] == true);
  CHECK(j["frames"].get<int>() < 60000);
  CHECK(j["reference_agreement"] == 1.0);
}

TEST_CASE("cli: --ticks-per-frame other than the program's skips the reference comparison, and says so" *
          doctest::skip(!have_fashion_mnist())) {
  // Each frame held for 3 ticks triples its class counts: they cannot equal
  // the reference pass's, and that is no disagreement (it used to exit 3).
  nmc::test::temp_dir dir;
  const auto program = (dir / "p.nmc").string();
  REQUIRE(nmc_run("compile " + example("tiny_fmnist.yaml") + " -o " + program).code == 0);
  const auto r = nmc_run("simulate " + program + " --frames 50 --ticks-per-frame 3");
  CHECK(r.code == 0);
  CHECK(r.out.find("reference not compared: --ticks-per-frame 3 differs from the program's 1") != std::string::npos);
  const auto same = nmc_run("simulate " + program + " --frames 50 --ticks-per-frame 1");
  CHECK(same.code == 0);
  CHECK(same.out.find("agreement 1.0000") != std::string::npos);
}
