#pragma once
// Compiling small YAML networks in tests.

#include <string>

#include <nmc/compiler/pipeline.hpp>
#include <nmc/convert/yaml_model.hpp>
#include <nmc/files.hpp>
#include <nmc/hw/truenorth.hpp>

namespace nmc::test {

inline const std::string& default_target_text() {
  static const std::string text = read_file(hw::default_truenorth_path());
  return text;
}

// A target file with some values replaced ("cores_x: 64" -> "cores_x: 2", ...).
inline std::string target_with(std::vector<std::pair<std::string, std::string>> replace) {
  std::string t = default_target_text();
  for (const auto& [from, to] : replace) {
    const auto pos = t.find(from);
    if (pos == std::string::npos) throw std::runtime_error("target_with: no '" + from + "'");
    t = t.substr(0, pos) + to + t.substr(pos + from.size());
  }
  return t;
}

struct compiled {
  model::network net;
  compiler::compile_state state;
};

inline compiled compile_yaml(const std::string& yaml, compiler::options opts = {},
                             const std::string& target_text = default_target_text()) {
  compiled c{convert::parse_yaml_model(yaml, "test.yaml"), {}};
  const auto target = hw::parse_truenorth(target_text, "target.yaml");
  compiler::pipeline_options po;
  po.opts = opts;
  c.state = compiler::compile_truenorth(c.net, target, target_text, convert::to_yaml(c.net), po);
  return c;
}

// A weight string of n weights cycling through +, 0, -.
inline std::string weights(std::size_t n, const std::string& pattern = "+0-") {
  std::string w;
  for (std::size_t i = 0; i < n; ++i) w += pattern[i % pattern.size()];
  return w;
}

// One neuron feeding 2,400 neurons (10 cores): with a reach of +/-1 core the
// compiler cannot keep all of them within reach.
inline std::string star_yaml() {
  return "format: nmc-model/1\nlayers:\n"
         "  - {name: in, type: input, shape: [1, 1, 1], levels: [128]}\n"
         "  - {name: d0, type: dense, out_features: 1, weights: [1]}\n"
         "  - {name: a0, type: threshold, threshold: 1}\n"
         "  - {name: d1, type: dense, out_features: 2400, weights: \"" + weights(2400, "+") + "\"}\n"
         "  - {name: a1, type: threshold, threshold: 1}\n"
         "  - {name: out, type: output, classes: 2}\n";
}

}  // namespace nmc::test
