# SPDX-License-Identifier: MIT
# Warnings, sanitizers and ccache for every prisn target.

find_program(PRISN_CCACHE ccache)
if(PRISN_CCACHE)
  set(CMAKE_CXX_COMPILER_LAUNCHER "${PRISN_CCACHE}")
endif()

if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "Build type" FORCE)
endif()

add_library(prisn_options INTERFACE)
target_compile_options(prisn_options INTERFACE -Wall -Wextra -Werror -Wno-missing-field-initializers)
# g++ 12 false positives: impossible overlaps in inlined std::string assignments at -O2
# (GCC bug 105329), and coroutine frames' own operator new/delete taken as mismatched under
# the sanitizers (GCC bug 102583-style frame allocation warnings).
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(prisn_options INTERFACE -Wno-restrict -Wno-mismatched-new-delete)
endif()
# Asio's io_uring-free epoll reactor is what we want; keep handler tracking off.
target_compile_definitions(prisn_options INTERFACE
  BOOST_ASIO_NO_DEPRECATED
  BOOST_ASIO_DISABLE_BUFFER_DEBUGGING
  SPDLOG_FMT_EXTERNAL
  PRISN_VERSION="${PROJECT_VERSION}")

if(PRISN_SANITIZE)
  # g++ 12 at -O1 with the sanitizers reports "may be used uninitialized" inside libstdc++'s
  # regex and variant moves in coroutine frames (GCC bugs 105562, 107919): false positives the
  # release build (-O2, same -Werror) does not give. The release build keeps the warning.
  target_compile_options(prisn_options INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
                                                 -fno-sanitize-recover=undefined -Wno-maybe-uninitialized)
  target_link_options(prisn_options INTERFACE -fsanitize=address,undefined)
endif()
