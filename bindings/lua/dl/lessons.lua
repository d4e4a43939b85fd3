-- lessons.lua -- guided lessons at the prompt (issue 20, point 1).
--
-- A lesson is one Lua file returning a table: an optional `title` and a
-- list of steps, each
--     { text = "what to read",               -- required
--       code = "code to type",               -- shown under the text
--       check = function(env) ... end,       -- the step waits until it passes
--       hint = "shown on a wrong answer",
--       solution = "code that passes check" } -- for the headless run
-- check(env) reads the student's globals (env) and returns true, or
-- false/nil and a message; an error it raises is a wrong answer too.
-- A step without check is read and passed. lessons.load says which step
-- of a malformed file is wrong.
--
-- At the prompt (prompt_commands.lua, repl/loop.c): `:lesson N` starts
-- lesson N (resuming where the student stopped), every input is followed
-- by the step's check, `:hint`, `:skip`, `:back`, `:bye`. Progress is kept
-- in ~/.dlrepl/lessons, one line "name<TAB>next step" per lesson.
local lessons = {}

local STEP_FIELDS = {text = "string", code = "string", check = "function", hint = "string",
                     solution = "string"}

--- lessons.progress_path: where progress is kept (tests point it elsewhere).
lessons.progress_path = (os.getenv("HOME") or ".") .. "/.dlrepl/lessons"

--- lessons.out(text): how the session prints (tests capture it).
function lessons.out(text)
    io.stdout:write(text, "\n")
    io.stdout:flush()
end

-- ---- finding and loading -----------------------------------------------------

-- The directory of the running program (build/ for build/dlrepl).
local function program_dir()
    local program = arg and arg[0]
    local i = -1
    while arg and arg[i] do
        program = arg[i]
        i = i - 1
    end
    return program and program:match("^(.*)/[^/]*$") or nil
end

