/* netlists.h — layout description, parasitic extraction and SPICE decks of
 * a 16x16 floating-gate array.
 *
 * Worked example: the deck for the default layout, one input vector.
 *
 *     nl_layout *lay;
 *     if (nl_layout_load("regular", &lay) != FG_OK)     // or a JSON file
 *         fprintf(stderr, "%s\n", fg_errmsg());
 *     double dvt[FG_CELLS] = {0}, x[FG_ROWS] = {0};   // V, pulse fractions
 *     x[3] = 0.5;
 *     nl_deck_spec spec = {.layout = lay, .op = nl_layout_op_point(lay),
 *                          .dvt = dvt, .x = x, .max_step_scale = 1.0};
 *     char *deck;
 *     nl_deck_build(&spec, &deck);   // `ngspice -b` prints vbl0 ... vbl15
 *     free(deck);
 *     nl_layout_free(lay);
 *
 * Names: word line i is net wl<i> at its driver and wl<i>_<j> over cell
 * (i,j); bit line j is the sense net bl<j> (integrating capacitor, read) and
 * bl<j>_<i> over cell (i,j); cell (i,j) is M<i>_<j> with gate g<i>_<j> and
 * threshold-shift source VFG_<i>_<j> (wl<i>_<j> -> g<i>_<j>, DC = dVT).
 * Units are SI everywhere.
 */
#ifndef NETLISTS_H
#define NETLISTS_H

#include "fgcore.h"

/* ---- layout --------------------------------------------------------------- */
typedef struct {
    double height_m;         /* bottom of the layer above the substrate */
    double thickness_m;
    double sheet_res_ohm_sq;
    double via_res_ohm;      /* one contact or via down to the device   */
} nl_layer;

typedef struct {
    int layer;       /* index into nl_layout.layers */
    double width_m;
} nl_line;

typedef struct nl_layout nl_layout;
struct nl_layout {
    char name[64];
    char *json;                /* canonical JSON text                    */
    double pitch_x_m;          /* cell pitch along the word line         */
    double pitch_y_m;          /* cell pitch along the bit line          */
    double eps_r;
    int nlayers;
    char layer_names[8][16];
    nl_layer layers[8];
    nl_line wl, bl, sl;
    double driver_res_ohm;     /* word-line driver output resistance     */
    double sl_strap_res_ohm;   /* source-line strap to ground            */
    double c_bl_F;             /* bit-line integrating capacitor         */
    int shields;               /* grounded shields between bit lines     */
    double shield_width_m;
    int wl_feed;               /* word-line feeds beside the edge BLs    */
    nl_line feed;
    double feed_spacing_m;
};

/* Built-in name (see nl_builtin_layouts) or a JSON file. Errors name the
 * file and field: FG_ERR_IO, FG_ERR_PARSE, FG_ERR_RANGE. */
fg_status nl_layout_load(const char *name_or_path, nl_layout **out);
/* Parses JSON text; `what` names the source in error messages. */
fg_status nl_layout_parse(const char *text, const char *what, nl_layout **out);
void nl_layout_free(nl_layout *l);
const char *nl_layout_name(const nl_layout *l);
const char *nl_layout_json(const nl_layout *l);
/* core's default operating point with the layout's C_BL. */
fg_op_point nl_layout_op_point(const nl_layout *l);
const char *const *nl_builtin_layouts(void); /* NULL-terminated */

/* ---- parasitic extraction (extract.c) ---------------------------------------
 * Closed-form wire models for a line of width W and thickness T whose bottom
 * is H above the ground plane, in a dielectric eps = eps_r * eps0:
 *   R        = rho_s * L / W                                  (ohm)
 *   C_ground = eps * L * (1.15 (W/H) + 2.80 (T/H)^0.222)      (Sakurai-Tamaru)
 *   C_couple = eps * L * (0.03 (W/H) + 0.83 (T/H) - 0.07 (T/H)^0.222)
 *                      * (S/H)^-1.34       for two parallel lines at spacing S
 *   C_cross  = eps * (W1 + d) * (W2 + d) / d   for two crossing lines whose
 *              facing surfaces are d apart (parallel plate, each edge
 *              widened by d/2 for the fringe field).                        */
