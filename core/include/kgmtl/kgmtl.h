/* kgmtl/kgmtl.h — umbrella header for host-side code (CLI, tests, embedders). */
#ifndef KGMTL_KGMTL_H
#define KGMTL_KGMTL_H

#include "core/base/arena.h"
#include "core/tensor/gradcheck.h"
#include "core/metrics/metrics.h"
#include "core/tensor/ops.h"
#include "core/tensor/optim.h"
#include "core/tensor/params.h"
#include "kgmtl/plugin.h"
#include "core/base/progress.h"
#include "core/base/rng.h"
#include "core/base/runtime.h"
#include "core/base/status.h"
#include "core/tensor/tape.h"
#include "core/tensor/tensor.h"



#endif
