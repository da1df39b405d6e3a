# SPDX-License-Identifier: Apache-2.0
# Install rules, the CMake package (find_package(batchmd)), a pkg-config file and a Debian package.
#   cmake --install build/release --prefix /opt/batchmd
#   cpack --config build/release/CPackConfig.cmake -G DEB -B build/release/package
# Downstream code needs only the installed tree: headers in include/batchmd, static libraries,
# lib/cmake/batchmd (targets batchmd::batchmd, batchmd::<module>, components for the optional
# back-ends) and lib/pkgconfig/batchmd.pc.
include(CMakePackageConfigHelpers)

get_property(_modules GLOBAL PROPERTY BATCHMD_MODULES)
# Link order for static libraries (users first): what pkg-config lists.
set(_order app mpi hooks dynamics model sinks zarr io torch data core)
set(_libs_in_order "")
foreach(_m IN LISTS _order)
  if(TARGET batchmd_${_m})
    string(APPEND _libs_in_order " -lbatchmd_${_m}")
  endif()
endforeach()

# batchmd::batchmd — the whole library (every module but the command line's own `app`).
add_library(batchmd_library INTERFACE)
set_target_properties(batchmd_library PROPERTIES EXPORT_NAME batchmd)
add_library(batchmd::batchmd ALIAS batchmd_library)
foreach(_t IN LISTS _modules)
  if(NOT _t STREQUAL "batchmd_app")
    target_link_libraries(batchmd_library INTERFACE ${_t})
  endif()
endforeach()

install(TARGETS ${_modules} batchmd_library batchmd_flags EXPORT batchmdTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS batchmd RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/batchmd DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/examples/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/LICENSE ${PROJECT_SOURCE_DIR}/CHANGELOG.md
  DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${PROJECT_SOURCE_DIR}/docs/batchmd.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

# The Python package, where Debian's python3 looks for packages of the system (<prefix>/lib/python3/
# dist-packages: /usr in the .deb).
if(BATCHMD_HAVE_PYTHON)
  install(DIRECTORY ${PROJECT_BINARY_DIR}/python/batchmd DESTINATION lib/python3/dist-packages
    PATTERN __pycache__ EXCLUDE)
endif()

set(_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/batchmd)
install(EXPORT batchmdTargets NAMESPACE batchmd:: DESTINATION ${_cmake_dir})
foreach(_c CUDA TORCH MPI PYTHON)
  if(BATCHMD_HAVE_${_c})
    set(BATCHMD_PACKAGE_HAVE_${_c} ON)
  else()
    set(BATCHMD_PACKAGE_HAVE_${_c} OFF)
  endif()
endforeach()
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/batchmdConfig.cmake.in
  ${PROJECT_BINARY_DIR}/package/batchmdConfig.cmake INSTALL_DESTINATION ${_cmake_dir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/package/batchmdConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/package/batchmdConfig.cmake
  ${PROJECT_BINARY_DIR}/package/batchmdConfigVersion.cmake DESTINATION ${_cmake_dir})

# pkg-config: static libraries, so the dependencies' libraries are part of Libs.
set(BATCHMD_PC_LIBS "${_libs_in_order}")
set(BATCHMD_PC_EXTRA "-fopenmp -lpthread")
if(BATCHMD_HAVE_CUDA)
  string(APPEND BATCHMD_PC_EXTRA " -L${CUDAToolkit_LIBRARY_DIR} -lcudart_static -ldl -lrt")
endif()
if(BATCHMD_HAVE_MPI)  # libbatchmd_mpi.a calls into the MPI library
  foreach(_l IN LISTS MPI_CXX_LIBRARIES)
    string(APPEND BATCHMD_PC_EXTRA " ${_l}")
  endforeach()
endif()
# The prefix is found from the file's own place, so the tree can be installed anywhere (--prefix).
file(RELATIVE_PATH BATCHMD_PC_PREFIX_FROM_PCDIR "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
string(REGEX REPLACE "/$" "" BATCHMD_PC_PREFIX_FROM_PCDIR "${BATCHMD_PC_PREFIX_FROM_PCDIR}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/batchmd.pc.in ${PROJECT_BINARY_DIR}/package/batchmd.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/package/batchmd.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# Debian package (cpack -G DEB). Run-time dependencies of the binary come from dpkg-shlibdeps;
# the -dev packages a C++ user needs to link the static libraries are declared beside them.
set(CPACK_PACKAGE_NAME batchmd)
set(CPACK_PACKAGE_VENDOR "batchmd developers")
set(CPACK_PACKAGE_CONTACT "batchmd developers <batchmd@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Batched atomistic dynamics: many systems relax and run MD together, recorded into Zarr")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS
  "libzstd-dev, libblosc-dev, zlib1g-dev, libcurl4-openssl-dev, libssl-dev, libtomlplusplus-dev, nlohmann-json3-dev")
if(BATCHMD_HAVE_PYTHON)
  string(APPEND CPACK_DEBIAN_PACKAGE_DEPENDS ", python3, python3-numpy")
endif()
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "python3-zarr, python3-ase")
include(CPack)
