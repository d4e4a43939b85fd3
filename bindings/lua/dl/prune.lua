-- prune.lua -- nn.prune: making models smaller by removing weights.
--
--   nn.prune.magnitude(model, {amount = 0.5, scope = "layer" | "global"})
--       unstructured: zeroes the smallest |w| of Linear and Conv weights
--       and keeps them zero through further training;
--   nn.prune.channels(model, {amount = 0.5})
--       structured: removes whole output neurons or filters (smallest L1
--       norm) of the layers of an nn.Sequential and the matching inputs of
--       the layer that follows, so the model is really smaller and faster;
--   nn.prune.report(model)
--       parameters, zeros and sparsity of each prunable layer.
--
-- How the masks stay: magnitude pruning zeroes the weights in place and
-- keeps the 0/1 mask on the layer (layer.weight_mask). The layer's forward
-- then computes with weight * mask, so the pruned weights get a zero
-- gradient and no optimiser step moves them (a fresh optimiser, or one
-- whose momentum predates the pruning, only moves the stored value, never
-- the weight the layer uses). The mask lives outside the layer's recorded
-- fields: m:parameters() and m:summary() are unchanged, and m:save() saves
-- the zeroed weights but not the mask.
local dl = require "dl"
local raise = require("dl.errors").raise
local Module = require("dl.module").Module

local prune = {}

local PRUNABLE = {Linear = true, Conv2d = true, Conv1d = true}

local function argerror(fn, n, expected, got)
    raise(("bad argument #%d to '%s' (expected %s, got %s)"):format(n, fn, expected, got))
end

local function check_model(fn, model)
    if not Module.is_module(model) then
        argerror(fn, 1, "a model (an nn module)", dl.is_tensor(model) and "a tensor" or type(model))
    end
end

