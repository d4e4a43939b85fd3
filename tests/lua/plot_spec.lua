-- dl.plot through a real gnuplot, headless: text plots (the dumb
-- terminal) read back with dl.plot.last_text, files checked byte by byte,
-- gnuplot's errors raised as Lua errors, a killed gnuplot replaced, and
-- the one-line notice when gnuplot is missing (in a child process, where
-- DLREPL_GNUPLOT can point nowhere).
local H = require "tests.lua.helper"
local dl = H.dl
local plot = dl.plot

local build = os.getenv("DL_BUILD") or "build"
local lua = io.popen("command -v lua5.4"):read("l") or "lua5.4"
local have_gnuplot = require("dl.gnuplot").find() ~= nil
local describe_gnuplot = have_gnuplot and describe or pending

-- Runs Lua code in a child lua5.4 with dl loaded and no display (figures
-- go to text); returns its stdout and stderr together.
local function child(code, env)
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write(("package.cpath = %q .. package.cpath\nlocal dl = require 'dl'\n%s\n")
            :format(build .. "/?.so;", code))
    f:close()
    local p = assert(io.popen(("env -u DISPLAY -u WAYLAND_DISPLAY %s %s %s 2>&1")
                              :format(env or "", lua, script)))
    local out = p:read("a")
    p:close()
    os.remove(script)
    return out
end

local function read_file(path)
    local f = assert(io.open(path, "rb"))
    local bytes = f:read("a")
    f:close()
    return bytes
end

-- Width and height from a PNG's IHDR chunk; errors when the signature is wrong.
local function png_size(path)
    local bytes = read_file(path)
    assert.equal("\137PNG\r\n\26\n", bytes:sub(1, 8))
    assert.equal("IHDR", bytes:sub(13, 16))
    return string.unpack(">I4>I4", bytes, 17)
end

local function text()
    return assert(plot.last_text(), "no text plot was drawn")
end

