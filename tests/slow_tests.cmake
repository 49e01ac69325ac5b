# Slow end-to-end runs, each its own CTest entry labelled "slow" (keel_add_slow_test in
# tests/CMakeLists.txt). scripts/test runs them on the release build only (`ctest -L slow`); the
# sanitizer pass excludes them (`ctest -LE slow`).
keel_add_slow_test(convnet_end_to_end "the reference convnet learns Fashion-MNIST from 2000 images in one epoch")
