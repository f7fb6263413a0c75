# cmake --install <build> --prefix <dir>: what a team needs to build its own worker
# (find_package(dobj CONFIG) or pkg-config dobj) and the dobj, dobj-worker and dobj-timer binaries.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(dobj_libraries dobj_core dobj_protocol dobj_store dobj_runtime dobj_client dobj_metrics
                   dobj_worker)
install(TARGETS ${dobj_libraries} EXPORT dobjTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS dobj dobj-worker dobj-timer RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
foreach(lib core protocol store runtime client metrics worker)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/libs/${lib}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endforeach()

set(config_dir ${CMAKE_INSTALL_LIBDIR}/cmake/dobj)
install(EXPORT dobjTargets NAMESPACE dobj:: DESTINATION ${config_dir})
configure_package_config_file(${PROJECT_SOURCE_DIR}/libs/cmake/dobjConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/dobjConfig.cmake INSTALL_DESTINATION ${config_dir})
# 0.x: a minor version may break the API, so only the same minor version is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/dobjConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/dobjConfig.cmake ${PROJECT_BINARY_DIR}/dobjConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/libs/cmake/dobjWorker.cmake
        DESTINATION ${config_dir})

# @ONLY at install time, so that the prefix is the one `cmake --install --prefix` was given.
install(CODE "
  set(CMAKE_INSTALL_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  set(CMAKE_INSTALL_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
  set(CMAKE_INSTALL_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
  set(PROJECT_VERSION \"${PROJECT_VERSION}\")
  configure_file(\"${PROJECT_SOURCE_DIR}/libs/cmake/dobj.pc.in\"
                 \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig/dobj.pc\" @ONLY)
")
