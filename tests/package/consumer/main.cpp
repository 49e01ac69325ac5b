#include <keel/keel.h>

#include <cstdio>

int main() {
  keel::set_num_threads(1);
  keel::Shape s = keel::broadcast_shapes({2, 1}, {3}, "consumer");
  std::printf("consumer: keel package works, broadcast shape %s\n", keel::to_string(s).c_str());
  return s == keel::Shape{2, 3} ? 0 : 1;
}
