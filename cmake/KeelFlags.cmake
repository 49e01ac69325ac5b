# Compiler flags shared by the library, tests, examples and benchmarks.
# No -ffast-math anywhere: keel's numerics (stable sigmoid, NaN propagation) depend on IEEE semantics.
function(keel_apply_flags target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  # Math functions need not set errno (keel never reads it); this lets GCC vectorize sqrt loops
  # (optimizer updates). Results are unchanged: IEEE semantics stay on.
  target_compile_options(${target} PRIVATE -fno-math-errno)
  # The kernels use 64-byte vectors on every CPU (core/kernels/simd.h) so that lane folds, and hence
  # results, are the same bits everywhere; without AVX-512 GCC lowers them to two 32-byte halves and
  # warns that an inline helper's vector return "changes the ABI". Those helpers never cross a
  # library boundary, so the note does not apply.
  target_compile_options(${target} PRIVATE -Wno-psabi)
  if(KEEL_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(KEEL_NATIVE)
    target_compile_options(${target} PRIVATE -march=native)
  endif()
  if(KEEL_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer
                                             -fno-sanitize-recover=undefined)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()
