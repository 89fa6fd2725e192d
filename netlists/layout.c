/* Layout files (JSON, schema in spice_decks/LAYOUT.md) and built-ins. */
#include "netlists.h"
#include "nl_embedded.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const builtin_names[] = {"regular", "edge-feed", "shielded",
                                            "dense", "low-cap", "coupled",
                                            NULL};

const char *const *nl_builtin_layouts(void) { return builtin_names; }

typedef struct {
    const char *what; /* file name for messages */
    fg_status st;
} parse_ctx;

/* A positive finite number in [lo, hi] at obj.key, or an error naming it. */
static double num_field(parse_ctx *c, const cJSON *obj, const char *path,
                        const char *key, double lo, double hi)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (c->st != FG_OK)
        return 0;
    if (!v) {
        c->st = fg_error(FG_ERR_PARSE, "%s: missing field %s%s", c->what, path, key);
        return 0;
    }
    if (!cJSON_IsNumber(v)) {
        c->st = fg_error(FG_ERR_PARSE, "%s: field %s%s is not a number", c->what, path, key);
        return 0;
    }
    double d = v->valuedouble;
    if (!isfinite(d) || d < lo || d > hi)
        c->st = fg_error(FG_ERR_RANGE, "%s: field %s%s = %g is outside [%g, %g]",
                         c->what, path, key, d, lo, hi);
    return d;
}

static int layer_index(const nl_layout *l, const char *name)
{
    for (int k = 0; k < l->nlayers; k++)
        if (!strcmp(l->layer_names[k], name))
            return k;
    return -1;
}

static void parse_layers(parse_ctx *c, const cJSON *root, nl_layout *l)
{
    const cJSON *ls = cJSON_GetObjectItemCaseSensitive(root, "layers"), *e;
    if (!cJSON_IsObject(ls) || !ls->child) {
        c->st = fg_error(FG_ERR_PARSE, "%s: field layers must be an object of layers", c->what);
        return;
    }
    cJSON_ArrayForEach(e, ls) {
        if (c->st != FG_OK)
            return;
        if (l->nlayers == 8 || strlen(e->string) >= sizeof l->layer_names[0]) {
            c->st = fg_error(FG_ERR_RANGE, "%s: layers: at most 8 layers, names under 16 characters", c->what);
            return;
        }
        char path[64];
        snprintf(path, sizeof path, "layers.%s.", e->string);
        nl_layer *ly = &l->layers[l->nlayers];
        snprintf(l->layer_names[l->nlayers++], sizeof l->layer_names[0], "%s", e->string);
        ly->height_m = num_field(c, e, path, "height_m", 1e-9, 1e-4);
        ly->thickness_m = num_field(c, e, path, "thickness_m", 1e-9, 1e-4);
        ly->sheet_res_ohm_sq = num_field(c, e, path, "sheet_res_ohm_sq", 0, 1e4);
        ly->via_res_ohm = num_field(c, e, path, "via_res_ohm", 0, 1e6);
    }
}

static void parse_line(parse_ctx *c, const cJSON *root, const char *key,
                       nl_layout *l, nl_line *line)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, key);
    if (c->st != FG_OK)
        return;
    if (!cJSON_IsObject(o)) {
        c->st = fg_error(FG_ERR_PARSE, "%s: field %s must be an object {layer, width_m}", c->what, key);
        return;
    }
    const cJSON *ly = cJSON_GetObjectItemCaseSensitive(o, "layer");
    line->layer = cJSON_IsString(ly) ? layer_index(l, ly->valuestring) : -1;
    if (line->layer < 0) {
        c->st = fg_error(FG_ERR_PARSE, "%s: field %s.layer names no layer of 'layers'", c->what, key);
        return;
    }
    char path[32];
    snprintf(path, sizeof path, "%s.", key);
    line->width_m = num_field(c, o, path, "width_m", 1e-9, 1e-4);
}

/* Optional features: false/null = off, or an object of their fields. */
static const cJSON *optional_obj(parse_ctx *c, const cJSON *root, const char *key)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!o || cJSON_IsNull(o) || cJSON_IsFalse(o))
        return NULL;
    if (!cJSON_IsObject(o) && c->st == FG_OK)
        c->st = fg_error(FG_ERR_PARSE, "%s: field %s must be false, null or an object", c->what, key);
    return cJSON_IsObject(o) ? o : NULL;
}

static void parse_options(parse_ctx *c, const cJSON *root, nl_layout *l)
{
    const cJSON *sh = optional_obj(c, root, "bl_shields");
    if (sh) {
        l->shields = 1;
        l->shield_width_m = num_field(c, sh, "bl_shields.", "width_m", 1e-9, 1e-4);
    }
    const cJSON *fd = optional_obj(c, root, "wl_feed");
    if (fd) {
        l->wl_feed = 1;
        parse_line(c, root, "wl_feed", l, &l->feed);
        l->feed_spacing_m = num_field(c, fd, "wl_feed.", "spacing_m", 1e-9, 1e-4);
    }
}

