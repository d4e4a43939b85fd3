-- optim.lua -- optimisers, learning-rate schedulers and gradient clipping.
--
-- Each optimiser keeps its hyper-parameters in plain fields (opt.lr can be
-- changed between steps, which is what the schedulers do) and per-parameter
-- state tensors created on the first step. The update itself is one fused
-- C pass per parameter (dl.steps), with torch.optim's formulas.
local dl = require "dl"
local raise = require("dl.errors").raise
local option_names = require "dl.option_names"
local steps = require "dl.steps"
local base = require "dl.module"

local optim = {}

-- Numeric options that must be >= 0 (torch.optim refuses negative ones too)
-- and those that count epochs (whole numbers >= 1).
local NON_NEGATIVE = {
    lr = true, momentum = true, dampening = true, weight_decay = true, eps = true, alpha = true,
    lr_decay = true, eta_min = true, min_lr = true, threshold = true, patience = true,
    cooldown = true, gamma = true, factor = true,
}
local EPOCH_COUNTS = {step_size = true, t_max = true}

-- Refuses a NaN, an infinity, or a number out of its option's range.
local function check_number(fn, key, value)
    if value ~= value or value == math.huge or value == -math.huge then
        raise(("bad argument #2 to '%s' (expected option '%s' to be a finite number, got %s)")
              :format(fn, key, value ~= value and "nan" or tostring(value)))
    elseif NON_NEGATIVE[key] and value < 0 then
        raise(("bad argument #2 to '%s' (expected %s >= 0, got %s)"):format(fn, key, tostring(value)))
    elseif EPOCH_COUNTS[key] and (value < 1 or value ~= math.floor(value)) then
        raise(("bad argument #2 to '%s' (expected %s to be a whole number >= 1, got %s)")
              :format(fn, key, tostring(value)))
    end
end

