-- optim.lua -- optimisers and gradient clipping; with the schedulers of
-- dl.schedulers, the `optim` table users see.
--
-- The optimisers come from one table, core/optim/optimizers.def, which the
-- bindings publish as dl.steps.optimizers: each optimiser's options with
-- their defaults and checks, its per-parameter state, the rules between
-- its options, and its fused C step. Here every row becomes a constructor
-- optim.<Name>(params, opts); nothing below names a particular optimiser.
--
-- Options are read and written as fields (opt.lr, opt.betas), checked when
-- set. The state of parameter i is self.state[i] in PyTorch's layout
-- ({step = n, exp_avg = <tensor>, ...}), made on its first step.
local dl = require "dl"
local raise = require("dl.errors").raise
local option_names = require "dl.option_names"
local steps = require "dl.steps"
local base = require "dl.module"
local util = require "dl.optim_util"
local show, is_finite, copy_value, sorted_names = util.show, util.is_finite, util.copy_value,
                                                  util.sorted_names

local optim = {}

-- Why `value` is not a valid value of option `spec` ({name, kind, check}
-- from the table), or nil when it is.
local function option_problem(spec, value)
    local key = spec.name
    if spec.kind == "FLAG" then
        if type(value) ~= "boolean" then
            return ("option '%s' expects a boolean, got %s"):format(key, type(value))
        end
    elseif spec.kind == "PAIR" then
        if type(value) ~= "table" then
            return ("option '%s' expects a table, got %s"):format(key, type(value))
        end
        if #value ~= 2 then
            return ("option '%s' expects two numbers, got %d values"):format(key, #value)
        end
        for i = 1, 2 do
            local b = value[i]
            if type(b) ~= "number" or not (b >= 0 and b < 1) then
                return ("%s[%d] must be in [0, 1), got %s"):format(key, i, show(b))
            end
        end
    else
        if type(value) ~= "number" then
            return ("option '%s' expects a number, got %s"):format(key, type(value))
        elseif not is_finite(value) then
            return ("expected option '%s' to be a finite number, got %s"):format(key, show(value))
        elseif spec.check == "NON_NEGATIVE" and value < 0 then
            return ("expected %s >= 0, got %s"):format(key, show(value))
        elseif spec.check == "UNIT_CLOSED" and not (value >= 0 and value <= 1) then
            return ("expected %s in [0, 1], got %s"):format(key, show(value))
        end
    end
end

-- The parameter list from a module or a list of tensors.
local function parameter_list(fn, params)
    if base.Module.is_module(params) then params = params:parameters() end
    if type(params) ~= "table" then
        raise(("bad argument #1 to '%s' (expected a model or a list of tensors, got %s)")
              :format(fn, type(params)))
    end
    local list = {}
    for i, p in ipairs(params) do
        if not dl.is_tensor(p) then
            raise(("bad argument #1 to '%s' (entry %d is not a tensor, got %s)"):format(fn, i, type(p)))
        end
        if not p:requires_grad() then
            raise(("bad argument #1 to '%s' (entry %d does not require grad; nothing would train it)")
                  :format(fn, i))
        end
        list[i] = p
    end
    if #list == 0 then
        raise(("bad argument #1 to '%s' (expected at least one parameter, got none)"):format(fn))
    end
    return list
end

-- Optimizers ---------------------------------------------------------------------------

-- An optimizer's own fields are params, state, name, _kind (its row of the
-- table) and _options (the option values); opt.<option> reads and writes
-- _options through the metamethods below.
local Optimizer = {}

function Optimizer:__index(key)
    local method = Optimizer[key]
    if method ~= nil then return method end
    return rawget(self, "_options")[key]
end

-- Setting an option checks it as the constructor does; other fields are
-- plain fields.
function Optimizer:__newindex(key, value)
    local kind = rawget(self, "_kind")
    local spec = kind.by_name[key]
    if not spec then
        rawset(self, key, value)
        return
    end
    local where = ("bad assignment to '%s.%s'"):format(kind.name, key)
    local problem = option_problem(spec, value)
    if problem then raise(("%s (%s)"):format(where, problem)) end
    local options = rawget(self, "_options")
    local old = options[key]
    options[key] = copy_value(value)
    local broken = kind.check(options)
    if broken then
        options[key] = old
        raise(("%s (%s)"):format(where, broken))
    end
end

