# SPDX-License-Identifier: MIT
# `cpack -G DEB` builds prisn_<version>_amd64.deb with both binaries and the systemd unit.
install(FILES "${PROJECT_SOURCE_DIR}/packaging/prisnd.service" DESTINATION lib/systemd/system OPTIONAL)
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "prisn")
set(CPACK_PACKAGE_CONTACT "prisn maintainers <maintainers@prisn.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "prisn: run scripts as jobs, cron jobs and services on one node")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION "admin")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
include(CPack)
