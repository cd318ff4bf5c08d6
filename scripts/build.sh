#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Configures and builds into ./build (Release with debug info, warnings on).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
