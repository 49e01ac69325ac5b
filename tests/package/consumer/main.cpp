// A user's program against the installed package: only <keel/keel.h>.
#include <keel/keel.h>

#include <cstdio>

int main() {
  keel::set_num_threads(1);
  keel::set_random_seed(1);
  auto model = std::make_shared<keel::Sequential>(std::vector<keel::layers::LayerPtr>{
      keel::layers::Input({.shape = {2}}), keel::layers::Dense({.units = 1})});
  model->compile({.optimizer = "sgd", .loss = "mse"});
  keel::Tensor x = keel::Tensor::from_vector({0, 1, 1, 0, 1, 1}, {3, 2});
  keel::Tensor y = keel::Tensor::from_vector({1, 1, 2}, {3, 1});
  keel::History history = model->fit(x, y, {.epochs = 2, .verbose = 0});
  keel::Tensor prediction = model->predict(x);
  std::printf("consumer: keel package works, %zu epochs, prediction shape %s\n", history.history["loss"].size(),
              keel::to_string(prediction.shape()).c_str());
  return prediction.shape() == keel::Shape{3, 1} ? 0 : 1;
}
