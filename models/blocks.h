// Transformer blocks (docs/attention.md, docs/relational.md), one class per role, the attention kind an option:
//
//   EncoderBlock  pre-norm:   x = x + drop(SA(LN1 x));   x = x + drop(FFN(LN2 x))
//                 post-norm:  x = LN1(x + drop(SA(x)));   x = LN2(x + drop(FFN(x)))
//   DecoderBlock  the same with causal SA, then cross-attention to the encoder output between
//                 them:  x = x + drop(CA(LN2 x, memory))  or  x = LN2(x + drop(CA(x, memory))),
//                 and the FFN's norm is LN3.
//
// SA is the configured self-attention, whichever kind of the registry (models/registry.h) the
// AttentionConfig names: standard MultiHeadAttention, DualAttention with the model's symbol source
// (one source shared by every layer, each layer computing its symbols from its own attention
// input, LN1 x in pre-norm blocks; with AttentionConfig::official from the block's residual
// stream x, as the DAT authors' models do: symbols = retriever(x) before each block), daGPAM's
// GPAMAttention or DifferentialAttention (its lam_init set by the block's depth). CA is always
// standard multi-head attention, with as many heads. A decoder-only LM is a stack of
// EncoderBlocks run with a causal mask.
//
// Parameter names: norm1, self_attn, norm2, ffn (encoder); norm1, self_attn, norm2, cross_attn,
// norm3, ffn (decoder); blocks.<l>.*, norm (EncoderStack). Under self_attn, the chosen module's
// own names (wq.weight, sa.wq.weight, ra.wr, wneg, ...).
#pragma once
#include <memory>
#include "models/config.h"
#include "models/registry.h"
#include "nn/attention.h"
#include "nn/containers.h"
#include "nn/feedforward.h"
#include "nn/layers.h"
#include "nn/symbols.h"

namespace dl {

// The symbol source of a model whose blocks use `attention` (inputs up to max_len positions, width
// d); null when the kind needs none (every kind but dual attention with relational heads).
std::shared_ptr<SymbolSource> make_symbol_source(const AttentionConfig& attention, int64_t max_len, int64_t d,
                                                 Generator& gen, DType dtype = DType::F32);

// The self-attention of a block, of the configured kind, built and run by its registry entry. Not
// a Module itself: the block registers module() as its child "self_attn", so the chosen module's
// names sit right under it.
class SelfAttention {
 public:
  SelfAttention(const AttentionConfig& config, const AttentionSite& site, std::shared_ptr<SymbolSource> symbols,
                Generator& gen);

  const std::shared_ptr<Module>& module() const { return module_; }
  // x (B, T, d) -> (B, T, d). A DecodingCache (decoding with x = the new positions only; every kind
  // of the registry keeps one) makes the symbols those of the positions from cache->length() on. stream: the block's residual stream (B, T, d), which
  // the symbols are computed from when the config is official (else from x).
  Tensor forward(const Tensor& x, const AttentionMask& mask, DecodingCache* cache = nullptr,
                 const Tensor& stream = {}) const;
  AttentionMaps maps() const { return entry_->maps(*module_); }

 private:
  const AttentionKindEntry* entry_;
  bool symbols_from_stream_;
  std::shared_ptr<SymbolSource> symbols_;  // owned by the model, shared by its blocks
  std::shared_ptr<Module> module_;
};

class EncoderBlock : public Module {
 public:
  // layer: the block's depth in its stack, from 0
  EncoderBlock(const BlockConfig& config, int64_t layer, std::shared_ptr<SymbolSource> symbols, Generator& gen,
               DType dtype = DType::F32);
  // x (B, T, d) -> (B, T, d); mask: the source's key padding, or causal in a decoder-only stack
  Tensor forward(const Tensor& x, const AttentionMask& mask = {});
  AttentionMaps attention_maps() const { return self_attn.maps(); }

  bool pre_norm;
  SelfAttention self_attn;
  std::shared_ptr<LayerNorm> norm1, norm2;
  std::shared_ptr<FeedForward> ffn;
  std::shared_ptr<Dropout> dropout;  // one generator for every sublayer of the block
};

// L EncoderBlocks sharing one symbol source, then, for pre-norm blocks, a final LayerNorm (post-norm
// blocks already end normalised; final_norm false leaves it to the caller, as the official
// classifier's head does): the body of the classifier, the LM and the seq2seq encoder.
// Parameter names: blocks.<l>.*, norm.
class EncoderStack : public Module {
 public:
  EncoderStack(const BlockConfig& config, int64_t layers, std::shared_ptr<SymbolSource> symbols, Generator& gen,
               DType dtype = DType::F32, bool final_norm = true);
  Tensor forward(const Tensor& x, const AttentionMask& mask = {});  // (B, T, d) -> (B, T, d)
  AttentionMaps attention_maps(size_t layer) const { return (*blocks)[layer].attention_maps(); }

  std::shared_ptr<ModuleList<EncoderBlock>> blocks;
  std::shared_ptr<LayerNorm> norm;  // pre-norm only, else null
};

// What one decoder block keeps across greedy decoding steps: its self-attention's cache, and the
// cross-attention's keys and values of the memory, which does not change from step to step.
struct DecoderCache {
  DecodingCache self;
  KVCache cross;  // (B, H, S, dh), projected at the first step
};

class DecoderBlock : public Module {
 public:
  DecoderBlock(const BlockConfig& config, int64_t layer, std::shared_ptr<SymbolSource> symbols, Generator& gen,
               DType dtype = DType::F32);
  // x (B, T, d) attends causally to itself and to memory (B, S, d), the encoder output, whose
  // padded positions memory_padding (bool (B, S), or undefined) marks. With a cache, x holds only
  // the positions after the cached ones, and the memory is projected only at the first step: a
  // later step passes the cross-attention no new memory positions (a (B, 0, d) slice), so its
  // queries attend to the cached keys and values of the whole memory, exactly as if projected again.
  Tensor forward(const Tensor& x, const Tensor& memory, const Tensor& memory_padding = {},
                 DecoderCache* cache = nullptr);
  AttentionMaps self_attention_maps() const { return self_attn.maps(); }
  const Tensor& cross_attention() const { return cross_attn->last_attention(); }  // (B, H, T, S)

  bool pre_norm;
  SelfAttention self_attn;
  std::shared_ptr<MultiHeadAttention> cross_attn;
  std::shared_ptr<LayerNorm> norm1, norm2, norm3;
  std::shared_ptr<FeedForward> ffn;
  std::shared_ptr<Dropout> dropout;
};

}  // namespace dl
