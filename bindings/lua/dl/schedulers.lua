-- schedulers.lua -- learning-rate schedulers (optim.StepLR, ...), as
-- torch.optim.lr_scheduler: each scheduler counts epochs in last_epoch
-- (0 after construction, which already sets the epoch-0 rate) and computes
-- the next rate from the current one (the chainable form, so that
-- schedulers compose as in PyTorch); sched:step() moves one epoch on. The
-- first scheduler on an optimizer records opt.initial_lr, from which every
-- scheduler of it starts (base_lr).

local dl = require "dl"
local raise = require("dl.errors").raise
local option_names = require "dl.option_names"
local util = require "dl.optim_util"
local show, is_finite, copy_value, sorted_names = util.show, util.is_finite, util.copy_value,
                                                  util.sorted_names

-- The constructors, merged into dl.optim (which loads this module).
local optim = {}

local Scheduler = {}
Scheduler.__index = Scheduler

-- Numeric scheduler options that must be >= 0, and those that count epochs
-- or steps (whole numbers >= 1).
local NON_NEGATIVE = {
    eta_min = true, min_lr = true, threshold = true, patience = true, cooldown = true,
    gamma = true, factor = true, eps = true, max_lr = true, div_factor = true,
    final_div_factor = true, base_momentum = true, max_momentum = true,
}
local COUNTS = {step_size = true, t_max = true, t_0 = true, t_mult = true, total_iters = true,
                total_steps = true, epochs = true, steps_per_epoch = true}
local FRACTIONS = {start_factor = "(0, 1]", end_factor = "[0, 1]", pct_start = "[0, 1]"}

local function check_number(fn, key, value)
    if not is_finite(value) then
        raise(("bad argument #2 to '%s' (expected option '%s' to be a finite number, got %s)")
              :format(fn, key, show(value)))
    elseif NON_NEGATIVE[key] and value < 0 then
        raise(("bad argument #2 to '%s' (expected %s >= 0, got %s)"):format(fn, key, show(value)))
    elseif COUNTS[key] and (value < 1 or value ~= math.floor(value)) then
        raise(("bad argument #2 to '%s' (expected %s to be a whole number >= 1, got %s)")
              :format(fn, key, show(value)))
    elseif FRACTIONS[key] and not (value <= 1 and (value > 0 or (value == 0 and key ~= "start_factor"))) then
        raise(("bad argument #2 to '%s' (expected %s in %s, got %s)")
              :format(fn, key, FRACTIONS[key], show(value)))
    end
end

-- The options from the user's table against `defaults` (a value of each
-- known option; its type is the type expected). `required` lists options
-- the user must give.
local function scheduler_options(fn, opts, defaults, required)
    option_names.record(fn, defaults)   -- for Tab at the prompt
    if opts ~= nil and type(opts) ~= "table" then
        raise(("bad argument #2 to '%s' (expected an options table, got %s)"):format(fn, type(opts)))
    end
    local values = {}
    for key, value in pairs(opts or {}) do
        if defaults[key] == nil then
            raise(("bad argument #2 to '%s' (unknown option '%s'; known: %s)")
                  :format(fn, tostring(key), sorted_names(defaults)))
        end
        if type(value) ~= type(defaults[key]) then
            raise(("bad argument #2 to '%s' (option '%s' expects a %s, got %s)")
                  :format(fn, key, type(defaults[key]), type(value)))
        end
        if type(value) == "number" then check_number(fn, key, value) end
        values[key] = value
    end
    for _, key in ipairs(required or {}) do
        if values[key] == nil then
            raise(("bad argument #2 to '%s' (expected {%s = ...})"):format(fn, key))
        end
    end
    for key, value in pairs(defaults) do
        if values[key] == nil then values[key] = value end
    end
    return values
end

local function check_choice(fn, key, value, choices)
    for _, choice in ipairs(choices) do
        if value == choice then return end
    end
    raise(("bad argument #2 to '%s' (%s must be \"%s\", got \"%s\")")
          :format(fn, key, table.concat(choices, "\" or \""), value))
end

