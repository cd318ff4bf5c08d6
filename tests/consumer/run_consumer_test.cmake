# SPDX-License-Identifier: Apache-2.0
# Installs a built shmstats into a scratch prefix, then builds and runs consumer.cc
# against the installed package three ways: find_package + shmstats::shmstats
# (shared), find_package + shmstats::static, and pkg-config. Any failing step
# stops the script with a message naming the step, so the CTest test fails.
#
# cmake -DBUILD_DIR=<shmstats build tree> -DCONSUMER_DIR=<this folder>
#       -DWORK_DIR=<scratch folder> -DLIBDIR=<CMAKE_INSTALL_LIBDIR> -DCXX=<compiler>
#       -DCC=<C compiler> -DGENERATOR=<generator> -DPKG_CONFIG=<pkg-config> -P run_consumer_test.cmake

foreach(var BUILD_DIR CONSUMER_DIR WORK_DIR LIBDIR CXX CC GENERATOR PKG_CONFIG)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run_consumer_test.cmake needs -D${var}=...")
  endif()
endforeach()

set(prefix ${WORK_DIR}/prefix)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

# Runs a command; on failure stops with its output and what the step was.
function(step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer test: ${what} failed (${rc}):\n${ARGN}\n${out}\n${err}")
  endif()
  message(STATUS "consumer test: ${what}: ok")
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

step("install into ${prefix}" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})

# 1 and 2: find_package(shmstats), with CMAKE_PREFIX_PATH at the prefix only.
set(cmake_build ${WORK_DIR}/find-package)
step("configure with find_package(shmstats)"
     ${CMAKE_COMMAND} -S ${CONSUMER_DIR}/project -B ${cmake_build} -G ${GENERATOR}
     -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_PREFIX_PATH=${prefix}
     -DCONSUMER_SOURCE=${CONSUMER_DIR}/consumer.cc -DCONSUMER_C_SOURCE=${CONSUMER_DIR}/consumer_c.c)
file(STRINGS ${cmake_build}/CMakeCache.txt found REGEX "^shmstats_DIR:")
string(FIND "${found}" "${prefix}/" at)
if(NOT at GREATER -1)
  message(FATAL_ERROR "consumer test: find_package used '${found}', not the package in ${prefix}")
endif()
step("build with find_package(shmstats)" ${CMAKE_COMMAND} --build ${cmake_build})
step("run the shmstats::shmstats consumer" ${cmake_build}/consumer_shared find-package-shared)
step("run the shmstats::static consumer" ${cmake_build}/consumer_static find-package-static)
step("run the C consumer (shmstats::shmstats)" ${cmake_build}/consumer_c_shared find-package-c)

# 3: pkg-config, as a Makefile would use it.
set(pc_env PKG_CONFIG_PATH=${prefix}/${LIBDIR}/pkgconfig)
step("pkg-config --cflags --libs shmstats"
     ${CMAKE_COMMAND} -E env ${pc_env} ${PKG_CONFIG} --cflags --libs shmstats)
string(STRIP "${step_output}" flags)
separate_arguments(flags UNIX_COMMAND "${flags}")
string(FIND "${flags}" "-I${prefix}/" at)
if(at EQUAL -1)
  message(FATAL_ERROR "consumer test: pkg-config flags '${flags}' do not point into ${prefix}")
endif()
step("build with pkg-config"
     ${CXX} ${CONSUMER_DIR}/consumer.cc ${flags} -o ${WORK_DIR}/consumer_pkg_config)
step("run the pkg-config consumer"
     ${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${prefix}/${LIBDIR}
     ${WORK_DIR}/consumer_pkg_config pkg-config)

# 4: the C ABI with pkg-config shmstats-c and the C compiler.
step("pkg-config --cflags --libs shmstats-c"
     ${CMAKE_COMMAND} -E env ${pc_env} ${PKG_CONFIG} --cflags --libs shmstats-c)
string(STRIP "${step_output}" c_flags)
separate_arguments(c_flags UNIX_COMMAND "${c_flags}")
step("build the C consumer with pkg-config"
     ${CC} -std=c11 -Wall -Wextra -pedantic -Werror ${CONSUMER_DIR}/consumer_c.c ${c_flags}
     -o ${WORK_DIR}/consumer_c_pkg_config)
step("run the C pkg-config consumer"
     ${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${prefix}/${LIBDIR}
     ${WORK_DIR}/consumer_c_pkg_config pkg-config-c)

file(REMOVE_RECURSE ${WORK_DIR})