describe_gnuplot("dl.plot", function()
    setup(function()
        plot.terminal("dumb", {width = 80, height = 24, echo = false})
    end)

    it("draws lines as text with the axes, the title and the data's extent", function()
        plot.lines({3, 1, 4, 1, 5, 9, 2, 6}, {title = "digits of pi", xlabel = "position",
                                              ylabel = "digit"})
        local t = text()
        assert.truthy(t:find("digits of pi", 1, true))
        assert.truthy(t:find("position", 1, true))
        assert.truthy(t:find("digit", 1, true))
        assert.truthy(t:find("+----", 1, true))     -- the frame
        assert.truthy(t:match("\n%s+9 [+|]"))         -- y tics up to the largest value
        assert.truthy(t:match("\n%s+1 [+|]"))
        assert.truthy(t:match("\n%s+1 .* 8 *\n"))    -- x tics from 1 to 8
        local _, lines = t:gsub("\n", "")
        assert.equal(24, lines)
    end)

    it("draws many series, named or from the columns of a tensor, with a legend", function()
        plot.lines({train = {1, 0.5, 0.25}, test = dl.tensor{1.2, 0.7, 0.5}})
        assert.truthy(text():find("train", 1, true))
        assert.truthy(text():find("test", 1, true))
        plot.lines({x = dl.linspace(0, 1, 5), y = dl.ones(5, 2)}, {legend = {"a", "b"}})
        assert.truthy(text():find("a ****", 1, true))
        plot.lines(dl.tensor{1, 10, 100}, {logscale = true, title = "log"})
        assert.truthy(text():match("\n%s+100 [+|]"))
    end)

    it("draws a history: losses on top, metrics below, redrawn as it grows", function()
        local hist = {loss = {1.0, 0.6}, val_loss = {1.1, 0.8},
                      accuracy = {0.5, 0.7}, val_accuracy = {0.45, 0.6}, epochs = 2}
        plot(hist)
        local t = text()
        local top, bottom = t:find("val_loss", 1, true), t:find("val_accuracy", 1, true)
        assert.truthy(top and bottom and top < bottom, t)
        assert.truthy(t:find(" loss *", 1, true))
        assert.truthy(t:find(" accuracy *", 1, true))
        local _, frames = t:gsub("\n%s+[%d.]+ %+%-%-%-", "")
        assert.equal(4, frames)                      -- top and bottom of two frames
        local _, axes = t:gsub("epoch", "")
        assert.equal(2, axes)
        for e = 3, 12 do
            hist.loss[e], hist.val_loss[e] = 1 / e, 1.2 / e
            hist.accuracy[e], hist.val_accuracy[e] = 1 - 1 / e, 0.9 - 1 / e
        end
        plot(hist)
        assert.truthy(text():match(" 12 *\n"))       -- the x axis now reaches epoch 12
    end)

    it("accepts scalar tensors as history values", function()
        plot({loss = {dl.tensor(0.9), dl.tensor(0.4)}})
        assert.truthy(text():find("loss", 1, true))
    end)

    it("draws scatter, histogram, image and confusion matrix as text", function()
        plot.scatter({0, 1, 2, 3}, {0, 1, 4, 9}, {color = {1, 1, 2, 2},
                                                  classes = {"small", "large"}})
        assert.truthy(text():find("small", 1, true))
        assert.truthy(text():find("large", 1, true))
        plot.scatter(dl.randn(20, 2), {title = "cloud"})
        assert.truthy(text():find("cloud", 1, true))

        plot.hist(dl.randn(500), {bins = 10, title = "normal"})
        assert.truthy(text():find("normal", 1, true))

        local img = dl.zeros(8, 8)
        img[4][4] = 1
        plot.image(img, {title = "dot"})
        assert.truthy(text():find("dot", 1, true))
        assert.truthy(text():find("@", 1, true))     -- the brightest pixel
        plot.image(dl.rand(4, 1, 6, 6), {pred = {1, 2, 3, 4}, target = {1, 2, 1, 4},
                                         classes = {"cat", "dog", "cow", "eel"}})
        assert.truthy(text():find("cow/cat", 1, true))
        assert.truthy(text():find("eel", 1, true))

        plot.confusion({{50, 2}, {7, 41}}, {labels = {"cat", "dog"}})
        for _, s in ipairs{"50", "41", "7", "cat", "dog", "predicted", "true"} do
            assert.truthy(text():find(s, 1, true), s)
        end
    end)

    it("saves the current figure as PNG with the right signature and size", function()
        local path = os.tmpname() .. ".png"
        plot.lines({1, 2, 3})
        plot.save(path, {width = 640, height = 480})
        local w, h = png_size(path)
        assert.equal(640, w)
        assert.equal(480, h)
        plot({loss = {1, 0.5}, accuracy = {0.5, 0.8}})
        plot.save(path)
        w, h = png_size(path)
        assert.equal(800, w)
        assert.equal(800, h)
        os.remove(path)
    end)

    it("saves SVG and PDF by the extension", function()
        local base = os.tmpname()
        plot.image(dl.rand(3, 5, 5))
        plot.save(base .. ".svg")
        plot.save(base .. ".pdf")
        assert.truthy(read_file(base .. ".svg"):find("<svg", 1, true))
        assert.equal("%PDF", read_file(base .. ".pdf"):sub(1, 4))
        os.remove(base .. ".svg")
        os.remove(base .. ".pdf")
        os.remove(base)
    end)

    it("raises gnuplot's own error text, and the session lives on", function()
        local msg = H.err(plot.raw, "set nonsense")
        assert.truthy(msg:find("^raw: gnuplot: unrecognized option"), msg)
        assert.truthy(msg:find("set nonsense", 1, true), msg)
        msg = H.err(plot.lines, {1, 2}, {set = "xtics ,,"})
        assert.truthy(msg:find("^lines: gnuplot: "), msg)
        msg = H.err(plot.save, "/nonexistent-dir/figure.png")
        assert.truthy(msg:find("cannot open file", 1, true), msg)
        plot.lines({1, 2}, {title = "still here"})
        assert.truthy(text():find("still here", 1, true))
    end)

    it("returns what raw commands print", function()
        assert.equal("42", plot.raw("print 6 * 7"))
        assert.is_nil(plot.raw("set grid"))
    end)

    it("replaces a gnuplot that was killed", function()
        plot.lines({1, 2})
        local pid = assert(plot.pid())
        os.execute("kill -9 " .. pid)
        plot.lines({2, 1}, {title = "after the kill"})
        assert.truthy(text():find("after the kill", 1, true))
        assert.is_not.equal(pid, plot.pid())
        plot.raw("exit")
        assert.is_nil(plot.pid())
        assert.equal("1", plot.raw("print 1"))
    end)

    it("names the function and the argument in its errors", function()
        H.raises("bad argument #1 to 'lines' (expected a table of numbers or a tensor, "
                 .. "got string)", plot.lines, "x")
        H.raises("bad argument #1 to 'lines' (expected a table of numbers or a tensor, "
                 .. "got string at [2])", plot.lines, {1, "x"})
        H.raises("bad argument #2 to 'lines' (unknown option 'titel')",
                 plot.lines, {1}, {titel = "x"})
        H.raises("bad argument #1 to 'plot' (expected a history (a table of named series "
                 .. "such as loss = {...}), got a table with no series)",
                 plot, {epochs = 3})
        H.raises("bad argument #2 to 'scatter' (expected 3 values (as many as x), got 2)",
                 plot.scatter, {1, 2, 3}, {1, 2})
        H.raises("bad argument #3 to 'scatter' (expected class labels 1..C in option "
                 .. "'color', got 0 at [1])", plot.scatter, {1}, {1}, {color = {0}})
        H.raises("bad argument #2 to 'hist' (expected option 'bins' to be a count >= 1, "
                 .. "got 0)", plot.hist, {1, 2}, {bins = 0})
        H.raises("bad argument #1 to 'image' (expected an image H×W, C×H×W or N×C×H×W "
                 .. "(C = 1 or 3), got shape (5))", plot.image, dl.ones(5))
        H.raises("bad argument #1 to 'confusion' (expected a square matrix C×C (C >= 1), "
                 .. "got shape (2, 3))", plot.confusion, dl.ones(2, 3))
        H.raises("bad argument #1 to 'save' (expected a path ending in .png, .svg or .pdf, "
                 .. "got 'figure.jpg')", plot.save, "figure.jpg")
        H.raises("bad argument #1 to 'raw' (expected a string of gnuplot commands, "
                 .. "got nil)", plot.raw)
        assert.truthy(H.err(plot.terminal, "nonsense"):find("^bad argument #1 to "
            .. "'terminal' %(expected 'auto' or a terminal this gnuplot has"))
    end)

    it("prints text plots on stdout in a script without a terminal", function()
        local out = child([[dl.plot.lines({1, 2, 3}, {title = "from a script"})]])
        assert.truthy(out:find("from a script", 1, true), out)
        assert.truthy(out:find("+----", 1, true), out)
    end)

    it("redraws a text plot in place in a terminal", function()
        if os.execute("command -v script >/dev/null") ~= true then
            return pending("needs script(1) for a pseudo-terminal")
        end
        local code = [[dl.plot.terminal("dumb", {height = 12, color = false})
            local h = {loss = {1}}
            for e = 2, 3 do h.loss[e] = 1 / e; dl.plot(h) end]]
        local script = os.tmpname()
        local f = assert(io.open(script, "w"))
        f:write(("package.cpath = %q .. package.cpath\nlocal dl = require 'dl'\n%s\n")
                :format(build .. "/?.so;", code))
        f:close()
        local p = assert(io.popen(("env -u DISPLAY -u WAYLAND_DISPLAY script -qec "
                                   .. "'%s %s' /dev/null"):format(lua, script)))
        local out = p:read("a")
        p:close()
        os.remove(script)
        assert.truthy(out:find("\27[12F", 1, true), out)    -- up over 12 lines
        -- each line cleared to its end, never the screen (tmux would keep
        -- every cleared screen in its scrollback)
        assert.falsy(out:find("\27[J", 1, true), out)
        assert.truthy(out:find("\27[K", 1, true), out)
    end)
end)

describe("dl.plot without gnuplot", function()
    it("prints one line saying how to install it, returns, and the rest works", function()
        local out = child([[
            dl.plot.lines({1, 2, 3})
            dl.plot({loss = {1, 0.5}})
            dl.plot.raw("print 1")
            dl.plot.save("figure.png")
            print("sum " .. dl.ones(3):sum():item())]],
            "DLREPL_GNUPLOT=/nonexistent/gnuplot")
        local lines = {}
        for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
        assert.equal(2, #lines, out)
        assert.truthy(out:find("dl.plot: DLREPL_GNUPLOT=/nonexistent/gnuplot is not an "
                               .. "executable gnuplot; plots are skipped", 1, true), out)
        assert.truthy(out:find("sum 3", 1, true), out)
    end)

    it("names the package to install when gnuplot is not on PATH", function()
        local out = child([[dl.plot.lines({1, 2, 3})]], "PATH=/nonexistent")
        assert.truthy(out:find("apt-get install gnuplot", 1, true), out)
    end)
end)
