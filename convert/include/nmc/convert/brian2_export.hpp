#pragma once
// Writes a compiled TrueNorth-style program as a Brian2 (2.5) simulation: the
// program's arrays as NumPy .npy files plus a script, run_brian2.py, that
// builds the same network in Brian2 with integer arithmetic and runs it in
// runtime or C++ standalone mode. Peer benchmarks use it to run the same work
// in Brian2 and check that its spike counts equal nmc's.
//
// The export covers the deterministic neuron subset of docs/HARDWARE.md 1.2
// (weights per axon type, leak, thresholds alpha/beta, kappa, the three reset
// modes, 20-bit saturation, delays 1..15); stochastic synapses, stochastic
// leak, threshold masks and leak reversal are refused with a model_error
// naming the core and neuron. The network runs without external input (the
// program's input map is not exported): it is driven by leaks and initial
// potentials, as the synthetic benchmark networks are.

#include <cstdint>
#include <filesystem>
#include <vector>

#include <nmc/hw/tn_program.hpp>

namespace nmc::convert {

// Files written into `dir` (created if missing; an existing non-empty folder
// must hold an earlier export, it is never clobbered otherwise). Every file is
// written atomically; meta.json comes last and marks a complete export.
void export_brian2(const hw::tn_program& program, const std::filesystem::path& dir);

// Per-neuron spike counts (core-major, int64) as the .npy file that the
// script's --expect option compares with; written atomically.
void write_counts_npy(const std::filesystem::path& path, const std::vector<std::int64_t>& counts);

// The script's name inside the export folder.
inline constexpr const char* brian2_script_name = "run_brian2.py";

}  // namespace nmc::convert
