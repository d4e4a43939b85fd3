/*
 * complete.c -- Tab completion.
 *
 * The word before the cursor is split at its last '.' or ':'. The part
 * before names a value, looked up from the globals one field at a time;
 * the part after is completed from that value's fields: its own keys if
 * it is a table, then those of its metatable's __index table (or of the
 * table an __index function closes over), and so on up the chain: how
 * classes, the string library and the "dl.Tensor" methods are found.
 * After ':' only functions are offered. A bare word completes globals and
 * keywords; ":" at the start of a line, commands. Where the cursor is
 * decides first (dl.complete, Lua): inside a string literal, file paths
 * (names inside help("); inside an option table of a known function, its
 * option names; after :load, :save and :cd, file paths. '?' ends a word,
 * so ?dl.ze completes as dl.ze does.
 *
 * Looking up never calls Lua code: only raw reads, so Tab cannot run a
 * user's __index or raise an error. The lookup itself runs under
 * lua_pcall, so even running out of memory cannot escape.
 */
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <readline/readline.h>

#include "repl.h"

#define CHAIN_MAX 8   /* __index tables followed, at most */

static lua_State *state;
static char **candidates;     /* for the readline generator */
static size_t candidate_count, candidate_next;

static const char *const keywords[] = {
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function",
    "goto", "if", "in", "local", "nil", "not", "or", "repeat", "return", "then",
    "true", "until", "while", NULL
};

/* Replaces the function on top with the first table among its upvalues
 * (not _ENV nor the globals) and returns true; else pops it. This finds
 * the methods of C bindings whose __index is a closure over a methods
 * table, as "dl.Tensor"'s is. */
static bool step_to_upvalue_table(lua_State *L)
{
    for (int i = 1; lua_type(L, -1) == LUA_TFUNCTION; i++) {
        const char *name = lua_getupvalue(L, -1, i);
        if (name == NULL)
            break;
        if (lua_type(L, -1) == LUA_TTABLE && strcmp(name, "_ENV") != 0) {
            lua_pushglobaltable(L);
            bool is_globals = lua_rawequal(L, -1, -2);
            lua_pop(L, 1);
            if (!is_globals) {
                lua_remove(L, -2);
                return true;
            }
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return false;
}

/* Replaces the value on top with where its metatable's __index looks:
 * that table, or a table the __index function closes over. Else pops it
 * and returns false. */
static bool step_to_index_table(lua_State *L)
{
    if (!lua_getmetatable(L, -1)) {
        lua_pop(L, 1);
        return false;
    }
    lua_pushliteral(L, "__index");
    lua_rawget(L, -2);
    lua_remove(L, -2);
    lua_remove(L, -2);
    if (lua_type(L, -1) == LUA_TTABLE)
        return true;
    return step_to_upvalue_table(L);
}

/* Replaces the value on top with its field `name` (raw reads along the
 * __index chain), or with nil when there is none. */
static void get_field(lua_State *L, const char *name, size_t length)
{
    for (int depth = 0; depth < CHAIN_MAX; depth++) {
        if (lua_type(L, -1) == LUA_TTABLE) {
            lua_pushlstring(L, name, length);
            if (lua_rawget(L, -2) != LUA_TNIL) {
                lua_remove(L, -2);
                return;
            }
            lua_pop(L, 1);
        }
        if (!step_to_index_table(L)) {
            lua_pushnil(L);
            return;
        }
    }
    lua_pop(L, 1);
    lua_pushnil(L);
}

/* Adds head..key to the set at `set` for every identifier key of the table
 * on top that starts with `prefix` (functions only when `methods`). */
static void add_keys(lua_State *L, int set, const char *head, size_t head_length,
                     const char *prefix, bool methods)
{
    size_t prefix_length = strlen(prefix);
    int table = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, table)) {
        if (lua_type(L, -2) == LUA_TSTRING && (!methods || lua_isfunction(L, -1))) {
            const char *key = lua_tostring(L, -2);
            if (strncmp(key, prefix, prefix_length) == 0 && repl_is_name(key)) {
                lua_pushlstring(L, head, head_length);
                lua_pushvalue(L, -3);
                lua_concat(L, 2);
                lua_pushboolean(L, 1);
                lua_rawset(L, set);
            }
        }
        lua_pop(L, 1);
    }
}

/* Adds the fields of the value on top, and of its __index tables; pops it. */
static void add_fields(lua_State *L, int set, const char *head, size_t head_length,
                       const char *prefix, bool methods)
{
    for (int depth = 0; depth < CHAIN_MAX; depth++) {
        if (lua_type(L, -1) == LUA_TTABLE)
            add_keys(L, set, head, head_length, prefix, methods);
        if (!step_to_index_table(L))
            return;
    }
    lua_pop(L, 1);
}

