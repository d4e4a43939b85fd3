-- activations.lua -- m:hook_activations(): statistics of what each layer
-- outputs, gathered during forward passes through forward hooks.
--
-- Per layer (each module without children, named by its path and class:
-- "2 ReLU"), over every call since the hooks were set or reset: the mean
-- and standard deviation of the output's values, the fraction of values
-- that are exactly zero, and the fraction of dead units: features (dim 2
-- of a batch, or the elements of a 1-D output) that were zero for every
-- example seen, the ReLU that never fires.
local dl = require "dl"
local Module = require("dl.module").Module

local activations = {}

-- The layers of m: {name, module} for each descendant without children.
local function leaf_layers(m, prefix, out)
    local children, names = m:children()
    if #children == 0 then
        out[#out + 1] = {(prefix == "" and "" or prefix .. " ") .. m.__name, m}
        return out
    end
    for i, child in ipairs(children) do
        leaf_layers(child, (prefix == "" and "" or prefix .. ".") .. tostring(names[i]), out)
    end
    return out
end

-- Adds one output to the running statistics of a layer.
local function accumulate(s, out)
    dl.no_grad(function()
        local o = out:detach()
        local n = o:numel()
        if n == 0 then return end
        local nonzero = o:ne(0)
        s.calls = s.calls + 1
        s.count = s.count + n
        s.sum = s.sum + o:sum():item()
        s.sumsq = s.sumsq + (o * o):sum():item()
        s.zeros = s.zeros + n - nonzero:sum():item()
        s.shape = o:shape()
        local per_unit
        if o:dim() >= 2 then
            per_unit = nonzero:transpose(1, 2):reshape(o:size(2), -1):sum(2):totable()
        else
            per_unit = nonzero:reshape(-1):totable()
        end
        if s.active and #s.active ~= #per_unit then s.active = nil end  -- shape changed
        s.active = s.active or {}
        for u, c in ipairs(per_unit) do s.active[u] = s.active[u] or c > 0 end
    end)
end

local function fresh()
    return {calls = 0, count = 0, sum = 0, sumsq = 0, zeros = 0}
end

local function row_of(name, s)
    local mean = s.count > 0 and s.sum / s.count or 0/0
    local var = s.count > 0 and math.max(s.sumsq / s.count - mean * mean, 0) or 0/0
    local dead = 0/0
    if s.active and #s.active > 0 then
        local n = 0
        for _, a in ipairs(s.active) do if not a then n = n + 1 end end
        dead = n / #s.active
    end
    return {layer = name, shape = s.shape, calls = s.calls, mean = mean, std = math.sqrt(var),
            zeros = s.count > 0 and s.zeros / s.count or 0/0, dead = dead}
end

local Hooks = {__name = "activation hooks"}
Hooks.__index = Hooks

--- hooks:stats() -> one row per layer: {layer=, shape=, calls=, mean=,
--- std=, zeros=, dead=} (NaN before the first forward pass).
function Hooks:stats()
    local rows = {}
    for i, layer in ipairs(self._layers) do rows[i] = row_of(layer[1], self._stats[i]) end
    return rows
end

--- hooks:reset(): forgets what was gathered so far.
function Hooks:reset()
    for i in ipairs(self._layers) do self._stats[i] = fresh() end
end

--- hooks:remove(): stops gathering (the statistics stay readable).
function Hooks:remove()
    for _, handle in ipairs(self._handles) do handle:remove() end
    self._handles = {}
end

local function cell(x, fmt)
    return x ~= x and "-" or fmt:format(x)
end

Hooks.__tostring = function(self)
    local rows = {{"layer", "output", "calls", "mean", "std", "zeros", "dead"}}
    for _, r in ipairs(self:stats()) do
        rows[#rows + 1] = {r.layer, r.shape and "(" .. table.concat(r.shape, ", ") .. ")" or "-",
                           tostring(r.calls), cell(r.mean, "%.4g"), cell(r.std, "%.4g"),
                           cell(r.zeros * 100, "%.1f%%"), cell(r.dead * 100, "%.1f%%")}
    end
    local width = {}
    for _, row in ipairs(rows) do
        for c, text in ipairs(row) do width[c] = math.max(width[c] or 0, #text) end
    end
    local lines = {}
    for i, row in ipairs(rows) do
        local cells = {}
        for c, text in ipairs(row) do
            cells[c] = c == 1 and text .. (" "):rep(width[c] - #text)
                       or (" "):rep(width[c] - #text) .. text
        end
        lines[i] = table.concat(cells, "  ")
    end
    return table.concat(lines, "\n")
end

--- m:hook_activations() -> hooks: from now on every forward pass through m
--- adds each layer's output to per-layer statistics; print hooks (or
--- read hooks:stats()) to see them, hooks:reset() to start again,
--- hooks:remove() to stop.
function Module:hook_activations()
    local layers = leaf_layers(self, "", {})
    local hooks = setmetatable({_layers = layers, _stats = {}, _handles = {}}, Hooks)
    hooks:reset()
    for i, layer in ipairs(layers) do
        hooks._handles[i] = layer[2]:register_forward_hook(function(_, _, out)
            if dl.is_tensor(out) then accumulate(hooks._stats[i], out) end
        end)
    end
    return hooks
end

return activations
