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

-- The child's script for an interrupt test: `setup` (Lua code) defines
-- run(size), one long call of a C kernel. The child times run(small),
-- predicts the time of run(big) as `scale` times that, prints its pid and
-- "go <predicted seconds>", then runs run(big) once, assigning y. On the
-- error that Ctrl-C raises, two to-be-closed values run: the first absorbs
-- the interrupt hook (the prompt's Ctrl-C handler still has it armed after
-- a kernel stopped by itself), the second prints what the variables hold
-- and the time.
local function interrupt_child(setup, small, big, scale)
    return ([[
dl.threads(1)
%s
local a_before = a:clone()
local t0 = dl.clock()
run(%d)
local predicted = (dl.clock() - t0) * %g
print("pid " .. io.open("/proc/self/stat"):read("n"))
print(("go %%.3f"):format(predicted))
io.stdout:flush()
local report <close> = setmetatable({}, {__close = function()
    print(("after %%.6f y=%%s a_same=%%s"):format(dl.clock(), tostring(y == nil),
          tostring((a - a_before):abs():max():item() == 0)))
    io.stdout:flush()
end})
local absorb <close> = setmetatable({}, {__close = function() local z = 0; z = z + 1 end})
y = run(%d)
print("done")
]]):format(setup, small, scale, big)
end

-- Runs the child under dlrepl, sends SIGINT 0.3 s after "go", and checks
-- that the kernel stopped early (in less than half its predicted time),
-- with the variables intact and the script's line in the message.
local function check_interrupt(setup, small, big, scale)
    local path = script(interrupt_child(setup, small, big, scale))
    local p = assert(io.popen(("%s %s 2>&1"):format(dlrepl, path)))
    local pid, predicted
    for line in p:lines() do
        pid = pid or line:match("^pid (%d+)")
        predicted = line:match("^go ([%d.]+)")
        if predicted then break end
    end
    assert(pid and predicted, "the child did not start")
    predicted = tonumber(predicted)
    os.execute("sleep 0.3")
    local sent = H.dl.clock()
    os.execute("kill -INT " .. pid)
    local rest = p:read("a")
    p:close()
    os.remove(path)
    local after, y_nil, a_same = rest:match("after ([%d.]+) y=(%a+) a_same=(%a+)")
    assert(after, rest)
    assert.is_nil(rest:find("done", 1, true), rest)
    assert.truthy(rest:find(path .. ":%d+: interrupted!"), rest)
    assert.equal("true", y_nil)
    assert.equal("true", a_same)
    local took = tonumber(after) - sent
    -- Ctrl-C comes 0.3 s after the start: a kernel that cannot stop runs on
    -- for predicted - 0.3 s, which must exceed the predicted / 2 allowed
    assert(predicted > 0.8, ("the kernel is too short to test (%.2f s)"):format(predicted))
    assert(took < predicted / 2, ("stopped %.2f s after Ctrl-C; the whole call takes %.2f s")
           :format(took, predicted))
end

describe("Ctrl-C in a long C kernel", function()
    it("stops a large matmul between blocks of rows", function()
        check_interrupt([[a = dl.randn(6000, 6000)
            function run(n) local m = a:narrow(1, 1, n):narrow(2, 1, n); return m:matmul(m) end]],
            1500, 6000, 64)
    end)

    it("stops an FFT convolution between groups of planes", function()
        check_interrupt([[a = dl.randn(512, 32, 64, 64)
            local w = dl.randn(32, 32, 7, 7)
            function run(n)
                return dl.nn.functional.conv2d(a:narrow(1, 1, n), w, nil, {padding = 3})
            end]], 16, 512, 32)
    end)

    it_gnuplot("stops the wait for gnuplot", function()
        check_interrupt([[a = dl.ones(3)
            dl.plot.terminal("dumb", {echo = false})
            function run(n) return dl.plot.raw("pause " .. n / 10) end]], 2, 200, 100)
    end)

    it("stops an im2col convolution between chunks of images", function()
        check_interrupt([[a = dl.randn(64, 128, 64, 64)
            local w = dl.randn(1024, 128, 3, 3)
            function run(n)
                return dl.nn.functional.conv2d(a:narrow(1, 1, n), w, nil,
                                               {stride = 2, padding = 1})
            end]], 8, 64, 8)
    end)
end)
