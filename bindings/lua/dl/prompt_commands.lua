-- prompt_commands.lua -- the prompt's :commands written in Lua.
--
-- Each function takes the text after the command's name (trimmed) and
-- prints what it has to say; it returns a string of code when that code
-- is to run at the prompt next (:edit), or false, usage when the
-- arguments are wrong. The C side (repl/commands.c) lists the commands,
-- and runs :cd, :pwd, :time, :history and :quit itself.
local dl = require "dl"
local prompt = require "dl.prompt"
local lex = require "dl.lex"
-- The globals used here, kept: a user's `table = 1` must not break :who.
local assert, collectgarbage, debug, error, getmetatable, io, ipairs, load, math, os, pairs,
      pcall, print, rawget, require, table, tonumber, tostring, type =
      assert, collectgarbage, debug, error, getmetatable, io, ipairs, load, math, os, pairs,
      pcall, print, rawget, require, table, tonumber, tostring, type

local commands = {}

local snapshot   -- the globals as the session started, for :reset

--- commands.snapshot(): remembers the globals as they are now (start-up).
function commands.snapshot()
    snapshot = {}
    for k, v in pairs(_G) do snapshot[k] = v end
end

local function bytes_text(n)
    local units = {"B", "KB", "MB", "GB", "TB"}
    local i = 1
    while n >= 1024 and i < #units do
        n = n / 1024
        i = i + 1
    end
    if i == 1 then return ("%d B"):format(n) end
    return ("%.1f %s"):format(n, units[i])
end

local function is_dataset(value)
    local mt = getmetatable(value)
    return type(mt) == "table" and rawget(mt, "__name") == "dl.Dataset"
end