-- The options of `kind` from the user's table: defaults filled in, each
-- value checked, then the rules between them.
local function read_options(kind, opts)
    local fn = kind.name
    option_names.record(fn, kind.by_name)   -- for Tab at the prompt
    if opts ~= nil and type(opts) ~= "table" then
        raise(("bad argument #2 to '%s' (expected an options table, got %s)"):format(fn, type(opts)))
    end
    local values = {}
    for key, value in pairs(opts or {}) do
        local spec = kind.by_name[key]
        if not spec then
            raise(("bad argument #2 to '%s' (unknown option '%s'; known: %s)")
                  :format(fn, tostring(key), sorted_names(kind.by_name)))
        end
        local problem = option_problem(spec, value)
        if problem then raise(("bad argument #2 to '%s' (%s)"):format(fn, problem)) end
        values[key] = copy_value(value)
    end
    for _, spec in ipairs(kind.options) do
        if values[spec.name] == nil then values[spec.name] = copy_value(spec.default) end
    end
    local broken = kind.check(values)
    if broken then raise(("bad argument #2 to '%s' (%s)"):format(fn, broken)) end
    return values
end

-- One constructor per row of the table.
for _, kind in ipairs(steps.optimizers) do
    kind.by_name = {}
    for _, spec in ipairs(kind.options) do kind.by_name[spec.name] = spec end
    kind.state_names = {step = true}
    for _, spec in ipairs(kind.state) do kind.state_names[spec.name] = spec.kind end
    optim[kind.name] = function(params, opts)
        local self = {_kind = kind, _options = read_options(kind, opts), name = kind.name}
        self.params = parameter_list(kind.name, params)
        self.state = {}
        return setmetatable(self, Optimizer)
    end
end

--- opt:step(): updates every parameter that has a gradient.
function Optimizer:step()
    self._kind.step(self.params, self.state, self._options)
end

--- opt:zero_grad(): forgets every parameter's gradient.
function Optimizer:zero_grad()
    for _, p in ipairs(self.params) do p:zero_grad() end
end

