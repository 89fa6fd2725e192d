/* Parasitic extraction: closed-form wire R and C, one lump per cell. */
#include "netlists.h"

#include <math.h>

double nl_wire_res(double sheet_res_ohm_sq, double length_m, double width_m)
{
    return sheet_res_ohm_sq * length_m / width_m;
}

double nl_wire_cap_ground(double eps_r, double length_m, double width_m,
                          double thickness_m, double height_m)
{
    double eps = eps_r * NL_EPS0;
    return eps * length_m *
           (1.15 * (width_m / height_m) + 2.80 * pow(thickness_m / height_m, 0.222));
}

double nl_wire_cap_couple(double eps_r, double length_m, double width_m,
                          double thickness_m, double height_m, double spacing_m)
{
    double eps = eps_r * NL_EPS0, th = thickness_m / height_m;
    double k = 0.03 * (width_m / height_m) + 0.83 * th - 0.07 * pow(th, 0.222);
    return eps * length_m * k * pow(spacing_m / height_m, -1.34);
}

double nl_wire_cap_cross(double eps_r, double width1_m, double width2_m,
                         double distance_m)
{
    return eps_r * NL_EPS0 * (width1_m + distance_m) * (width2_m + distance_m) /
           distance_m;
}

static double line_res(const nl_layout *l, const nl_line *ln, double len)
{
    return nl_wire_res(l->layers[ln->layer].sheet_res_ohm_sq, len, ln->width_m);
}

static double line_cap(const nl_layout *l, const nl_line *ln, double len)
{
    const nl_layer *ly = &l->layers[ln->layer];
    return nl_wire_cap_ground(l->eps_r, len, ln->width_m, ly->thickness_m, ly->height_m);
}

static double line_couple(const nl_layout *l, const nl_line *ln, double len,
                          double spacing)
{
    const nl_layer *ly = &l->layers[ln->layer];
    return nl_wire_cap_couple(l->eps_r, len, ln->width_m, ly->thickness_m,
                              ly->height_m, spacing);
}

/* Bit lines: their own segment C, and either coupling to the neighbour or,
 * with shields, coupling to a grounded shield on each side (to ground). */
static void extract_bit_lines(const nl_layout *l, nl_parasitics *p)
{
    double len = l->pitch_y_m;
    p->r_bl_seg = line_res(l, &l->bl, len);
    p->c_bl_seg = line_cap(l, &l->bl, len);
    if (l->shields) {
        double s = (l->pitch_x_m - l->bl.width_m - l->shield_width_m) / 2;
        p->c_bl_seg += 2 * line_couple(l, &l->bl, len, s);
        p->c_bl_bl = 0;
    } else
        p->c_bl_bl = line_couple(l, &l->bl, len, l->pitch_x_m - l->bl.width_m);
}

/* Word-line feeds in a bus beside the edge bit line: rows 0-7 beside bit
 * line 0, rows 8-15 beside bit line 15; the feed of row i is track
 * (i mod 8) counted from the bit line, so nearer tracks couple more. */
static void extract_feeds(const nl_layout *l, nl_parasitics *p)
{
    for (int i = 0; i < FG_ROWS; i++) {
        int track = i % (FG_ROWS / 2);
        double s = l->feed_spacing_m + track * (l->feed.width_m + l->feed_spacing_m);
        p->c_feed[i] = l->wl_feed ? line_couple(l, &l->feed, l->pitch_y_m, s) : 0;
    }
}

fg_status nl_extract(const nl_layout *l, const fg_op_point *op, nl_parasitics *p)
{
    *p = (nl_parasitics){0};
    const nl_layer *lw = &l->layers[l->wl.layer], *lb = &l->layers[l->bl.layer];
    p->r_wl_seg = line_res(l, &l->wl, l->pitch_x_m);
    p->c_wl_seg = line_cap(l, &l->wl, l->pitch_x_m);
    extract_bit_lines(l, p);
    double d = lb->height_m - (lw->height_m + lw->thickness_m);
    if (d <= 0)
        return fg_error(FG_ERR_RANGE, "layout %s: bit-line layer overlaps the word-line layer",
                        l->name);
    p->c_cross = nl_wire_cap_cross(l->eps_r, l->wl.width_m, l->bl.width_m, d);
    /* a row's source line draws current all along: a lumped R/3 equivalent */
    p->r_sl_row = line_res(l, &l->sl, FG_COLS * l->pitch_x_m) / 3.0 +
                  l->layers[l->sl.layer].via_res_ohm / FG_COLS;
    extract_feeds(l, p);
    double c_wl_row = FG_COLS * (p->c_wl_seg + p->c_cross);
    p->tau_wl = FG_COLS * p->r_wl_seg * c_wl_row;
    p->ir_bl = FG_ROWS * p->r_bl_seg * FG_ROWS * op->i_unit;
    p->merge_wl = p->tau_wl < NL_TAU_MERGE;
    p->merge_bl = p->ir_bl < NL_IR_MERGE;
    p->c_bl_wire = FG_ROWS * (p->c_bl_seg + p->c_cross + 2 * p->c_bl_bl);
    p->c_bl_total = l->c_bl_F + p->c_bl_wire;
    p->r_bl_total = FG_ROWS * p->r_bl_seg;
    p->r_wl_total = FG_COLS * p->r_wl_seg + lw->via_res_ohm;
    double c_feed_max = 0; /* feed of row i couples over rows 0..i */
    for (int i = 0; i < FG_ROWS; i++)
        c_feed_max = fmax(c_feed_max, (i + 1) * p->c_feed[i]);
    p->c_wl_total = c_wl_row + c_feed_max;
    return FG_OK;
}

void nl_parasitics_print(const nl_parasitics *p, FILE *f)
{
    fprintf(f, "word line segment   R %.4g ohm  C %.4g F\n", p->r_wl_seg, p->c_wl_seg);
    fprintf(f, "bit line segment    R %.4g ohm  C %.4g F\n", p->r_bl_seg, p->c_bl_seg);
    fprintf(f, "WL/BL crossover     C %.4g F\n", p->c_cross);
    fprintf(f, "BL-BL coupling      C %.4g F per segment\n", p->c_bl_bl);
    fprintf(f, "WL feed coupling    C %.4g F (nearest track) per segment\n", p->c_feed[0]);
    fprintf(f, "source line row     R %.4g ohm\n", p->r_sl_row);
    fprintf(f, "bit line total      C %.4g F (wire %.4g F), wire R %.4g ohm\n",
            p->c_bl_total, p->c_bl_wire, p->r_bl_total);
    fprintf(f, "word line total     C %.4g F (worst feed), wire R %.4g ohm\n",
            p->c_wl_total, p->r_wl_total);
    fprintf(f, "word line wire RC   %.3g s -> %s\n", p->tau_wl,
            p->merge_wl ? "one node per word line" : "one lump per cell");
    fprintf(f, "bit line IR drop    %.3g V -> %s\n", p->ir_bl,
            p->merge_bl ? "one node per bit line" : "one lump per cell");
}