--- lessons.dirs() -> the folders searched, in order: $DLREPL_LESSONS
--- (colon-separated), the source tree's lessons/ (next to build/, or
--- to build/san/), and /usr/share/dlrepl/lessons.
function lessons.dirs()
    local dirs = {}
    for dir in (os.getenv("DLREPL_LESSONS") or ""):gmatch("[^:]+") do dirs[#dirs + 1] = dir end
    local here = program_dir()
    if here then      -- build/dlrepl, or build/san/dlrepl
        dirs[#dirs + 1] = here .. "/../lessons"
        dirs[#dirs + 1] = here .. "/../../lessons"
    end
    dirs[#dirs + 1] = "/usr/share/dlrepl/lessons"
    return dirs
end

-- The .lua files of a folder, sorted (nothing when it cannot be read).
local function lua_files(dir)
    local names = {}
    local p = io.popen("ls -1 " .. ("'" .. dir:gsub("'", "'\\''") .. "'") .. " 2>/dev/null")
    if not p then return names end
    for name in p:lines() do
        if name:match("^[%w_%-]+%.lua$") then names[#names + 1] = name end
    end
    p:close()
    table.sort(names)
    return names
end

--- lessons.list([dirs]) -> {{name=, path=}, ...}: the lessons of the
--- folders, numbered by file name order; a name found twice is the first.
function lessons.list(dirs)
    local list, seen = {}, {}
    for _, dir in ipairs(dirs or lessons.dirs()) do
        for _, file in ipairs(lua_files(dir)) do
            local name = file:gsub("%.lua$", "")
            if not seen[name] then
                seen[name] = true
                list[#list + 1] = {name = name, path = dir .. "/" .. file}
            end
        end
    end
    table.sort(list, function(a, b) return a.name < b.name end)
    return list
end

local function fail(path, fmt, ...)
    error(("lesson %s: " .. fmt):format(path, ...), 0)
end

--- lessons.load(path) -> lesson {name, title, steps}; raises "lesson
--- <path>: step N: <what is wrong>" for a malformed file.
function lessons.load(path)
    local env = setmetatable({}, {__index = _G})
    local chunk, err = loadfile(path, "t", env)
    if not chunk then fail(path, "%s", err) end
    local ok, lesson = pcall(chunk)
    if not ok then fail(path, "%s", tostring(lesson)) end
    if type(lesson) ~= "table" then
        fail(path, "expected the file to return a table of steps, got %s", type(lesson))
    end
    if lesson.title ~= nil and type(lesson.title) ~= "string" then
        fail(path, "expected 'title' to be a string, got %s", type(lesson.title))
    end
    if #lesson == 0 then fail(path, "expected at least one step, got none") end
    for key in pairs(lesson) do
        if key ~= "title" and (math.type(key) ~= "integer" or key < 1 or key > #lesson) then
            fail(path, "unexpected field '%s' (a lesson has a title and steps)", tostring(key))
        end
    end
    for i, step in ipairs(lesson) do
        if type(step) ~= "table" then
            fail(path, "step %d: expected a table {text=, code=, check=, hint=}, got %s", i,
                 type(step))
        end
        for key, value in pairs(step) do
            local want = STEP_FIELDS[key]
            if not want then
                fail(path, "step %d: unknown field '%s' (expected text, code, check, hint, "
                     .. "solution)", i, tostring(key))
            end
            if type(value) ~= want then
                fail(path, "step %d: expected '%s' to be a %s, got %s", i, key, want, type(value))
            end
        end
        if not step.text then fail(path, "step %d: expected a 'text', got none", i) end
        if step.check and not (step.code or step.solution) then
            fail(path, "step %d: a checked step needs 'code' or 'solution' (the headless run "
                 .. "types it)", i)
        end
    end
    local name = path:match("([^/]+)%.lua$") or path
    return {name = name, title = lesson.title or name, steps = {table.unpack(lesson)}}
end

--- lessons.check(step, env) -> ok, message: the step's check run on env;
--- a wrong type or an error in the student's work is a failed check with
--- its message, never an error.
function lessons.check(step, env)
    if not step.check then return true end
    local ok, passed, message = pcall(step.check, env)
    if not ok then
        return false, "the check failed on your answer: " .. tostring(passed):gsub("^[^:]*:%d+: ", "")
    end
    if passed then return true end
    return false, message and tostring(message) or "not yet"
end

-- Runs step i's solution (or code) in env: true, or false and a message.
local function run_step_code(lesson, i, env)
    local step = lesson.steps[i]
    local source = step.solution or step.code
    if not source then return true end
    local name = "=" .. lesson.name .. " step " .. i
    local chunk, err = load(source, name, "t", env)
    if not chunk then
        -- as at the prompt, a last line may be an expression to show
        local head, last = source:match("^(.-)([^\n]*)$")
        chunk = load(head .. "return " .. last, name, "t", env)
    end
    local ok = chunk ~= nil
    if chunk then ok, err = pcall(chunk) end
    if not ok then return false, "the code raised: " .. tostring(err) end
    return true
end

--- lessons.run_headless(lesson) -> results, passed: each step's code (or
--- solution) run in a fresh environment, in order, then its check;
--- results[i] = {ok=, message=}.
function lessons.run_headless(lesson)
    local env = setmetatable({}, {__index = _G})
    local results, passed = {}, true
    for i, step in ipairs(lesson.steps) do
        local ok, message = run_step_code(lesson, i, env)
        if ok then ok, message = lessons.check(step, env) end
        results[i] = {ok = ok, message = message}
        passed = passed and ok
    end
    return results, passed
end

--- lessons.check_file(path) -> ok, text: the file loaded and run headless,
--- one line per step ("step 2: ok" or what went wrong): how a teacher
--- tries a lesson before the class.
function lessons.check_file(path)
    local loaded, lesson = pcall(lessons.load, path)
    if not loaded then return false, tostring(lesson) end
    local results, passed = lessons.run_headless(lesson)
    local lines = {("%s: %d steps"):format(lesson.title, #lesson.steps)}
    for i, r in ipairs(results) do
        lines[#lines + 1] = ("step %d: %s"):format(i, r.ok and "ok" or r.message)
    end
    return passed, table.concat(lines, "\n")
end

-- ---- progress -------------------------------------------------------------------

-- {name = next step} from the progress file; a damaged file gives {} and
-- a note.
local function read_progress()
    local f = io.open(lessons.progress_path)
    if not f then return {} end
    local text = f:read("a")
    f:close()
    local progress = {}
    for line in text:gmatch("[^\n]+") do
        local name, step = line:match("^([%w_%-]+)\t(%d+)$")
        if not name then
            lessons.out(("note: the lesson progress file %s was damaged; starting fresh")
                        :format(lessons.progress_path))
            return {}
        end
        progress[name] = tonumber(step)
    end
    return progress
end

local function write_progress(progress)
    local dir = lessons.progress_path:match("^(.*)/[^/]*$")
    if dir then os.execute("mkdir -p '" .. dir:gsub("'", "'\\''") .. "' 2>/dev/null") end
    local names = {}
    for name in pairs(progress) do names[#names + 1] = name end
    table.sort(names)
    local tmp = lessons.progress_path .. ".tmp"
    local f = io.open(tmp, "w")
    if not f then return end              -- progress is a convenience: never an error
    for _, name in ipairs(names) do f:write(name, "\t", progress[name], "\n") end
    f:close()
    os.rename(tmp, lessons.progress_path)
end

-- ---- the session at the prompt --------------------------------------------------

local session = nil      -- {lesson, number, step, env}

local function indent(code)
    return "    " .. code:gsub("\n", "\n    ")
end

local function show_step()
    local s = session
    local step = s.lesson.steps[s.step]
    local lines = {("── lesson %d: %s ── step %d of %d"):format(s.number, s.lesson.title, s.step,
                                                             #s.lesson.steps), step.text}
    if step.code then lines[#lines + 1] = indent(step.code) end
    if step.check then
        lines[#lines + 1] = "(type your answer; :hint, :skip, :back, :bye)"
    end
    lessons.out(table.concat(lines, "\n"))
end

local function save()
    local progress = read_progress()
    progress[session.lesson.name] = session.step
    write_progress(progress)
end

-- Moves to step `to`; steps without check are shown and passed.
local function go(to)
    local s = session
    s.step = math.max(1, to)
    while s.step <= #s.lesson.steps do
        show_step()
        if s.lesson.steps[s.step].check then
            save()
            return
        end
        s.step = s.step + 1
    end
    save()
    lessons.out(("── lesson %d complete. `:lesson %d` for the next one, `dlrepl --lesson` "
                 .. "lists them."):format(s.number, s.number + 1))
    session = nil
end

--- lessons.listing() -> the text of the lessons list, with progress.
function lessons.listing()
    local list, progress = lessons.list(), read_progress()
    if #list == 0 then
        return "no lessons found in " .. table.concat(lessons.dirs(), ", ")
    end
    local lines = {"lessons:"}
    for i, l in ipairs(list) do
        local ok, lesson = pcall(lessons.load, l.path)
        local title = ok and lesson.title or "(cannot be read: " .. tostring(lesson) .. ")"
        local at = progress[l.name]
        local state = ""
        if ok and at then
            state = at > #lesson.steps and "  [done]" or ("  [at step %d of %d]"):format(at,
                                                                                     #lesson.steps)
        end
        lines[#lines + 1] = ("%3d  %s%s"):format(i, title, state)
    end
    lines[#lines + 1] = "start one with `:lesson N` (or `dlrepl --lesson N`)"
    return table.concat(lines, "\n")
end

--- lessons.start(n, env) -> true when started: lesson n of the list,
--- resumed at the step where the student stopped (from the start when it
--- was finished); a missing number prints the list.
function lessons.start(n, env)
    local list = lessons.list()
    local number = tonumber(n)
    if not number or not list[number] then
        if n ~= nil and n ~= "" then lessons.out(("there is no lesson %s"):format(tostring(n))) end
        lessons.out(lessons.listing())
        return false
    end
    local ok, lesson = pcall(lessons.load, list[number].path)
    if not ok then
        lessons.out(tostring(lesson))
        return false
    end
    session = {lesson = lesson, number = number, step = 1, env = env or _G}
    local at = read_progress()[lesson.name]
    if at and at > 1 and at <= #lesson.steps then
        -- the variables of the steps done are made again
        for i = 1, at - 1 do run_step_code(lesson, i, session.env) end
        lessons.out(("resuming lesson %d at step %d (the code of the steps before it was run "
                     .. "again; :back goes back)"):format(number, at))
        go(at)
    else
        go(1)
    end
    return true
end

--- lessons.active() -> whether a lesson is running.
function lessons.active() return session ~= nil end

--- lessons.after_input(): the prompt calls it after each input it ran:
--- the step's check; on success the next step, else the hint.
function lessons.after_input()
    local s = session
    if not s then return end
    local step = s.lesson.steps[s.step]
    local ok, message = lessons.check(step, s.env)
    if ok then
        lessons.out("✓ correct")
        go(s.step + 1)
    else
        lessons.out("✗ " .. message .. (step.hint and "\nhint: " .. step.hint or ""))
    end
end

--- lessons.hint() / skip() / back() / bye(): the prompt's commands.
function lessons.hint()
    if not session then return lessons.out("no lesson is running (:lesson N starts one)") end
    local step = session.lesson.steps[session.step]
    lessons.out(step.hint and "hint: " .. step.hint or "no hint for this step")
end

function lessons.skip()
    if not session then return lessons.out("no lesson is running (:lesson N starts one)") end
    go(session.step + 1)
end

function lessons.back()
    if not session then return lessons.out("no lesson is running (:lesson N starts one)") end
    local to = session.step - 1
    while to > 1 and not session.lesson.steps[to].check do to = to - 1 end
    go(to)
end

function lessons.bye()
    if not session then return lessons.out("no lesson is running (:lesson N starts one)") end
    save()
    lessons.out(("lesson %d stopped at step %d; `:lesson %d` resumes it"):format(
        session.number, session.step, session.number))
    session = nil
end

return lessons
