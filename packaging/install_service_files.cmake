# SPDX-License-Identifier: Apache-2.0
# Runs at install time (install(SCRIPT)). Installs the unit, the config, the cron
# file and the sysusers.d/tmpfiles.d files where the prefix puts them: for /usr (the
# Debian package) where systemd, cron and Debian look (/lib/systemd/system, /etc,
# /usr/lib/*.d); for any other prefix inside it (PREFIX/lib/systemd/system,
# PREFIX/etc, PREFIX/lib/*.d), so that `cmake --install --prefix DIR` never writes
# outside DIR. The program paths in the unit and the cron line (/usr/local/...) and
# the config path become those of the prefix. Then compresses the man pages
# installed before (man/CMakeLists.txt), as Debian wants.
set(prefix "${CMAKE_INSTALL_PREFIX}")
if(prefix STREQUAL "/usr")
  set(etc /etc)
  set(unitdir /lib/systemd/system)
else()
  set(etc "${prefix}/etc")
  set(unitdir "${prefix}/lib/systemd/system")
endif()
function(shmstats_install_edited source destination name)
  file(READ "${SHMSTATS_PACKAGING_DIR}/${source}" text)
  string(REPLACE "/usr/local/sbin/shmstatsd" "${prefix}/sbin/shmstatsd" text "${text}")
  string(REPLACE "/usr/local/bin/statsctl" "${prefix}/bin/statsctl" text "${text}")
  string(REPLACE "--config /etc/shmstats/" "--config ${etc}/shmstats/" text "${text}")
  set(staged "${SHMSTATS_STAGE_DIR}/${name}")
  file(WRITE "${staged}" "${text}")
  file(INSTALL "${staged}" DESTINATION "${destination}"
       PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
endfunction()
shmstats_install_edited(shmstatsd.service "${unitdir}" shmstatsd.service)
shmstats_install_edited(shmstats-history.cron "${etc}/cron.d" shmstats-history)
shmstats_install_edited(shmstatsd.conf "${etc}/shmstats" shmstatsd.conf)
shmstats_install_edited(shmstats.sysusers "${prefix}/lib/sysusers.d" shmstats.conf)
shmstats_install_edited(shmstats.tmpfiles "${prefix}/lib/tmpfiles.d" shmstats.conf)

file(GLOB pages RELATIVE "${SHMSTATS_MAN_DIR}" "${SHMSTATS_MAN_DIR}/*.[1-9]")
foreach(page IN LISTS pages)
  string(REGEX REPLACE ".*\\.([1-9])$" "\\1" section "${page}")
  set(installed "$ENV{DESTDIR}${prefix}/share/man/man${section}/${page}")
  if(EXISTS "${installed}")
    execute_process(COMMAND gzip -9nf "${installed}" COMMAND_ERROR_IS_FATAL ANY)
    message(STATUS "Compressed: ${installed}.gz")
  endif()
endforeach()