-- A new scheduler of `opt`: the options, base_lr, and the first step to
-- epoch 0. `rules` holds get_lr(s) (the chainable rate of s.last_epoch),
-- maybe closed_form(s) (the rate of an epoch from base_lr) and maybe a
-- step of its own.
local function new_scheduler(name, opt, options, rules)
    local self = options
    self.optimizer, self.name, self.last_epoch = opt, name, -1
    self._get_lr, self._closed_form = rules.get_lr, rules.closed_form
    if rules.step then self.step, self._step_to = rules.step, rules.step end
    if rawget(opt, "initial_lr") == nil then rawset(opt, "initial_lr", opt.lr) end
    self.base_lr = rawget(opt, "initial_lr")
    setmetatable(self, Scheduler)
    self:step()
    return self
end

-- dl.optim loads this module, so its Optimizer is looked up when needed.
local function check_optimizer(name, opt)
    if getmetatable(opt) ~= require("dl.optim").Optimizer then
        raise(("bad argument #1 to '%s' (expected an optimizer, got %s)"):format(name, type(opt)))
    end
end

--- sched:step() -> the new lr: one epoch passed; sets the optimizer's lr.
function Scheduler:step()
    self.last_epoch = self.last_epoch + 1
    self.optimizer.lr = self:_get_lr()
    self.last_lr = self.optimizer.lr
    return self.last_lr
end

-- Jumps to `epoch` (SequentialLR's restart of a scheduler at a milestone):
-- the closed form when there is one, as torch's step(epoch).
function Scheduler:_step_to(epoch)
    self.last_epoch = epoch
    self.optimizer.lr = (self._closed_form or self._get_lr)(self)
    self.last_lr = self.optimizer.lr
    return self.last_lr
end

function Scheduler:__tostring()
    return ("%s(epoch %d, lr=%g)"):format(self.name, self.last_epoch, self.optimizer.lr)
end

--- sched:get_lr() -> the learning rate now in use.
function Scheduler:get_lr()
    return self.optimizer.lr
end

--- sched:get_last_lr() -> the learning rate this scheduler set last.
function Scheduler:get_last_lr()
    return self.last_lr
end

-- The plain values of a scheduler's fields (numbers, strings, booleans,
-- lists of numbers), without the optimizer and the functions.
local function plain_fields(self)
    local out = {}
    for key, value in pairs(self) do
        local t = type(value)
        if key ~= "optimizer" and key ~= "name" and t ~= "function" and
           (t ~= "table" or getmetatable(value) == nil and key ~= "schedulers") then
            out[key] = copy_value(value)
        end
    end
    return out
end

