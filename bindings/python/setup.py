# SPDX-License-Identifier: Apache-2.0
"""Builds the extension module shmstats._shmstats against libshmstats (the C ABI).

Where the library is: $SHMSTATS_INCLUDE_DIR (the directory holding shmstats/) and
$SHMSTATS_LIBRARY_DIR (holding libshmstats.so) when set, as for a build tree; else the
system's (the libshmstats-dev package). With $SHMSTATS_LIBRARY_DIR the extension also
finds the library there at run time (an rpath)."""
import os

from setuptools import Extension, setup

include = [d for d in [os.environ.get("SHMSTATS_INCLUDE_DIR")] if d]
libdir = [d for d in [os.environ.get("SHMSTATS_LIBRARY_DIR")] if d]

setup(ext_modules=[Extension(
    "shmstats._shmstats", ["shmstats/_shmstats.c"], include_dirs=include, library_dirs=libdir,
    runtime_library_dirs=libdir, libraries=["shmstats"], extra_compile_args=["-O2", "-std=gnu11"])])
