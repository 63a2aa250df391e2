# install(): the library, the public headers, a CMake package
# (find_package(tidal) → tidal::tidal) and tidal.pc for pkg-config.
include(CMakePackageConfigHelpers)

install(TARGETS tidal EXPORT tidalTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY include/tidal DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/include/tidal/version.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/tidal)

set(TIDAL_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/tidal)
install(EXPORT tidalTargets NAMESPACE tidal:: DESTINATION ${TIDAL_CMAKE_DIR})
configure_package_config_file(cmake/tidalConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/tidalConfig.cmake INSTALL_DESTINATION ${TIDAL_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/tidalConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/tidalConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/tidalConfigVersion.cmake
        DESTINATION ${TIDAL_CMAKE_DIR})

# Relocatable: the prefix is found from the .pc file's own location.
file(RELATIVE_PATH TIDAL_PC_TO_PREFIX
     /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
configure_file(cmake/tidal.pc.in ${CMAKE_CURRENT_BINARY_DIR}/tidal.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/tidal.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# The PyTorch bridge (ctypes; examples/python/tidal_torch.py): with
# PYTHONPATH=PREFIX/share/tidal/python, `import tidal_torch` finds this
# prefix's libtidal by itself.
install(FILES examples/python/tidal_torch.py DESTINATION ${CMAKE_INSTALL_DATADIR}/tidal/python)