/* Adds the completions dl.complete.candidates(before, word) gives; false
 * when it leaves the word to the usual completion. */
static bool add_context_candidates(lua_State *L, int set, const char *before, const char *word)
{
    if (!eval_push_helper(L, "dl.complete", "candidates"))
        return false;
    lua_pushstring(L, before);
    lua_pushstring(L, word);
    lua_call(L, 2, 1);
    if (lua_type(L, -1) != LUA_TTABLE) {
        lua_pop(L, 1);
        return false;
    }
    for (lua_Integer i = 1; lua_rawgeti(L, -1, i) == LUA_TSTRING; i++) {
        lua_pushboolean(L, 1);
        lua_rawset(L, set);
    }
    lua_pop(L, 2);
    return true;
}

/* Lua function (word, at_line_start, before) -> set of completions. */
static int collect(lua_State *L)
{
    const char *word = luaL_checkstring(L, 1);
    bool at_line_start = lua_toboolean(L, 2);
    const char *before = luaL_checkstring(L, 3);
    const char *separator = strpbrk(word, ".:"), *last = NULL;
    int set;

    lua_newtable(L);
    set = lua_gettop(L);
    if (add_context_candidates(L, set, before, word))
        return 1;
    if (at_line_start && word[0] == ':') {
        for (int i = 0; commands_name(i) != NULL; i++)
            if (strncmp(commands_name(i), word + 1, strlen(word + 1)) == 0) {
                lua_pushfstring(L, ":%s", commands_name(i));
                lua_pushboolean(L, 1);
                lua_rawset(L, set);
            }
        return 1;
    }
    lua_pushglobaltable(L);
    for (const char *segment = word; separator != NULL; separator = strpbrk(segment, ".:")) {
        if (last != NULL && *last == ':') {
            lua_settop(L, set);   /* "a:b.c" names nothing */
            return 1;
        }
        get_field(L, segment, (size_t)(separator - segment));
        last = separator;
        segment = separator + 1;
    }
    if (last == NULL) {
        for (int i = 0; keywords[i] != NULL; i++)
            if (strncmp(keywords[i], word, strlen(word)) == 0) {
                lua_pushstring(L, keywords[i]);
                lua_pushboolean(L, 1);
                lua_rawset(L, set);
            }
        add_fields(L, set, "", 0, word, false);
    } else {
        add_fields(L, set, word, (size_t)(last + 1 - word), last + 1, *last == ':');
    }
    lua_settop(L, set);
    return 1;
}

static void free_candidates(void)
{
    for (size_t i = 0; i < candidate_count; i++)
        free(candidates[i]);
    free(candidates);
    candidates = NULL;
    candidate_count = candidate_next = 0;
}

/* Fills `candidates` with the completions of `word`; `before` is the
 * line up to it. */
static void find_candidates(const char *word, bool at_line_start, const char *before)
{
    lua_State *L = state;
    int top = lua_gettop(L);
    free_candidates();
    lua_pushcfunction(L, collect);
    lua_pushstring(L, word);
    lua_pushboolean(L, at_line_start);
    lua_pushstring(L, before);
    if (lua_pcall(L, 3, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TTABLE) {
        size_t count = 0;
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            count++;
            lua_pop(L, 1);
        }
        candidates = calloc(count ? count : 1, sizeof *candidates);
        lua_pushnil(L);
        while (candidates != NULL && lua_next(L, -2)) {
            char *copy = strdup(lua_tostring(L, -2));
            if (copy != NULL)
                candidates[candidate_count++] = copy;
            lua_pop(L, 1);
        }
    }
    lua_settop(L, top);
}

static char *next_candidate(const char *text, int state_index)
{
    if (candidate_next >= candidate_count)
        return NULL;
    return strdup(candidates[candidate_next++]);
}

static char **complete(const char *text, int start, int end)
{
    bool at_line_start = strspn(rl_line_buffer, " \t") >= (size_t)start;
    rl_attempted_completion_over = 1;   /* never fall back to file names */
    rl_completion_append_character = '\0';  /* readline resets it to ' ' */
    char *before = strndup(rl_line_buffer, (size_t)start);
    find_candidates(text, at_line_start, before != NULL ? before : "");
    free(before);
    return rl_completion_matches(text, next_candidate);
}

void complete_install(lua_State *L)
{
    state = L;
    rl_attempted_completion_function = complete;
    rl_basic_quote_characters = "";   /* else a completed word inside a string gets its closing quote */
    rl_completer_word_break_characters = " \t\n\"\\'`@$><=;|&{(}[]),+-*/%^#~?";
}
