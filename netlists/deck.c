/* The SPICE deck of one VMM: drivers, word lines, bit lines, cells, source
 * line, precharge, stimulus and read-out, each written by its own function.
 *
 * Timing (s): the precharge switch opens at T_PRE_OFF; all word-line pulses
 * start at T_START; input x is a pulse of x*T_max measured at half height
 * (edges of NL_T_EDGE, shortened for narrower pulses so that the area stays
 * V_read*x*T_max); the bit lines are read at T_START + T_max + NL_T_EDGE +
 * T_SETTLE, which is where the transient stops.
 *
 * Cost (ngspice 39, one core of the 2-core build machine, 20 dense and 20
 * sparse random patterns on regular): ~104 time points, ~250 Newton iterations and
 * ~67 ms of CPU a transient with the default word-line drive, ~180 points
 * and ~93 ms with PULSE sources (NL_WL_PULSE), since ngspice cuts the step
 * to 1/10 at every breakpoint and regrows it at most 2x per step: the
 * default sets breakpoints only at the rises and at each pulse's fall
 * start (B sources of time, write_fall_breaks_driver). ~80 % of the time
 * is BSIM4 evaluation. Max step 5 ns. Against PULSE sources at a 10x
 * smaller max step and reltol 1e-5 the default is within 0.09 mV on
 * regular (0.045 mV from a 100x smaller step at reltol 1e-6, where PULSE
 * sources are 0.09 mV off); no solver setting (reltol, trtol, gear, max
 * step, vntol/abstol, minbreak) cuts the points by more than a few per
 * cent at equal accuracy: spice_decks/TRANSIENT.md (bench/tran_settings.c).
 *
 * The verify deck (nl_deck_spec.verify) shares every array part; only the
 * drivers (DC levels) and the periphery (ammeters, .op) differ. */
#include "netlists.h"
#include "nl_embedded.h"
#include "nl_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define T_PRE_OFF 4e-9
#define T_START 5e-9
#define NL_T_EDGE 0.5e-9
#define T_SETTLE 2e-9
#define MAX_STEP 5e-9 /* < 40 uV against 10x smaller (netlists:deck test) */
/* `.meas ... FIND v(bl<j>) AT=t` fails in ngspice 39 ("out of interval")
 * when the last time point rounds to just below the stop time (seen on
 * random input patterns), so the deck measures 1e-9 * t_read (0.1 fs)
 * before the stop: the bit lines are settled there, the value is that of
 * the last point (which is what cosim reads) to far below 1 uV. */
#define NL_MEAS_EARLY 1e-9

const char *nl_model_card(void) { return nl_embedded_model_card(); }
const char *nl_cell_instance_params(void) { return "W=0.2u L=0.1u"; }
/* A cell's gate capacitance on its word line, F: Cox W L of the card
 * (toxe 4 nm, 0.2 x 0.1 um: 0.17 fF) plus both overlaps (cgdo = cgso =
 * 3e-10 F/m: 0.12 fF); for the word line's RC (nl_deck_wl_drive) only. */
#define NL_CELL_GATE_C 0.29e-15

/* ngspice reads a PULSE width of 0 as "until TSTOP": the flat top is never
 * 0. Pulses of at least two edges keep NL_T_EDGE edges; narrower ones are
 * trapezoids of edges and top w/2 each (continuous at w = 2 NL_T_EDGE), so
 * the area is V_read * x * T_max for every x. x = 0 has amplitude 0. */
void nl_pulse_params(const fg_op_point *op, double x, double p[7])
{
    double w = (x > 0 ? x : 0) * op->t_max;
    double te = w >= 2 * NL_T_EDGE ? NL_T_EDGE : w > 1e-12 ? w / 2 : NL_T_EDGE;
    p[0] = 0.0;
    p[1] = w > 1e-12 ? op->v_read : 0.0;
    p[2] = T_START;
    p[3] = te;
    p[4] = te;
    p[5] = w > 1e-12 ? w - te : te;
    p[6] = 1.0; /* period: one pulse per run */
}

double nl_t_read(const fg_op_point *op)
{
    return T_START + op->t_max + NL_T_EDGE + T_SETTLE;
}

nl_vmm_timing nl_timing(const fg_op_point *op)
{
    nl_vmm_timing t = {.precharge_s = T_START, .integrate_s = op->t_max + NL_T_EDGE,
                       .read_s = T_SETTLE};
    t.total_s = nl_t_read(op);
    return t;
}

