#pragma once
// Epochs of the TrueNorth simulator: the levels of the core graph, and how
// many ticks an acyclic program can run per call with buffers of what size
// (tn_simulator::advance). The memory estimate builds on the same plan.

#include <cstddef>
#include <cstdint>
#include <vector>

#include <nmc/hw/tn_program.hpp>

namespace nmc::runtime::tn {

// Levels of the core graph (edge: a neuron of core a targets core b): level 0
// holds the cores no core feeds, and every core sits above all its sources.
// Empty if the graph has a cycle (recurrent programs run tick by tick).
std::vector<std::vector<std::uint32_t>> core_levels(const hw::tn_program& p);

// Ticks per epoch and the buffers one worker needs: per destination
// partition, the spikes of a whole tick (step) or of a level's epoch, every
// neuron firing every tick; off-chip spikes of a whole epoch.
struct epoch_plan {
  int ticks = 1;
  std::vector<std::size_t> to_part;
  std::size_t outputs = 0;
  std::size_t spikes() const;
};

// `direct` (per core, optional): the cores whose spikes to cores skip the
// buffers (core_data::direct).
epoch_plan plan_epochs(const hw::tn_program& p, const std::vector<std::vector<std::uint32_t>>& levels, bool record,
                       int parts, const std::vector<bool>* direct = nullptr);

}  // namespace nmc::runtime::tn
