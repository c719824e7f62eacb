#include "models/classifier.h"

#include "ops/ops.h"

namespace dl {

Classifier::Classifier(const ClassifierConfig& c, Generator& gen, DType dtype) : config(validated(c)) {
  const int64_t d = c.block.d;
  embed = register_module("embed", std::make_shared<Linear>(c.in_features, d, gen, true, dtype));
  pos = register_module("pos", std::make_shared<LearnedPositionalEncoding>(c.max_len, d, gen, dtype));
  symbols = make_symbol_source(c.block.attention, c.max_len, d, gen, dtype);
  if (symbols) register_module("symbols", symbols);
  encoder = register_module("encoder", std::make_shared<EncoderStack>(c.block, c.layers, symbols, gen, dtype));
  mlp1 = register_module("mlp1", std::make_shared<Linear>(d, c.mlp_hidden, gen, true, dtype));
  mlp2 = register_module("mlp2", std::make_shared<Linear>(c.mlp_hidden, c.n_classes, gen, true, dtype));
  dropout = register_module("dropout", std::make_shared<Dropout>(c.block.dropout, gen.next_u64()));
}

Tensor Classifier::forward(const Tensor& features) {
  DL_CHECK(features.dim() == 3 && features.size(2) == config.in_features, "Classifier",
           "expected features (B, N, " + std::to_string(config.in_features) + "), got " + features.str());
  const Tensor x = encoder->forward(dropout->forward(pos->forward(embed->forward(features))));  // (B, N, d)
  const Tensor z = config.pooling == Pooling::Mean ? mean(x, {1}) : reshape(slice(x, 1, 0, 1), {x.size(0), x.size(2)});  // (B, d)
  return mlp2->forward(relu(mlp1->forward(z)));
}

}  // namespace dl
