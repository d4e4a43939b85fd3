/*
 * lbox.h -- the tensor box shared by every binding file.
 *
 * A tensor reaches Lua as a full userdata holding one `dl_tensor *` (the
 * box) whose metatable is registered as "dl.Tensor". The box owns one
 * reference; __gc and __close drop it and leave NULL behind, so a closed
 * tensor is recognised when used again.
 *
 * New tensors follow lauxlib's UBox discipline: push an empty box first,
 * then let the core write into it, so a Lua error half-way cannot leak:
 *
 *     dl_tensor **box = ldl_newbox(L);
 *     return ldl_result(L, dl_unary(DL_EXP, a, box));
 *
 * Argument conventions: argument numbers count as in `dl.fn(t, ...)`, so
 * in `t:reshape(4, 2)` the 4 is #2 (the core counts the same way). Dims
 * and positions are 1-based in Lua (negative ones count from the end) and
 * converted here to the core's 0-based C arguments.
 */
#ifndef LBOX_H
#define LBOX_H

#include <lua.h>
#include <lauxlib.h>

#include "dl.h"

#define LDL_TENSOR "dl.Tensor"

/* ---- boxes --------------------------------------------------------------- */

/* Pushes an empty box (NULL tensor) with the tensor metatable; returns the
 * slot the core writes its result into. */
dl_tensor **ldl_newbox(lua_State *L);

/* Makes the table on top of the stack the metatable of new boxes (called
 * once by ldl_open_tensor; the table stays on the stack). */
void ldl_register_metatable(lua_State *L);

/* True when the value at `arg` is a tensor box, open or closed. */
bool ldl_istensor(lua_State *L, int arg);

/* Ends a creating call: raises the core's message unless `status` is DL_OK,
 * else tells the GC about the new bytes. Returns 1 (the box on top). */
int ldl_result(lua_State *L, dl_status status);

/* Raises the core's message unless `status` is DL_OK. */
void ldl_check_status(lua_State *L, dl_status status);

/* The tensor at `arg`, or NULL when the value there is not a tensor box.
 * A closed box raises an error naming `fn`. */
dl_tensor *ldl_totensor(lua_State *L, int arg, const char *fn);

/* The tensor at `arg`; raises "bad argument #arg to 'fn' (expected a
 * tensor, got ...)" otherwise. */
dl_tensor *ldl_checktensor(lua_State *L, int arg, const char *fn);

/* ---- GC accounting ------------------------------------------------------- */

/* Tells the Lua GC about tensor bytes allocated since the last call: a GC
 * step per megabyte of new data, and a full collection when the live bytes
 * pass a soft limit that grows to twice what survives. Cheap when nothing
 * big was allocated. */
void ldl_account(lua_State *L);

/* ---- errors --------------------------------------------------------------- *
 * Every error of dl is positioned at the user's line (lerror.c). */

/* Pushes "chunk:line: " of the innermost Lua function on the stack that is
 * not one of dl's own Lua modules, or "" when there is none. */
void ldl_where(lua_State *L);

/* luaL_error with printf's formats, positioned by ldl_where; messages are
 * cut at 1023 bytes. Never returns. */