/* Geometry must leave room: spacing between bit lines (and shields). */
static void check_geometry(parse_ctx *c, nl_layout *l)
{
    if (c->st != FG_OK)
        return;
    double used = l->bl.width_m + (l->shields ? l->shield_width_m : 0);
    if (used >= l->pitch_x_m)
        c->st = fg_error(FG_ERR_RANGE, "%s: bit line%s (%g m) do not fit in cell_pitch_x_m %g",
                         c->what, l->shields ? " + shield" : "", used, l->pitch_x_m);
    else if (l->wl.width_m >= l->pitch_y_m)
        c->st = fg_error(FG_ERR_RANGE, "%s: wl.width_m %g does not fit in cell_pitch_y_m %g",
                         c->what, l->wl.width_m, l->pitch_y_m);
    else if (l->layers[l->wl.layer].height_m >= l->layers[l->bl.layer].height_m)
        c->st = fg_error(FG_ERR_RANGE, "%s: the bit-line layer must lie above the word-line layer",
                         c->what);
}

static void parse_root(parse_ctx *c, const cJSON *root, nl_layout *l)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(root, "name");
    if (!cJSON_IsString(name) || !name->valuestring[0] ||
        strlen(name->valuestring) >= sizeof l->name) {
        c->st = fg_error(FG_ERR_PARSE, "%s: field name must be a non-empty string", c->what);
        return;
    }
    snprintf(l->name, sizeof l->name, "%s", name->valuestring);
    l->pitch_x_m = num_field(c, root, "", "cell_pitch_x_m", 1e-8, 1e-4);
    l->pitch_y_m = num_field(c, root, "", "cell_pitch_y_m", 1e-8, 1e-4);
    l->eps_r = num_field(c, root, "", "dielectric_eps_r", 1.0, 100.0);
    l->driver_res_ohm = num_field(c, root, "", "driver_res_ohm", 1e-3, 1e7);
    l->sl_strap_res_ohm = num_field(c, root, "", "sl_strap_res_ohm", 1e-3, 1e7);
    l->c_bl_F = num_field(c, root, "", "c_bl_F", 1e-15, 1e-11);
    if (c->st == FG_OK)
        parse_layers(c, root, l);
    parse_line(c, root, "wl", l, &l->wl);
    parse_line(c, root, "bl", l, &l->bl);
    parse_line(c, root, "sl", l, &l->sl);
    parse_options(c, root, l);
    check_geometry(c, l);
}

fg_status nl_layout_parse(const char *text, const char *what, nl_layout **out)
{
    cJSON *root = cJSON_Parse(text);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        int line = 1;
        for (const char *p = text; at && p < at; p++)
            line += *p == '\n';
        return fg_error(FG_ERR_PARSE, "%s:%d: malformed JSON", what, line);
    }
    nl_layout *l = calloc(1, sizeof *l);
    parse_ctx c = {.what = what, .st = l ? FG_OK : FG_ERR_NOMEM};
    if (l && cJSON_IsObject(root))
        parse_root(&c, root, l);
    else if (l)
        c.st = fg_error(FG_ERR_PARSE, "%s: the layout must be a JSON object", what);
    if (c.st == FG_OK && !(l->json = cJSON_PrintUnformatted(root)))
        c.st = fg_error(FG_ERR_NOMEM, "out of memory");
    cJSON_Delete(root);
    if (c.st != FG_OK) {
        nl_layout_free(l);
        return c.st;
    }
    *out = l;
    return FG_OK;
}

fg_status nl_layout_load(const char *name_or_path, nl_layout **out)
{
    for (int k = 0; builtin_names[k]; k++)
        if (!strcmp(name_or_path, builtin_names[k])) {
            char what[96];
            snprintf(what, sizeof what, "built-in layout %s", builtin_names[k]);
            return nl_layout_parse(nl_embedded_layout(k), what, out);
        }
    if (!strchr(name_or_path, '/') && !strstr(name_or_path, ".json"))
        return fg_error(FG_ERR_RANGE,
                        "unknown layout '%s' (built-in: regular, edge-feed, shielded, dense, low-cap, coupled; or a .json file)",
                        name_or_path);
    char *text;
    fg_status st = fg_file_read(name_or_path, &text, NULL);
    if (st != FG_OK)
        return st;
    st = nl_layout_parse(text, name_or_path, out);
    free(text);
    return st;
}

void nl_layout_free(nl_layout *l)
{
    if (!l)
        return;
    free(l->json);
    free(l);
}

const char *nl_layout_name(const nl_layout *l) { return l->name; }
const char *nl_layout_json(const nl_layout *l) { return l->json; }

fg_op_point nl_layout_op_point(const nl_layout *l)
{
    fg_op_point op = fg_op_point_default();
    op.c_bl = l->c_bl_F;
    return op;
}
