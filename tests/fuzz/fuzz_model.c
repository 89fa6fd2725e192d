/* libFuzzer target: the model JSON reader (fit_model_from_json, behind
 * fit_model_load and every `--model FILE.json`). A model that loads must
 * be written back and read again (what `fit --init` and `recalibrate` do),
 * and runs one forward pass as the hwa backend would. */
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
    free(text);
    return 0;
}
