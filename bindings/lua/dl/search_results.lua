-- search_results.lua -- what dl.search returns: the trials, best first.
--
-- results[1..n] are the trial records sorted best first (failed trials
-- last); each record has trial (its number in run order), params, score
-- (nil when it failed), error (the failure's message), time (seconds),
-- budget (halving only) and result (the table the trial function
-- returned, when it returned one). results.best is the best record,
-- results.trials the records in run order, results.interrupted is true
-- when Ctrl-C stopped the search.
local raise = require("dl.errors").raise

local Results = {}
Results.__index = Results
Results.__name = "SearchResults"

local results = {}

--- results.new(method, names, mode) -> an empty results table.
function results.new(method, names, mode)
    return setmetatable({method = method, names = names, mode = mode, trials = {},
                         interrupted = false}, Results)
end

-- True when record a ranks before record b: a larger budget, then a better
-- score, then the earlier trial; failures last.
local function ranks_before(mode)
    return function(a, b)
        if (a.score == nil) ~= (b.score == nil) then return a.score ~= nil end
        if (a.budget or 0) ~= (b.budget or 0) then return (a.budget or 0) > (b.budget or 0) end
        if a.score ~= nil and a.score ~= b.score then
            if mode == "min" then return a.score < b.score end
            return a.score > b.score
        end
        return a.trial < b.trial
    end
end

--- res:add(record) records one finished trial (in run order).
function Results:add(record)
    record.trial = #self.trials + 1
    self.trials[#self.trials + 1] = record
end

--- res:finish() sorts the records best first and sets res.best.
function Results:finish()
    local sorted = {}
    for i, r in ipairs(self.trials) do sorted[i] = r end
    table.sort(sorted, ranks_before(self.mode))
    for i = 1, math.max(#sorted, rawlen(self)) do rawset(self, i, sorted[i]) end
    self.best = sorted[1] and sorted[1].score ~= nil and sorted[1] or nil
    return self
end

local function format_value(v)
    if math.type(v) == "float" then return ("%.4g"):format(v) end
    return tostring(v)
end

local function failed_count(self)
    local n = 0
    for _, r in ipairs(self.trials) do
        if r.score == nil then n = n + 1 end
    end
    return n
end

--- tostring(res): a heading, then one row per trial, best first.
function Results:__tostring()
    local failed = failed_count(self)
    local head = ("dl.search.%s: %d trial%s%s%s"):format(self.method, #self.trials,
        #self.trials == 1 and "" or "s", failed > 0 and (", %d failed"):format(failed) or "",
        self.interrupted and ", interrupted" or "")
    if self.best then
        head = head .. (", best score %s (%s)"):format(format_value(self.best.score),
                                                       self.mode == "min" and "lowest" or "highest")
    end
    local columns = {"trial", "score"}
    local halving = self.method == "halving"
    if halving then columns[#columns + 1] = "budget" end
    for _, name in ipairs(self.names) do columns[#columns + 1] = name end
    local rows = {}
    for i, r in ipairs(self) do
        local row = {tostring(r.trial), r.score and format_value(r.score) or "failed"}
        if halving then row[#row + 1] = format_value(r.budget) end
        for _, name in ipairs(self.names) do row[#row + 1] = format_value(r.params[name]) end
        if r.error then row[#row + 1] = (r.error:gsub("\n.*", "")) end
        rows[i] = row
    end
    local widths = {}
    for c, name in ipairs(columns) do
        widths[c] = #name
        for _, row in ipairs(rows) do widths[c] = math.max(widths[c], #row[c]) end
    end
    local function line(row)
        local cells = {}
        for c = 1, #columns do cells[c] = ("%" .. widths[c] .. "s"):format(row[c]) end
        if row[#columns + 1] then cells[#cells + 1] = row[#columns + 1] end
        return (table.concat(cells, "  "):gsub("%s+$", ""))
    end
    local lines = {head, line(columns)}
    for _, row in ipairs(rows) do lines[#lines + 1] = line(row) end
    return table.concat(lines, "\n")
end

-- One CSV field: quoted when it holds a comma, a quote or a line break.
local function csv_field(v)
    if v == nil then return "" end
    local text = format_value(v)
    if math.type(v) == "float" then text = ("%.17g"):format(v) end
    if text:find('[,"\n\r]') then text = '"' .. text:gsub('"', '""') .. '"' end
    return text
end

--- res:to_csv(path) writes one row per trial in run order: trial, score,
--- budget (halving), the parameters, time and error. The file is written
--- to a temporary and renamed, so it is never left half-written.
function Results:to_csv(path)
    if type(path) ~= "string" or path == "" then
        raise(("bad argument #1 to 'to_csv' (expected a file path, got %s)"):format(type(path)))
    end
    local columns = {"trial", "score"}
    if self.method == "halving" then columns[#columns + 1] = "budget" end
    for _, name in ipairs(self.names) do columns[#columns + 1] = name end
    columns[#columns + 1] = "time"
    columns[#columns + 1] = "error"
    local lines = {table.concat(columns, ",")}
    for _, r in ipairs(self.trials) do
        local cells = {csv_field(r.trial), csv_field(r.score)}
        if self.method == "halving" then cells[#cells + 1] = csv_field(r.budget) end
        for _, name in ipairs(self.names) do cells[#cells + 1] = csv_field(r.params[name]) end
        cells[#cells + 1] = ("%.3f"):format(r.time or 0)
        cells[#cells + 1] = csv_field(r.error)
        lines[#lines + 1] = table.concat(cells, ",")
    end
    local temporary = path .. ".tmp"
    local file, err = io.open(temporary, "w")
    if not file then
        raise(("bad argument #1 to 'to_csv' (cannot write %s: %s)"):format(path, err))
    end
    file:write(table.concat(lines, "\n"), "\n")
    file:close()
    local ok, rename_err = os.rename(temporary, path)
    if not ok then
        os.remove(temporary)
        raise(("bad argument #1 to 'to_csv' (cannot write %s: %s)"):format(path, rename_err))
    end
    return self
end

--- res:plot_series(o) -> what dl.plot(res, o) draws. Without o.param:
--- "history", the score of each trial in run order (NaN where it failed)
--- and the best score so far, and the plot's options. With o.param = name:
--- "scatter", that parameter's values and the scores of the finished
--- trials, the options, and a description of the axis ({log = true} for
--- loguniform, {labels = {...}} for a choice of strings, whose values
--- are then given as positions 1..K).
function Results:plot_series(o)
    o = o or {}
    local options = {}
    for k, v in pairs(o) do
        if k ~= "param" then options[k] = v end
    end
    options.title = options.title or "dl.search." .. self.method
    if o.param == nil then
        local score, best = {}, {}
        local so_far = nil
        for i, r in ipairs(self.trials) do
            score[i] = r.score or 0 / 0
            if r.score and (so_far == nil or (self.mode == "min" and r.score < so_far)
                            or (self.mode ~= "min" and r.score > so_far)) then
                so_far = r.score
            end
            best[i] = so_far or 0 / 0
        end
        options.xlabel = options.xlabel or "trial"
        return "history", {score = score, best_score = best}, options
    end
    local dim = self.space and self.space[o.param]
    if dim == nil then
        raise(("bad argument #2 to 'plot' (expected option 'param' to name a parameter of the "
               .. "search (%s), got %s)"):format(table.concat(self.names, ", "), tostring(o.param)))
    end
    local axis = {log = getmetatable(dim) and dim.kind == "loguniform" or nil}
    local strings = type(dim) == "table" and dim.kind == "choice" and type(dim.values[1]) ~= "number"
    if strings then axis.labels = dim.values end
    local x, y = {}, {}
    for _, r in ipairs(self.trials) do
        if r.score then
            local v = r.params[o.param]
            if strings then
                for i, w in ipairs(dim.values) do
                    if w == v then v = i break end
                end
            elseif type(v) ~= "number" then
                v = v and 1 or 0
            end
            x[#x + 1], y[#y + 1] = v, r.score
        end
    end
    options.xlabel = options.xlabel or o.param
    options.ylabel = options.ylabel or "score"
    return "scatter", x, y, options, axis
end

return results
