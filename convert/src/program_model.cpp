#include <nmc/convert/program_model.hpp>

#include <algorithm>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <nmc/convert/tennlab.hpp>
#include <nmc/convert/yaml_model.hpp>
#include <nmc/error.hpp>
#include <nmc/files.hpp>
#include <nmc/model/network.hpp>

namespace nmc::convert {

namespace {

// The fields both program formats repeat from an Eedn model.
struct model_fields {
  std::uint64_t hash = 0;
  std::uint32_t channels = 0, height = 0, width = 0;
  std::vector<std::int32_t> thermometer;
  std::uint32_t classes = 0;
  std::vector<std::int32_t> port_class;  // per output port
};

// As hw::verify_program words it: "invalid program" or "invalid grid program".
[[noreturn]] void fail(const std::string& source, const std::string& what, const char* hint) {
  const bool grid = std::string_view(hint).find("danna") != std::string_view::npos;
  throw model_error(fmt::format("{}: invalid {}program: {}", source, grid ? "grid " : "", what), hint);
}

void compare(const model_fields& program, const std::string& model_text, const std::string& source, const char* hint) {
  const auto net = parse_yaml_model(model_text, source + " (embedded model)");
  const auto& in = net[net.input()];
  const auto& image = in.as<model::input_op>().image;
  const auto& levels = in.as<model::input_op>().encoding.thresholds;
  const auto& out = net[net.output()];
  const auto& o = out.as<model::output_op>();
  const std::string model = fmt::format("the embedded model '{}'", net.name);
  if (const auto h = model::content_hash(net); h != program.hash) {
    fail(source, fmt::format("model_hash: {:016x}, but {} hashes to {:016x}", program.hash, model, h), hint);
  }
  if (program.channels != static_cast<std::uint32_t>(image.channels) ||
      program.height != static_cast<std::uint32_t>(image.height) || program.width != static_cast<std::uint32_t>(image.width)) {
    fail(source, fmt::format("image_channels, image_height, image_width: {}x{}x{}, but {} reads {}x{}x{} images",
                             program.channels, program.height, program.width, model, image.channels, image.height,
                             image.width), hint);
  }
  if (!std::equal(program.thermometer.begin(), program.thermometer.end(), levels.begin(), levels.end())) {
    fail(source, fmt::format("thermometer: levels [{}], but {} encodes with [{}]", fmt::join(program.thermometer, ", "),
                             model, fmt::join(levels, ", ")), hint);
  }
  if (program.classes != static_cast<std::uint32_t>(o.classes)) {
    fail(source, fmt::format("classes: {}, but the output layer '{}' of {} has {}", program.classes, out.name, model,
                             o.classes), hint);
  }
  // One port per voting neuron of the output layer, in order (the validate pass).
  std::vector<std::int32_t> voting;
  for (const auto c : o.class_of)
    if (c >= 0) voting.push_back(c);
  if (program.port_class.size() != voting.size()) {
    fail(source, fmt::format("output map: {} ports, but the output layer '{}' of {} has {} voting neurons",
                             program.port_class.size(), out.name, model, voting.size()), hint);
  }
  for (std::size_t k = 0; k < voting.size(); ++k) {
    if (program.port_class[k] != voting[k]) {
      fail(source, fmt::format("output port {}: class {}, but its neuron of the output layer '{}' votes for class {}", k,
                               program.port_class[k], out.name, voting[k]), hint);
    }
  }
}

}  // namespace

void verify_embedded_model(const hw::tn_program& p, const std::string& source) {
  if (p.model_text.empty()) return;
  compare({p.model_hash, p.image_channels, p.image_height, p.image_width, p.thermometer, p.classes, p.output_class},
          p.model_text, source, "recompile the model with 'nmc compile'");
}

void verify_embedded_model(const hw::dn_program& p, const std::string& source) {
  const char* hint = "recompile the model with 'nmc compile --target danna'";
  if (p.model_text.empty()) return;
  if (p.mode == hw::dn_mode::frames) {
    std::vector<std::int32_t> port_class;
    for (const auto& o : p.outputs) port_class.push_back(o.cls);
    compare({p.model_hash, p.image_channels, p.image_height, p.image_width, p.thermometer, p.classes, port_class},
            p.model_text, source, hint);
    return;
  }
  if (const auto h = fnv1a64(p.model_text); h != p.model_hash) {
    fail(source, fmt::format("model_hash: {:016x}, but the embedded network hashes to {:016x}", p.model_hash, h), hint);
  }
  const auto nl = parse_tennlab(p.model_text, source + " (embedded network)");
  if (p.inputs.size() != nl.inputs.size() || p.outputs.size() != nl.outputs.size()) {
    fail(source, fmt::format("ports: {} inputs and {} outputs, but the embedded network has {} and {}", p.inputs.size(),
                             p.outputs.size(), nl.inputs.size(), nl.outputs.size()), hint);
  }
}

hw::tn_program load_program(const std::filesystem::path& path) {
  auto p = hw::read_program(path);
  verify_embedded_model(p, path.string());
  return p;
}

hw::dn_program load_dn_program(const std::filesystem::path& path) {
  auto p = hw::read_dn_program(path);
  verify_embedded_model(p, path.string());
  return p;
}

}  // namespace nmc::convert
