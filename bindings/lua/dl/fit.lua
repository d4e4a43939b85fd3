-- fit.lua -- Module:fit, Module:evaluate and Module:predict: Keras's
-- one-line workflow over the hand-written loop
--
--     for x, y in train:batches(n, {shuffle = true}) do
--         local loss = loss_fn(model(x), y)
--         opt:zero_grad(); loss:backward(); opt:step()
--     end
--
-- which fit runs with the same random draws (so the same seed gives the
-- same weights), adding a progress display, validation, metrics, callbacks
-- (callbacks.lua), a history (history.lua), Ctrl-C and NaN handling.
-- Everything fit is given is checked (fit_check.lua) before any weight
-- changes.
local dl = require "dl"
local base = require "dl.module"
local optim = require "dl.optim"
local check = require "dl.fit_check"
local T = require "dl.fit_task"
local History = require "dl.history"
local progress = require "dl.progress"

local Module = base.Module
local argerror = check.argerror

local FIT_OPTIONS = {
    epochs = true, batch_size = true, loss = true, optimizer = true, lr = true,
    shuffle = true, validation = true, validation_split = true, metrics = true,
    callbacks = true, class_weight = true, plot = true, verbose = true,
    stop_on_nan = true, augment = true,
}
local EVALUATE_OPTIONS = {metrics = true, batch_size = true, loss = true}
local PREDICT_OPTIONS = {batch_size = true}
local CALLBACK_HOOKS = {"on_train_begin", "on_epoch_begin", "on_batch_end", "on_epoch_end",
                        "on_train_end"}
local OPTIMIZERS = {sgd = "SGD", adam = "Adam", adamw = "AdamW", rmsprop = "RMSprop",
                    adagrad = "Adagrad"}

-- ---- setting up --------------------------------------------------------------------

