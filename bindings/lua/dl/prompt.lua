-- prompt.lua -- what the dlrepl prompt does in Lua: compiling an input,
-- cleaning a paste, remembering the session for :save, short tracebacks.
-- The C side (repl/) reads lines, runs the chunks and prints.
--
--   prompt.compile(code) -> chunk, prints, script  | nil, message, unfinished
--   prompt.clean_paste(text) -> text without copied prompts and output
--   prompt.remember(script) / prompt.script() -> the session as a script
--   prompt.short_error(message, traceback) -> the message, plus the
--     frames of the user's own code when the error went through them
local lex = require "dl.lex"
-- The globals used here, kept: a user's `load = nil` or `table = 1` at the
-- prompt must not break the prompt itself.
local assert, ipairs, load, os, table, type = assert, ipairs, load, os, table, type

local prompt = {}

local CHUNK = "=stdin"
local SPLIT_TRIES = 200   -- token positions tried when splitting "a; b; expr"

-- Runs the values through a function call, so that an expression is never
-- a tail call: an error inside it still names stdin:1. (`expr` ends with
-- its last token: a trailing comment would hide the parenthesis.)
local function expression_chunk(expr)
    return "return (function(...) return ... end)(" .. expr .. ")"
end

-- The code up to its last token: without trailing comments and blanks.
local function without_trailing_comment(code)
    local tokens, complete = lex.tokens(code)
    local last = tokens[#tokens]
    if not complete or last == nil then return code end
    return code:sub(1, last.to)
end

local function is_unfinished(message)
    return message ~= nil and message:sub(-5) == "<eof>"
end

-- Finds "statements, then an expression" in code that is neither: the
-- last top-level position where the code before is statements and the
-- code after an expression. Returns the chunk source, or nil.
local function split_statements(code)
    local tokens = lex.tokens(code)
    local tries = 0
    for i = #tokens, 2, -1 do
        local t = tokens[i]
        if t.depth == 0 then
            tries = tries + 1
            if tries > SPLIT_TRIES then return nil end
            local head, tail = code:sub(1, t.from - 1), code:sub(t.from)
            if load("return " .. tail, CHUNK) and load(head, CHUNK) then
                return head .. ";" .. expression_chunk(tail), head, tail
            end
        end
    end
    return nil
end

-- The code without a final ';' (comments and blanks after it aside), and
-- whether there was one.
local function cut_final_semicolon(code)
    local tokens = lex.tokens(code)
    local last = tokens[#tokens]
    if last == nil or last.text ~= ";" then return code, false end
    return code:sub(1, last.from - 1) .. code:sub(last.to + 1), true
end

--- prompt.compile(code) -> chunk, prints, script: the function to run, whether
--- its results are to be printed (not after a trailing ';') and the input
--- as a line of a replayable script; or nil, message, unfinished when the code
--- does not compile (unfinished: it ends too early, more lines are wanted).
--- Top-level locals become globals, so they stay visible to later lines.
local last_code

function prompt.compile(code)
    last_code = code
    local code_cut, quiet = cut_final_semicolon(code)
    local prints = not quiet
    code = without_trailing_comment(lex.globalize(code_cut))
    local expr_fn, expr_err = load("return " .. code, CHUNK)
    if expr_fn then
        return load(expression_chunk(code), CHUNK) or expr_fn, prints, "print(" .. code .. ")"
    end
    local fn, err = load(code, CHUNK)
    if fn then return fn, prints, code end
    local source, head, tail = split_statements(code)
    if source then
        return assert(load(source, CHUNK)), prints, head .. "\nprint(" .. tail .. ")"
    end
    return nil, err, is_unfinished(err) or is_unfinished(expr_err)
end

--- prompt.clean_paste(text) -> text: when lines of a paste start with the
--- prompt's own "dlrepl> " or "...> " (copied from a transcript), only those
--- lines are kept, prompts removed; the output lines between are dropped,
--- as IPython does. Other text comes back unchanged.
function prompt.clean_paste(text)
    if not (text:find("^dlrepl> ") or text:find("\ndlrepl> ")) then return text end
    local kept = {}
    for line in (text .. "\n"):gmatch("([^\n]*)\n") do
        local code = line:match("^dlrepl> ?(.*)$") or line:match("^%.%.%.> ?(.*)$")
        if code then kept[#kept + 1] = code end
    end
    return table.concat(kept, "\n")
end

--- prompt.last_input() -> the code last given to compile (:edit), or nil.
function prompt.last_input()
    return last_code
end

-- The session's inputs that ran without error, as script lines.
local inputs = {}

--- prompt.remember(script): adds an input that ran to the session's script.
function prompt.remember(script)
    inputs[#inputs + 1] = script
end

--- prompt.forget_inputs(): the session's script starts again (:reset).
function prompt.forget_inputs()
    inputs = {}
end

--- prompt.script() -> the text of a Lua script replaying the session.
function prompt.script()
    local lines = {"-- dlrepl session, saved " .. os.date("!%Y-%m-%d %H:%M UTC"),
                   "-- run it with: dlrepl -i thisfile.lua", ""}
    for _, input in ipairs(inputs) do lines[#lines + 1] = input end
    return table.concat(lines, "\n") .. "\n"
end

-- A traceback frame from inside dl (its modules, or C).
local function is_internal(frame)
    return frame:match("^%[C%]") or frame:match("bindings/lua/dl/") or frame:match("^%(...tail calls...%)")
end

-- The frames of a traceback that are the user's, each run of internal
-- ones between them folded into one line (those before the first and
-- after the last left out); and the count of the user's frames.
local function user_frames(traceback)
    local frames, user, internal = {}, 0, 0
    local body = traceback:match("\nstack traceback:\n(.*)$") or ""
    for frame in (body .. "\n"):gmatch("%s*([^\n]*)\n") do
        if frame ~= "" then
            if is_internal(frame) then
                internal = internal + 1
            else
                if internal > 0 and #frames > 0 then
                    frames[#frames + 1] = ("(%d internal frame%s)"):format(internal, internal == 1 and "" or "s")
                end
                internal = 0
                frames[#frames + 1] = frame
                user = user + 1
            end
        end
    end
    return frames, user
end

--- prompt.short_error(message, traceback) -> text: the message, then, when
--- the error passed through more than one frame of the user's own code,
--- those frames, with each run of internal frames (dl's, C functions)
--- folded into one line.
function prompt.short_error(message, traceback)
    if type(traceback) ~= "string" then return message end
    local frames, user = user_frames(traceback)
    if user < 2 then return message end
    return message .. "\n  " .. table.concat(frames, "\n  ") .. "\n  (:trace shows the whole traceback)"
end

--- prompt.script_traceback(text) -> a script's error as lua.c prints it
--- (message, "stack traceback:", frames), the internal frames folded.
function prompt.script_traceback(text)
    local message = text:match("^(.-)\nstack traceback:\n")
    if not message then return text end
    local frames = user_frames(text)
    if #frames == 0 then return message end
    return message .. "\nstack traceback:\n\t" .. table.concat(frames, "\n\t")
end

return prompt
