# `cmake --install BUILD [--prefix P]`: binaries, systemd units and the example configs, in the
# usual places (GNUInstallDirs). Nothing is written to /etc: the examples are copied there by the operator
# (docs/operator-guide.md), so an install never overwrites a router's configuration.
#   bin/raftbgpd, bin/raftbgpctl, bin/raftbgp-ping, bin/raftbgp-exabgp (ExaBGP's launcher, docs/exabgp.md §5.6)
#   bin/raftbgp-replay, bin/raftbgp-predict     (operator-guide §12-§13: replay a flight recording, predict)
#   share/raftbgp/topologies/*.yaml             (raftbgp-predict --topology: hand-written models, predictor/topologies)
#   lib/systemd/system/exabgp-raftbgp.service     (paths to raftbgpd rewritten to the install prefix)
#   lib/sysusers.d/raftbgp.conf, lib/tmpfiles.d/raftbgp.conf
#   share/doc/raftbgp/examples/...                 (configs/, the same files the tests check)
#   share/doc/raftbgp/operator-guide.md
#   share/man/man8/raftbgpd.8, raftbgpctl.8; share/bash-completion/completions/raftbgpctl
include(GNUInstallDirs)

set(RAFTBGP_SYSTEMD_DIR "lib/systemd" CACHE STRING
    "systemd's directory, relative to the install prefix (system/, sysusers.d/, tmpfiles.d/ go below it)")
mark_as_advanced(RAFTBGP_SYSTEMD_DIR)
set(RAFTBGP_LIB_DIR "lib")  # sysusers.d and tmpfiles.d live in <prefix>/lib, never in a multiarch libdir

foreach(target raftbgpd raftbgpctl raftbgp_ping)
  if(TARGET ${target})
    install(TARGETS ${target} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
  endif()
endforeach()
# The offline tools: OPTIONAL, so that an install after building only the three above (operator-guide §2's short
# build) still works; a full build (and so the .deb, tests/deploy/check_package.py) has them.
foreach(target raftbgp-replay raftbgp-predict)
  if(TARGET ${target})
    install(TARGETS ${target} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime OPTIONAL)
  endif()
endforeach()

# The predictor's topologies are data, not raftbgpd configs (configs/ is checked with --check-config): next to the
# binary that reads them, where `raftbgp-predict --topology` is pointed (operator-guide §13).
if(TARGET raftbgp-predict)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/predictor/topologies/ DESTINATION ${CMAKE_INSTALL_DATADIR}/raftbgp/topologies
          COMPONENT runtime FILES_MATCHING PATTERN "*.yaml")
endif()

if(RAFTBGP_BUILD_AGENT)
  install(PROGRAMS ${PROJECT_SOURCE_DIR}/agent/exabgp/raftbgp-exabgp DESTINATION ${CMAKE_INSTALL_BINDIR}
          COMPONENT runtime)
endif()

# Installs SRC as DIR/NAME with "/usr/local/bin/" and "/usr/local/share/doc/raftbgp" (the shipped files' paths,
# for the default prefix) replaced by the real <prefix>/<bindir>/ and <prefix>/<docdir>, evaluated at install time so `--prefix` and DESTDIR are honoured.
function(raftbgp_install_with_bindir src dir name)
  set(tmp "${CMAKE_BINARY_DIR}/install-staging/${name}")
  install(CODE "
    if(IS_ABSOLUTE \"${CMAKE_INSTALL_BINDIR}\")
      set(_bindir \"${CMAKE_INSTALL_BINDIR}\")
    else()
      set(_bindir \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}\")
    endif()
    file(READ \"${src}\" _text)
    string(REPLACE \"/usr/local/bin/\" \"\${_bindir}/\" _text \"\${_text}\")
    string(REPLACE \"/usr/local/share/doc/raftbgp\" \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DOCDIR}\" _text
           \"\${_text}\")
    file(WRITE \"${tmp}\" \"\${_text}\")
    file(INSTALL DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${dir}\" TYPE FILE FILES \"${tmp}\")
  " COMPONENT runtime)
endfunction()

set(_cfg ${PROJECT_SOURCE_DIR}/configs)
raftbgp_install_with_bindir(${_cfg}/systemd/exabgp-raftbgp.service ${RAFTBGP_SYSTEMD_DIR}/system
                            exabgp-raftbgp.service)
install(FILES ${_cfg}/systemd/raftbgp.sysusers DESTINATION ${RAFTBGP_LIB_DIR}/sysusers.d RENAME raftbgp.conf
        COMPONENT runtime)
install(FILES ${_cfg}/systemd/raftbgp.tmpfiles DESTINATION ${RAFTBGP_LIB_DIR}/tmpfiles.d RENAME raftbgp.conf
        COMPONENT runtime)

# Examples: the whole configs/ tree; exabgp.conf's process path follows the prefix like the unit's.
set(_examples ${CMAKE_INSTALL_DOCDIR}/examples)
install(DIRECTORY ${_cfg}/ DESTINATION ${_examples} COMPONENT runtime
        PATTERN "exabgp.conf" EXCLUDE)
raftbgp_install_with_bindir(${_cfg}/exabgp/exabgp.conf ${_examples}/exabgp exabgp.conf)
if(EXISTS ${PROJECT_SOURCE_DIR}/docs/operator-guide.md)
  install(FILES ${PROJECT_SOURCE_DIR}/docs/operator-guide.md DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT runtime)
endif()

install(FILES ${PROJECT_SOURCE_DIR}/docs/man/raftbgpd.8 ${PROJECT_SOURCE_DIR}/docs/man/raftbgpctl.8
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man8 COMPONENT runtime)
install(FILES ${PROJECT_SOURCE_DIR}/agent/cli/raftbgpctl.bash DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        RENAME raftbgpctl COMPONENT runtime)
