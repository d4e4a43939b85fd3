-- No command injection through dl.plot: every option of every plot
-- function, every save path and every terminal option is given text that
-- would make gnuplot run `touch MARKER` (backquotes, system, !, newlines,
-- EOD, ;, unbalanced quotes, pipes); the marker file must never appear,
-- and each call either draws the text as a literal or raises a Lua error.
-- The checks themselves (dl.plot_guard) are tested on what they accept.
local H = require "tests.lua.helper"
local dl = H.dl
local plot = dl.plot
local guard = require "dl.plot_guard"

local have_gnuplot = require("dl.gnuplot").find() ~= nil
local describe_gnuplot = have_gnuplot and describe or pending

local marker = os.tmpname()
os.remove(marker)

local dir = os.tmpname()         -- where hostile save paths land
os.remove(dir)
assert(os.execute("mkdir " .. dir))

local function exists(path)
    local f = io.open(path, "rb")
    if f then f:close() end
    return f ~= nil
end

-- Texts that would run `touch marker` (or hang gnuplot) if passed through.
local function hostile(m)
    local t = "touch " .. m
    return {
        "`" .. t .. "`", "x `" .. t .. "` y", 'system "' .. t .. '"',
        "system('" .. t .. "')", "! " .. t, "!" .. t, "\n!" .. t .. "\n",
        "\nsystem \"" .. t .. "\"\n", "lines\n system \"" .. t .. "\"\n",
        "\nEOD\n", "EOD", "x\nEOD\nsystem '" .. t .. "'", "y; system '" .. t .. "'",
        "y; !" .. t, "'unbalanced", '"unbalanced', "a'b\"c", "' . system('" .. t .. "') . '",
        '" . system("' .. t .. '") . "', '"`' .. t .. '`"', "'`" .. t .. "`'",
        "|" .. t, "| " .. t, "< " .. t, "output '|" .. t .. "'", "print '|" .. t .. "'",
        "table '|" .. t .. "'", "o \"|" .. t .. "\"", "term dumb; !" .. t,
        "title \"a\" . system(\"" .. t .. "\")", "load '/dev/stdin'", "call '" .. m .. "'",
        "eval system('" .. t .. "')", "shell", "macros; @x", "x\0\nsystem '" .. t .. "'",
        "x\\", "title `" .. t .. "`", "title \"`" .. t .. "`\"", "$d << EOD",
    }
end

-- Runs f(...) and checks that it drew or raised a Lua error, and ran nothing.
local function try(what, f, ...)
    local ok, err = pcall(f, ...)
    assert(ok or type(err) == "string", what .. ": a non-string error")
    assert(not exists(marker), what .. " ran a command: " .. tostring(err))
    return ok, err
end

