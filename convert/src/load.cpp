#include <nmc/convert/load.hpp>

#include <fmt/format.h>

#include <nmc/convert/onnx_import.hpp>
#include <nmc/convert/yaml_model.hpp>
#include <nmc/error.hpp>

namespace nmc::convert {

model::network load_model(const std::filesystem::path& path) { return load_model(path, {}); }

model::network load_model(const std::filesystem::path& path, const import_options& opts) {
  const auto ext = path.extension().string();
  if (ext == ".yaml" || ext == ".yml") return read_yaml_model(path);
  if (ext == ".onnx") return read_onnx(path, opts);
  throw model_error(fmt::format("{}: unknown model format '{}'", path.string(), ext),
                    "supported model files: .onnx (Eedn ONNX profile), .yaml/.yml (nmc native format)");
}

}  // namespace nmc::convert
