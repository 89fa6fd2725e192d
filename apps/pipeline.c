/* The design-to-deployment loop on one layout, as a chain of fgcosim
 * subcommands (each a child process whose --json result is collected):
 * simulate -> fit -> train (ideal, hwa) -> evaluate (hwa, spice). */
#include "pipeline.h"
#include "app_common.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

static double json_num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : -1.0;
}

/* Runs one step, reporting it on stderr; *value = its JSON field `key`;
 * extra fields are copied from `more` keys into `vals` when given. */
static fg_status step(const pipe_opts *o, int k, const char *what,
                      const char *const *args, const char *key, double *value,
                      const char *const *more, double *vals)
{
    fprintf(stderr, "[%s %d/9] %s\n", o->layout, k, what);
    cJSON *j = NULL;
    fg_status st = app_subcommand_json(args, &j);
    if (st == FG_OK) {
        *value = json_num(j, key);
        if (*value < 0)
            st = fg_error(FG_ERR_INTERNAL, "%s: no '%s' in its JSON", what, key);
        for (int m = 0; more && more[m]; m++)
            vals[m] = json_num(j, more[m]);
    }
    cJSON_Delete(j);
    return st;
}

/* Appends the corner's options to args (from *n; room for 6 more). */
static void corner_args(const pipe_opts *o, char buf[3][32], const char **args, int *n)
{
    snprintf(buf[0], 32, "%.6g", o->corner.temp_c);
    snprintf(buf[1], 32, "%.6g", o->corner.supply);
    snprintf(buf[2], 32, "%.6g", o->corner.drift_s);
    const char *names[3] = {"--temp", "--supply", "--drift-time"};
    for (int k = 0; k < 3; k++) {
        args[(*n)++] = names[k];
        args[(*n)++] = buf[k];
    }
    args[*n] = NULL;
}

static void path_in(char *buf, const pipe_opts *o, const char *name)
{
    snprintf(buf, 512, "%s/%s", o->dir, name);
}

static fg_status calibrate(const pipe_opts *o, pipe_result *r)
{
    char data[512], model[512], pat[32];
    path_in(data, o, "calib.h5");
    path_in(model, o, "model.json");
    snprintf(pat, sizeof pat, "%d", o->patterns);
    const char *sim[20] = {"fgcosim", "simulate", "--layout", o->layout, "--patterns", pat,
                           "--seed", "1", "-o", data, "--json"};
    char cb[3][32];
    int ns = 11;
    corner_args(o, cb, sim, &ns);
    double patterns, ser[2] = {-1, -1}, en[3] = {-1, -1, -1};
    static const char *const sers[] = {"ser_naive_db", "ser_linear_db", NULL};
    static const char *const ens[] = {"energy_per_vmm_J", "energy_per_mac_J", "latency_s",
                                      NULL};
    fg_status st = step(o, 1, "simulate calibration patterns", sim, "patterns", &patterns,
                        ens, en);
    r->energy_vmm = en[0];
    r->energy_mac = en[1];
    r->latency = en[2];
    const char *fit[] = {"fgcosim", "fit", "--data", data, "--holdout", "0.25", "-o", model,
                         "--plots", o->dir, "--json", NULL};
    if (st == FG_OK)
        st = step(o, 2, "fit the compact model", fit, "ser_fitted_db", &r->ser_fitted,
                  sers, ser);
    r->ser_naive = ser[0];
    r->ser_linear = ser[1];
    return st;
}

static fg_status train_both(const pipe_opts *o, pipe_result *r)
{
    char ideal[512], hwa[512], model[512], ep[16];
    snprintf(ep, sizeof ep, "%d", o->hwa_epochs);
    path_in(ideal, o, "mlp-ideal.ckpt");
    path_in(hwa, o, "mlp-hwa.ckpt");
    path_in(model, o, "model.json");
    const char *ti[] = {"fgcosim", "train", "--net", "mlp-lowres", "--data", o->data,
                        "--backend", "ideal", "-o", ideal, "--json", NULL};
    /* hardware-aware: fine-tuned from the digital weights (Adam, lr 3e-3) */
    const char *th[] = {"fgcosim", "train", "--net", "mlp-lowres", "--data", o->data,
                        "--backend", "hwa", "--model", model, "--init", ideal,
                        "--lr", "3e-3", "--epochs", ep, "-o", hwa, "--json", NULL};
    fg_status st = step(o, 3, "train mlp-lowres digitally (ideal)", ti, "test_accuracy",
                        &r->digital, NULL, NULL);
    if (st == FG_OK)
        st = step(o, 4, "fine-tune mlp-lowres hardware-aware (hwa)", th, "test_accuracy",
                  &r->hwa_train, NULL, NULL);
    return st;
}

