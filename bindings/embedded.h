/* embedded.h -- the pure-Lua parts of dl (the .lua files of bindings/lua/dl/), compiled
 * into the binary by scripts/embed-lua.lua. */
#ifndef DL_EMBEDDED_H
#define DL_EMBEDDED_H

#include <stddef.h>

typedef struct {
    const char *name;    /* module name, "dl.fit" */
    const char *path;    /* source path, for error messages */
    const char *source;  /* the module compiled to Lua 5.4 bytecode (with debug info) */
    size_t length;
} dl_embedded_module;

/* Every embedded module, ended by an entry whose name is NULL. */
extern const dl_embedded_module dl_embedded_modules[];

#endif
