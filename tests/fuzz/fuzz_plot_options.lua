-- fuzz_plot_options.lua SECONDS -- random hostile option strings for dl.plot.
--
-- For SECONDS, draws figures through a real gnuplot (dumb terminal) with
-- options built from random pieces: gnuplot's ways of running a command
-- (backquotes, system, !, shell, load, call, eval, pipes, macros), command
-- separators (newline, ;, EOD, <<), quotes, random bytes, and ordinary
-- settings. Every command the pieces could run is `touch MARKER`; the run
-- fails as soon as MARKER exists, or a call raises something other than a
-- string, or gnuplot hangs (a datablock left open). Run by `make fuzz` (tests/fuzz/run) with dl.so from $DL_BUILD.
-- Prints "N runs, N refused, N drawn" and exits non-zero on a finding,
-- writing the option that ran a command to build/fuzz/plot_options-crash.lua.
local build = os.getenv("DL_BUILD") or "build"
package.cpath = build .. "/?.so;" .. package.cpath
local dl = require "dl"
local plot = dl.plot

local seconds = tonumber(arg[1]) or 60
local seed = tonumber(os.getenv("FUZZ_SEED") or "") or os.time()
math.randomseed(seed)

if not require("dl.gnuplot").find() then
    print("gnuplot is not installed: nothing to fuzz")
    os.exit(0)
end

local marker = os.tmpname()
os.remove(marker)
local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir " .. dir))
local touch = "touch " .. marker

local PIECES = {
    "`" .. touch .. "`", "`", "system(\"" .. touch .. "\")", "system '" .. touch .. "'",
    "system", "!" .. touch, "!", "shell", "load '" .. marker .. "'", "call", "eval",
    "evaluate", "import", "|" .. touch, "< " .. touch, "output", "print", "table", "set",
    "term", "o", "@", "@x", "macros", "\n", "\r", ";", "EOD", "\nEOD\n", "$d << EOD", "<<",
    "'", '"', "''", '\\"', "\\", " ", "  ", ".", ",", "(", ")", "[", "]", "{", "}", "x", "y",
    "xy", "2", "10", "lines", "points", "linespoints", "pt", "7", "lc", "'red'", "grid",
    "key", "left", "title", "'a'", "\"b\"", "sprintf(\"%s\", 'c')", "\0", "#", "%",
    "exit", "quit", "reread", "pause -1", "replot", "unset", "reset", "plot", "sin(x)",
}

local function random_piece()
    if math.random() < 0.1 then
        local bytes = {}
        for i = 1, math.random(1, 4) do bytes[i] = string.char(math.random(0, 255)) end
        return table.concat(bytes)
    end
    return PIECES[math.random(#PIECES)]
end

local function random_text()
    local parts = {}
    for i = 1, math.random(1, 8) do parts[i] = random_piece() end
    return table.concat(parts, math.random() < 0.5 and " " or "")
end

local function random_value()
    local r = math.random()
    if r < 0.8 then return random_text() end
    if r < 0.9 then return {random_text(), random_text()} end
    return math.random() < 0.5 and true or 3
end

local KINDS = {
    {function(o) plot.lines({1, 2, 3}, o) end,
     {"title", "xlabel", "ylabel", "logscale", "xrange", "yrange", "set", "with", "legend"}},
    {function(o) plot.scatter({1, 2}, {2, 1}, o) end,
     {"title", "xlabel", "ylabel", "logscale", "set", "color", "classes"}},
    {function(o) plot.hist({1, 2, 2, 3}, o) end,
     {"title", "xlabel", "ylabel", "logscale", "set", "bins"}},
    {function(o) plot.image(dl.ones(2, 3, 3), o) end, {"title", "captions", "classes"}},
    {function(o) plot.confusion(dl.eye(2), o) end, {"labels", "title"}},
    {function(o) plot({loss = {1, 0.5}}, o) end, {"title", "xlabel"}},
    {function(o) plot.save(dir .. "/" .. tostring(o.title):gsub("/", "_") .. ".png") end,
     {"title"}},
}

local function exists(path)
    local f = io.open(path, "rb")
    if f then f:close() end
    return f ~= nil
end

local function report_finding(what, o)
    os.execute("mkdir -p build/fuzz")
    local f = io.open("build/fuzz/plot_options-crash.lua", "w")
    if f then
        for k, v in pairs(o) do
            f:write(("-- %s\n%s = %q\n"):format(what, k, type(v) == "table" and v[1] or v))
        end
        f:close()
    end
    os.execute("rm -rf " .. dir)
    os.remove(marker)
    print(("FINDING (seed %d): %s ran a command, or raised a non-string; see "
           .. "build/fuzz/plot_options-crash.lua"):format(seed, what))
    os.exit(1)
end

plot.terminal("dumb", {width = 60, height = 15, echo = false})
plot.lines({1, 2})
local runs, refused, drawn = 0, 0, 0
local deadline = os.time() + seconds
while os.time() < deadline do
    local kind = KINDS[math.random(#KINDS)]
    local o = {}
    for _ = 1, math.random(1, 2) do
        o[kind[2][math.random(#kind[2])]] = random_value()
    end
    local ok, err = pcall(kind[1], o)
    runs = runs + 1
    if ok then drawn = drawn + 1 else refused = refused + 1 end
    if exists(marker) or (not ok and (type(err) ~= "string"
                                      or err:find("did not answer", 1, true))) then
        report_finding(tostring(err), o)
    end
end
os.execute("rm -rf " .. dir)
print(("plot_options %d runs in %ds (seed %d): %d refused, %d drawn, no command ran")
      :format(runs, seconds, seed, refused, drawn))
