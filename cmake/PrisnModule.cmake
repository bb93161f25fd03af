# SPDX-License-Identifier: MIT
# prisn_add_module(NAME SOURCES ... DEPENDS ...): one static library per module,
# include/ PUBLIC, src/<module>/ PRIVATE, dependencies named explicitly.
function(prisn_add_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPENDS;PRIVATE_DEPENDS" ${ARGN})
  add_library(prisn_${name} STATIC ${ARG_SOURCES})
  target_include_directories(prisn_${name}
    PUBLIC "${PROJECT_SOURCE_DIR}/include"
    PRIVATE "${PROJECT_SOURCE_DIR}/src")
  target_link_libraries(prisn_${name} PUBLIC prisn_options ${ARG_DEPENDS} PRIVATE ${ARG_PRIVATE_DEPENDS})
endfunction()

# prisn_add_fuzzer(NAME SOURCE DEPENDS ...): a libFuzzer target when PRISN_FUZZ is on,
# else a plain executable that replays the corpus (tests/fuzz/corpus/NAME) under ctest.
# Each libFuzzer target joins `fuzzers`, which `bash dev test` builds: a new fuzzer needs no
# second list to be kept in step (one was, and CI ran two fuzz tests whose binaries it never built).
if(PRISN_FUZZ AND NOT TARGET fuzzers)
  add_custom_target(fuzzers)
endif()
function(prisn_add_fuzzer name source)
  cmake_parse_arguments(ARG "" "" "DEPENDS" ${ARGN})
  set(corpus "${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/${name}")
  if(PRISN_FUZZ)
    add_executable(fuzz_${name} ${source})
    target_compile_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
    target_link_libraries(fuzz_${name} PRIVATE ${ARG_DEPENDS})
    target_include_directories(fuzz_${name} PRIVATE "${PROJECT_SOURCE_DIR}/src")  # modules' private headers
    add_dependencies(fuzzers fuzz_${name})
    # Runs on a scratch copy of the corpus so a run never changes the checked-in seeds.
    set(work "${CMAKE_CURRENT_BINARY_DIR}/corpus_${name}")
    add_test(NAME fuzz.${name}
             COMMAND sh -c "rm -rf '${work}' && cp -r '${corpus}' '${work}' && \
                 '$<TARGET_FILE:fuzz_${name}>' -max_total_time=${PRISN_FUZZ_SECONDS} -timeout=5 \
                 -rss_limit_mb=2048 -print_final_stats=1 '${work}'")
    set_tests_properties(fuzz.${name} PROPERTIES LABELS fuzz TIMEOUT 600)
  else()
    add_executable(replay_${name} ${source} "${PROJECT_SOURCE_DIR}/tests/fuzz/replay_main.cpp")
    target_link_libraries(replay_${name} PRIVATE ${ARG_DEPENDS})
    target_include_directories(replay_${name} PRIVATE "${PROJECT_SOURCE_DIR}/src")
    add_test(NAME fuzz_replay.${name} COMMAND replay_${name} "${corpus}")
    set_tests_properties(fuzz_replay.${name} PROPERTIES LABELS unit)
  endif()
endfunction()
