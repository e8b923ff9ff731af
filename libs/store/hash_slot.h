#pragma once

#include <cstdint>

#include "absl/strings/string_view.h"

namespace hookrelay::store {

// Redis Cluster's key space: 16384 hash slots.
inline constexpr int kHashSlots = 16384;

// The hash slot Redis Cluster assigns to `key`: CRC16 (XMODEM) of the key, or of its hash
// tag — the text between the first '{' and the next '}' when that text is not empty — modulo
// 16384. Keys with the same tag share a slot, so one transaction or script may use them all.
int HashSlot(absl::string_view key);

// 64-bit FNV-1a of `data`: stable across builds, platforms and library versions, for
// anything that must map a name the same way in every process of a deployment.
uint64_t StableHash(absl::string_view data);

}  // namespace hookrelay::store
