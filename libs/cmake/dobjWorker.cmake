# dobj_add_worker(<name> SOURCES <files>...): a worker executable. One of the sources defines
# main() calling dobj::run_worker(argc, argv, register_classes) (templates/worker/src/main.cpp).
function(dobj_add_worker name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "SOURCES")
  if(NOT arg_SOURCES)
    message(FATAL_ERROR "dobj_add_worker(${name}): SOURCES is empty")
  endif()
  add_executable(${name} ${arg_SOURCES})
  target_compile_features(${name} PRIVATE cxx_std_20)
  target_link_libraries(${name} PRIVATE dobj::worker)
endfunction()
