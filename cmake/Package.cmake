# `cpack -G DEB` in the build directory: one Debian package, raftbgp_<version>_<arch>.deb, holding what
# `cmake --install` installs (cmake/Install.cmake), under /usr:
#   /usr/bin/raftbgpd, raftbgpctl, raftbgp-ping, raftbgp-replay, raftbgp-predict (stripped), raftbgp-exabgp
#   /usr/share/raftbgp/topologies/*.yaml (raftbgp-predict --topology)
#   /usr/lib/systemd/system/exabgp-raftbgp.service, /usr/lib/sysusers.d/raftbgp.conf, /usr/lib/tmpfiles.d/...
#   /usr/share/doc/raftbgp/{operator-guide.md, examples/...}
# Nothing goes to /etc: the examples are copied there by the operator (docs/operator-guide.md), so the
# package has no conffiles and an upgrade never touches a router's configuration.
# Depends: exabgp (which spawns raftbgpd) and the shared libraries the binaries link, computed by
# dpkg-shlibdeps. postinst creates the user and directories (sysusers/tmpfiles) and reloads systemd; the
# service is not enabled or started: it needs a config and a key first.
# Tested by tests/deploy (deploy_package, label lab): contents, metadata, and the installed raftbgpd run.
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "raftbgp")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Raft consensus carried over BGP, as an ExaBGP process")
set(CPACK_PACKAGE_DESCRIPTION "raftbgp runs Raft between routers over their existing BGP sessions: raftbgpd is \
spawned by ExaBGP and replicates a route policy and a small key-value store; raftbgpctl controls it.")
set(CPACK_PACKAGE_CONTACT "raftbgp maintainers <raftbgp@localhost>")
# Install with DESTDIR and the real prefix /usr (whatever CMAKE_INSTALL_PREFIX the build was configured
# with), so Install.cmake's path rewriting (the unit's ExecStart, the examples' process path) sees /usr/bin,
# not the staging directory. With CPACK_SET_DESTDIR, CPACK_INSTALL_PREFIX is the prefix used.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX "/usr")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME "DEB-DEFAULT")
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "exabgp")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA "${CMAKE_CURRENT_LIST_DIR}/deb/postinst")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
