-- history.lua -- the history Module:fit returns.
--
-- A plain table of series, one value per finished epoch: hist.loss,
-- hist.val_loss, hist.accuracy, hist.val_accuracy, ... (one per metric and
-- per validation metric), hist.lr (the learning rate of the epoch) and
-- hist.seconds (its duration). dl.plot(hist) draws the loss and metric
-- curves (it leaves out lr and seconds); tostring(hist) is a short summary.
local History = {__name = "History"}
History.__index = History

-- Series that are not curves of the model's quality.
local BOOKKEEPING = {lr = true, seconds = true}
History.BOOKKEEPING = BOOKKEEPING

--- History.new() -> an empty history.
function History.new()
    return setmetatable({loss = {}, lr = {}, seconds = {}}, History)
end

--- hist:append(logs): adds one epoch's figures (a table name -> number).
function History:append(logs)
    for name, value in pairs(logs) do
        if type(value) == "number" then
            local series = rawget(self, name)
            if series == nil then
                series = {}
                rawset(self, name, series)
            end
            series[#series + 1] = value
        end
    end
end

--- hist:epochs() -> the number of finished epochs.
function History:epochs()
    return #self.loss
end

-- True when smaller values of the series are better.
local function lower_is_better(name)
    local base = name:gsub("^val_", "")
    return base:find("loss", 1, true) ~= nil or base == "mse" or base == "mae"
           or base:find("error", 1, true) ~= nil
end
History.lower_is_better = lower_is_better

-- Series names: losses first, each metric before its val_ twin.
local function ordered_names(self)
    local names = {}
    for name, value in pairs(self) do
        if type(name) == "string" and type(value) == "table" and not BOOKKEEPING[name] then
            names[#names + 1] = name
        end
    end
    table.sort(names, function(a, b)
        local la, lb = a:find("loss", 1, true) ~= nil, b:find("loss", 1, true) ~= nil
        if la ~= lb then return la end
        local ba, bb = a:gsub("^val_", ""), b:gsub("^val_", "")
        if ba ~= bb then return ba < bb end
        return #a < #b
    end)
    return names
end

--- tostring(hist): the epoch count and time, then each series' last value
--- and its best one.
function History:__tostring()
    local seconds = 0
    for _, s in ipairs(self.seconds) do seconds = seconds + s end
    local n = self:epochs()
    local lines = {("History: %d epoch%s, %.1f s"):format(n, n == 1 and "" or "s", seconds)}
    for _, name in ipairs(ordered_names(self)) do
        local series = self[name]
        if #series > 0 then
            local best, at = series[1], 1
            local lower = lower_is_better(name)
            for i, v in ipairs(series) do
                if (lower and v < best) or (not lower and v > best) then best, at = v, i end
            end
            lines[#lines + 1] = ("  %-16s %.4f   best %.4f (epoch %d)"):format(name,
                                 series[#series], best, at)
        end
    end
    if #self.lr > 0 then
        lines[#lines + 1] = ("  %-16s %.6g"):format("lr", self.lr[#self.lr])
    end
    return table.concat(lines, "\n")
end

return History
