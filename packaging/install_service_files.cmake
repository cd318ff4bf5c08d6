# Runs at install time (install(SCRIPT)): copies the unit and the cron file with
# /usr/local/ replaced by the prefix being installed to, and the config file; then
# compresses the man pages installed before (man/CMakeLists.txt), as Debian wants.
set(prefix "${CMAKE_INSTALL_PREFIX}")
function(shmstats_install_edited source destination name)
  file(READ "${SHMSTATS_PACKAGING_DIR}/${source}" text)
  string(REPLACE "/usr/local/" "${prefix}/" text "${text}")
  set(staged "${SHMSTATS_STAGE_DIR}/${name}")
  file(WRITE "${staged}" "${text}")
  file(INSTALL "${staged}" DESTINATION "${destination}"
       PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
endfunction()
shmstats_install_edited(shmstatsd.service "${SHMSTATS_UNITDIR}" shmstatsd.service)
shmstats_install_edited(shmstats-history.cron /etc/cron.d shmstats-history)
shmstats_install_edited(shmstatsd.conf /etc/shmstats shmstatsd.conf)

file(GLOB pages RELATIVE "${SHMSTATS_MAN_DIR}" "${SHMSTATS_MAN_DIR}/*.[1-9]")
foreach(page IN LISTS pages)
  string(REGEX REPLACE ".*\\.([1-9])$" "\\1" section "${page}")
  set(installed "$ENV{DESTDIR}${prefix}/share/man/man${section}/${page}")
  if(EXISTS "${installed}")
    execute_process(COMMAND gzip -9nf "${installed}" COMMAND_ERROR_IS_FATAL ANY)
    message(STATUS "Compressed: ${installed}.gz")
  endif()
endforeach()