function Optimizer:__tostring()
    return ("%s(lr=%g, %d parameter tensor%s)"):format(self.name, self.lr, #self.params,
                                                      #self.params == 1 and "" or "s")
end

local function snapshot(t)
    return t:detach():clone()
end

--- opt:state_dict() -> {state = {[i] = {step =, <state> = tensor, ...}},
--- param_groups = {{<option> = value, ..., params = {1, ..., n}}}}, as
--- PyTorch's (parameter indices from 1); tensors are copies.
function Optimizer:state_dict()
    local state = {}
    for i, entry in pairs(self.state) do
        local copy = {}
        for key, value in pairs(entry) do
            copy[key] = dl.is_tensor(value) and snapshot(value) or value
        end
        state[i] = copy
    end
    local group = {params = {}}
    for key, value in pairs(self._options) do group[key] = copy_value(value) end
    group.initial_lr = rawget(self, "initial_lr")
    for i = 1, #self.params do group.params[i] = i end
    return {state = state, param_groups = {group}}
end

local function shape_text(shape)    -- as tensors print it: (3,) or (4, 3)
    return "(" .. table.concat(shape, ", ") .. (#shape == 1 and ",)" or ")")
end

local function same_shape(a, b)
    if #a ~= #b then return false end
    for i = 1, #a do
        if a[i] ~= b[i] then return false end
    end
    return true
end

-- Keys a PyTorch param_group has that dl's optimisers have no use for.
local TORCH_ONLY = {foreach = true, capturable = true, differentiable = true, fused = true}

--- opt:load_state_dict(sd): takes the options and state of sd (from
--- state_dict, maybe saved and loaded); checks the parameter count, the
--- names and the shapes, and changes nothing when they do not match.
function Optimizer:load_state_dict(sd)
    local kind = self._kind
    local function bad(fmt, ...)
        raise(("bad argument #1 to 'load_state_dict' (" .. fmt .. ")"):format(...))
    end
    if type(sd) ~= "table" or type(sd.state) ~= "table" or type(sd.param_groups) ~= "table" then
        bad("expected a table {state = ..., param_groups = ...} from state_dict, got %s",
            type(sd) == "table" and "a table without them" or type(sd))
    end
    if #sd.param_groups ~= 1 or type(sd.param_groups[1]) ~= "table" then
        bad("expected one parameter group, got %d", #sd.param_groups)
    end
    local group = sd.param_groups[1]
    local n = #self.params
    if type(group.params) ~= "table" or #group.params ~= n then
        bad("the optimizer has %d parameters, the state dict %s", n,
            type(group.params) == "table" and #group.params or "does not list them")
    end
    local options, keys = {}, {}
    for key, value in pairs(self._options) do options[key] = value end
    for key in pairs(group) do keys[#keys + 1] = tostring(key) end
    table.sort(keys)    -- the first problem in a stable order
    for _, key in ipairs(keys) do
        local value = group[key]
        if kind.by_name[key] then
            local problem = option_problem(kind.by_name[key], value)
            if problem then bad("%s", problem) end
            options[key] = copy_value(value)
        elseif key ~= "params" and key ~= "initial_lr" and not TORCH_ONLY[key] then
            bad("unknown option '%s' for %s; known: %s", tostring(key), kind.name,
                sorted_names(kind.by_name))
        end
    end
    local broken = kind.check(options)
    if broken then bad("%s", broken) end
    local state = {}
    for key, entry in pairs(sd.state) do
        local i = math.tointeger(tonumber(key))    -- a saved file may give "2" for 2
        if not i or i < 1 or i > n then
            bad("state for parameter %s, but the optimizer has %d parameters", tostring(key), n)
        end
        if type(entry) ~= "table" then bad("state of parameter %d is a %s", i, type(entry)) end
        local copy, shape, keys = {}, self.params[i]:shape(), {}
        for key in pairs(entry) do keys[#keys + 1] = tostring(key) end
        table.sort(keys)    -- the first problem in a stable order
        for _, key in ipairs(keys) do
            local value = entry[key]
            local what = kind.state_names[key]
            if not what then
                bad("unknown state '%s' of parameter %d for %s", tostring(key), i, kind.name)
            elseif what == "TENSOR" then
                if not dl.is_tensor(value) then
                    bad("state '%s' of parameter %d should be a tensor, got %s", key, i, type(value))
                elseif not same_shape(value:shape(), shape) then
                    bad("state '%s' of parameter %d has shape %s, the parameter %s", key, i,
                        shape_text(value:shape()), shape_text(shape))
                end
                copy[key] = snapshot(value)
            else
                if dl.is_tensor(value) and value:numel() == 1 then value = value:item() end
                if not is_finite(value) or (key == "step" and (value < 0 or value % 1 ~= 0)) then
                    bad("state '%s' of parameter %d should be a %s, got %s", key, i,
                        key == "step" and "whole number >= 0" or "finite number", show(value))
                end
                copy[key] = key == "step" and math.tointeger(value) or value
            end
        end
        state[i] = copy
    end
    rawset(self, "_options", options)
    rawset(self, "initial_lr", group.initial_lr)
    self.state = state
end

-- Gradient helpers ---------------------------------------------------------------------

--- optim.clip_grad_norm(params, max_norm) -> the total norm before clipping;
--- scales every gradient so that their joint 2-norm is at most max_norm.
function optim.clip_grad_norm(params, max_norm)
    params = parameter_list("clip_grad_norm", params)
    if type(max_norm) ~= "number" or not (max_norm > 0) then
        raise(("bad argument #2 to 'clip_grad_norm' (expected a positive norm, got %s)")
              :format(show(max_norm)))
    end
    local total = 0
    for _, p in ipairs(params) do
        if p.grad then total = total + (p.grad * p.grad):sum():item() end
    end
    total = math.sqrt(total)
    local coefficient = max_norm / (total + 1e-6)
    if coefficient < 1 then
        for _, p in ipairs(params) do
            if p.grad then p.grad:mul_(coefficient) end
        end
    end
    return total
end

--- optim.l1_penalty(params, lambda) -> lambda * sum |w|, a scalar to add to
--- the loss (L1 regularisation).
function optim.l1_penalty(params, lambda)
    params = parameter_list("l1_penalty", params)
    if type(lambda) ~= "number" then
        raise(("bad argument #2 to 'l1_penalty' (expected a number, got %s)"):format(type(lambda)))
    end
    local total
    for _, p in ipairs(params) do
        local term = p:abs():sum()
        total = total and total + term or term
    end
    return total * lambda
end

optim.Optimizer = Optimizer
for name, value in pairs(require "dl.schedulers") do optim[name] = value end
return optim