-- The optimiser of option `optimizer` (a name, {name, options...}, or an
-- optimiser object) with option lr applied.
local function make_optimizer(model, spec, lr)
    if getmetatable(spec) == optim.Optimizer then
        if lr then spec.lr = lr end
        return spec
    end
    local name, opts = spec or "adam", {}
    if type(spec) == "table" then
        name = spec[1]
        for k, v in pairs(spec) do
            if k ~= 1 then opts[k] = v end
        end
    end
    local class = type(name) == "string" and OPTIMIZERS[name:lower()]
    if not class then
        local names = {}
        for k in pairs(OPTIMIZERS) do names[#names + 1] = '"' .. k .. '"' end
        table.sort(names)
        argerror("fit", 2, "expected option 'optimizer' to be one of %s, {name, options...} " ..
                 "or an optimizer, got %s", table.concat(names, ", "),
                 type(name) == "string" and "'" .. name .. "'" or type(name))
    end
    if lr then opts.lr = lr end
    return optim[class](model, opts)
end

-- Callbacks as a list, each a table with at least one known hook.
local function check_callbacks(list)
    if list == nil then return {} end
    if type(list) ~= "table" then
        argerror("fit", 2, "expected option 'callbacks' to be a list, got %s", type(list))
    end
    if list.on_epoch_end or list.on_train_begin or list.on_batch_end or
       list.on_epoch_begin or list.on_train_end then
        list = {list}   -- one callback given alone
    end
    for i, cb in ipairs(list) do
        local hooks = 0
        if type(cb) == "table" then
            for _, hook in ipairs(CALLBACK_HOOKS) do
                if cb[hook] ~= nil then
                    if not check.callable(cb[hook]) then
                        argerror("fit", 2, "callback %d: '%s' must be a function, got %s", i,
                                 hook, type(cb[hook]))
                    end
                    hooks = hooks + 1
                end
            end
        end
        if hooks == 0 then
            argerror("fit", 2, "callback %d must be a table with at least one of %s, got %s", i,
                     table.concat(CALLBACK_HOOKS, ", "), type(cb))
        end
    end
    return list
end

-- Checks every option of fit; returns the run's settings.
local function prepare(model, data, opts)
    opts = check.options("fit", 2, opts, FIT_OPTIONS)
    check.count("fit", 2, "epochs", opts.epochs)
    check.count("fit", 2, "batch_size", opts.batch_size)
    for _, key in ipairs{"shuffle", "plot", "stop_on_nan"} do
        check.kind("fit", 2, key, opts[key], "boolean")
    end
    local verbose = opts.verbose
    if verbose ~= nil and type(verbose) ~= "boolean" and verbose ~= 0 and verbose ~= 1 then
        argerror("fit", 2, "expected option 'verbose' to be true or false, got %s",
                 tostring(verbose))
    end
    if opts.lr ~= nil and (type(opts.lr) ~= "number" or not (opts.lr > 0) or opts.lr == math.huge) then
        argerror("fit", 2, "expected option 'lr' to be a number > 0, got %s", tostring(opts.lr))
    end
    if opts.augment ~= nil and not check.callable(opts.augment) then
        argerror("fit", 2, "expected option 'augment' to be callable, got %s", type(opts.augment))
    end
    local split = opts.validation_split
    if split ~= nil and (type(split) ~= "number" or not (split > 0 and split < 1)) then
        argerror("fit", 2, "expected option 'validation_split' to be a fraction in (0, 1), got %s",
                 tostring(split))
    end
    if split ~= nil and opts.validation ~= nil then
        argerror("fit", 2, "give either 'validation' or 'validation_split', not both")
    end
    local train = check.dataset("fit", 1, data, "the training set", true)
    local val = opts.validation ~= nil and
        check.dataset("fit", 2, opts.validation, "the validation set", true) or nil
    if split then
        -- as Keras: the last fraction of the rows, taken before any shuffle
        local n = #train
        local at = math.floor(n * (1 - split))
        if at < 1 or at >= n then
            argerror("fit", 2, "validation_split %g of %d rows leaves %s empty", split, n,
                     at < 1 and "the training set" or "the validation set")
        end
        train, val = train:subset(dl.arange(1, at + 1)), train:subset(dl.arange(at + 1, n + 1))
    end
    if opts.loss == nil then check.loss("fit", 2, nil) end   -- fit needs one
    local t = T.task(model, train, opts.loss, opts.metrics, "fit", "the training set")
    if val then T.check_other_set(model, t, val, "the validation set") end
    t.weights = check.class_weight("fit", 2, opts.class_weight, t.loss, t.classes)
    local s = {
        train = train, val = val, task = t,
        epochs = opts.epochs or 1, batch_size = opts.batch_size or 32,
        shuffle = opts.shuffle ~= false, augment = opts.augment,
        verbose = opts.verbose ~= false and opts.verbose ~= 0,
        plot = opts.plot == true, stop_on_nan = opts.stop_on_nan ~= false,
        callbacks = check_callbacks(opts.callbacks),
    }
    s.optimizer = make_optimizer(model, opts.optimizer, opts.lr)
    return s
end

-- ---- the training loop -----------------------------------------------------------------

local function call_hooks(callbacks, hook, ...)
    for _, cb in ipairs(callbacks) do
        local f = cb[hook]
        if f then f(cb, ...) end
    end
end

local function is_interrupt(err)
    return type(err) == "string" and (err:match("interrupted!$") or err:match(": interrupted$"))
end

local function finite(v)
    return v == v and v ~= math.huge and v ~= -math.huge
end

-- One epoch of training; returns the tally, the batches done, and why it
-- stopped early ("interrupt", "nan", "callback") or nil.
local function train_epoch(model, s, epoch, bar, where)
    local t, opt = s.task, s.optimizer
    local tally = T.new_tally(t)
    local batch_hooks = {}
    for _, cb in ipairs(s.callbacks) do
        if cb.on_batch_end then batch_hooks[#batch_hooks + 1] = cb end
    end
    local poll = dl.interrupt_requested
    local function running() return T.tally_figures(t, tally, "", true, true) end
    local batch = 0
    for x, y in s.train:batches(s.batch_size, {shuffle = s.shuffle, augment = s.augment}) do
        batch = batch + 1
        where.batch = batch
        if t.adapt then y = t.adapt(y) end
        local out = model(x)
        local loss = T.batch_loss(t, out, y)
        local value = loss:item()
        if not finite(value) and s.stop_on_nan then
            where.value = value
            return tally, batch - 1, "nan"
        end
        opt:zero_grad()
        loss:backward()
        opt:step()
        T.tally_batch(t, tally, out, y, value)
        if #batch_hooks > 0 then
            local logs = {loss = value, size = #y, epoch = epoch}
            for _, cb in ipairs(batch_hooks) do cb:on_batch_end(batch, logs) end
        end
        bar:update(batch, tally.seen, running)
        if poll() then return tally, batch, "interrupt" end
        if rawget(model, "stop_training") then return tally, batch, "callback" end
    end
    return tally, batch, nil
end

-- The epochs; returns why training stopped early, or nil.
local function run_epochs(model, s, hist, bar, where)
    local t = s.task
    for epoch = 1, s.epochs do
        where.epoch, where.batch = epoch, 0
        call_hooks(s.callbacks, "on_epoch_begin", epoch, {})
        bar:epoch_begin(epoch)
        local start = dl.clock()
        model:train()
        local tally, batches, stop = train_epoch(model, s, epoch, bar, where)
        if stop == "interrupt" or stop == "nan" then return stop end
        local logs = T.tally_figures(t, tally, "", true)
        if s.val then
            for k, v in pairs(T.measure(model, s.val, t, s.batch_size, "val_")) do logs[k] = v end
        end
        logs.lr = s.optimizer.lr
        logs.seconds = dl.clock() - start
        local shown = {}
        for k, v in pairs(logs) do
            if not History.BOOKKEEPING[k] then shown[k] = v end
        end
        -- live curves: the last drawing is erased, the epoch's line printed
        -- where it was, and the curves drawn again below it
        if s.plot then require("dl.plot").erase() end
        bar:epoch_end(shown, batches, tally.seen)
        hist:append(logs)
        if s.plot then require("dl.plot")(hist) end
        call_hooks(s.callbacks, "on_epoch_end", epoch, logs)
        if rawget(model, "stop_training") then return stop or "callback" end
    end
    return nil
end

-- Trains; returns the history. Runs with Ctrl-C deferred: a press stops
-- after the current batch.
local function train(model, s)
    local hist = History.new()
    local bar = progress.new{epochs = s.epochs, batches = math.ceil(#s.train / s.batch_size),
                             verbose = s.verbose}
    local where = {epoch = 0, batch = 0}
    rawset(model, "stop_training", false)
    local names = {"loss"}
    for _, m in ipairs(s.task.metrics) do names[#names + 1] = m end
    if s.val then
        for i = 1, #names do names[#names + 1] = "val_" .. names[i] end
    end
    for _, cb in ipairs(s.callbacks) do
        cb.model, cb.optimizer = model, s.optimizer
    end
    call_hooks(s.callbacks, "on_train_begin", {metrics = names, epochs = s.epochs})
    local ok, stop = pcall(run_epochs, model, s, hist, bar, where)
    if not ok then
        if not is_interrupt(stop) then error(stop, 0) end
        dl.interrupt_requested()    -- handled here: later code runs on
        stop = "interrupt"
    end
    if stop == "interrupt" then
        bar:message(("fit: stopped at epoch %d, batch %d (Ctrl-C); the history so far is " ..
                     "returned"):format(where.epoch, where.batch))
    elseif stop == "nan" then
        bar:message(("fit: the loss is %s at epoch %d, batch %d; training stopped before " ..
                     "that batch's update (stop_on_nan = false trains on)")
                    :format(where.value ~= where.value and "nan" or tostring(where.value),
                            where.epoch, where.batch))
    end
    call_hooks(s.callbacks, "on_train_end", {stopped = stop})
    rawset(model, "stop_training", nil)
    return hist
end

--- m:fit(data, {epochs=1, batch_size=32, loss=, optimizer="adam", lr=,
--- shuffle=true, validation=, validation_split=, metrics=, callbacks=,
--- class_weight=, augment=, plot=false, verbose=true, stop_on_nan=true})
--- -> history. data is a dataset of dl.data or {x, y} tensors. See
--- docs/ref/training.md.
function Module:fit(data, opts)
    if not base.Module.is_module(self) then
        argerror("fit", 1, "expected a model: call it as model:fit(data, options)")
    end
    local s = prepare(self, data, opts)
    rawset(self, "_fit", {loss = s.task.loss, metrics = s.task.metrics})
    local was_training = self.training
    local ok, hist = pcall(dl.deferring_interrupts, train, self, s)
    self:train(was_training)
    if not ok then error(hist, 0) end
    return hist
end

--- m:evaluate(data, {metrics=, batch_size=32, loss=}) -> {loss =, metric = ...}:
--- the loss (the last fit's unless given) and metrics over the whole set,
--- batched, in eval mode and without a graph.
function Module:evaluate(data, opts)
    opts = check.options("evaluate", 2, opts, EVALUATE_OPTIONS)
    check.count("evaluate", 2, "batch_size", opts.batch_size)
    local ds = check.dataset("evaluate", 1, data, "the data", true)
    local last = rawget(self, "_fit") or {}
    local loss = opts.loss or (last.loss and (last.loss.kind == "custom" and last.loss.fn
                                             or last.loss.name))
    local metrics = opts.metrics or last.metrics
    if loss == nil and (metrics == nil or #metrics == 0) then
        argerror("evaluate", 2, "nothing to measure: give {loss =} or {metrics =} " ..
                 "(or fit the model first)")
    end
    local t = T.task(self, ds, loss, metrics, "evaluate", "the data")
    return T.measure(self, ds, t, opts.batch_size or 32, "")
end

--- m:predict(x | data, {batch_size=32}) -> the outputs for every row, in
--- batches, in eval mode and without a graph; the model's mode is kept.
function Module:predict(data, opts)
    opts = check.options("predict", 2, opts, PREDICT_OPTIONS)
    check.count("predict", 2, "batch_size", opts.batch_size)
    local batch_size = opts.batch_size or 32
    local x, ds
    if dl.is_tensor(data) then
        if data:dim() == 0 or #data == 0 then
            argerror("predict", 1, "expected rows to predict, got %s",
                     data:dim() == 0 and "a 0-d tensor" or "0 rows")
        end
        x = data
    else
        ds = check.dataset("predict", 1, data, "the data", false)
    end
    local was_training = self.training
    self:eval()
    local ok, out = pcall(dl.no_grad, function()
        local parts = {}
        if x then
            for first = 1, #x, batch_size do
                parts[#parts + 1] = self(x:narrow(1, first, math.min(batch_size, #x - first + 1)))
            end
        else
            for rows in ds:batches(batch_size, {shuffle = false}) do parts[#parts + 1] = self(rows) end
        end
        return #parts == 1 and parts[1] or dl.cat(parts, 1)
    end)
    self:train(was_training)
    if not ok then error(out, 0) end
    return out
end

return Module
