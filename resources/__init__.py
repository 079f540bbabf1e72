"""Studio's run-time files (bundled data, icons, the guide). Installed as ``studio.resources``
(see setup.py); read through ``studio.core.package_files``, never by path from the source tree."""
