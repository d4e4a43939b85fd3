-- Guided lessons: every lesson of lessons/ runs headless with all its
-- checks passing; a malformed lesson says which step is wrong; a session
-- driven step by step (right and wrong answers, answers of the wrong type,
-- an error in a check, :hint, :skip, :back, :bye) with its progress kept,
-- resumed, and started fresh when the progress file is damaged.
local H = require "tests.lua.helper"
local dl = H.dl
local lessons = require "dl.lessons"

-- The lesson files' globals, as at the prompt.
_G.dl, _G.nn, _G.optim = dl, dl.nn, dl.optim

local function write(path, text)
    local f = assert(io.open(path, "w"))
    f:write(text)
    f:close()
end

local function read(path)
    local f = io.open(path)
    if not f then return nil end
    local text = f:read("a")
    f:close()
    return text
end

describe("the lessons of lessons/", function()
    local list = lessons.list({"lessons"})

    it("are found in file name order", function()
        assert.truthy(#list >= 2)
        assert.equal("01_tensors", list[1].name)
        assert.equal("02_gradients", list[2].name)
    end)

    for _, entry in ipairs(list) do
        it(entry.name .. " runs headless with every check passing", function()
            local lesson = lessons.load(entry.path)
            local results, passed = lessons.run_headless(lesson)
            for i, r in ipairs(results) do
                assert(r.ok, ("%s step %d: %s"):format(entry.name, i, tostring(r.message)))
            end
            assert.is_true(passed)
        end)
    end
end)

describe("a malformed lesson", function()
    local path = os.tmpname() .. ".lua"
    after_each(function() os.remove(path) end)

    local function load_error(text)
        write(path, text)
        local ok, err = pcall(lessons.load, path)
        assert.is_false(ok)
        return (tostring(err):gsub("^lesson " .. path:gsub("%p", "%%%0") .. ": ", ""))
    end

    it("is reported by check_file, which a teacher runs before the class", function()
        write(path, 'return {title = "T", {text = "a", code = "x = 1", check = function(env) '
              .. 'return env.x == 2, "x should be 2" end}}')
        local ok, text = lessons.check_file(path)
        assert.is_false(ok)
        assert.equal("T: 1 steps\nstep 1: x should be 2", text)
        ok, text = lessons.check_file("lessons/01_tensors.lua")
        assert.is_true(ok, text)
    end)

    it("says which step is wrong and why", function()
        assert.equal("step 2: expected 'check' to be a function, got string",
                     load_error('return {{text = "a"}, {text = "b", code = "x = 1", check = "x"}}'))
        assert.equal("step 1: unknown field 'hnt' (expected text, code, check, hint, solution)",
                     load_error('return {{text = "a", hnt = "typo"}}'))
        assert.equal("step 1: expected a 'text', got none", load_error('return {{code = "x = 1"}}'))
        assert.equal("step 1: a checked step needs 'code' or 'solution' (the headless run "
                     .. "types it)", load_error('return {{text = "a", check = function() end}}'))
        assert.equal("step 2: expected a table {text=, code=, check=, hint=}, got number",
                     load_error('return {{text = "a"}, 5}'))
        assert.equal("expected at least one step, got none", load_error('return {title = "t"}'))
        assert.equal("expected the file to return a table of steps, got nil", load_error('x = 1'))
        assert.truthy(load_error('return {{text = "a"}'):find("expected", 1, true))  -- syntax
    end)
end)

describe("a lesson session", function()
    local dir = os.tmpname()
    local printed
    local original_out, original_path, original_dirs = lessons.out, lessons.progress_path,
                                                       lessons.dirs
    local env

    setup(function()
        os.remove(dir)
        os.execute("mkdir -p " .. dir .. "/lessons")
        write(dir .. "/lessons/01_sums.lua", [[
return {
    title = "Sums",
    {text = "Welcome."},
    {text = "Set a to 1 + 2.", solution = "a = 1 + 2",
     check = function(env) return env.a == 3, "a is " .. tostring(env.a) end,
     hint = "a = 1 + 2"},
    {text = "Make t, a tensor of two ones.", code = "t = dl.ones(2)",
     check = function(env) return env.t:sum():item() == 2, "t should hold two ones" end,
     hint = "dl.ones(2)"},
}
]])
        lessons.progress_path = dir .. "/progress"
        lessons.out = function(text) printed[#printed + 1] = text end
        lessons.dirs = function() return {dir .. "/lessons"} end
    end)

    teardown(function()
        lessons.out, lessons.progress_path = original_out, original_path
        lessons.dirs = original_dirs
        os.execute("rm -rf " .. dir)
    end)

    before_each(function()
        printed = {}
        env = {}
    end)

    local function said(pattern)
        local all = table.concat(printed, "\n")
        return all:find(pattern, 1, true) ~= nil
    end

    it("shows a step, hints on wrong answers of any type, and moves on when right", function()
        assert.is_true(lessons.start("1", env))
        assert.truthy(said("── lesson 1: Sums ── step 1 of 3"))
        assert.truthy(said("Welcome."))
        assert.truthy(said("step 2 of 3"))          -- a step without check is passed
        printed = {}
        env.a = "three"                              -- the wrong type: a hint, no crash
        lessons.after_input()
        assert.truthy(said("✗ a is three"))
        assert.truthy(said("hint: a = 1 + 2"))
        env.a = 3
        lessons.after_input()
        assert.truthy(said("✓ correct"))
        assert.truthy(said("step 3 of 3"))
        printed = {}
        env.t = "not a tensor"                       -- the check raises: a hint too
        lessons.after_input()
        assert.truthy(said("✗ the check failed on your answer:"))
        assert.truthy(said("hint: dl.ones(2)"))
        assert.is_true(lessons.active())
    end)

    it("has :hint, :back, :skip and :bye, and keeps the progress", function()
        lessons.hint()
        assert.truthy(said("hint: dl.ones(2)"))
        lessons.back()
        assert.truthy(said("step 2 of 3"))
        lessons.skip()
        assert.truthy(said("step 3 of 3"))
        lessons.bye()
        assert.truthy(said("lesson 1 stopped at step 3; `:lesson 1` resumes it"))
        assert.is_false(lessons.active())
        assert.equal("01_sums\t3\n", read(dir .. "/progress"))
        printed = {}
        lessons.hint()
        assert.truthy(said("no lesson is running"))
    end)

    it("resumes where the student stopped, running the earlier steps again", function()
        assert.is_true(lessons.start("1", env))
        assert.truthy(said("resuming lesson 1 at step 3"))
        assert.equal(3, env.a)                      -- step 2's solution ran again
        env.t = dl.ones(2)
        lessons.after_input()
        assert.truthy(said("── lesson 1 complete."))
        assert.is_false(lessons.active())
        assert.equal("01_sums\t4\n", read(dir .. "/progress"))
        assert.truthy(lessons.listing():find("Sums  [done]", 1, true))
    end)

    it("lists the lessons for a missing number, and starts fresh on a damaged file", function()
        assert.is_false(lessons.start("7", env))
        assert.truthy(said("there is no lesson 7"))
        assert.truthy(said("  1  Sums"))
        write(dir .. "/progress", "garbage \0 here\n")
        printed = {}
        assert.is_true(lessons.start("1", env))
        assert.truthy(said("note: the lesson progress file " .. dir .. "/progress was damaged; "
                           .. "starting fresh"))
        assert.truthy(said("step 2 of 3"))
        lessons.bye()
    end)
end)