local function check_options(fn, opts, known)
    if opts == nil then return {} end
    if type(opts) ~= "table" then argerror(fn, 2, "an option table", type(opts)) end
    for key in pairs(opts) do
        if not known[key] then
            local names = {}
            for k in pairs(known) do names[#names + 1] = k end
            table.sort(names)
            raise(("bad argument #2 to '%s' (unknown option '%s'; known: %s)")
                  :format(fn, tostring(key), table.concat(names, ", ")))
        end
    end
    return opts
end

local function check_amount(fn, amount)
    if type(amount) ~= "number" or not (amount >= 0 and amount < 1) then
        argerror(fn, 2, "option 'amount' as a fraction in [0, 1)",
                 type(amount) == "number" and tostring(amount) or type(amount))
    end
    return amount
end

-- The prunable layers of `model` (itself included) as {name =, layer =},
-- depth first, in the order the model lists them.
local function prunable_layers(model)
    local out = {}
    local function walk(module, name)
        if PRUNABLE[module.__name] then out[#out + 1] = {name = name, layer = module} end
        local children, names = module:children()
        for i, child in ipairs(children) do
            walk(child, name == "" and tostring(names[i]) or name .. "." .. tostring(names[i]))
        end
    end
    walk(model, "")
    return out
end

local function require_prunable(fn, model)
    local list = prunable_layers(model)
    if #list == 0 then
        argerror(fn, 1, "a model with Linear or Conv2d layers",
                 ("%s, which has none"):format(model.__name))
    end
    return list
end

-- The weight a layer computes with: its weight times its mask, if any.
local function effective_weight(layer)
    local mask = rawget(layer, "weight_mask")
    local w = rawget(layer, "weight")
    if mask then return dl.no_grad(function() return w * mask end) end
    return w
end

-- forward of a masked layer: the class's forward with weight * mask in place
-- of the weight (restored afterwards, also when forward raises).
local function masked_forward(self, ...)
    local weight = rawget(self, "weight")
    rawset(self, "weight", weight * rawget(self, "weight_mask"))
    local result = table.pack(pcall(getmetatable(self).forward, self, ...))
    rawset(self, "weight", weight)
    if not result[1] then error(result[2], 0) end
    return table.unpack(result, 2, result.n)
end

-- Gives `layer` the 0/1 mask (same shape as its weight) and zeroes the
-- pruned weights in place.
local function set_mask(layer, mask)
    rawset(layer, "weight_mask", mask)
    rawset(layer, "forward", masked_forward)
    dl.no_grad(function() layer.weight:copy_(layer.weight * mask) end)
end

-- A 0/1 mask of n values with ones except at the k smallest of `scores`.
local function keep_largest(scores, k)
    local mask = dl.ones(scores:numel())
    if k > 0 then
        local _, smallest = scores:topk(k, 1, {largest = false})
        mask = mask:scatter(1, smallest, 0)
    end
    return mask
end

--- nn.prune.magnitude(model, {amount =, scope = "layer"}) -> model: zeroes
--- the fraction `amount` of the weights of every Linear and Conv layer with
--- the smallest magnitude: per layer (scope "layer") or ranked over all of
--- them together (scope "global"). Already-pruned weights count towards
--- the amount. Biases are kept. The masks hold through further training.
function prune.magnitude(model, opts)
    local fn = "prune.magnitude"
    check_model(fn, model)
    opts = check_options(fn, opts, {amount = true, scope = true})
    local amount = check_amount(fn, opts.amount)
    local scope = opts.scope or "layer"
    if scope ~= "layer" and scope ~= "global" then
        argerror(fn, 2, 'option \'scope\' "layer" or "global"', tostring(scope))
    end
    local list = require_prunable(fn, model)
    dl.no_grad(function()
        local flats = {}
        for i, item in ipairs(list) do flats[i] = effective_weight(item.layer):abs():reshape(-1) end
        if scope == "layer" then
            for i, item in ipairs(list) do
                local k = math.floor(amount * flats[i]:numel())
                set_mask(item.layer, keep_largest(flats[i], k):reshape(item.layer.weight:shape()))
            end
        else
            local all = dl.cat(flats, 1)
            local mask = keep_largest(all, math.floor(amount * all:numel()))
            local at = 1
            for i, item in ipairs(list) do
                local n = flats[i]:numel()
                set_mask(item.layer, mask:narrow(1, at, n):contiguous():reshape(item.layer.weight:shape()))
                at = at + n
            end
        end
    end)
    return model
end

-- Channel pruning --------------------------------------------------------------

-- Layers that act on each value alone, and those that act on each channel
-- alone: they may sit between a pruned layer and the one that reads its
-- output (after a Flatten, only the former: a channel is then many values).
local ELEMENTWISE = {ReLU = true, Sigmoid = true, Tanh = true, GELU = true, LeakyReLU = true,
                     ELU = true, SiLU = true, Mish = true, Softplus = true, Hardtanh = true,
                     Dropout = true, Identity = true}
local CHANNELWISE = {MaxPool2d = true, AvgPool2d = true, MaxPool1d = true, AvgPool1d = true,
                     AdaptiveAvgPool2d = true, AdaptiveMaxPool2d = true, BatchNorm1d = true,
                     BatchNorm2d = true, Flatten = true}

-- The index of the next weight layer after position i of a Sequential
-- whose input channels are exactly layer i's outputs (and whether a Flatten
-- lies between), or nil.
local function consumer(model, i)
    local flattened = false
    for j = i + 1, #model do
        local name = model[j].__name
        if PRUNABLE[name] then
            if model[j].groups and model[j].groups ~= 1 then return nil end
            if flattened and name ~= "Linear" then return nil end
            return j, flattened
        end
        if not ELEMENTWISE[name] and (flattened or not CHANNELWISE[name]) then return nil end
        if name == "Flatten" then flattened = true end
    end
    return nil
end

local function select_parameter(t, dim, index)
    return t:index_select(dim, index):contiguous():requires_grad(true)
end

-- Sets a size both as the layer's field and, when the layer recorded its
-- constructor arguments (for nn.load), as argument `position`, so that a
-- saved pruned model is rebuilt at its new size.
local function set_size(layer, key, position, value)
    rawset(layer, key, value)
    local args = rawget(layer, "_args")
    if type(args) == "table" then args[position] = value end
end

-- Keeps the output channels `index` of weight layer `layer`.
local function keep_outputs(layer, index)
    rawset(layer, "weight", select_parameter(layer.weight, 1, index))
    if rawget(layer, "bias") then rawset(layer, "bias", select_parameter(layer.bias, 1, index)) end
    local mask = rawget(layer, "weight_mask")
    if mask then rawset(layer, "weight_mask", mask:index_select(1, index):contiguous()) end
    set_size(layer, layer.out_features and "out_features" or "out_channels", 2, index:numel())
end

-- Keeps the input columns `index` of weight layer `layer`.
local function keep_inputs(layer, index)
    rawset(layer, "weight", select_parameter(layer.weight, 2, index))
    local mask = rawget(layer, "weight_mask")
    if mask then rawset(layer, "weight_mask", mask:index_select(2, index):contiguous()) end
    set_size(layer, layer.in_features and "in_features" or "in_channels", 1, index:numel())
end

-- Keeps the channels `index` of a BatchNorm.
local function keep_norm(norm, index)
    for _, key in ipairs{"weight", "bias"} do
        if rawget(norm, key) then rawset(norm, key, select_parameter(norm[key], 1, index)) end
    end
    rawset(norm, "running_mean", norm.running_mean:index_select(1, index):contiguous())
    rawset(norm, "running_var", norm.running_var:index_select(1, index):contiguous())
    set_size(norm, "num_features", 1, index:numel())
end

-- The columns of a Linear after Flatten that come from channels `kept`
-- (1-based, ascending) of `channels`, each spread over `per` columns.
local function flattened_columns(kept, per)
    local columns = {}
    for _, c in ipairs(kept) do
        for s = 1, per do columns[#columns + 1] = (c - 1) * per + s end
    end
    return dl.tensor(columns)
end

-- The output channels of weight layer `layer` that channel pruning keeps:
-- all but the fraction `amount` with the smallest L1 norm (at least one),
-- 1-based and ascending; nil when none goes.
local function channels_to_keep(layer, amount)
    local w = effective_weight(layer)
    local outputs = w:size(1)
    local remove = math.min(math.floor(amount * outputs), outputs - 1)
    if remove == 0 then return nil end
    local l1 = w:abs():reshape(outputs, -1):sum(2)
    local _, order = l1:topk(outputs - remove, 1)
    local kept = order:totable()
    table.sort(kept)
    return kept
end

-- Keeps the output channels `kept` of layer i, and the matching inputs of
-- layer j and of the BatchNorms between.
local function remove_channels(fn, model, kept, i, j, flattened)
    local index = dl.tensor(kept)
    local outputs = model[i].weight:size(1)
    keep_outputs(model[i], index)
    for k = i + 1, j - 1 do
        if model[k].running_mean then keep_norm(model[k], index) end
    end
    local next_layer = model[j]
    if not flattened then return keep_inputs(next_layer, index) end
    local per = next_layer.in_features // outputs
    if per * outputs ~= next_layer.in_features then
        raise(("%s: layer %d has %d inputs, not a multiple of layer %d's %d channels")
              :format(fn, j, next_layer.in_features, i, outputs))
    end
    keep_inputs(next_layer, flattened_columns(kept, per))
end

--- nn.prune.channels(model, {amount =}) -> model: in an nn.Sequential,
--- removes the fraction `amount` of the output neurons (Linear) or filters
--- (Conv2d, Conv1d) with the smallest L1 norm from every weight layer whose
--- output feeds the next weight layer through per-channel layers only
--- (activations, Dropout, pooling, BatchNorm, a Flatten before a Linear),
--- and the matching inputs of that next layer and of the BatchNorms between.
--- Every layer's channels are chosen on the weights before pruning (as
--- torch.nn.utils.prune.ln_structured with n = 1, dim = 0 does per layer).
--- The last weight layer (the model's outputs) is never pruned. The
--- parameters are new tensors: make the optimiser after pruning.
function prune.channels(model, opts)
    local fn = "prune.channels"
    check_model(fn, model)
    opts = check_options(fn, opts, {amount = true})
    local amount = check_amount(fn, opts.amount)
    if model.__name ~= "Sequential" then
        argerror(fn, 1, "an nn.Sequential", "nn." .. model.__name)
    end
    local targets = {}
    for i = 1, #model do
        if PRUNABLE[model[i].__name] and (model[i].groups or 1) == 1 then
            local j, flattened = consumer(model, i)
            if j then targets[#targets + 1] = {i, j, flattened} end
        end
    end
    if #targets == 0 then
        require_prunable(fn, model)
        argerror(fn, 1, "a Sequential with a Linear or Conv2d layer followed (through "
                 .. "activations, pooling, BatchNorm or Flatten) by another", "none")
    end
    dl.no_grad(function()
        -- every layer's channels are chosen on the weights before any removal
        for _, target in ipairs(targets) do target.kept = channels_to_keep(model[target[1]], amount) end
        for _, target in ipairs(targets) do
            if target.kept then remove_channels(fn, model, target.kept, table.unpack(target)) end
        end
    end)
    return model
end

-- Report ---------------------------------------------------------------------------

local Report = {}
Report.__index = Report

function Report:__tostring()
    local lines = {("%-16s %-8s %10s %10s %10s %9s"):format("layer", "type", "parameters", "weights",
                                                           "zeros", "sparsity")}
    local function row(r)
        return ("%-16s %-8s %10d %10d %10d %8.1f%%"):format(r.name, r.type, r.parameters, r.weights,
                                                            r.zeros, 100 * r.sparsity)
    end
    for _, r in ipairs(self) do lines[#lines + 1] = row(r) end
    lines[#lines + 1] = row(self.total)
    return table.concat(lines, "\n")
end

--- nn.prune.report(model) -> a table, one row per Linear or Conv layer
--- {name =, type =, parameters =, weights =, zeros =, sparsity =} (zeros and
--- sparsity of the weight the layer computes with; parameters counts the
--- bias too) and `total`; it prints as a table.
function prune.report(model)
    local fn = "prune.report"
    check_model(fn, model)
    local list = require_prunable(fn, model)
    local report = setmetatable({}, Report)
    local total = {name = "total", type = "", parameters = 0, weights = 0, zeros = 0}
    for i, item in ipairs(list) do
        local w = effective_weight(item.layer)
        local zeros = math.tointeger(dl.no_grad(function() return w:eq(0):sum():item() end))
        local bias = rawget(item.layer, "bias")
        local r = {name = item.name == "" and "(model)" or item.name, type = item.layer.__name,
                   parameters = w:numel() + (bias and bias:numel() or 0), weights = w:numel(),
                   zeros = zeros, sparsity = zeros / w:numel()}
        report[i] = r
        for _, key in ipairs{"parameters", "weights", "zeros"} do total[key] = total[key] + r[key] end
    end
    total.sparsity = total.zeros / total.weights
    report.total = total
    return report
end

return prune
