/* The nominal operating point of the array (what a chip user knows). */
#include "fgcore.h"

#include <math.h>

fg_op_point fg_op_point_default(void)
{
    /* 16 cells at I_unit for T_max swing the bit line by
     * 16 * 25 nA * 100 ns / 100 fF = 0.4 V from V_pre = 0.8 V: large enough
     * for the voltage-drop non-linearity to matter, small enough to keep
     * the cells out of deep drain saturation. */
    fg_op_point op = {
        .v_pre = 0.8,
        .v_read = 0.55,
        .t_max = 100e-9,
        .c_bl = 100e-15,
        .i_unit = 25e-9,
    };
    return op;
}

double fg_op_y_from_v(const fg_op_point *op, double v_bl)
{
    return op->c_bl * (op->v_pre - v_bl) / (op->i_unit * op->t_max);
}

double fg_op_v_from_y(const fg_op_point *op, double y)
{
    return op->v_pre - y * op->i_unit * op->t_max / op->c_bl;
}

const char *const fg_op_field_name[FG_OP_NFIELDS] = {"v_pre", "v_read", "t_max", "c_bl",
                                                     "i_unit"};
const char *const fg_op_field_unit[FG_OP_NFIELDS] = {"V", "V", "s", "F", "A"};

void fg_op_point_to_vec(const fg_op_point *op, double v[FG_OP_NFIELDS])
{
    v[0] = op->v_pre, v[1] = op->v_read, v[2] = op->t_max, v[3] = op->c_bl,
    v[4] = op->i_unit;
}

int fg_op_point_differs(const fg_op_point *a, const fg_op_point *b)
{
    double va[FG_OP_NFIELDS], vb[FG_OP_NFIELDS];
    fg_op_point_to_vec(a, va);
    fg_op_point_to_vec(b, vb);
    for (int k = 0; k < FG_OP_NFIELDS; k++)
        if (!(fabs(va[k] - vb[k]) <= 1e-9 * fmax(fabs(va[k]), fabs(vb[k]))))
            return k;
    return -1;
}
