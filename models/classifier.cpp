#include "models/classifier.h"

#include "nn/init.h"
#include "ops/ops.h"

namespace dl {

Classifier::Classifier(const ClassifierConfig& c, Generator& gen, DType dtype) : config(validated(c)) {
  const int64_t d = c.block.d;
  const bool official = c.embedding == EmbedKind::Official;
  const int64_t positions = c.max_len + (official ? 1 : 0);  // official: the cls token first
  if (official) patch_norm = register_module("patch_norm", std::make_shared<LayerNorm>(c.in_features, 1e-5, dtype));
  embed = register_module("embed", std::make_shared<Linear>(c.in_features, d, gen, true, dtype));
  if (official) {
    embed_norm = register_module("embed_norm", std::make_shared<LayerNorm>(d, 1e-5, dtype));
    cls = register_parameter("cls", Tensor::empty({d}, dtype));
    init::normal_(cls, gen);
  }
  pos = register_module("pos", std::make_shared<LearnedPositionalEncoding>(positions, d, gen, dtype));
  symbols = make_symbol_source(c.block.attention, positions, d, gen, dtype);
  if (symbols) register_module("symbols", symbols);
  encoder = register_module("encoder", std::make_shared<EncoderStack>(c.block, c.layers, symbols, gen, dtype,
                                                                      /*final_norm=*/!official));
  if (official) {
    head_norm = register_module("head_norm", std::make_shared<LayerNorm>(d, 1e-5, dtype));
    head = register_module("head", std::make_shared<Linear>(d, c.n_classes, gen, true, dtype));
  } else {
    mlp1 = register_module("mlp1", std::make_shared<Linear>(d, c.mlp_hidden, gen, true, dtype));
    mlp2 = register_module("mlp2", std::make_shared<Linear>(c.mlp_hidden, c.n_classes, gen, true, dtype));
  }
  dropout = register_module("dropout", std::make_shared<Dropout>(c.block.dropout, gen.next_u64()));
}

Tensor Classifier::forward(const Tensor& features) {
  DL_CHECK(features.dim() == 3 && features.size(2) == config.in_features, "Classifier",
           "expected features (B, N, " + std::to_string(config.in_features) + "), got " + features.str());
  return config.embedding == EmbedKind::Official ? forward_official(features) : forward_compact(features);
}

Tensor Classifier::forward_official(const Tensor& features) {
  const int64_t B = features.size(0), d = config.block.d;
  const Tensor e = embed_norm->forward(embed->forward(patch_norm->forward(features)));  // (B, N, d)
  const Tensor first = Tensor::zeros({B, 1, d}, e.dtype()) + reshape(cls, {1, 1, d});   // (B, 1, d)
  const Tensor x = encoder->forward(dropout->forward(pos->forward(concat({first, e}, 1))));  // (B, N+1, d)
  return head->forward(head_norm->forward(mean(x, {1})));  // (B, n_classes)
}

Tensor Classifier::forward_compact(const Tensor& features) {
  const Tensor x = encoder->forward(dropout->forward(pos->forward(embed->forward(features))));  // (B, N, d)
  const Tensor z = config.pooling == Pooling::Mean ? mean(x, {1}) : reshape(slice(x, 1, 0, 1), {x.size(0), x.size(2)});  // (B, d)
  return mlp2->forward(relu(mlp1->forward(z)));
}

}  // namespace dl
