// SPDX-License-Identifier: Apache-2.0
#pragma once

// The whole public API of libshmstats.
#include "shmstats/error.h"
#include "shmstats/metric_spec.h"
#include "shmstats/metrics.h"
#include "shmstats/segment.h"
#include "shmstats/snapshot.h"
