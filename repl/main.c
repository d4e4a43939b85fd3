/*
 * main.c -- the dlrepl program: options, the Lua state, scripts.
 *
 * Options, the `arg` table, the order things run in and the exit status
 * follow lua5.4's lua.c, so `dlrepl script.lua a b` behaves as
 * `lua5.4 script.lua a b` would, with dl, nn and optim already loaded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fftw3.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "dl.h"
#include "dl_lua.h"
#include "repl.h"

#define PROGNAME "dlrepl"

enum {
    HAS_ERROR = 1, HAS_I = 2, HAS_V = 4, HAS_E = 8, HAS_H = 16,
    HAS_VERSION = 32, HAS_NORC = 64, HAS_ECHO = 128, HAS_LESSON = 256
};

#define RC_FILE ".dlreplrc.lua"

static void print_usage(FILE *out, const char *bad_option)
{
    if (bad_option != NULL) {
        if (bad_option[1] == 'e')
            fprintf(out, "%s: '%s' needs an argument\n", PROGNAME, bad_option);
        else
            fprintf(out, "%s: unrecognized option '%s'\n", PROGNAME, bad_option);
    }
    fprintf(out,
            "usage: %s [options] [script [args]]\n"
            "Available options are:\n"
            "  -e stat   execute string 'stat'\n"
            "  -i        enter interactive mode after executing 'script'\n"
            "            (its top-level locals stay reachable at the prompt)\n"
            "  -v        show version information\n"
            "  -h        show this help\n"
            "  --echo    run 'script' as if typed at the prompt, each statement\n"
            "            shown after the prompt before its output (a transcript)\n"
            "  --lesson [n] list the guided lessons, or start lesson n at the prompt\n"
            "  --norc    do not run ~/" RC_FILE " before the prompt\n"
            "  --version show the versions of dlrepl, Lua, OpenBLAS, FFTW and the kernel set\n"
            "  --        stop handling options\n"
            "  -         stop handling options and execute stdin\n"
            "With no script and no -e, the prompt starts (or, when stdin is not\n"
            "a terminal, stdin runs as a script). At the prompt, Ctrl-C stops the\n"
            "running code or drops the line being typed; Ctrl-D or :quit leaves.\n",
            PROGNAME);
    fflush(out);
}

void repl_print_banner(void)
{
    int threads = dl_get_threads();
    printf("%s %s | %s | %s | kernels %s | %d thread%s\n", PROGNAME, DL_VERSION, LUA_RELEASE,
           dl_blas_info(), dl_kernel_set(), threads, threads == 1 ? "" : "s");
    fflush(stdout);
}

static const char *lesson_number;   /* the n of --lesson n, or NULL */

/* --lesson [n]: lists the lessons (false: nothing more to do), or starts
 * lesson n (true: the prompt follows). */
static bool start_lesson(lua_State *L)
{
    if (!eval_push_helper(L, "dl.lessons", "start")) {
        fprintf(stderr, "%s: lessons are not available\n", PROGNAME);
        return false;
    }
    if (lesson_number != NULL)
        lua_pushstring(L, lesson_number);
    else
        lua_pushnil(L);
    if (eval_call(L, 1, 1, false) != LUA_OK) {
        eval_report(L, PROGNAME);
        return false;
    }
    bool started = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return started;
}

/* Scans the options (lua.c's collectargs). *script becomes the index of
 * the script name, or of the first argument when there is none. */
static int collect_args(char **argv, int *script)
{
    int args = 0;
    int i;
    if (argv[0] == NULL) {   /* no arguments at all, not even a name */
        *script = 0;
        return 0;
    }
    for (i = 1; argv[i] != NULL; i++) {
        *script = i;
        if (argv[i][0] != '-')
            return args;
        switch (argv[i][1]) {
        case '-':
            if (strcmp(argv[i], "--version") == 0) {
                args |= HAS_VERSION;
                break;
            }
            if (strcmp(argv[i], "--norc") == 0) {
                args |= HAS_NORC;
                break;
            }
            if (strcmp(argv[i], "--echo") == 0) {
                args |= HAS_ECHO;
                break;
            }
            if (strcmp(argv[i], "--lesson") == 0) {
                args |= HAS_LESSON;
                if (argv[i + 1] != NULL && argv[i + 1][0] != '-')
                    lesson_number = argv[++i];
                break;
            }
            if (argv[i][2] != '\0')
                return HAS_ERROR;
            *script = i + 1;
            return args;
        case '\0':
            return args;            /* "-" is stdin as the script */
        case 'i':
            args |= HAS_I;          /* -i implies -v */
            /* fall through */
        case 'v':
            if (argv[i][2] != '\0')
                return HAS_ERROR;
            args |= HAS_V;
            break;
        case 'h':
            if (argv[i][2] != '\0')
                return HAS_ERROR;
            args |= HAS_H;
            break;
        case 'e':
            args |= HAS_E;
            if (argv[i][2] == '\0') {
                i++;
                if (argv[i] == NULL || argv[i][0] == '-')
                    return HAS_ERROR;
            }
            break;
        default:
            return HAS_ERROR;
        }
    }
    *script = i;
    return args;
}

