#pragma once
// A program checked against the model it embeds. hw::verify_program checks
// every field of a program against its target; the fields that repeat the
// embedded model (its hash, the input image and thermometer code, the class
// count and the output map) can only be checked by reading that model, which
// needs a model reader, so the check lives here. A forged program whose
// checksum is valid but whose class count differs from its model's would
// otherwise be simulated and then compared with the reference pass out of
// bounds. Every command that reads a program file loads it through here.

#include <filesystem>
#include <string>

#include <nmc/hw/dn_program.hpp>
#include <nmc/hw/tn_program.hpp>

namespace nmc::convert {

// Throws model_error naming `source`, the field and both values. A program
// without an embedded model (hand-built) has nothing to be checked against.
void verify_embedded_model(const hw::tn_program& p, const std::string& source);
// Frames mode: as above. Spikes mode: the hash of the embedded TENNLab JSON
// and one input and output port per network input and output.
void verify_embedded_model(const hw::dn_program& p, const std::string& source);

// hw::read_program / hw::read_dn_program, then verify_embedded_model.
hw::tn_program load_program(const std::filesystem::path& path);
hw::dn_program load_dn_program(const std::filesystem::path& path);

}  // namespace nmc::convert
