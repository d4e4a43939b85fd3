/* lplot.h -- the C side of dl.plot: lgnuplot.c (the gnuplot process) and
 * lplotdata.c (numbers as gnuplot text, the terminal's size). */
#ifndef LPLOT_H
#define LPLOT_H

#include <lauxlib.h>

/* number, datablock, matrix, rgb, tty, histogram, line, scatter, downsample:
 * registered by lgnuplot.c in "dl.gnuplot". */
extern const luaL_Reg ldl_plotdata_funcs[];

#endif