#define NL_EPS0 8.8541878128e-12
double nl_wire_res(double sheet_res_ohm_sq, double length_m, double width_m);
double nl_wire_cap_ground(double eps_r, double length_m, double width_m,
                          double thickness_m, double height_m);
double nl_wire_cap_couple(double eps_r, double length_m, double width_m,
                          double thickness_m, double height_m, double spacing_m);
double nl_wire_cap_cross(double eps_r, double width1_m, double width2_m,
                         double distance_m);

/* One lump per cell: the elements the deck writer places. */
typedef struct {
    double r_wl_seg, c_wl_seg;   /* per cell segment of a word line      */
    double r_bl_seg, c_bl_seg;   /* per cell segment of a bit line       */
    double r_sl_row;             /* source line of one row, lumped (R/3) */
    double c_cross;              /* WL/BL crossover at each cell         */
    double c_bl_bl;              /* neighbouring bit lines, per segment  */
    double c_feed[FG_ROWS];      /* feed of row i to the edge bit line it
                                    runs beside, per segment passed      */
    double c_bl_total;           /* C_BL + all wire C on one bit line    */
    double r_wl_total, c_wl_total; /* one word line: wire R from its driver
                                    to the far end (with the via), and all
                                    its C (ground, crossovers, feed)     */
    double r_bl_total, c_bl_wire;  /* one bit line: wire R over 16 rows, and
                                    its wire C (without C_BL)            */
    double tau_wl, ir_bl;        /* WL wire R*C (s); BL wire IR drop (V)
                                    at 16 cells of I_unit                */
    int merge_wl, merge_bl;      /* RC reduction: one node per line      */
} nl_parasitics;

/* RC reduction: a word line whose wire R*C is below NL_TAU_MERGE, or a bit
 * line whose wire IR drop at 16 * I_unit is below NL_IR_MERGE, is written as
 * one node (all its segment capacitances summed, the couplings kept per
 * cell): the result changes by far less than the 0.1 mV resolution, and the
 * deck has ~2.5x fewer unknowns. Other layouts keep one lump per cell. */
#define NL_TAU_MERGE 5e-12
#define NL_IR_MERGE 10e-6

fg_status nl_extract(const nl_layout *l, const fg_op_point *op, nl_parasitics *p);
/* Human-readable summary, one element per line. */
void nl_parasitics_print(const nl_parasitics *p, FILE *f);

/* ---- cell model ------------------------------------------------------------- */
const char *nl_model_card(void);           /* `.model nfg ...` text       */
const char *nl_cell_instance_params(void); /* "W=0.2u L=0.1u"              */

#define NL_RELTOL_DEFAULT 1e-3 /* ngspice's own default */
/* The VMM deck's charge meters: v(qsl) and v(qw<i>) change by NL_METER_GAIN
 * times the charge (C) through the source-line strap to ground, and that
 * driver i sources into its word line (nl_write_periphery). */
#define NL_METER_GAIN 1e-6

/* ---- decks -------------------------------------------------------------------- */
/* How the VMM deck drives the word lines. Both forms give the same
 * waveform, the trapezoid of nl_pulse_params; they differ in the
 * breakpoints ngspice steps on, and so in the time points of the transient
 * (~42 % fewer with fall breaks on random patterns, closer to a 100x finer
 * step on five of the six built-in layouts: spice_decks/TRANSIENT.md). */
typedef enum {
    NL_WL_AUTO = 0,    /* fall breaks where the word lines are fast (RC
                          under NL_WL_FAST_TAU: the step may pass the end
                          of a fall), PULSE otherwise and on an external
                          array netlist (nl_deck_wl_drive)              */
    NL_WL_FALL_BREAKS, /* B sources of time; breakpoints at the rise and
                          at each pulse's fall start only               */
    NL_WL_PULSE,       /* PULSE sources, a breakpoint at every corner    */
} nl_wl_drive;
/* Word-line RC (driver and wire R into wire and gate C) below which the
 * deck needs no breakpoint at the end of a fall, R and C lumped: on
 * `dense` (5 kOhm drivers, 34 ps) the trapezoidal rule rings on the
 * lagging word line when a step passes a fall's end (0.15 mV on the bit
 * lines; with 500 Ohm drivers, 5.4 ps, 0.044 mV); the other built-in
 * layouts have 3.8-8.8 ps. */
