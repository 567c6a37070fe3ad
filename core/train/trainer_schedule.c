/* optimisation.schedule every_epoch: the MKR authors' training loop, where a
 * task's `every` counts epochs. On epoch e (1-based) every task with
 * (e - 1) % every == 0 makes one full pass over its training rows, in task
 * order, batch by batch (the last batch may be shorter, as in the authors'
 * `start:start + batch_size` slices); MKR: rec every epoch, then the KG task
 * on epochs 1, k + 1, 2k + 1, ... (kge_interval k, their `step % k == 0`). */
#include "core/train/trainer_internal.h"

static bool runs_in_epoch(const kgm_run_task *t, int32_t epoch) {
    int32_t k = t->spec->every > 0 ? t->spec->every : 1;
    return (epoch - 1) % k == 0;
}

static int64_t pass_steps(const kgm_run_task *t) {
    int64_t n = t->view.s[0].n, B = t->batch > 0 ? t->batch : 1;
    return (n + B - 1) / B;
}

int64_t kgm_schedule_epoch_steps(const kgm_trainer *tr, int32_t epoch) {
    int64_t steps = 0;
    for (int k = 0; k < tr->n_tasks; k++)
        if (runs_in_epoch(&tr->t[k], epoch)) steps += pass_steps(&tr->t[k]);
    return steps;
}

bool kgm_schedule_epoch_locate(const kgm_trainer *tr, int32_t epoch, int64_t s, int32_t *task, int64_t *start,
                               int32_t *n) {
    for (int k = 0; k < tr->n_tasks; k++) {
        const kgm_run_task *t = &tr->t[k];
        if (!runs_in_epoch(t, epoch)) continue;
        int64_t m = pass_steps(t);
        if (s < m) {
            int64_t rows = t->view.s[0].n, lo = s * t->batch;
            *task = k;
            *start = lo;
            *n = (int32_t)(rows - lo < t->batch ? rows - lo : t->batch);
            return true;
        }
        s -= m;
    }
    return false;
}
