// Classifier over a set or sequence of object tokens, e.g. the 9 cells of a relational game
// (docs/tasks.md, Relational games), a pair of objects or a triple of SET cards. Two embeddings
// and heads (ClassifierConfig::embedding):
//
// official, as the DAT authors' vision models (per-patch normalisation, a class token):
//   e = LN_e(Linear(LN_p features))        LN over each token's F values, Linear F -> d, LN over d
//   x = drop([cls; e] + pos[:N+1])         a learned cls token (d) first, learned positions
//   x = EncoderBlock(x), L times           no final norm of the stack: the head has it
//   logits = head(LN_h mean(x))            mean over the N + 1 tokens, Linear d -> n_classes
// compact, this project's first form (the README's first relational figures):
//   x = drop(embed(features) + pos[:N])    Linear F -> d, learned positions (max_len, d)
//   x = EncoderBlock(x), L times
//   z = pool(LN_f x)                       mean over the N tokens, or the first token
//   logits = mlp2(relu(mlp1(z)))           d -> mlp_hidden -> n_classes
// Every learned position and the cls token start N(0, 1), as in the official code; compact
// relies on the programs standardising raw pixels (examples/common/task_model.h, InputScale),
// official normalises each token itself.
//
// The blocks (and LN_f, compact pre-norm only) are an EncoderStack; the DAT symbol source is
// shared by every block and covers max_len (+ 1 for official's cls) positions. Parameter names:
// embed, pos, symbols (dual only), encoder.blocks.<l>.*, encoder.norm (compact), mlp1, mlp2
// (compact); patch_norm, embed_norm, cls, head_norm, head (official).
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

  // From the last forward, for heatmaps (official: position 0 is the cls token).
  AttentionMaps attention_maps(size_t layer) const { return encoder->attention_maps(layer); }

  const ClassifierConfig config;
  std::shared_ptr<Linear> embed;
  std::shared_ptr<LearnedPositionalEncoding> pos;
  std::shared_ptr<SymbolSource> symbols;  // dual only, else null
  std::shared_ptr<EncoderStack> encoder;
  std::shared_ptr<Linear> mlp1, mlp2;     // compact only
  std::shared_ptr<LayerNorm> patch_norm, embed_norm, head_norm;  // official only
  std::shared_ptr<Linear> head;           // official only
  Tensor cls;                             // (d), official only
  std::shared_ptr<Dropout> dropout;       // on the embeddings

 private:
  Tensor forward_official(const Tensor& features);
  Tensor forward_compact(const Tensor& features);
};

}  // namespace dl
