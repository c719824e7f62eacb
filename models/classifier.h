// Classifier over a set or sequence of object tokens, e.g. the 9 cells of a relational game
// (docs/tasks.md, Relational games), a pair of objects or a triple of SET cards:
//
//   x = drop(embed(features) + pos[:N])    Linear F -> d, learned positions (max_len, d)
//   x = EncoderBlock(x), L times           self-attention of any kind, no mask
//   z = pool(LN_f x)                       mean over the N tokens, or the first token
//   logits = mlp2(relu(mlp1(z)))           d -> mlp_hidden -> n_classes
//
// The blocks and LN_f (pre-norm only) are an EncoderStack; the DAT symbol source is shared by
// every block. Parameter names: embed, pos, symbols (dual only), encoder.blocks.<l>.*,
// encoder.norm, mlp1, mlp2.
#pragma once
#include <memory>
#include "models/blocks.h"
#include "nn/positional.h"

namespace dl {

class Classifier : public Module {
 public:
  using Config = ClassifierConfig;
  Classifier(const ClassifierConfig& config, Generator& gen, DType dtype = DType::F32);  // dtype of the parameters

  Tensor forward(const Tensor& x);  // (B, N, in_features) float, N <= max_len -> logits (B, n_classes)

  // From the last forward, for heatmaps.
  AttentionMaps attention_maps(size_t layer) const { return encoder->attention_maps(layer); }

  const ClassifierConfig config;
  std::shared_ptr<Linear> embed;
  std::shared_ptr<LearnedPositionalEncoding> pos;
  std::shared_ptr<SymbolSource> symbols;  // dual only, else null
  std::shared_ptr<EncoderStack> encoder;
  std::shared_ptr<Linear> mlp1, mlp2;
  std::shared_ptr<Dropout> dropout;       // on the embeddings
};

}  // namespace dl
