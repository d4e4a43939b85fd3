/* dl_lua.h -- entry points of the Lua bindings, shared by dl.so and dlrepl. */
#ifndef DL_LUA_H
#define DL_LUA_H

#include <lua.h>

/* Opens the dl module: pushes the `dl` table (with dl.nn, dl.optim, ...).
 * This is also the entry point `require "dl"` finds in dl.so. It switches
 * the Lua GC to incremental mode, which the tensor-memory accounting needs
 * to keep memory flat: a host should not switch it back to generational. */
int luaopen_dl(lua_State *L);

#endif
