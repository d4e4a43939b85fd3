-- Large plots are cut down to what a figure shows before gnuplot gets
-- them: histograms binned in C, long lines reduced to the extremes of each
-- pixel column (spikes stay), scatter plots to one point a cell and class,
-- large images averaged down; large data goes to gnuplot through a file.
-- The reductions are checked exactly; the figures through a real gnuplot.
local H = require "tests.lua.helper"
local dl = H.dl
local plot = dl.plot
local gp = require "dl.gnuplot"

local have_gnuplot = gp.find() ~= nil
local describe_gnuplot = have_gnuplot and describe or pending

-- The rows of a datablock as lists of numbers.
local function rows(block)
    local out = {}
    for line in block:gmatch("[^\n]+") do
        if not line:find("EOD", 1, true) then
            local row = {}
            for v in line:gmatch("%S+") do row[#row + 1] = tonumber(v) end
            out[#out + 1] = row
        end
    end
    return out
end

describe("plot data reductions", function()
    it("bins a histogram: centres and counts, NaN and inf left out", function()
        local block, width = gp.histogram("$h", dl.tensor{0, 1, 1, 2, 4, 0 / 0, 1 / 0}, 4)
        assert.equal(1, width)
        assert.same({{0.5, 1}, {1.5, 2}, {2.5, 1}, {3.5, 1}}, rows(block))
        block, width = gp.histogram("$h", dl.tensor{3, 3}, 2)     -- all equal
        assert.equal(1, width)
        assert.same({{3.5, 2}, {4.5, 0}}, rows(block))
    end)

    it("keeps each pixel column's first, last, least and greatest point and gaps", function()
        local y = dl.zeros(1000)
        y[500] = 7                          -- a spike
        y[800] = -3
        y[900] = 0 / 0                      -- a gap
        local block = gp.line("$l", y, nil, 10)
        assert.truthy(block:find("\n900 NaN\n", 1, true))   -- the gap stays
        local r = rows(block)
        local seen = {}
        for _, row in ipairs(r) do seen[row[1]] = row[2] end
        assert.equal(7, seen[500])
        assert.equal(-3, seen[800])
        assert.equal(0, seen[1])
        assert.equal(0, seen[1000])
        assert.is_true(#r <= 50)
        for i = 2, #r do assert.is_true(r[i][1] > r[i - 1][1]) end   -- in order
        -- with x: the kept rows carry their x
        r = rows(gp.line("$l", y, dl.arange(1000) * 2, 10))
        for _, row in ipairs(r) do
            if row[2] == 7 then assert.equal(998, row[1]) end
        end
    end)

    it("keeps one point a grid cell and class", function()
        local x = dl.tensor{0, 0.01, 1, 1, 0.5}
        local y = dl.tensor{0, 0.01, 1, 1, 0.5}
        local c = dl.tensor{1, 1, 1, 2, 1}
        local block, n = gp.scatter("$s", x, y, c, 2, 2, 2)
        assert.equal(3, n)       -- (0,0) twice in one cell, (1,1) once a class, (0.5, 0.5)
        assert.same({{0, 0, 1}, {1, 1, 1}, {1, 1, 2}}, rows(block))
    end)

    it("averages an image down by blocks", function()
        local img = dl.arange(16):reshape(4, 4)
        H.close(gp.downsample(img, 2, 2), {{2.5, 4.5}, {10.5, 12.5}})
        H.close(gp.downsample(dl.ones(3, 4, 6), 2, 3), {{{1, 1, 1}, {1, 1, 1}},
                                                       {{1, 1, 1}, {1, 1, 1}},
                                                       {{1, 1, 1}, {1, 1, 1}}})
    end)
end)

describe_gnuplot("large plots", function()
    setup(function()
        plot.terminal("dumb", {width = 80, height = 24, echo = false})
    end)

    it("draws a long line with its spike", function()
        local y = dl.randn(2e6) * 0.1
        y[1234567] = 1000
        plot.lines(y)
        assert.truthy(plot.last_text():match("\n%s+1000 [+|]"), plot.last_text())
    end)

    it("draws a histogram of many values from their counts", function()
        plot.hist(dl.rand(2e6), {bins = 10})
        assert.truthy(plot.last_text():find("+----", 1, true))
    end)

    it("draws a large image and a large scatter plot, and saves them", function()
        local path = os.tmpname() .. ".png"
        plot.image(dl.rand(3, 2048, 2048), {title = "big"})
        assert.truthy(plot.last_text():find("big", 1, true))
        plot.save(path)
        plot.scatter(dl.randn(300000), dl.randn(300000), {color = dl.ones(300000)})
        plot.save(path)
        local f = assert(io.open(path, "rb"))
        assert.equal("\137PNG", f:read(4))
        f:close()
        os.remove(path)
    end)
end)