--- sched:state_dict() -> a table of the scheduler's counters and options
--- (as PyTorch's: everything but the optimizer and functions).
function Scheduler:state_dict()
    local sd = plain_fields(self)
    if self.schedulers then
        sd.schedulers = {}
        for i, s in ipairs(self.schedulers) do sd.schedulers[i] = s:state_dict() end
    end
    return sd
end

--- sched:load_state_dict(sd): takes back the values of state_dict.
function Scheduler:load_state_dict(sd)
    if type(sd) ~= "table" then
        raise(("bad argument #1 to 'load_state_dict' (expected a table from state_dict, got %s)")
              :format(type(sd)))
    end
    local mine = plain_fields(self)
    for key, value in pairs(sd) do
        if key ~= "schedulers" and type(value) ~= type(mine[key]) then
            raise(("bad argument #1 to 'load_state_dict' (%s has no field '%s' of type %s)")
                  :format(self.name, tostring(key), type(value)))
        end
    end
    if self.schedulers then
        local subs = sd.schedulers
        if type(subs) ~= "table" or #subs ~= #self.schedulers then
            raise(("bad argument #1 to 'load_state_dict' (expected the states of %d schedulers)")
                  :format(#self.schedulers))
        end
        for i, s in ipairs(self.schedulers) do s:load_state_dict(subs[i]) end
    end
    for key, value in pairs(sd) do
        if key ~= "schedulers" then rawset(self, key, copy_value(value)) end
    end
end

--- optim.StepLR(opt, {step_size=, gamma=0.1}): lr * gamma every step_size epochs.
function optim.StepLR(opt, opts)
    check_optimizer("StepLR", opt)
    local o = scheduler_options("StepLR", opts, {step_size = 1, gamma = 0.1}, {"step_size"})
    return new_scheduler("StepLR", opt, o, {
        get_lr = function(s)
            local e = s.last_epoch
            if e == 0 or e % s.step_size ~= 0 then return s.optimizer.lr end
            return s.optimizer.lr * s.gamma
        end,
        closed_form = function(s) return s.base_lr * s.gamma ^ (s.last_epoch // s.step_size) end,
    })
end

--- optim.MultiStepLR(opt, {milestones={...}, gamma=0.1}): lr * gamma at each milestone epoch.
function optim.MultiStepLR(opt, opts)
    check_optimizer("MultiStepLR", opt)
    local o = scheduler_options("MultiStepLR", opts, {milestones = {}, gamma = 0.1}, {"milestones"})
    for i, m in ipairs(o.milestones) do
        if type(m) ~= "number" or m % 1 ~= 0 or m < 1 then
            raise(("bad argument #2 to 'MultiStepLR' (expected milestones to be whole numbers >= 1, " ..
                   "got %s at %d)"):format(show(m), i))
        end
        if i > 1 and m < o.milestones[i - 1] then
            raise("bad argument #2 to 'MultiStepLR' (expected milestones in increasing order)")
        end
    end
    o.milestones = copy_value(o.milestones)
    local function count(s, e)    -- how many milestones are at epoch e, and before or at it
        local at, upto = 0, 0
        for _, m in ipairs(s.milestones) do
            if m == e then at = at + 1 end
            if m <= e then upto = upto + 1 end
        end
        return at, upto
    end
    return new_scheduler("MultiStepLR", opt, o, {
        get_lr = function(s)
            local at = count(s, s.last_epoch)
            if at == 0 then return s.optimizer.lr end
            return s.optimizer.lr * s.gamma ^ at
        end,
        closed_form = function(s)
            local _, upto = count(s, s.last_epoch)
            return s.base_lr * s.gamma ^ upto
        end,
    })
end

--- optim.ExponentialLR(opt, {gamma=0.9}): lr * gamma every epoch.
function optim.ExponentialLR(opt, opts)
    check_optimizer("ExponentialLR", opt)
    local o = scheduler_options("ExponentialLR", opts, {gamma = 0.9})
    return new_scheduler("ExponentialLR", opt, o, {
        get_lr = function(s)
            if s.last_epoch == 0 then return s.optimizer.lr end
            return s.optimizer.lr * s.gamma
        end,
        closed_form = function(s) return s.base_lr * s.gamma ^ s.last_epoch end,
    })
end

--- optim.CosineLR(opt, {t_max=, eta_min=0}): cosine annealing from lr to
--- eta_min over t_max epochs, then back up (torch's CosineAnnealingLR).
function optim.CosineLR(opt, opts)
    check_optimizer("CosineLR", opt)
    local o = scheduler_options("CosineLR", opts, {t_max = 1, eta_min = 0}, {"t_max"})
    local pi = math.pi
    return new_scheduler("CosineLR", opt, o, {
        get_lr = function(s)
            local e, t, lr, low = s.last_epoch, s.t_max, s.optimizer.lr, s.eta_min
            if e == 0 then
                return lr
            elseif (e - 1 - t) % (2 * t) == 0 then    -- the lowest point: the ratio below is 0/0
                return lr + (s.base_lr - low) * (1 - math.cos(pi / t)) / 2
            end
            return (1 + math.cos(pi * e / t)) / (1 + math.cos(pi * (e - 1) / t)) * (lr - low) + low
        end,
        closed_form = function(s)
            return s.eta_min + (s.base_lr - s.eta_min) * (1 + math.cos(pi * s.last_epoch / s.t_max)) / 2
        end,
    })
end
optim.CosineAnnealingLR = optim.CosineLR

--- optim.LambdaLR(opt, fn): lr = initial lr * fn(epoch), epoch counting from 0.
function optim.LambdaLR(opt, fn)
    check_optimizer("LambdaLR", opt)
    if type(fn) ~= "function" then
        raise(("bad argument #2 to 'LambdaLR' (expected a function of the epoch, got %s)"):format(type(fn)))
    end
    return new_scheduler("LambdaLR", opt, {lr_lambda = fn}, {
        get_lr = function(s)
            local factor = s.lr_lambda(s.last_epoch)
            if not is_finite(factor) then
                raise(("bad argument #2 to 'LambdaLR' (the function gave %s at epoch %d, expected " ..
                       "a finite number)"):format(type(factor) == "number" and show(factor)
                                                  or type(factor), s.last_epoch))
            end
            return s.base_lr * factor
        end,
    })
end

--- optim.LinearLR(opt, {start_factor=1/3, end_factor=1, total_iters=5}):
--- the lr factor goes linearly from start_factor to end_factor over
--- total_iters epochs (a warm-up).
function optim.LinearLR(opt, opts)
    check_optimizer("LinearLR", opt)
    local o = scheduler_options("LinearLR", opts, {start_factor = 1 / 3, end_factor = 1, total_iters = 5})
    return new_scheduler("LinearLR", opt, o, {
        get_lr = function(s)
            local e, lr, a, b = s.last_epoch, s.optimizer.lr, s.start_factor, s.end_factor
            if e == 0 then return lr * a end
            if e > s.total_iters then return lr end
            return lr * (1 + (b - a) / (s.total_iters * a + (e - 1) * (b - a)))
        end,
        closed_form = function(s)
            local a, b = s.start_factor, s.end_factor
            return s.base_lr * (a + (b - a) * math.min(s.total_iters, s.last_epoch) / s.total_iters)
        end,
    })
end

--- optim.CosineAnnealingWarmRestarts(opt, {t_0=, t_mult=1, eta_min=0}):
--- cosine annealing restarted every t_0 epochs, each period t_mult times
--- the last; sched:step(epoch) may also jump to a (fractional) epoch.
function optim.CosineAnnealingWarmRestarts(opt, opts)
    local name = "CosineAnnealingWarmRestarts"
    check_optimizer(name, opt)
    local o = scheduler_options(name, opts, {t_0 = 1, t_mult = 1, eta_min = 0}, {"t_0"})
    o.t_i, o.t_cur = o.t_0, -1
    local function step(s, epoch)
        if epoch == nil and s.last_epoch < 0 then epoch = 0 end
        if epoch == nil then
            epoch = s.last_epoch + 1
            s.t_cur = s.t_cur + 1
            if s.t_cur >= s.t_i then
                s.t_cur, s.t_i = s.t_cur - s.t_i, s.t_i * s.t_mult
            end
        elseif not is_finite(epoch) or epoch < 0 then
            raise(("bad argument #1 to 'step' (expected an epoch >= 0, got %s)")
                  :format(type(epoch) == "number" and show(epoch) or type(epoch)))
        elseif epoch >= s.t_0 then
            if s.t_mult == 1 then
                s.t_cur = epoch % s.t_0
            else
                local n = math.floor(math.log(epoch / s.t_0 * (s.t_mult - 1) + 1, s.t_mult))
                s.t_cur = epoch - s.t_0 * (s.t_mult ^ n - 1) / (s.t_mult - 1)
                s.t_i = s.t_0 * s.t_mult ^ n
            end
        else
            s.t_i, s.t_cur = s.t_0, epoch
        end
        s.last_epoch = math.floor(epoch)
        s.optimizer.lr = s:_get_lr()
        s.last_lr = s.optimizer.lr
        return s.last_lr
    end
    return new_scheduler(name, opt, o, {
        get_lr = function(s)
            return s.eta_min + (s.base_lr - s.eta_min) * (1 + math.cos(math.pi * s.t_cur / s.t_i)) / 2
        end,
        step = step,
    })
end

--- optim.OneCycleLR(opt, {max_lr=, total_steps= | epochs= and steps_per_epoch=,
--- pct_start=0.3, anneal_strategy="cos", cycle_momentum=true,
--- base_momentum=0.85, max_momentum=0.95, div_factor=25,
--- final_div_factor=1e4, three_phase=false}): the 1cycle policy, stepped
--- once per batch.
function optim.OneCycleLR(opt, opts)
    local name = "OneCycleLR"
    check_optimizer(name, opt)
    local o = scheduler_options(name, opts, {
        max_lr = 0, total_steps = 0, epochs = 0, steps_per_epoch = 0, pct_start = 0.3,
        anneal_strategy = "cos", cycle_momentum = true, base_momentum = 0.85, max_momentum = 0.95,
        div_factor = 25, final_div_factor = 1e4, three_phase = false,
    }, {"max_lr"})
    if o.total_steps == 0 then
        if o.epochs == 0 or o.steps_per_epoch == 0 then
            raise("bad argument #2 to 'OneCycleLR' (expected total_steps, or epochs and steps_per_epoch)")
        end
        o.total_steps = o.epochs * o.steps_per_epoch
    end
    check_choice(name, "anneal_strategy", o.anneal_strategy, {"cos", "linear"})
    local momentum_key = opt._kind.by_name.betas and "betas" or opt._kind.by_name.momentum and "momentum"
    if o.cycle_momentum and not momentum_key then
        raise(("bad argument #2 to 'OneCycleLR' (cycle_momentum needs an optimizer with momentum " ..
               "or betas; %s has neither: give cycle_momentum = false)"):format(opt.name))
    end
    local total, pct = o.total_steps, o.pct_start
    o.initial_lr = o.max_lr / o.div_factor
    o.min_lr = o.initial_lr / o.final_div_factor
    -- Phases: {last step, lr from, lr to, momentum from, momentum to}.
    if o.three_phase then
        o.phases = {{pct * total - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"},
                    {2 * pct * total - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"},
                    {total - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"}}
    else
        o.phases = {{pct * total - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"},
                    {total - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"}}
    end
    rawset(opt, "initial_lr", o.initial_lr)
    local function anneal(s, from, to, fraction)
        if s.anneal_strategy == "cos" then
            return to + (from - to) / 2 * (math.cos(math.pi * fraction) + 1)
        end
        return (to - from) * fraction + from
    end
    local function set_momentum(s, value)
        if momentum_key == "betas" then
            s.optimizer.betas = {value, s.optimizer.betas[2]}
        else
            s.optimizer.momentum = value
        end
    end
    o.optimizer = opt
    if o.cycle_momentum then set_momentum(o, o.max_momentum) end
    return new_scheduler(name, opt, o, {
        get_lr = function(s)
            local n = s.last_epoch
            if n >= s.total_steps then    -- torch allows one more, extrapolating the last phase
                s.last_epoch = n - 1
                raise(("bad argument #1 to 'step' (OneCycleLR's schedule has ended: total_steps = %d)")
                      :format(s.total_steps))
            end
            local start = 0
            for i, phase in ipairs(s.phases) do
                local last = phase[1]
                if n <= last or i == #s.phases then
                    local fraction = (n - start) / (last - start)
                    if s.cycle_momentum then
                        set_momentum(s, anneal(s, s[phase[4]], s[phase[5]], fraction))
                    end
                    return anneal(s, s[phase[2]], s[phase[3]], fraction)
                end
                start = last
            end
        end,
    })
end

--- optim.SequentialLR(opt, {schedulers={s1, s2, ...}, milestones={m1, ...}}):
--- s1 until epoch m1, then s2 restarted from its epoch 0, and so on (a
--- warm-up followed by a decay).
function optim.SequentialLR(opt, opts)
    local name = "SequentialLR"
    check_optimizer(name, opt)
    local o = scheduler_options(name, opts, {schedulers = {}, milestones = {}}, {"schedulers", "milestones"})
    local list, milestones = o.schedulers, o.milestones
    if #list == 0 then raise("bad argument #2 to 'SequentialLR' (expected at least one scheduler)") end
    for i, s in ipairs(list) do
        if getmetatable(s) ~= Scheduler or s.optimizer ~= opt then
            raise(("bad argument #2 to 'SequentialLR' (schedulers[%d] is not a scheduler of this optimizer)")
                  :format(i))
        end
    end
    if #milestones ~= #list - 1 then
        raise(("bad argument #2 to 'SequentialLR' (expected %d milestones for %d schedulers, got %d)")
              :format(#list - 1, #list, #milestones))
    end
    for i, m in ipairs(milestones) do
        if type(m) ~= "number" or m % 1 ~= 0 or m < 1 or (i > 1 and m < milestones[i - 1]) then
            raise("bad argument #2 to 'SequentialLR' (expected milestones as increasing whole numbers >= 1)")
        end
    end
    local self = setmetatable({optimizer = opt, name = name, last_epoch = 0, schedulers = list,
                               milestones = copy_value(milestones)}, Scheduler)
    opt.lr = rawget(opt, "initial_lr")
    for _, s in ipairs(list) do s.last_epoch = s.last_epoch - 1 end
    list[1]:step()
    self.last_lr = list[1].last_lr
    self.step = function(s)
        s.last_epoch = s.last_epoch + 1
        local index = 1
        while index <= #s.milestones and s.milestones[index] <= s.last_epoch do index = index + 1 end
        local current = s.schedulers[index]
        if index > 1 and s.milestones[index - 1] == s.last_epoch then
            current:_step_to(0)
        else
            current:step()
        end
        s.last_lr = current.last_lr
        return s.last_lr
    end
    return self
end

--- optim.ReduceLROnPlateau(opt, {mode="min", factor=0.1, patience=10,
--- threshold=1e-4, threshold_mode="rel", cooldown=0, min_lr=0, eps=1e-8});
--- sched:step(metric).
function optim.ReduceLROnPlateau(opt, opts)
    local name = "ReduceLROnPlateau"
    check_optimizer(name, opt)
    local o = scheduler_options(name, opts, {mode = "min", factor = 0.1, patience = 10, threshold = 1e-4,
                                             threshold_mode = "rel", cooldown = 0, min_lr = 0, eps = 1e-8})
    check_choice(name, "mode", o.mode, {"min", "max"})
    check_choice(name, "threshold_mode", o.threshold_mode, {"rel", "abs"})
    if o.factor >= 1 then
        raise(("bad argument #2 to 'ReduceLROnPlateau' (expected factor < 1, got %s)"):format(show(o.factor)))
    end
    local self = setmetatable(o, Scheduler)
    self.optimizer, self.name, self.last_epoch = opt, name, 0
    self.best = o.mode == "min" and math.huge or -math.huge
    self.num_bad_epochs, self.cooldown_counter = 0, 0
    self.last_lr = opt.lr
    local function better(s, value)
        local best, t = s.best, s.threshold
        if s.mode == "min" then
            return s.threshold_mode == "rel" and value < best * (1 - t) or
                   s.threshold_mode == "abs" and value < best - t
        end
        return s.threshold_mode == "rel" and value > best * (1 + t) or
               s.threshold_mode == "abs" and value > best + t
    end
    self.step = function(s, metric)
        if dl.is_tensor(metric) and metric:numel() == 1 then metric = metric:item() end
        if type(metric) ~= "number" then
            raise(("bad argument #1 to 'step' (ReduceLROnPlateau needs the monitored value, got %s)")
                  :format(type(metric)))
        end
        s.last_epoch = s.last_epoch + 1
        if better(s, metric) then
            s.best, s.num_bad_epochs = metric, 0
        else
            s.num_bad_epochs = s.num_bad_epochs + 1
        end
        if s.cooldown_counter > 0 then    -- bad epochs in cooldown do not count
            s.cooldown_counter, s.num_bad_epochs = s.cooldown_counter - 1, 0
        end
        if s.num_bad_epochs > s.patience then
            local old = s.optimizer.lr
            local new = math.max(old * s.factor, s.min_lr)
            if old - new > s.eps then s.optimizer.lr = new end
            s.cooldown_counter, s.num_bad_epochs = s.cooldown, 0
        end
        s.last_lr = s.optimizer.lr
        return s.last_lr
    end
    return self
end

optim.Scheduler = Scheduler
return optim