local function check_options(fn, opts, defaults)
    option_names.record(fn, defaults)   -- for Tab at the prompt
    if opts ~= nil and type(opts) ~= "table" then
        raise(("bad argument #2 to '%s' (expected an options table, got %s)"):format(fn, type(opts)))
    end
    local values = {}
    for key, value in pairs(opts or {}) do
        if defaults[key] == nil then
            local names = {}
            for name in pairs(defaults) do names[#names + 1] = name end
            table.sort(names)
            raise(("bad argument #2 to '%s' (unknown option '%s'; known: %s)")
                  :format(fn, tostring(key), table.concat(names, ", ")))
        end
        if type(value) ~= type(defaults[key]) then
            raise(("bad argument #2 to '%s' (option '%s' expects a %s, got %s)")
                  :format(fn, key, type(defaults[key]), type(value)))
        end
        if type(value) == "number" then check_number(fn, key, value) end
        values[key] = value
    end
    for key, value in pairs(defaults) do
        if values[key] == nil then values[key] = value end
    end
    return values
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

local Optimizer = {}
Optimizer.__index = Optimizer

local function new_optimizer(name, params, opts, defaults, update)
    local self = check_options(name, opts, defaults)
    self.params = parameter_list(name, params)
    self.state = {}
    self.step_count = 0
    self.name = name
    self.initial_lr = self.lr
    self._update = update
    return setmetatable(self, Optimizer)
end

--- opt:step(): updates every parameter that has a gradient.
function Optimizer:step()
    self.step_count = self.step_count + 1
    for i, p in ipairs(self.params) do
        if p.grad then
            local state = self.state[i]
            if not state then
                state = {step = 0}
                self.state[i] = state
            end
            state.step = state.step + 1
            self._update(self, p, state)
        end
    end
end

--- opt:zero_grad(): forgets every parameter's gradient.
function Optimizer:zero_grad()
    for _, p in ipairs(self.params) do p:zero_grad() end
end

function Optimizer:__tostring()
    return ("%s(lr=%g, %d parameter tensor%s)"):format(self.name, self.lr, #self.params,
                                                      #self.params == 1 and "" or "s")
end

local function zeros_like(p)
    return dl.zeros(p:shape())
end

--- optim.SGD(params, {lr=, momentum=0, dampening=0, nesterov=false, weight_decay=0})
function optim.SGD(params, opts)
    local self = new_optimizer("SGD", params, opts,
        {lr = 0.01, momentum = 0, dampening = 0, nesterov = false, weight_decay = 0},
        function(o, p, state)
            local first = state.velocity == nil
            if o.momentum ~= 0 and first then state.velocity = zeros_like(p) end
            steps.sgd(p, state.velocity, o.lr, o.momentum, o.dampening, o.weight_decay, o.nesterov, first)
        end)
    if self.nesterov and (self.momentum <= 0 or self.dampening ~= 0) then
        raise("bad argument #2 to 'SGD' (nesterov needs momentum > 0 and dampening 0)")
    end
    return self
end

local function adam(name, decoupled, default_decay)
    return function(params, opts)
        local self = new_optimizer(name, params, opts,
            {lr = 1e-3, betas = {0.9, 0.999}, eps = 1e-8, weight_decay = default_decay},
            function(o, p, state)
                if not state.m then
                    state.m, state.v = zeros_like(p), zeros_like(p)
                end
                steps.adam(p, state.m, state.v, o.lr, o.betas[1], o.betas[2], o.eps, o.weight_decay,
                           decoupled, state.step)
            end)
        for i = 1, 2 do
            local b = self.betas[i]
            if type(b) ~= "number" or not (b >= 0 and b < 1) then
                raise(("bad argument #2 to '%s' (betas[%d] must be in [0, 1), got %s)")
                      :format(name, i, b ~= b and "nan" or tostring(b)))
            end
        end
        return self
    end
end

--- optim.Adam(params, {lr=1e-3, betas={0.9, 0.999}, eps=1e-8, weight_decay=0})
optim.Adam = adam("Adam", false, 0)
--- optim.AdamW: Adam with decoupled weight decay (default 0.01).
optim.AdamW = adam("AdamW", true, 0.01)

--- optim.RMSprop(params, {lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0})
function optim.RMSprop(params, opts)
    return new_optimizer("RMSprop", params, opts,
        {lr = 0.01, alpha = 0.99, eps = 1e-8, weight_decay = 0, momentum = 0},
        function(o, p, state)
            if not state.square_avg then
                state.square_avg = zeros_like(p)
                if o.momentum > 0 then state.buffer = zeros_like(p) end
            end
            steps.rmsprop(p, state.square_avg, state.buffer, o.lr, o.alpha, o.eps, o.weight_decay, o.momentum)
        end)
end

--- optim.Adagrad(params, {lr=0.01, lr_decay=0, weight_decay=0, eps=1e-10})
function optim.Adagrad(params, opts)
    return new_optimizer("Adagrad", params, opts,
        {lr = 0.01, lr_decay = 0, weight_decay = 0, eps = 1e-10},
        function(o, p, state)
            if not state.sum then state.sum = zeros_like(p) end
            steps.adagrad(p, state.sum, o.lr, o.lr_decay, o.weight_decay, o.eps, state.step)
        end)
end

-- Schedulers -------------------------------------------------------------------------

local Scheduler = {}
Scheduler.__index = Scheduler

local function new_scheduler(name, opt, opts, defaults, rule)
    if getmetatable(opt) ~= Optimizer then
        raise(("bad argument #1 to '%s' (expected an optimizer, got %s)"):format(name, type(opt)))
    end
    local self = check_options(name, opts, defaults)
    self.optimizer, self.base_lr, self.epoch, self.name, self._rule = opt, opt.lr, 0, name, rule
    return setmetatable(self, Scheduler)
end

--- sched:step(): one epoch passed; sets the optimizer's lr.
function Scheduler:step(...)
    self.epoch = self.epoch + 1
    self.optimizer.lr = self._rule(self, ...)
    return self.optimizer.lr
end

--- sched:get_lr() -> the learning rate now in use.
function Scheduler:get_lr()
    return self.optimizer.lr
end

--- optim.StepLR(opt, {step_size=, gamma=0.1}): lr * gamma every step_size epochs.
function optim.StepLR(opt, opts)
    local self = new_scheduler("StepLR", opt, opts, {step_size = 1, gamma = 0.1}, function(s)
        return s.base_lr * s.gamma ^ (s.epoch // s.step_size)
    end)
    if not opts or not opts.step_size then
        raise("bad argument #2 to 'StepLR' (expected {step_size = n})")
    end
    return self
end

--- optim.ExponentialLR(opt, {gamma=}): lr * gamma every epoch.
function optim.ExponentialLR(opt, opts)
    return new_scheduler("ExponentialLR", opt, opts, {gamma = 0.9}, function(s)
        return s.base_lr * s.gamma ^ s.epoch
    end)
end

--- optim.CosineLR(opt, {t_max=, eta_min=0}): cosine annealing from lr to eta_min
--- over t_max epochs (torch's CosineAnnealingLR).
function optim.CosineLR(opt, opts)
    local self = new_scheduler("CosineLR", opt, opts, {t_max = 1, eta_min = 0}, function(s)
        local t = math.min(s.epoch, s.t_max)
        return s.eta_min + (s.base_lr - s.eta_min) * (1 + math.cos(math.pi * t / s.t_max)) / 2
    end)
    if not opts or not opts.t_max then
        raise("bad argument #2 to 'CosineLR' (expected {t_max = n})")
    end
    return self
end
optim.CosineAnnealingLR = optim.CosineLR

--- optim.ReduceLROnPlateau(opt, {mode="min", factor=0.1, patience=10,
--- threshold=1e-4, cooldown=0, min_lr=0}); sched:step(metric).
function optim.ReduceLROnPlateau(opt, opts)
    local self = new_scheduler("ReduceLROnPlateau", opt, opts,
        {mode = "min", factor = 0.1, patience = 10, threshold = 1e-4, cooldown = 0, min_lr = 0},
        function(s, metric)
            if type(metric) ~= "number" then
                raise("bad argument #1 to 'step' (ReduceLROnPlateau needs the monitored value)")
            end
            local better
            if s.best == nil then
                better = true
            elseif s.mode == "min" then
                better = metric < s.best * (1 - s.threshold)
            else
                better = metric > s.best * (1 + s.threshold)
            end
            if better then
                s.best, s.bad_epochs = metric, 0
            elseif s.cooldown_left > 0 then
                s.cooldown_left = s.cooldown_left - 1
            else
                s.bad_epochs = s.bad_epochs + 1
            end
            local lr = s.optimizer.lr
            if s.bad_epochs > s.patience then
                lr = math.max(lr * s.factor, s.min_lr)
                s.bad_epochs, s.cooldown_left = 0, s.cooldown
            end
            return lr
        end)
    if self.mode ~= "min" and self.mode ~= "max" then
        raise("bad argument #2 to 'ReduceLROnPlateau' (mode must be \"min\" or \"max\")")
    end
    if self.factor >= 1 then
        raise(("bad argument #2 to 'ReduceLROnPlateau' (expected factor < 1, got %s)")
              :format(tostring(self.factor)))
    end
    self.bad_epochs, self.cooldown_left = 0, 0
    return self
end

-- Gradient helpers ---------------------------------------------------------------------

--- optim.clip_grad_norm(params, max_norm) -> the total norm before clipping;
--- scales every gradient so that their joint 2-norm is at most max_norm.
function optim.clip_grad_norm(params, max_norm)
    params = parameter_list("clip_grad_norm", params)
    if type(max_norm) ~= "number" or not (max_norm > 0) then
        raise(("bad argument #2 to 'clip_grad_norm' (expected a positive norm, got %s)")
              :format(max_norm ~= max_norm and "nan" or tostring(max_norm)))
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
return optim