/* arg[0] is the script, arg[1..] its arguments, arg[-1..] what came before
 * (lua.c's createargtable). With no script, arg[0] is the program. */
static void create_arg_table(lua_State *L, char **argv, int argc, int script)
{
    if (script == argc)
        script = 0;
    lua_createtable(L, argc - script - 1, script + 1);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - script);
    }
    lua_setglobal(L, "arg");
}

/* Reports a failed step, its traceback without dl's internal frames;
 * true when it succeeded. */
static bool report(lua_State *L, int status)
{
    if (status == LUA_OK)
        return true;
    if (lua_type(L, -1) == LUA_TSTRING && eval_push_helper(L, "dl.prompt", "script_traceback")) {
        lua_pushvalue(L, -2);
        if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TSTRING)
            lua_replace(L, -2);
        else
            lua_pop(L, 1);
    }
    eval_report(L, PROGNAME);
    return false;
}

/* Runs the chunk on top (or reports the load error below it). */
static bool run_chunk(lua_State *L, int load_status)
{
    if (load_status == LUA_OK)
        load_status = eval_call(L, 0, 0, true);
    return report(L, load_status);
}

/* Runs the -e chunks in order. */
static bool run_e_options(lua_State *L, char **argv, int script)
{
    for (int i = 1; i < script; i++) {
        if (argv[i][0] != '-' || argv[i][1] != 'e')
            continue;
        const char *code = argv[i][2] != '\0' ? argv[i] + 2 : argv[++i];
        if (!run_chunk(L, luaL_loadbuffer(L, code, strlen(code), "=(command line)")))
            return false;
    }
    return true;
}

/* Pushes arg[1..n]; returns n (lua.c's pushargs). */
static int push_script_args(lua_State *L)
{
    int n;
    if (lua_getglobal(L, "arg") != LUA_TTABLE)
        luaL_error(L, "'arg' is not a table");
    n = (int)luaL_len(L, -1);
    luaL_checkstack(L, n + 3, "too many arguments to script");
    for (int i = 1; i <= n; i++)
        lua_rawgeti(L, -i, i);
    lua_remove(L, -n - 1);
    return n;
}

/* Loads a file with its top-level locals turned into globals (for -i,
 * so that they stay reachable at the prompt). */
static int load_keeping_locals(lua_State *L, const char *name)
{
    if (!eval_push_helper(L, "dl.prompt_commands", "load_session_file"))
        return luaL_loadfile(L, name);
    lua_pushstring(L, name);
    lua_call(L, 1, 2);
    if (lua_isnil(L, -2)) {
        lua_remove(L, -2);
        return LUA_ERRFILE;
    }
    lua_pop(L, 1);
    return LUA_OK;
}

/* Runs the script argv[0] ("-" after no "--" is stdin) with its args;
 * with `keep_locals` its top-level locals become globals. */
static bool run_script(lua_State *L, char **argv, bool keep_locals)
{
    const char *name = argv[0];
    int status;
    if (strcmp(name, "-") == 0 && strcmp(argv[-1], "--") != 0)
        name = NULL;
    status = keep_locals && name != NULL ? load_keeping_locals(L, name) : luaL_loadfile(L, name);
    if (status == LUA_OK) {
        int n = push_script_args(L);
        status = eval_call(L, n, 0, true);
    }
    return report(L, status);
}

/* Loads dl as `require "dl"` would, and sets the globals dl, nn, optim. */
static void open_dl(lua_State *L)
{
    static const char *const submodules[] = {"nn", "optim", NULL};
    luaL_requiref(L, "dl", luaopen_dl, 1);
    for (int i = 0; submodules[i] != NULL; i++) {
        if (lua_getfield(L, -1, submodules[i]) != LUA_TTABLE) {
            lua_pop(L, 1);
            lua_newtable(L);
        }
        lua_setglobal(L, submodules[i]);
    }
    lua_pop(L, 1);
}