-- Bytes of tensor data a value holds (tensors, modules' parameters,
-- datasets' x and y).
local function memory_of(value)
    if dl.is_tensor(value) then return value:numel() * 4 end
    if is_dataset(value) then
        local n = 0
        for _, field in ipairs{"x", "y"} do
            local ok, t = pcall(function() return value[field] end)
            if ok and dl.is_tensor(t) then n = n + t:numel() * 4 end
        end
        return n
    end
    if type(value) == "table" and type(value.parameters) == "function" then
        local ok, params = pcall(value.parameters, value)
        if ok and type(params) == "table" then
            local n = 0
            for _, p in ipairs(params) do n = n + p:numel() * 4 end
            return n
        end
    end
    return nil
end

local function describe(value)
    if dl.is_tensor(value) then
        return "tensor", "(" .. table.concat(value:shape(), ", ") .. ")"
    end
    local mt = getmetatable(value)
    if is_dataset(value) then
        return "dataset", #value .. (#value == 1 and " row" or " rows")
    end
    if dl.optim and mt ~= nil and mt == dl.optim.Optimizer then
        return "optimizer", tostring(rawget(value, "name") or "")
    end
    if type(value) == "table" and type(mt) == "table" and rawget(mt, "_is_module_class") then
        return "module", rawget(mt, "__name") or "Module"
    end
    if type(value) == "table" and type(mt) == "table" and type(rawget(mt, "__name")) == "string" then
        return rawget(mt, "__name"), ""
    end
    if type(value) == "table" then
        local n = 0
        for _ in pairs(value) do n = n + 1 end
        return "table", n .. (n == 1 and " entry" or " entries")
    end
    if type(value) == "string" then return "string", #value .. " bytes" end
    return type(value), type(value) == "number" and tostring(value) or ""
end

--- :who -- the variables defined in this session: type, shape, memory.
function commands.who(arguments)
    if arguments ~= "" then return false, "" end
    local names = {}
    for k in pairs(_G) do
        if type(k) == "string" and (snapshot == nil or snapshot[k] == nil) and k ~= "_" then
            names[#names + 1] = k
        end
    end
    table.sort(names)
    if #names == 0 then
        print("no variables defined yet")
        return
    end
    local lines = {("%-16s %-10s %-22s %s"):format("name", "type", "shape / size", "memory")}
    for _, name in ipairs(names) do
        local kind, detail = describe(_G[name])
        local bytes = memory_of(_G[name])
        lines[#lines + 1] = ("%-16s %-10s %-22s %s"):format(name, kind, detail,
            bytes and bytes_text(bytes) or "")
    end
    print((table.concat(lines, "\n"):gsub(" +\n", "\n"):gsub(" +$", "")))
end

--- :mem -- tensor memory in use, the buffer cache, the Lua heap.
function commands.mem(arguments)
    if arguments ~= "" then return false, "" end
    local in_use, cached = dl.memory()
    if type(in_use) == "table" then
        in_use, cached = in_use.in_use or in_use.tensors, in_use.cached or in_use.cache
    end
    print(("tensors in use  %s\nbuffer cache    %s\nLua heap        %s"):format(
        bytes_text(in_use or 0), bytes_text(cached or 0), bytes_text(collectgarbage("count") * 1024)))
end

--- :save file.lua -- the inputs that ran, as a script replaying the session.
function commands.save(arguments)
    if arguments == "" then return false, "file.lua" end
    local text = prompt.script()
    local temporary = arguments .. ".tmp"
    local file, why = io.open(temporary, "w")
    if not file then
        print(("cannot save to %s: %s (nothing was lost: the session goes on)"):format(arguments,
            (why or ""):gsub("^" .. temporary:gsub("%p", "%%%0") .. ": ", "")))
        return
    end
    local ok, err = file:write(text)
    file:close()
    if ok then ok, err = os.rename(temporary, arguments) end
    if not ok then
        os.remove(temporary)
        print(("cannot save to %s: %s (nothing was lost: the session goes on)"):format(arguments, err))
        return
    end
    local _, count = text:gsub("\n", "")
    print(("saved %d lines to %s"):format(count, arguments))
end

-- Loads a file with its top-level locals as globals; nil, message on failure.
local function load_session_file(path)
    local file, why = io.open(path, "r")
    if not file then return nil, ("cannot open %s"):format(why or path) end
    local text = file:read("a")
    file:close()
    if text:sub(1, 1) == "#" then text = "--" .. text end   -- a #! line
    return load(lex.globalize(text), "@" .. path)
end
commands.load_session_file = load_session_file

--- :load file.lua -- runs a file in the session (its locals stay visible).
function commands.load(arguments)
    if arguments == "" then return false, "file.lua" end
    local chunk, err = load_session_file(arguments)
    if not chunk then
        print(err)
        return
    end
    prompt.remember(("dofile(%q)"):format(arguments))
    chunk()
end

--- :reset -- a fresh session: the variables defined since start-up are gone.
function commands.reset(arguments)
    if arguments ~= "" then return false, "" end
    if snapshot then
        for k in pairs(_G) do
            if snapshot[k] == nil then _G[k] = nil end
        end
        for k, v in pairs(snapshot) do _G[k] = v end
    end
    prompt.forget_inputs()
    collectgarbage()
    collectgarbage()
    print("session reset (the history is kept)")
end

--- :threads [n] -- shows or sets the number of threads.
function commands.threads(arguments)
    if arguments == "" then
        print(("threads: %d"):format(dl.threads()))
        return
    end
    local n = math.tointeger(tonumber(arguments))
    if not n or n < 1 then return false, "[n]" end
    dl.threads(n)
    print(("threads: %d"):format(dl.threads()))
end

--- :seed n -- dl.manual_seed(n): random draws repeat from here.
function commands.seed(arguments)
    local n = math.tointeger(tonumber(arguments))
    if not n then return false, "n" end
    dl.manual_seed(n)
    print(("seed: %d"):format(n))
end

--- :trace -- the whole traceback of the last error.
function commands.trace(arguments)
    if arguments ~= "" then return false, "" end
    local traceback = debug.getregistry()["dlrepl.traceback"]
    print(traceback or "no error yet")
end

--- :help -- the commands, and how to get help on names.
function commands.help(arguments)
    if arguments ~= "" then
        require("dl.help").show_name(arguments)
        return
    end
    print([[Commands:
  :help [name]      this list, or the help of a name (as ?name)
  :who              your variables: type, shape, memory
  :mem              tensor memory in use, buffer cache, Lua heap
  :save file.lua    the inputs that ran, as a script replaying the session
  :load file.lua    runs a file in the session
  :reset            a fresh session (the history is kept)
  :threads [n]      shows or sets the number of threads
  :seed n           dl.manual_seed(n)
  :cd dir, :pwd     changes or shows the working directory
  :edit [name]      edits the last input (or a function's file) in $EDITOR, then runs it
  :time code        runs code, then shows how long it took
  :history [n]      the last n inputs
  :trace            the whole traceback of the last error
  :quit             leaves (as Ctrl-D)
  :lesson [n]       lists the guided lessons, or starts (resumes) lesson n;
                    then :hint, :skip, :back, :bye
Help: help(x) or ?x for a function, method or module; help() lists the topics;
help "word" searches the texts; apropos("word") lists the names.]])
end

local function editor()
    local e = os.getenv("VISUAL") or os.getenv("EDITOR")
    if e == nil or e == "" then e = "vi" end
    return e
end

local function shell_quote(s)
    return "'" .. s:gsub("'", "'\\''") .. "'"
end

--- :edit [name] -- $EDITOR on the last input (then runs what was saved),
--- or on the file that defines a function (then runs that file).
function commands.edit(arguments)
    if arguments ~= "" then
        local value = load("return " .. arguments, "=edit", "t", _G)
        local ok, f = pcall(value or error)
        if not ok or type(f) ~= "function" then
            print(("cannot edit %s: not a function"):format(arguments))
            return
        end
        local info = debug.getinfo(f, "S")
        local path = info.source:match("^@(.*)$")
        if not path or not io.open(path, "r") then
            print(("cannot edit %s: it was not defined in a file (%s)"):format(arguments, info.short_src))
            return
        end
        os.execute(("%s +%d %s"):format(editor(), math.max(info.linedefined, 1), shell_quote(path)))
        local chunk, err = load_session_file(path)
        if not chunk then print(err) return end
        chunk()
        return
    end
    local last = prompt.last_input()
    local base = os.tmpname()
    os.remove(base)
    local path = base .. ".lua"
    local file = assert(io.open(path, "w"))
    file:write(last or "", "\n")
    file:close()
    os.execute(editor() .. " " .. shell_quote(path))
    file = io.open(path, "r")
    local text = file and file:read("a") or ""
    if file then file:close() end
    os.remove(path)
    text = text:gsub("%s+$", "")
    if text == "" then return end
    return text
end

-- :lesson [n], :hint, :skip, :back, :bye -- guided lessons (lessons.lua).
function commands.lesson(text)
    require("dl.lessons").start(text ~= "" and text or nil, _G)
end

for _, name in ipairs{"hint", "skip", "back", "bye"} do
    commands[name] = function(text)
        if text ~= "" then return false end
        require("dl.lessons")[name]()
    end
end

return commands
