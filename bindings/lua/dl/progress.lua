-- progress.lua -- the progress display of Module:fit.
--
--   local bar = progress.new{epochs = 20, batches = 469, verbose = true}
--   bar:epoch_begin(3)
--   bar:update(i, samples_seen, {loss = 0.41, accuracy = 0.85})   -- each batch
--   bar:epoch_end({loss = ..., val_loss = ...})                    -- the line that stays
--   bar:message("fit: stopped at epoch 3, batch 120")
--
-- On a terminal each epoch is one line redrawn in place (at most 10 times
-- a second) with a bar, batch i/n, elapsed and remaining time, samples/s
-- and the running figures; it is cut to the terminal's width so that it
-- never wraps. The finished line stays, with the epoch's validation
-- figures. Elsewhere (a pipe, a file) only the finished line is written.
-- verbose = false writes nothing but messages.
local dl = require "dl"

local progress = {}
local Bar = {}
Bar.__index = Bar

local REDRAW_SECONDS = 0.1
local BAR_WIDTH = 20

-- "loss 0.4821  accuracy 0.8312", in the order of `names` (loss first,
-- then the others sorted, each val_ figure after the training ones).
local function figures(values)
    local names = {}
    for name in pairs(values) do names[#names + 1] = name end
    table.sort(names, function(a, b)
        local va, vb = a:sub(1, 4) == "val_", b:sub(1, 4) == "val_"
        if va ~= vb then return vb end
        local la, lb = a:find("loss", 1, true) ~= nil, b:find("loss", 1, true) ~= nil
        if la ~= lb then return la end
        return a < b
    end)
    local parts = {}
    for _, name in ipairs(names) do
        parts[#parts + 1] = ("%s %.4f"):format(name, values[name])
    end
    return table.concat(parts, "  ")
end
progress.figures = figures

-- "7.9s", "2m05s", "1h02m".
local function duration(seconds)
    if seconds < 60 then return ("%.1fs"):format(seconds) end
    if seconds < 3600 then
        return ("%dm%02ds"):format(seconds // 60, math.floor(seconds % 60))
    end
    return ("%dh%02dm"):format(seconds // 3600, math.floor(seconds % 3600 / 60))
end

--- progress.new{epochs=, batches=, verbose=true, out=io.stdout, tty=, width=, clock=}
--- -> a display; tty, width and clock default to the terminal's and dl.clock
--- (tests give their own).
function progress.new(o)
    local tty, columns = require("dl.gnuplot").tty()   -- registered after nn loads
    if o.tty ~= nil then tty = o.tty end
    local self = setmetatable({
        epochs = o.epochs, batches = o.batches, verbose = o.verbose ~= false,
        out = o.out or io.stdout, tty = tty, width = o.width or columns or 80,
        clock = o.clock or dl.clock, open = false,
    }, Bar)
    return self
end

function Bar:write(text)
    self.out:write(text)
    self.out:flush()
end

-- Ends a line being redrawn (it stays as it was last drawn), so that what
-- follows starts on its own line.
function Bar:close_line()
    if self.open then
        self:write("\n")
        self.open = false
    end
end

--- bar:epoch_begin(epoch): starts the clock of an epoch.
function Bar:epoch_begin(epoch)
    self.epoch, self.start, self.last_draw = epoch, self.clock(), -math.huge
end

function Bar:head()
    local digits = #tostring(self.epochs)
    return ("Epoch %" .. digits .. "d/%d"):format(self.epoch, self.epochs)
end

-- "[=========>..........] 120/469" for batch i.
function Bar:gauge(i)
    local n = self.batches
    local filled = n > 0 and math.floor(BAR_WIDTH * i / n) or BAR_WIDTH
    local arrow = filled < BAR_WIDTH and ">" or ""
    local dots = BAR_WIDTH - filled - #arrow
    local digits = #tostring(n)
    return ("[%s%s%s] %" .. digits .. "d/%d"):format(("="):rep(filled), arrow,
                                                    ("."):rep(dots), i, n)
end

-- The text cut to the terminal's width (a wrapped line cannot be redrawn).
function Bar:fit_width(text)
    if #text >= self.width then return text:sub(1, self.width - 1) end
    return text
end

--- bar:update(i, seen, running): after batch i, with `seen` samples so far
--- and the running figures (a table, or a function giving it, called only
--- when the line is drawn); redraws at most 10 times a second, and on the
--- epoch's last batch.
function Bar:update(i, seen, running)
    if not (self.verbose and self.tty) then return end
    local now = self.clock()
    if now - self.last_draw < REDRAW_SECONDS and i < self.batches then return end
    self.last_draw = now
    local elapsed = now - self.start
    local eta = i > 0 and elapsed / i * (self.batches - i) or 0
    local rate = elapsed > 0 and seen / elapsed or 0
    if type(running) == "function" then running = running() end
    local text = ("%s  %s  %s  ETA %s  %.0f samples/s  %s"):format(self:head(), self:gauge(i),
        duration(elapsed), duration(eta), rate, figures(running))
    self:write("\r" .. self:fit_width(text) .. "\27[K")
    self.open = true
end

--- bar:epoch_end(values, batches_done, seen): the finished line of the
--- epoch, with every figure (training and validation).
function Bar:epoch_end(values, batches_done, seen)
    if not self.verbose then return end
    local elapsed = self.clock() - self.start
    local rate = elapsed > 0 and seen / elapsed or 0
    local text = ("%s  %s  %s  %.0f samples/s  %s"):format(self:head(),
        self.tty and self:gauge(batches_done) or ("%d/%d"):format(batches_done, self.batches),
        duration(elapsed), rate, figures(values))
    if self.tty then
        self:write("\r" .. text .. "\27[K\n")    -- it stays: it may wrap
    else
        self:write(text .. "\n")
    end
    self.open = false
end

--- bar:message(text): a line of its own (written whatever `verbose` says).
function Bar:message(text)
    self:close_line()
    self:write(text .. "\n")
end

return progress