/* help and apropos as globals that load dl.help at their first call. */
static void open_help(lua_State *L)
{
    static const char code[] =
        "function help(...) return require('dl.help').help(...) end\n"
        "function apropos(word) return require('dl.help').apropos(word) end\n";
    if (luaL_loadbuffer(L, code, sizeof code - 1, "=help") == LUA_OK)
        lua_call(L, 0, 0);
    else
        lua_pop(L, 1);
}

static void print_versions(void)
{
    printf("%s %s\n%s\n%s\nFFTW %s\nkernels %s\n", PROGNAME, DL_VERSION, LUA_RELEASE,
           dl_blas_info(), fftwf_version, dl_kernel_set());
    fflush(stdout);
}

/* Runs ~/.dlreplrc.lua when there is one; its errors are reported. */
static void run_rc_file(lua_State *L)
{
    const char *home = getenv("HOME");
    char *path;
    if (home == NULL || *home == '\0' || asprintf(&path, "%s/%s", home, RC_FILE) < 0)
        return;
    if (access(path, F_OK) == 0)
        run_chunk(L, luaL_loadfile(L, path));
    free(path);
}

/* Remembers the globals as they are before the user's code (:reset). */
static void snapshot_globals(lua_State *L)
{
    if (eval_push_helper(L, "dl.prompt_commands", "snapshot") && lua_pcall(L, 0, 0, 0) != LUA_OK)
        lua_pop(L, 1);
}

/* The program, run in protected mode; returns true on success. */
static int protected_main(lua_State *L)
{
    int argc = (int)lua_tointeger(L, 1);
    char **argv = lua_touserdata(L, 2);
    int script = 1;
    int args = collect_args(argv, &script);
    bool interactive;

    luaL_checkversion(L);
    if (args == HAS_ERROR) {
        print_usage(stderr, argv[script]);
        return 0;
    }
    if (args & HAS_H) {
        print_usage(stdout, NULL);
        lua_pushboolean(L, 1);
        return 1;
    }
    if (args & HAS_VERSION) {
        print_versions();
        lua_pushboolean(L, 1);
        return 1;
    }
    if ((args & HAS_ECHO) && script >= argc) {
        fprintf(stderr, "%s: --echo needs a script\n", PROGNAME);
        return 0;
    }
    luaL_openlibs(L);
    open_dl(L);
    open_help(L);
    create_arg_table(L, argv, argc, script);
    lua_gc(L, LUA_GCRESTART);   /* in the mode luaopen_dl chose */
    interactive = (args & (HAS_I | HAS_LESSON)) ||
                  (script == argc && !(args & (HAS_E | HAS_V)) && isatty(STDIN_FILENO));
    if (interactive && !(args & HAS_NORC))
        run_rc_file(L);
    if (interactive || (args & HAS_ECHO))
        snapshot_globals(L);
    if (args & HAS_V)
        repl_print_banner();
    if (!run_e_options(L, argv, script))
        return 0;
    if (args & HAS_ECHO) {
        if (!loop_echo_file(L, argv[script]))
            return 0;
    } else if (script < argc && !run_script(L, argv + script, args & HAS_I)) {
        return 0;
    }
    if (args & HAS_LESSON) {
        if (start_lesson(L))
            loop_run(L);
    } else if (args & HAS_I) {
        loop_run(L);
    } else if (script == argc && !(args & (HAS_E | HAS_V))) {
        if (isatty(STDIN_FILENO)) {
            repl_print_banner();
            loop_run(L);
        } else if (!run_chunk(L, luaL_loadfile(L, NULL))) {
            return 0;
        }
    }
    lua_pushboolean(L, 1);
    return 1;
}

int main(int argc, char **argv)
{
    lua_State *L = luaL_newstate();
    int status, ok;
    if (L == NULL) {
        fprintf(stderr, "%s: cannot create state: not enough memory\n", PROGNAME);
        return EXIT_FAILURE;
    }
    lua_gc(L, LUA_GCSTOP);  /* no collections while starting up */
    lua_pushcfunction(L, protected_main);
    lua_pushinteger(L, argc);
    lua_pushlightuserdata(L, argv);
    status = lua_pcall(L, 2, 1, 0);
    ok = lua_toboolean(L, -1);
    report(L, status);
    lua_close(L);
    return ok && status == LUA_OK ? EXIT_SUCCESS : EXIT_FAILURE;
}