int ldl_error(lua_State *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* `message` with the function `internal` that raised it named `name`
 * instead ("clone: ..." or "... to 'clone' ..." become contiguous's), for
 * a binding whose core call goes through another one. A static buffer. */
const char *ldl_renamed(const char *message, const char *internal, const char *name);

/* Preloads require("dl.errors"): raise(message), for dl's Lua modules. */
void ldl_open_errors(lua_State *L);


/* Raises "bad argument #arg to 'fn' (<formatted text>)". Never returns. */
int ldl_argerror(lua_State *L, int arg, const char *fn, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The type of the value at `idx` as messages name it: "a tensor", "a closed
 * tensor", "no value", a metatable's __name, or Lua's type name. May push
 * the name (use it right before raising). */
const char *ldl_typename(lua_State *L, int idx);

/* Raises "bad argument #arg to 'fn' (expected <what>, got <type of arg>)". */
int ldl_typeerror(lua_State *L, int arg, const char *fn, const char *what);

/* ---- arguments ------------------------------------------------------------ */

/* The 1-based dim d (negative counts from the end) among `n` dims as a
 * 0-based C dim; errors name argument `arg`. */
int ldl_todim(lua_State *L, int64_t d, int arg, const char *fn, int n);

/* A 1-based dim at `arg` (negative counts from the end) among `n` dims,
 * as a 0-based C dim. */
int ldl_checkdim(lua_State *L, int arg, const char *fn, int n);

/* As ldl_checkdim, `def` (0-based) when the argument is absent or nil. */
int ldl_optdim(lua_State *L, int arg, const char *fn, int n, int def);

/* A 1-based index at `arg` (negative counts from the end) among `n`
 * entries, as a 0-based C index. */
int64_t ldl_checkpos(lua_State *L, int arg, const char *fn, int64_t n);

/* An integer argument (a float with an integral value is accepted). */
int64_t ldl_checkinteger(lua_State *L, int arg, const char *fn);

/* A number argument; a one-element tensor is accepted too. */
double ldl_checknumber(lua_State *L, int arg, const char *fn);

/* Reads sizes from arguments first..last: numbers, or one table of numbers.
 * Sizes must be >= `min` (0, or -1 where -1 means "infer"). Writes at most
 * DL_MAX_DIM sizes into shape; returns how many. */
int ldl_checksizes(lua_State *L, int first, int last, const char *fn, int64_t min,
                   int64_t *shape);

/* Index of a trailing options table in first..top: the last argument when it
 * is a table that cannot be sizes (it follows other arguments, or it has
 * only named keys). Returns 0 when there is none. */
int ldl_options_at(lua_State *L, int first);

/* Raises an error naming the first key of the options table at `arg` that
 * is not among `known` (NULL-terminated). Nothing happens when arg is 0. */
void ldl_checkoptions(lua_State *L, int arg, const char *fn, const char *const *known);

/* Boolean option `key` of the options table at `arg` (0: none), or `def`. */
int ldl_optboolean(lua_State *L, int arg, const char *fn, const char *key, int def);

/* ---- registration ---------------------------------------------------------- */

/* Sets each function of `fns` as a field of the table at index `table`. */
void ldl_setfuncs(lua_State *L, int table, const luaL_Reg *fns);

/* Areas of the module. Each adds its functions to the dl table and to the
 * tensor methods table (absolute stack indices). ldl_open_tensor runs
 * first: it registers the "dl.Tensor" metatable, whose __index reads the
 * methods table; ldl_open_arith adds the arithmetic metamethods to it. */
void ldl_open_tensor(lua_State *L, int dl, int methods);
void ldl_open_create(lua_State *L, int dl, int methods);
void ldl_open_arith(lua_State *L, int dl, int methods);
void ldl_open_reduce(lua_State *L, int dl, int methods);
void ldl_open_shape(lua_State *L, int dl, int methods);
void ldl_open_autograd(lua_State *L, int dl, int methods);
void ldl_open_ops(lua_State *L, int dl, int methods);

/* Registers package.loaded["dl.functional"] (layer operations and losses),
 * used by the embedded module dl.layers. */
void ldl_open_nn(lua_State *L);

/* Adds pad, the adaptive pools and interpolate to "dl.functional"
 * (lnn_vocab.c); called by ldl_open_nn. */
void ldl_open_nn_vocab(lua_State *L);
/* Registers package.loaded["dl.steps"] (loptim.c: the fused optimiser
 * updates and their option table), used by the embedded module dl.optim. */
void ldl_open_optim(lua_State *L);

/* dl.plot (lgnuplot.c): loads the embedded module dl.plot, so it runs after
 * the embedded modules are registered. */
void ldl_open_plot(lua_State *L, int dl);

/* dl.data (ldata.c): registers the readers as "dl.readers" and sets dl.data
 * from the embedded module dl.data, so it runs after they are registered. */
void ldl_open_data(lua_State *L, int dl);

/* Registers package.loaded["dl.safetensors"] (lsafetensors.c): safetensors
 * files and JSON, for the embedded module dl.serialize. */
void ldl_open_safetensors(lua_State *L);

/* Registers package.loaded["dl.mpi"] (ldist.c): MPI loaded at run time,
 * for the embedded module dl.dist. */
void ldl_open_dist(lua_State *L);

#endif
