#include <nmc/convert/load.hpp>

#include <fmt/format.h>

#include <nmc/convert/yaml_model.hpp>
#include <nmc/error.hpp>

namespace nmc::convert {

model::network load_model(const std::filesystem::path& path) {
  const auto ext = path.extension().string();
  if (ext == ".yaml" || ext == ".yml") return read_yaml_model(path);
  throw model_error(fmt::format("{}: unknown model format '{}'", path.string(), ext),
                    "supported model files: .yaml/.yml (nmc native format)");
}

}  // namespace nmc::convert
