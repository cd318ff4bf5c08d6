# Runs at install time (install(SCRIPT)): copies the unit and the cron file with
# /usr/local/ replaced by the prefix being installed to, and the config file.
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
