-- progress_spec.lua -- fit's progress display: redrawn in place at most 10
-- times a second on a terminal, one plain line per epoch elsewhere,
-- nothing with verbose = false.
require "tests.lua.helper"
local progress = require "dl.progress"

-- A display writing into a table, on a clock that advances `step` seconds
-- at each reading.
local function display(o, step)
    local written, now = {}, 0
    o.out = {write = function(self, s) written[#written + 1] = s return self end,
             flush = function() end}
    o.clock = function()
        now = now + (step or 0)
        return now
    end
    return progress.new(o), written
end

local function run_epoch(bar, batches, figures)
    bar:epoch_begin(1)
    for i = 1, batches do bar:update(i, i * 64, figures) end
    bar:epoch_end({loss = 0.5, accuracy = 0.25, val_loss = 0.75}, batches, batches * 64)
end

describe("the progress display of fit", function()
    it("redraws a terminal line at most 10 times a second, and the last batch", function()
        local bar, written = display({epochs = 2, batches = 100, tty = true, width = 200}, 0.01)
        local asked = 0
        run_epoch(bar, 100, function()
            asked = asked + 1
            return {loss = 0.5}
        end)
        local draws = 0
        for _, s in ipairs(written) do
            if s:match("^\r") and not s:match("\n$") then draws = draws + 1 end
        end
        -- one reading per batch, 0.01 s apart: 1 s, so at most 11 draws
        assert.is_true(draws >= 9 and draws <= 11, "draws: " .. draws)
        assert.equals(draws, asked)   -- figures are computed only to be drawn
        assert.truthy(written[#written - 1]:match("^\rEpoch 1/2  %[====================%] 100/100"))
        local last = written[#written]
        assert.truthy(last:match("^\rEpoch 1/2  %[====================%] 100/100  [%d.]+s  " ..
                                 "%d+ samples/s  loss 0%.5000  accuracy 0%.2500  " ..
                                 "val_loss 0%.7500\27%[K\n$"), last)
    end)

    it("shows i/n, elapsed, ETA, samples/s and running figures, cut to the width", function()
        local bar, written = display({epochs = 3, batches = 10, tty = true, width = 60}, 0.5)
        bar:epoch_begin(2)
        bar:update(4, 256, {loss = 1.25})
        local line = written[1]
        assert.equals("\rEpoch 2/3  [========>...........]  4/10  0.5s  ETA 0.8s  51\27[K", line)
        assert.equals(60 - 1, #line:gsub("\27%[K", "") - 1)
    end)

    it("writes one plain line per epoch when not on a terminal", function()
        local bar, written = display({epochs = 2, batches = 50, tty = false}, 0.01)
        run_epoch(bar, 50, {loss = 1})
        -- (the clock is read at the epoch's start and end only: 0.01 s)
        assert.same({"Epoch 1/2  50/50  0.0s  320000 samples/s  loss 0.5000  accuracy 0.2500  " ..
                     "val_loss 0.7500\n"}, written)
    end)

    it("writes nothing with verbose = false, but messages", function()
        local bar, written = display({epochs = 1, batches = 5, tty = true, verbose = false}, 0.2)
        run_epoch(bar, 5, {loss = 1})
        assert.same({}, written)
        bar:message("fit: stopped")
        assert.same({"fit: stopped\n"}, written)
    end)

    it("ends a line being redrawn before a message", function()
        local bar, written = display({epochs = 1, batches = 5, tty = true, width = 100}, 0.2)
        bar:epoch_begin(1)
        bar:update(2, 2, {loss = 1})
        bar:message("fit: stopped at epoch 1, batch 2 (Ctrl-C)")
        assert.equals("\n", written[#written - 1])
        assert.equals("fit: stopped at epoch 1, batch 2 (Ctrl-C)\n", written[#written])
    end)
end)