static fg_status evaluate(const pipe_opts *o, int k, const char *ckpt_name,
                          const char *backend, int limit, double *acc)
{
    char ckpt[512], model[512], lim[32], what[128];
    path_in(ckpt, o, ckpt_name);
    path_in(model, o, "model.json");
    snprintf(lim, sizeof lim, "%d", limit);
    snprintf(what, sizeof what, "evaluate %s on %s (%d images)", ckpt_name, backend, limit);
    const char *ev[24] = {"fgcosim", "evaluate", "--ckpt", ckpt, "--backend", backend,
                          "--limit", lim, "--json"};
    int n = 9;
    if (!strcmp(backend, "hwa")) {
        ev[n++] = "--model";
        ev[n++] = model;
    } else if (!strcmp(backend, "spice")) {
        ev[n++] = "--layout";
        ev[n++] = o->layout;
    }
    ev[n] = NULL;
    char cb[3][32];
    if (!strcmp(backend, "spice"))
        corner_args(o, cb, ev, &n);
    return step(o, k, what, ev, "accuracy", acc, NULL, NULL);
}

fg_status pipeline_run(const pipe_opts *o, pipe_result *r)
{
    memset(r, 0, sizeof *r);
    r->spice_images = o->spice_images;
    mkdir(o->dir, 0777);
    double t0 = fg_now();
    fg_status st = calibrate(o, r);
    if (st == FG_OK)
        st = train_both(o, r);
    int n = o->spice_images;
    if (st == FG_OK)
        st = evaluate(o, 5, "mlp-ideal.ckpt", "ideal", n, &r->digital_first);
    if (st == FG_OK)
        st = evaluate(o, 6, "mlp-ideal.ckpt", "hwa", 10000, &r->ideal_on_hwa);
    if (st == FG_OK)
        st = evaluate(o, 7, "mlp-hwa.ckpt", "hwa", 10000, &r->hwa_on_hwa);
    if (st == FG_OK)
        st = evaluate(o, 8, "mlp-ideal.ckpt", "spice", n, &r->ideal_on_spice);
    if (st == FG_OK)
        st = evaluate(o, 9, "mlp-hwa.ckpt", "spice", n, &r->hwa_on_spice);
    r->seconds = fg_now() - t0;
    return st;
}

cJSON *pipeline_json(const pipe_opts *o, const pipe_result *r)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "layout", o->layout);
    const struct { const char *k; double v; } f[] = {
        {"digital_accuracy", r->digital}, {"digital_on_spice_images", r->digital_first},
        {"ideal_on_hwa", r->ideal_on_hwa}, {"ideal_on_spice", r->ideal_on_spice},
        {"hwa_on_hwa", r->hwa_on_hwa}, {"hwa_on_spice", r->hwa_on_spice},
        {"spice_images", r->spice_images}, {"ser_naive_db", r->ser_naive},
        {"ser_linear_db", r->ser_linear}, {"ser_fitted_db", r->ser_fitted},
        {"calibration_patterns", o->patterns}, {"seconds", r->seconds},
        {"temp_c", o->corner.temp_c}, {"supply", o->corner.supply},
        {"drift_s", o->corner.drift_s}, {"energy_per_vmm_J", r->energy_vmm},
        {"energy_per_mac_J", r->energy_mac}, {"latency_s", r->latency},
    };
    for (size_t k = 0; k < sizeof f / sizeof f[0]; k++)
        cJSON_AddNumberToObject(j, f[k].k, isfinite(f[k].v) ? f[k].v : 0.0);
    return j;
}

void pipeline_table_row(FILE *f, const pipe_opts *o, const pipe_result *r)
{
    fprintf(f, "| %s | %.1f / %.1f / %.1f | %.2f%% | %.2f%% | %.2f%% | %.2f%% (%.2f%%) | %.2f%% "
               "| %d | %.4g | %.4g | %.4g |\n",
            o->layout, r->ser_naive, r->ser_linear, r->ser_fitted, 100 * r->digital,
            100 * r->ideal_on_hwa, 100 * r->hwa_on_hwa, 100 * r->ideal_on_spice,
            100 * r->digital_first, 100 * r->hwa_on_spice, r->spice_images,
            1e15 * r->energy_vmm, 1e15 * r->energy_mac, 1e9 * r->latency);
}

void pipeline_table_head(FILE *f)
{
    fprintf(f, "| layout | SER naive / linear / fitted (dB) | digital | ideal-trained on hwa "
               "| HWA-trained on hwa | ideal-trained on spice (digital, same images) "
               "| HWA-trained on spice | spice images | energy/VMM (fJ) | energy/MAC (fJ) "
               "| latency (ns) |\n"
               "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
}
