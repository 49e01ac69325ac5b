# `cmake --install` produces a package that find_package(keel CONFIG REQUIRED) finds.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS keel EXPORT keelTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES keel.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/keel)
# Public headers only: a room's detail/ folders and core/kernels/ are internal and not installed
# (tests/package/check_consumer.sh checks that no installed header includes one).
foreach(room IN LISTS KEEL_ROOMS)
  install(DIRECTORY ${room}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/keel/${room}
          FILES_MATCHING PATTERN "*.h"
          PATTERN detail EXCLUDE PATTERN kernels EXCLUDE)
endforeach()
install(EXPORT keelTargets NAMESPACE keel:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/keel)
configure_package_config_file(cmake/keelConfig.cmake.in ${CMAKE_BINARY_DIR}/keelConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/keel)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/keelConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/keelConfig.cmake ${CMAKE_BINARY_DIR}/keelConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/keel)