#define NL_WL_FAST_TAU 10e-12

typedef struct {
    const nl_layout *layout;     /* geometry of the generated array       */
    const char *array_netlist;   /* NULL, or a user's flat array netlist  */
    fg_op_point op;              /* nominal operating point               */
    const fg_corner *corner;     /* NULL = nominal; else .temp, the rails
                                    scaled by the supply, and the dvt
                                    after retention drift                 */
    const double *dvt;           /* (16,16) programmed threshold shifts, V */
    const double *x;             /* (16) pulse fractions in [0,1]         */
    double max_step_scale;       /* 1.0; 0.1 for the accuracy check       */
    double reltol;               /* the transient's relative tolerance;
                                    0 = NL_RELTOL_DEFAULT                  */
    nl_wl_drive wl_drive;        /* word-line sources (0: auto)           */
    int verify;                  /* 0: the VMM transient deck; 1: the DC
                                    verify deck (below); x is then unused */
    int verify_row;              /* verify deck: the row driven at V_read,
                                    the others at 0 V (-1: none)          */
} nl_deck_spec;

/* A complete deck (malloc'd, '\n'-separated, title first, .end last) that
 * `ngspice -b` runs as is; it prints `vbl<j> = <volts>` at read time.
 *
 * The verify deck (spec.verify = 1) reads cell currents for
 * program-and-verify: the same array (generated layout or external
 * netlist, same parasitics, cells and VFG_<i>_<j> sources), word-line
 * drivers VWL<i> as DC sources behind the same output resistance (0 V;
 * row verify_row at V_read: alter @vwl<i>[dc] to read another row), the
 * source line and its strap as in the VMM deck, and every bit line's
 * sense net bl<j> held at V_pre through a 0 V ammeter VAM<j>: i(vam<j>)
 * (vector vam<j>#branch, positive) is the current that column j's cells
 * draw, so that with one row on it is that row's cell currents, read
 * through the real bit-line and source-line resistances. Analysis .op
 * (tightened tolerances); `ngspice -b` prints the 16 currents among the
 * operating point. The corner's .temp and rails apply; its retention
 * drift does not (the cells are read right at programming). No precharge
 * switch or sense capacitors (open at DC). */
fg_status nl_deck_build(const nl_deck_spec *spec, char **text);
/* The drive called name (n bytes): "auto", "few" (fall breaks) or "all"
 * (PULSE); 0, or -1 when name is none of NL_WL_DRIVE_NAMES. */
#define NL_WL_DRIVE_NAMES "auto, few or all"
int nl_wl_drive_parse(const char *name, size_t n, nl_wl_drive *d);
/* The drive the deck of spec writes (spec->wl_drive, NL_WL_AUTO
 * resolved); the cosim driver alters the inputs of that drive. */
nl_wl_drive nl_deck_wl_drive(const nl_deck_spec *spec);
/* PULSE(v1 v2 td tr tf pw per) of word line input x, as in the deck. */
void nl_pulse_params(const fg_op_point *op, double x, double p[7]);
/* The ngspice `alter` commands ('\n'-separated, no trailing newline) that
 * set row `row` of a loaded VMM deck of drive d (resolved, not AUTO) to
 * input x; returns the length snprintf would write (>= n: buf too small). */
size_t nl_wl_alters(const fg_op_point *op, int row, double x, nl_wl_drive d, char *buf,
                    size_t n);
double nl_t_read(const fg_op_point *op); /* read time = .tran stop, s */
/* The phases of one VMM in the deck, s: precharge (bit lines held at V_pre
 * through the switches, released, then a guard until the pulses start),
 * integrate (the longest pulse, T_max, and its falling edge), read (the
 * bit lines settle before they are sampled). total_s = nl_t_read(op): the
 * latency of one VMM, the next VMM's precharge recharging the bit lines.
 * op: the operating point applied (fg_corner_op: a T_max trim counts). */
typedef struct {
    double precharge_s, integrate_s, read_s, total_s;
} nl_vmm_timing;
nl_vmm_timing nl_timing(const fg_op_point *op);

/* Checks a user's flat array netlist: ports wl0..wl15, bl0..bl15, sl and
 * sources VFG_<i>_<j>; errors name the file and what is missing. */
fg_status nl_array_netlist_check(const char *path);

#endif
