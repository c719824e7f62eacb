// Copy and reverse (docs/tasks.md, Copy and reverse): the smoke test of an encoder-decoder, that
// cross-attention, causal masking and greedy decoding work.
//
// Token ids: kPad = 0 fills the positions after a sequence's end, kStart = 1 starts the decoder
// input, and the symbols are kFirstSymbol .. kFirstSymbol + n_symbols - 1. Train with
// cross_entropy(..., ignore_index = kPad) and compare only the non-pad target positions.
#pragma once
#include "examples/common/dataset.h"

namespace dl::tasks {

constexpr int32_t kPad = 0, kStart = 1, kFirstSymbol = 2;

struct SequenceConfig {
  int n_symbols = 10;
  int min_length = 4, max_length = 10;  // each sequence's length is uniform in [min, max]
  int vocab_size() const { return kFirstSymbol + n_symbols; }
};

// x: the source (N, max_length) int32; y: the target (N, max_length) int32, the source itself
// (copy) or its symbols reversed (reverse), padded with kPad alike. No source is in two splits.
TaskData sequence_task(bool reverse, const Sizes& sizes, uint64_t seed, const SequenceConfig& cfg = {});

// The decoder input for teacher forcing: target shifted right by one with `start` in front,
// (N, T) int32 -> (N, T). start is kStart here, sorting_start_token for object sorting.
Tensor shift_right(const Tensor& target, int32_t start);

}  // namespace dl::tasks
