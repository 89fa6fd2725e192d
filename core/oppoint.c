/* The nominal operating point of the array (what a chip user knows). */
#include "fgcore.h"

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