describe_gnuplot("dl.plot with hostile options", function()
    setup(function()
        plot.terminal("dumb", {width = 80, height = 24, echo = false})
    end)
    teardown(function()
        os.remove(marker)
        os.execute("rm -rf " .. dir)
    end)

    it("runs no command through any option of any figure", function()
        local h = {loss = {1, 0.5}, accuracy = {0.5, 0.7}}
        local kinds = {
            {"lines", function(o) plot.lines({1, 2, 3}, o) end,
             {"title", "xlabel", "ylabel", "logscale", "xrange", "yrange", "set", "with",
              "legend"}},
            {"scatter", function(o) plot.scatter({1, 2}, {2, 1}, o) end,
             {"title", "xlabel", "ylabel", "logscale", "xrange", "yrange", "set", "color",
              "classes"}},
            {"hist", function(o) plot.hist({1, 2, 2, 3}, o) end,
             {"title", "xlabel", "ylabel", "logscale", "xrange", "yrange", "set", "bins"}},
            {"image", function(o) plot.image(dl.rand(2, 4, 4), o) end,
             {"title", "captions", "pred", "target", "classes", "cols"}},
            {"confusion", function(o) plot.confusion(dl.tensor{{2, 1}, {0, 3}}, o) end,
             {"labels", "classes", "title"}},
            {"plot", function(o) plot(h, o) end, {"title", "xlabel"}},
        }
        local calls, refused = 0, 0
        for _, kind in ipairs(kinds) do
            for _, key in ipairs(kind[3]) do
                for _, text in ipairs(hostile(marker)) do
                    -- As the option itself, and inside a list where one is taken.
                    for _, value in ipairs{text, {text, text}} do
                        local o = {[key] = value}
                        if key == "classes" or key == "pred" or key == "target" then
                            o.color = key == "classes" and kind[1] == "scatter" and {1, 2}
                                      or nil
                        end
                        local ok = try(kind[1] .. " " .. key, kind[2], o)
                        calls, refused = calls + 1, refused + (ok and 0 or 1)
                    end
                end
            end
        end
        -- Series names of a history, and legends, are data too.
        for _, text in ipairs(hostile(marker)) do
            try("plot name", plot, {[text] = {1, 2}})
            try("lines name", plot.lines, {[text] = {1, 2}})
            try("scatter classes", plot.scatter, {1, 2}, {1, 2},
                {color = {1, 2}, classes = {text, text}})
            try("image captions", plot.image, dl.rand(2, 3, 3), {captions = {text, text}})
            try("confusion labels", plot.confusion, dl.eye(2), {labels = {text, text}})
            calls = calls + 5
        end
        assert.is_true(calls > 2000 and refused > 500, calls .. " " .. refused)
        -- The session's gnuplot still answers.
        plot.lines({1, 2}, {title = "after"})
        assert.truthy(plot.last_text():find("after", 1, true))
    end)

    it("draws hostile titles as literal text", function()
        local t = "`touch " .. marker .. "`"
        plot.lines({1, 2, 3}, {title = t})
        assert.truthy(plot.last_text():find(t, 1, true))
        plot.lines({1, 2, 3}, {xlabel = "a;b ! system(\"x\") EOD"})
        assert.truthy(plot.last_text():find("a;b ! system(\"x\") EOD", 1, true))
        assert.is_false(exists(marker))
    end)

    it("refuses a pipe or a NUL byte as a save path, and hostile terminal options",
       function()
        plot.lines({1, 2, 3})
        for _, path in ipairs{"|touch " .. marker .. " #.png", " |touch " .. marker .. ".png",
                              "ok.png\0junk.png"} do
            local msg = H.err(plot.save, path)
            assert.truthy(msg:find("^bad argument #1 to 'save' %(expected a file path, got "),
                          msg)
        end
        for _, text in ipairs(hostile(marker)) do
            try("terminal", plot.terminal, text)
            for _, key in ipairs{"width", "height", "echo", "color"} do
                try("terminal " .. key, plot.terminal, "dumb", {[key] = text})
            end
            try("save width", plot.save, dir .. "/w.png", {width = text})
            try("save", plot.save, dir .. "/" .. text:gsub("/", "_") .. ".png")
        end
        plot.terminal("dumb", {width = 80, height = 24, echo = false})
        H.raises("bad argument #2 to 'lines' (expected option 'set' to be gnuplot settings, "
                 .. "got a backquote (it runs a command))",
                 plot.lines, {1, 2}, {set = "title `ls`"})
        H.raises("bad argument #2 to 'lines' (expected option 'with' to be a gnuplot style "
                 .. "such as 'linespoints', got 'nonsense' is not a plot style)",
                 plot.lines, {1, 2}, {with = "nonsense"})
        H.raises("bad argument #2 to 'lines' (expected option 'logscale' to be axes such as "
                 .. "'xy', got 'q' is not axis names such as 'xy')",
                 plot.lines, {1, 2}, {logscale = "q"})
        assert.is_false(exists(marker))
    end)

    it("still accepts ordinary settings, styles and axes", function()
        plot.lines({1, 10, 100}, {logscale = "y", with = "linespoints pt 7 lc 'red'",
                                  set = {"grid", "key left top", "title 'a;b'",
                                         "format y '%.0f'", "xtics 1"}})
        assert.truthy(plot.last_text():find("a;b", 1, true))
        plot.lines({1, 10, 100}, {logscale = "xy 10", with = "steps"})
    end)
end)

describe("dl.plot_guard", function()
    it("accepts plot styles with their properties, and refuses anything else", function()
        for _, s in ipairs{"lines", "linespoints pt 7 ps 0.5", "lines lw 2 lc 'red'",
                           "lp dt (2,4)", "boxes fs solid 0.5", "impulses lc rgb '#ff0000'"} do
            assert.is_nil(guard.style(s), s)
        end
        for _, s in ipairs{"nonsense", "lines; !ls", "lines title `ls`", "lines\nplot 1",
                           "lines lc system('ls')", "lines lc \"`ls`\"", ""} do
            assert.is_string(guard.style(s), s)
        end
    end)

    it("accepts axis names with a base", function()
        for _, s in ipairs{"x", "y", "xy", "x2y2", "cb", "xyz", "y 2", "x 10"} do
            assert.is_nil(guard.axes(s), s)
        end
        for _, s in ipairs{"q", "x;!ls", "x `ls`", "x 1", "x -2", "x\ny", ""} do
            assert.is_string(guard.axes(s), s)
        end
    end)

    it("accepts one harmless setting, with quoted text", function()
        for _, s in ipairs{"grid", "key left top", "title 'it''s; fine'", "title \"a\\\"b\"",
                           "xtics ('a' 1, 'b' 2)", "style fill solid 0.5", "label 1 at 0,0",
                           "title 'system load'", "format y \"%.1f\"", "tics out"} do
            assert.is_nil(guard.setting(s), s)
        end
        for _, s in ipairs{"output 'x.png'", "out 'x'", "o \"x\"", "print 'x'", "table",
                           "term png", "t dumb", "loadpath '/tmp'", "title system('ls')",
                           "title 'a' . System('ls')", "title @x", "title 'a' \\", "a ! b"} do
            assert.is_string(guard.setting(s), s)
        end
    end)

    it("refuses pipes and NUL bytes as file names", function()
        assert.is_nil(guard.file_name("figure.png"))
        assert.is_nil(guard.file_name("a|b.png"))
        assert.is_string(guard.file_name("|touch x.png"))
        assert.is_string(guard.file_name("  |x.png"))
        assert.is_string(guard.file_name("ok.png\0x.png"))
    end)
end)
