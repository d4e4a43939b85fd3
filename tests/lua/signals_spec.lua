-- Signals around dl: SIGPIPE keeps its default for the program's own
-- output (dlrepl ... | head ends when head does) while a write to a
-- gnuplot that died fails quietly; Ctrl-C (SIGINT) stops long C kernels
-- mid-way with the variables intact and the user's line in the message.
-- Each case runs in a child process (dlrepl -e, or lua5.4).
local H = require "tests.lua.helper"

local build = os.getenv("DL_BUILD") or "build"
local lua = io.popen("command -v lua5.4"):read("l") or "lua5.4"
local dlrepl = build .. "/dlrepl"
local have_gnuplot = require("dl.gnuplot").find() ~= nil
local it_gnuplot = have_gnuplot and it or pending

local function exists(path)
    local f = io.open(path, "rb")
    if f then f:close() end
    return f ~= nil
end

-- Writes `code` to a temporary file and returns its path.
local function script(code)
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write(code)
    f:close()
    return path
end

-- Runs a shell command line; returns its stdout.
local function shell(cmd)
    local p = assert(io.popen(cmd))
    local out = p:read("a")
    p:close()
    return out
end

describe("SIGPIPE", function()
    it_gnuplot("keeps its default for dlrepl's own output after a plot", function()
        local out = shell(("env -u DISPLAY -u WAYLAND_DISPLAY bash -c '%s -e "
            .. "\"dl.plot.lines({1, 2, 3}); for i = 1, 3e7 do print(i) end\" | head -2 "
            .. ">/dev/null; echo status ${PIPESTATUS[0]}'"):format(dlrepl))
        -- Killed by SIGPIPE (128 + 13) as soon as head left, not after 3e7 lines.
        assert.equal("status 141\n", out)
    end)

    it_gnuplot("is not raised by a write to a gnuplot that exited", function()
        local path = script(("package.cpath = %q .. package.cpath\n"):format(build .. "/?.so;")
            .. [[local dl = require "dl"
            dl.plot.terminal("dumb", {echo = false})
            pcall(dl.plot.raw, "exit\n" .. ("print 1\n"):rep(200000))
            print(dl.plot.raw("print 6 * 7"))]])
        local out = shell(("env -u DISPLAY -u WAYLAND_DISPLAY %s %s 2>&1; echo status $?")
                          :format(lua, path))
        os.remove(path)
        assert.equal("42\nstatus 0\n", out)
    end)
end)
