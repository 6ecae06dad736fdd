# package.cmake — where an installed cardline lives (binary, layouts, man pages, units, account, /etc/cardline)
# and the Debian package CPack makes of it. Configure with -DCMAKE_INSTALL_PREFIX=/usr for a package (as
# tools/package does): the binary looks for its layouts under the prefix it was built for.
include(GNUInstallDirs)

set(CARDLINE_SYSTEMD_DIR ${CMAKE_CURRENT_SOURCE_DIR}/tools/systemd)
# systemd and udev read /lib on Debian 12 (merged /usr makes it the same as /usr/lib)
set(CARDLINE_UNIT_DIR /lib/systemd/system CACHE PATH "Where the systemd units are installed")
set(CARDLINE_UDEV_DIR /lib/udev/rules.d CACHE PATH "Where the udev rules are installed")
install(FILES ${CARDLINE_SYSTEMD_DIR}/cardline-run@.service ${CARDLINE_SYSTEMD_DIR}/cardline-serve.service
              ${CARDLINE_SYSTEMD_DIR}/cardline-db.service ${CARDLINE_SYSTEMD_DIR}/cardline-seal-due.service
              ${CARDLINE_SYSTEMD_DIR}/cardline-seal-due.timer
        DESTINATION ${CARDLINE_UNIT_DIR})
install(FILES ${CARDLINE_SYSTEMD_DIR}/60-cardline.rules DESTINATION ${CARDLINE_UDEV_DIR})
install(FILES ${CARDLINE_SYSTEMD_DIR}/cardline.sysusers DESTINATION ${CMAKE_INSTALL_PREFIX}/lib/sysusers.d
        RENAME cardline.conf)
install(FILES ${CARDLINE_SYSTEMD_DIR}/cardline.tmpfiles DESTINATION ${CMAKE_INSTALL_PREFIX}/lib/tmpfiles.d
        RENAME cardline.conf)
# the one file under /etc (a conffile: dpkg keeps the bureau's edits); controller configurations are the
# bureau's own, made from the example
install(FILES ${CARDLINE_SYSTEMD_DIR}/cardline.env DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/cardline)
install(FILES ${CARDLINE_SYSTEMD_DIR}/cardline.json ${CARDLINE_SYSTEMD_DIR}/cardline.env
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
# man pages come from the cardline_man target (the same source as --help), gzip -9n as Debian policy wants;
# absent until it is built
install(DIRECTORY ${CMAKE_BINARY_DIR}/man/gz/man1 DESTINATION ${CMAKE_INSTALL_MANDIR} OPTIONAL
        FILES_MATCHING PATTERN "*.1.gz")
# Debian policy 12.5 and 12.7: the copyright (machine-readable, DEP-5) and the Debian changelog, gzip -9n like
# the man pages; the lintian overrides say why each accepted warning does not apply to cardline
set(CARDLINE_DEBIAN_REVISION 1)
set(CARDLINE_DEBIAN_VERSION ${PROJECT_VERSION}-${CARDLINE_DEBIAN_REVISION})
configure_file(${CARDLINE_SYSTEMD_DIR}/debian/changelog.in ${CMAKE_BINARY_DIR}/debian/changelog.Debian @ONLY)
execute_process(COMMAND sh -c "gzip -9n <changelog.Debian >changelog.Debian.gz"
                WORKING_DIRECTORY ${CMAKE_BINARY_DIR}/debian COMMAND_ERROR_IS_FATAL ANY)
install(FILES ${CARDLINE_SYSTEMD_DIR}/debian/copyright ${CMAKE_BINARY_DIR}/debian/changelog.Debian.gz
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${CARDLINE_SYSTEMD_DIR}/debian/lintian-overrides DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides
        RENAME cardline)

# --- the Debian package ------------------------------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME cardline)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
# a Debian revision (0.1.0-1): the packaging (tools/systemd/debian) can change without a new cardline version,
# and the changelog is then changelog.Debian.gz as policy names it for a package with one
set(CPACK_DEBIAN_PACKAGE_RELEASE ${CARDLINE_DEBIAN_REVISION})
set(CPACK_PACKAGE_CONTACT "cardline maintainers <dev@cardline.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "production-line controller for social security cards")
# (lintian: the extended description's lines at most 80 columns)
set(CPACK_PACKAGE_DESCRIPTION
    "Drives card printers and chip encoders on production lines, schedules the\n\
applications against the official working-day calendar, and dispatches the\n\
cards to the outlets; a web dashboard and JSON API for operators, studios and\n\
dispatch. Runs as systemd services with a private PostgreSQL cluster or an\n\
external server.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# the shared libraries' packages come from dpkg-shlibdeps; these are what the binary runs or reads:
# PostgreSQL's server for the private cluster, the Haar cascades of the photo check, the CJK fonts of the
# card faces and shipment documents, and an account maker
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "postgresql (>= 13), opencv-data, fonts-noto-cjk, fontconfig, adduser")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "pcscd, systemd")
# the test-data generator (cardline gen) borrows a portrait from scikit-image's sample data
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "python3-skimage")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
# CPack (3.25) marks no conffiles itself
file(WRITE ${CMAKE_BINARY_DIR}/debian/conffiles "${CMAKE_INSTALL_FULL_SYSCONFDIR}/cardline/cardline.env\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_BINARY_DIR}/debian/conffiles ${CARDLINE_SYSTEMD_DIR}/debian/postinst
    ${CARDLINE_SYSTEMD_DIR}/debian/prerm ${CARDLINE_SYSTEMD_DIR}/debian/postrm)
# only the binary and the files above: the Python virtual card, the emulators and the tests are for
# development and install nothing
include(CPack)
