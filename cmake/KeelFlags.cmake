# Compiler flags shared by the library, tests, examples and benchmarks.
# No -ffast-math anywhere: keel's numerics (stable sigmoid, NaN propagation) depend on IEEE semantics.

# GCC 12.2 with AVX-512 miscompiles a whole-array copy of equal values followed by zeros into a broadcast
# of the first value (cmake/probes/constant_broadcast.cpp). The faulty path only starts from an integer
# register moved straight into a vector register, so where the probe fails keel tells GCC's tuning not to
# make such moves (values go through memory instead), and checks that the probe then passes.
set(KEEL_WORKAROUND_FLAGS "")
if(KEEL_NATIVE AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  if(NOT DEFINED CACHE{KEEL_CONSTANT_BROADCAST_FLAGS})
    set(probe ${CMAKE_CURRENT_LIST_DIR}/probes/constant_broadcast.cpp)
    set(flags "")
    foreach(candidate "" "-mtune-ctrl=^inter_unit_moves_to_vec")
      try_run(probe_exit probe_compiled ${CMAKE_BINARY_DIR}/probes ${probe}
              COMPILE_DEFINITIONS -O2 -march=native ${candidate})
      if(probe_compiled AND probe_exit EQUAL 0)
        set(flags "${candidate}")
        break()
      endif()
      set(flags "unfixed")
    endforeach()
    if(flags STREQUAL "unfixed")
      message(FATAL_ERROR "${CMAKE_CXX_COMPILER} miscompiles cmake/probes/constant_broadcast.cpp with -march=native "
                          "and keel knows no workaround for it: configure with -DKEEL_NATIVE=OFF")
    endif()
    if(flags)
      message(STATUS "GCC loses zeros in copied constant arrays under AVX-512; compiling with ${flags}")
    endif()
    set(KEEL_CONSTANT_BROADCAST_FLAGS "${flags}" CACHE INTERNAL "flags that keep GCC's AVX-512 constant copies right")
  endif()
  set(KEEL_WORKAROUND_FLAGS ${KEEL_CONSTANT_BROADCAST_FLAGS})
endif()

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
    target_compile_options(${target} PRIVATE -march=native ${KEEL_WORKAROUND_FLAGS})
  endif()
  if(KEEL_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer
                                             -fno-sanitize-recover=undefined)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()
