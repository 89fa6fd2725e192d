/* libFuzzer target: the model JSON reader (fit_model_from_json, behind
 * fit_model_load and every `--model FILE.json`). A model that loads must
 * be written back and read again (what `fit --init` and `recalibrate` do),
 * and runs one forward pass as the hwa backend would. The same text also
 * goes to the temperature model's reader (fit_tmodel_from_json, behind
 * `tmodel --tmodel` and `train --tmodel`); one that loads is read at the
 * middle of its range and that model runs a forward pass. */
#include "fuzz_util.h"
#include "model_fit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    fit_model m;
    if (fit_model_from_json(text, "fuzz.json", &m) == FG_OK) {
        char *again = fit_model_to_json(&m);
        fit_model m2;
        if (!again || fit_model_from_json(again, "written", &m2) != FG_OK) {
            fprintf(stderr, "fuzz_model: a loaded model does not load after "
                            "writing: %s\n", fg_errmsg());
            abort();
        }
        free(again);
        double x[2 * FG_ROWS], y[2 * FG_COLS];
        for (int k = 0; k < 2 * FG_ROWS; k++)
            x[k] = (k % 5) / 4.0;
        fit_model_forward(y, x, m.w, &m, 2);
    }
    fit_tmodel *t = malloc(sizeof *t);
    if (t && fit_tmodel_from_json(text, "fuzz.json", t) == FG_OK) {
        double mid = 0.5 * (t->node[0].corner.temp_c + t->node[t->n - 1].corner.temp_c);
        if (fit_tmodel_at(t, mid, &m) == FG_OK) {
            double x[FG_ROWS], y[FG_COLS];
            for (int k = 0; k < FG_ROWS; k++)
                x[k] = (k % 3) / 2.0;
            fit_model_forward(y, x, m.w, &m, 1);
        }
    }
    free(t);
    free(text);
    return 0;
}