/* ---- growable text ---------------------------------------------------------- */
void nl_sb_printf(nl_sb *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        size_t room = b->cap - b->len;
        va_start(ap, fmt);
        int n = b->data ? vsnprintf(b->data + b->len, room, fmt, ap) : -1;
        va_end(ap);
        if (n >= 0 && (size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? 2 * b->cap : 1 << 16;
        while (n >= 0 && cap < b->len + (size_t)n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) {
            b->failed = 1;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
}

/* ---- parts of the array ------------------------------------------------------- */
/* Solver options, stated so that a user's spinit cannot change them. */
static void write_options(nl_sb *b, int verify, double reltol)
{
    nl_sb_printf(b,
        "* solver: ngspice 39 as packaged by Debian carries no KLU (.options klu\n"
        "* is silently ignored), so the default sparse solver runs; the cost is\n"
        "* ~80%% BSIM4 evaluation. Tolerances are ngspice's defaults unless\n"
        "* reltol is set; the max step (.tran) keeps bit-line voltages within\n"
        "* 0.1 mV of a 10x smaller one. One thread: workers run in parallel\n"
        "* processes instead.\n"
        ".options num_threads=1 reltol=%.3g abstol=1e-12 vntol=1e-6 chgtol=1e-14\n",
        reltol > 0 ? reltol : NL_RELTOL_DEFAULT);
    /* Verify reads currents down to ~25 pA (w = 0.001) against a 1 %
     * tolerance, below the default abstol of 1 pA; the .op Newton converges
     * quadratically, so on the built-in decks the currents agree to the 7
     * digits `ngspice -b` prints either way: a margin, at no measurable cost. */
    if (verify)
        nl_sb_printf(b, ".options reltol=1e-5 abstol=1e-16 vntol=1e-9\n");
}

static void write_header(nl_sb *b, const nl_deck_spec *s, const char *what)
{
    const fg_op_point *op = &s->op;
    char corner[256];
    fg_corner_describe(s->corner, corner, sizeof corner);
    nl_sb_printf(b, "* fgcosim 16x16 FG array %s: %s\n",
                 s->verify ? "verify (DC read)" : "VMM", what);
    nl_sb_printf(b, "* V_pre %g V, V_read %g V, T_max %g s, C_BL %g F, I_unit %g A\n",
                 op->v_pre, op->v_read, op->t_max, op->c_bl, op->i_unit);
    nl_sb_printf(b, "* corner: %s\n", corner);
    if (s->verify)
        nl_sb_printf(b, "* read row: %d (-1: none)\n", s->verify_row);
    else {
        nl_sb_printf(b, "* inputs:");
        for (int i = 0; i < FG_ROWS; i++)
            nl_sb_printf(b, " %.6g", s->x[i]);
        nl_sb_printf(b, "\n");
    }
    write_options(b, s->verify, s->reltol);
    nl_sb_printf(b, ".temp %.6g\n", s->corner ? s->corner->temp_c : FG_TEMP_NOMINAL_C);
}

/* Row i's pulse with breakpoints at its corners that matter only
 * (NL_WL_FALL_BREAKS): the trapezoid of nl_pulse_params, written as a B
 * source of time whose amplitude A (V), edge E (ns) and fall start F (ns)
 * are the DC levels of sources VWLA/VWLE/VWLF<i>, so that the cosim driver
 * alters numbers, not expressions. A B source sets no breakpoints; VWLF,
 * a PWL source held at F, puts its corners at the rise's start and end
 * and at the fall's start, where the cells' currents switch. The fall's
 * end gets none: the gate is 0.55 V lower there and the current
 * e^-14 of what it was, so the step control may pass it; a breakpoint
 * costs ~6 points, since ngspice restarts the step at a tenth of the last
 * one and regrows it at most 2x per step (spice_decks/TRANSIENT.md). A 0 V
 * ammeter VWL<i> (+ at wld<i>) keeps i(vwl<i>) the driver's current, as
 * with a PULSE source. */
static void wl_levels(const fg_op_point *op, double x, double lv[3], double bp[4])
{
    double p[7];
    nl_pulse_params(op, x, p);
    lv[0] = p[1];
    lv[1] = p[3] * 1e9;
    lv[2] = (p[2] + p[3] + p[5]) * 1e9;
    bp[0] = 0.0;
    bp[1] = p[2];
    bp[2] = p[2] + p[3];
    bp[3] = p[1] > 0 ? p[2] + p[3] + p[5] : 1.0; /* x = 0: past the stop */
}

static void write_fall_breaks_driver(nl_sb *b, const fg_op_point *op, int i, double x)
{
    double lv[3], bp[4], t0 = T_START * 1e9;
    wl_levels(op, x, lv, bp);
    nl_sb_printf(b, "VWLA%d wla%d 0 DC %.9g\nVWLE%d wle%d 0 DC %.9g\n", i, i, lv[0], i, i,
                 lv[1]);
    nl_sb_printf(b, "VWLF%d wlf%d 0 PWL(", i, i);
    for (int k = 0; k < 4; k++)
        nl_sb_printf(b, "%s%.9g %.9g", k ? " " : "", bp[k], lv[2]);
    nl_sb_printf(b, ")\nBWL%d wlb%d 0 V = v(wla%d)"
                    " * (uramp((time*1e9-%g)/v(wle%d)) - uramp((time*1e9-%g)/v(wle%d)-1))"
                    " * (1 - uramp((time*1e9-v(wlf%d))/v(wle%d))"
                    " + uramp((time*1e9-v(wlf%d))/v(wle%d)-1))\n",
                 i, i, i, t0, i, t0, i, i, i, i, i);
    nl_sb_printf(b, "VWL%d wld%d wlb%d DC 0\n", i, i, i);
}

size_t nl_wl_alters(const fg_op_point *op, int row, double x, nl_wl_drive d, char *buf,
                    size_t n)
{
    if (d == NL_WL_PULSE) {
        double p[7];
        nl_pulse_params(op, x, p);
        return (size_t)snprintf(buf, n,
                                "alter @vwl%d[pulse] = [ %.9g %.9g %.9g %.9g %.9g %.9g %.9g ]",
                                row, p[0], p[1], p[2], p[3], p[4], p[5], p[6]);
    }
    double lv[3], bp[4];
    wl_levels(op, x, lv, bp);
    return (size_t)snprintf(buf, n,
                            "alter @vwla%d[dc] = %.9g\nalter @vwle%d[dc] = %.9g\n"
                            "alter @vwlf%d[pwl] = [ %.9g %.9g %.9g %.9g %.9g %.9g %.9g %.9g ]",
                            row, lv[0], row, lv[1], row, bp[0], lv[2], bp[1], lv[2], bp[2],
                            lv[2], bp[3], lv[2]);
}

int nl_wl_drive_parse(const char *name, size_t n, nl_wl_drive *d)
{
    static const struct { const char *name; nl_wl_drive d; } names[] = {
        {"auto", NL_WL_AUTO}, {"few", NL_WL_FALL_BREAKS}, {"all", NL_WL_PULSE}};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        if (strlen(names[k].name) == n && !strncmp(name, names[k].name, n)) {
            *d = names[k].d;
            return 0;
        }
    return -1;
}

nl_wl_drive nl_deck_wl_drive(const nl_deck_spec *s)
{
    if (s->wl_drive != NL_WL_AUTO)
        return s->wl_drive;
    nl_parasitics p;
    if (s->array_netlist || !s->layout || nl_extract(s->layout, &s->op, &p) != FG_OK)
        return NL_WL_PULSE;
    double tau = (s->layout->driver_res_ohm + p.r_wl_total) *
                 (p.c_wl_total + FG_COLS * NL_CELL_GATE_C);
    return tau < NL_WL_FAST_TAU ? NL_WL_FALL_BREAKS : NL_WL_PULSE;
}

/* Driver of row i (a DC level in the verify deck) + output resistance
 * into net wl<i> (or into the row's feed wire, which ends at wl<i>). */
static void write_drivers(nl_sb *b, const nl_deck_spec *s, double r_drv)
{
    for (int i = 0; i < FG_ROWS; i++) {
        if (s->verify)
            nl_sb_printf(b, "VWL%d wld%d 0 DC %.9g\n", i, i,
                         i == s->verify_row ? s->op.v_read : 0.0);
        else if (s->wl_drive == NL_WL_FALL_BREAKS)
            write_fall_breaks_driver(b, &s->op, i, s->x[i]);
        else {
            double p[7];
            nl_pulse_params(&s->op, s->x[i], p);
            nl_sb_printf(b, "VWL%d wld%d 0 PULSE(%.9g %.9g %.9g %.9g %.9g %.9g %.9g)\n",
                         i, i, p[0], p[1], p[2], p[3], p[4], p[5], p[6]);
        }
        nl_sb_printf(b, "RDRV%d wld%d wl%d %.6g\n", i, i, i, r_drv);
    }
}

/* Net of word line i over cell j, and of bit line j over row i (one net
 * per line when the RC reduction merged it). */
static const char *wl_net(char *buf, const nl_parasitics *p, int i, int j)
{
    if (p->merge_wl)
        snprintf(buf, 32, "wl%d", i);
    else
        snprintf(buf, 32, "wl%d_%d", i, j);
    return buf;
}

static const char *bl_net(char *buf, const nl_parasitics *p, int j, int i)
{
    if (p->merge_bl)
        snprintf(buf, 32, "bl%d", j);
    else
        snprintf(buf, 32, "bl%d_%d", j, i);
    return buf;
}

/* Word-line feeds beside the edge bit line: the feed of row i rises from
 * the bottom edge past rows 0..i (feed wire R is small next to the driver
 * resistance and is folded into it), coupling to each edge bit-line
 * segment it passes. */
static void write_feeds(nl_sb *b, const nl_parasitics *p)
{
    char bn[32];
    for (int i = 0; i < FG_ROWS; i++) {
        int edge = i < FG_ROWS / 2 ? 0 : FG_COLS - 1;
        if (p->merge_bl)
            nl_sb_printf(b, "CWF%d wl%d %s %.6g\n", i, i, bl_net(bn, p, edge, 0),
                         (i + 1) * p->c_feed[i]);
        else
            for (int k = 0; k <= i; k++)
                nl_sb_printf(b, "CWF%d_%d wl%d %s %.6g\n", i, k, i,
                             bl_net(bn, p, edge, k), p->c_feed[i]);
    }
}

/* Row i runs from its driver side: rows fed from the right edge (feeds of
 * rows 8-15) start at column 15. */
static int wl_col(const nl_layout *l, int i, int k)
{
    return l->wl_feed && i >= FG_ROWS / 2 ? FG_COLS - 1 - k : k;
}

static void write_word_lines(nl_sb *b, const nl_layout *l, const nl_parasitics *p)
{
    double rvia = l->layers[l->wl.layer].via_res_ohm;
    for (int i = 0; i < FG_ROWS; i++) {
        if (p->merge_wl) {
            nl_sb_printf(b, "CWL%d wl%d 0 %.6g\n", i, i, FG_COLS * p->c_wl_seg);
            continue;
        }
        for (int k = 0; k < FG_COLS; k++) {
            int j = wl_col(l, i, k), jp = wl_col(l, i, k - 1);
            if (k == 0)
                nl_sb_printf(b, "RWL%d_%d wl%d wl%d_%d %.6g\n", i, j, i, i, j,
                             p->r_wl_seg + rvia);
            else
                nl_sb_printf(b, "RWL%d_%d wl%d_%d wl%d_%d %.6g\n", i, j, i, jp, i, j,
                             p->r_wl_seg);
            nl_sb_printf(b, "CWL%d_%d wl%d_%d 0 %.6g\n", i, j, i, j, p->c_wl_seg);
        }
    }
}

/* Bit line j: sense net bl<j> at the bottom (row 0 side), one segment per
 * row upward (or the one merged net). */
static void write_bit_lines(nl_sb *b, const nl_parasitics *p)
{
    for (int j = 0; j < FG_COLS; j++) {
        if (p->merge_bl) {
            nl_sb_printf(b, "CBL%d bl%d 0 %.6g\n", j, j, FG_ROWS * p->c_bl_seg);
            if (j + 1 < FG_COLS && p->c_bl_bl > 0)
                nl_sb_printf(b, "CBB%d bl%d bl%d %.6g\n", j, j, j + 1,
                             FG_ROWS * p->c_bl_bl);
            continue;
        }
        for (int i = 0; i < FG_ROWS; i++) {
            if (i == 0)
                nl_sb_printf(b, "RBL%d_0 bl%d bl%d_0 %.6g\n", j, j, j, p->r_bl_seg);
            else
                nl_sb_printf(b, "RBL%d_%d bl%d_%d bl%d_%d %.6g\n", j, i, j, i - 1, j, i,
                             p->r_bl_seg);
            nl_sb_printf(b, "CBL%d_%d bl%d_%d 0 %.6g\n", j, i, j, i, p->c_bl_seg);
            if (j + 1 < FG_COLS && p->c_bl_bl > 0)
                nl_sb_printf(b, "CBB%d_%d bl%d_%d bl%d_%d %.6g\n", j, i, j, i, j + 1, i,
                             p->c_bl_bl);
        }
    }
}

/* Cell (i,j): threshold-shift source, transistor, WL/BL crossover. */
static void write_cells(nl_sb *b, const nl_parasitics *p, const double *dvt)
{
    char wn[32], bn[32];
    for (int i = 0; i < FG_ROWS; i++)
        for (int j = 0; j < FG_COLS; j++) {
            wl_net(wn, p, i, j);
            bl_net(bn, p, j, i);
            nl_sb_printf(b, "VFG_%d_%d %s g%d_%d DC %.9g\n", i, j, wn, i, j,
                         dvt[i * FG_COLS + j]);
            nl_sb_printf(b, "M%d_%d %s g%d_%d sl%d 0 nfg %s\n", i, j, bn, i, j, i,
                         nl_cell_instance_params());
            nl_sb_printf(b, "CX%d_%d %s %s %.6g\n", i, j, wn, bn, p->c_cross);
        }
}

static void write_source_line(nl_sb *b, const nl_parasitics *p)
{
    for (int i = 0; i < FG_ROWS; i++)
        nl_sb_printf(b, "RSL%d sl%d sl %.6g\n", i, i, p->r_sl_row);
}

/* Verify deck: every bit line held at V_pre through its 0 V ammeter
 * VAM<j> (i(vam<j>) > 0 is the current the column's cells draw), .op
 * (`ngspice -b` prints every node and branch, vam<j>#branch among them). */
static void write_verify_periphery(nl_sb *b)
{
    for (int j = 0; j < FG_COLS; j++)
        nl_sb_printf(b, "VAM%d vpre bl%d DC 0\n", j, j);
    nl_sb_printf(b, ".op\n.end\n");
}

/* Charge meters for the energy of a VMM: a current-controlled source
 * copies NL_METER_GAIN times the current of the strap's ammeter VSLM (and
 * of each driver's VWL<i>, as the charge it sources) into a 1 F capacitor,
 * so that v(qsl) and v(qw<i>) are that charge as ngspice itself integrates
 * it, with the integration rule of each step: consistent with the charge
 * the bit-line capacitors lose, where a trapezoidal sum over the saved
 * points is not (the steps after a breakpoint are backward Euler, and the
 * word-line falls are not all time points). 1 ohm gives the node a DC path
 * (time constant 1 s: 1e-7 of the node's offset over a VMM); the gain
 * keeps the meters' local truncation error far inside that of the bit
 * lines, so that they add no time points. */
static void write_charge_meters(nl_sb *b)
{
    nl_sb_printf(b, "FQSL 0 qsl VSLM %g\nCQSL qsl 0 1\nRQSL qsl 0 1\n", NL_METER_GAIN);
    for (int i = 0; i < FG_ROWS; i++)
        nl_sb_printf(b, "FQW%d 0 qw%d VWL%d %g\nCQW%d qw%d 0 1\nRQW%d qw%d 0 1\n", i, i, i,
                     -NL_METER_GAIN, i, i, i, i);
}

/* Source-line strap (with its 0 V ammeter VSLM) and V_pre; then the charge
 * meters, precharge, bit-line capacitors,
 * analysis, read-out (or the verify deck's ammeters). */
void nl_write_periphery(nl_sb *b, const nl_deck_spec *s)
{
    const nl_layout *l = s->layout;
    nl_sb_printf(b, "RSLS sl slm %.6g\nVSLM slm 0 DC 0\nVPRE vpre 0 DC %.9g\n",
                 l->sl_strap_res_ohm, s->op.v_pre);
    if (s->verify) {
        write_verify_periphery(b);
        return;
    }
    write_charge_meters(b);
    /* the precharge switch's control; with few breakpoints a B source of
     * time: the bit lines float at V_pre whenever within the edge the
     * switch opens, so its corners need no time points (7 % fewer) */
    if (s->wl_drive == NL_WL_FALL_BREAKS)
        nl_sb_printf(b, "BPC pre 0 V = pwl(time, 0, 1, %.9g, 1, %.9g, 0, 1, 0)\n", T_PRE_OFF,
                     T_PRE_OFF + NL_T_EDGE);
    else
        nl_sb_printf(b, "VPC pre 0 PWL(0 1 %.9g 1 %.9g 0)\n", T_PRE_OFF, T_PRE_OFF + NL_T_EDGE);
    nl_sb_printf(b, ".model swpre sw vt=0.5 vh=0 ron=100 roff=1e13\n");
    for (int j = 0; j < FG_COLS; j++) {
        nl_sb_printf(b, "CSENSE%d bl%d 0 %.6g\n", j, j, l->c_bl_F);
        nl_sb_printf(b, "SPRE%d vpre bl%d pre 0 swpre\n", j, j);
    }
    double t_read = nl_t_read(&s->op), scale = s->max_step_scale > 0 ? s->max_step_scale : 1.0;
    nl_sb_printf(b, ".tran 1n %.9g 0 %.6g\n.save", t_read, MAX_STEP * scale);
    for (int j = 0; j < FG_COLS; j++)
        nl_sb_printf(b, " v(bl%d)", j);
    /* energy of the VMM (cosim_engine_run_energy): the charge meters and
     * each driver's voltage */
    nl_sb_printf(b, "\n.save v(qsl)");
    for (int i = 0; i < FG_ROWS; i++)
        nl_sb_printf(b, " v(qw%d) v(wld%d)", i, i);
    nl_sb_printf(b, "\n");
    for (int j = 0; j < FG_COLS; j++)
        nl_sb_printf(b, ".meas tran vbl%d FIND v(bl%d) AT=%.12g\n", j, j,
                     t_read * (1.0 - NL_MEAS_EARLY));
    nl_sb_printf(b, ".end\n");
}

static fg_status check_spec(const nl_deck_spec *s)
{
    if (!s->layout)
        return fg_error(FG_ERR_INTERNAL, "deck without a layout");
    if (s->verify && (s->verify_row < -1 || s->verify_row >= FG_ROWS))
        return fg_error(FG_ERR_RANGE, "verify row %d is not in [-1,%d]", s->verify_row,
                        FG_ROWS - 1);
    for (int i = 0; !s->verify && i < FG_ROWS; i++)
        if (!(s->x[i] >= 0.0 && s->x[i] <= 1.0))
            return fg_error(FG_ERR_RANGE, "input %d = %g is outside [0,1]", i, s->x[i]);
    for (int k = 0; k < FG_CELLS; k++)
        if (!isfinite(s->dvt[k]) || fabs(s->dvt[k]) > 5.0)
            return fg_error(FG_ERR_RANGE, "dVT(%d,%d) = %g V is not in [-5,5]",
                            k / FG_COLS, k % FG_COLS, s->dvt[k]);
    return FG_OK;
}

static fg_status generated_array(nl_sb *b, const nl_deck_spec *s)
{
    nl_parasitics p;
    fg_status st = nl_extract(s->layout, &s->op, &p);
    if (st != FG_OK)
        return st;
    write_header(b, s, s->layout->name);
    nl_sb_printf(b, "%s\n", nl_model_card());
    write_drivers(b, s, s->layout->driver_res_ohm);
    if (s->layout->wl_feed)
        write_feeds(b, &p);
    write_word_lines(b, s->layout, &p);
    write_bit_lines(b, &p);
    write_cells(b, &p, s->dvt);
    write_source_line(b, &p);
    return FG_OK;
}

fg_status nl_deck_build(const nl_deck_spec *spec, char **text)
{
    fg_status st = check_spec(spec);
    if (st == FG_OK && spec->corner)
        st = fg_corner_check(spec->corner);
    if (st != FG_OK)
        return st;
    /* The rails and cells the chip has at its corner (the header names
     * both the applied rails and the corner). A verify deck reads the
     * cells right at programming: no retention drift. */
    double dvt[FG_CELLS];
    fg_corner_drift(spec->verify ? NULL : spec->corner, spec->dvt, dvt);
    nl_deck_spec at = *spec, *s = &at;
    at.wl_drive = nl_deck_wl_drive(spec);
    at.op = fg_corner_op(spec->corner, &spec->op);
    at.dvt = dvt;
    nl_sb b = {0};
    if (s->array_netlist) {
        write_header(&b, s, s->array_netlist);
        write_drivers(&b, s, s->layout->driver_res_ohm);
        st = nl_external_array(&b, s->array_netlist, s->dvt);
    } else
        st = generated_array(&b, s);
    if (st == FG_OK)
        nl_write_periphery(&b, s);
    if (st == FG_OK && b.failed)
        st = fg_error(FG_ERR_NOMEM, "out of memory writing the deck");
    if (st != FG_OK) {
        free(b.data);
        return st;
    }
    *text = b.data;
    return FG_OK;
}
