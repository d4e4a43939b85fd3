-- callbacks.lua -- nn.callbacks: what Module:fit calls around its epochs.
--
--   nn.callbacks.early_stopping{monitor="val_loss", patience=0, min_delta=0,
--                               mode="auto", restore_best=false}
--   nn.callbacks.checkpoint{path=, monitor="val_loss", save_best_only=false, mode="auto"}
--   nn.callbacks.lr_scheduler{"StepLR", step_size=10, gamma=0.5}   (any optim scheduler)
--   nn.callbacks.reduce_lr_on_plateau{monitor="val_loss", factor=0.1, patience=10, ...}
--   nn.callbacks.csv_logger{path=, separator=",", append=false}
--
-- A callback is a table with any of on_train_begin(logs),
-- on_epoch_begin(epoch, logs), on_batch_end(batch, logs),
-- on_epoch_end(epoch, logs) and on_train_end(logs), called as methods;
-- before training fit sets cb.model and cb.optimizer. Setting
-- cb.model.stop_training = true ends training after the current batch
-- (or epoch). User callbacks are plain tables of the same shape.
-- Everything a callback needs (the monitored figure, a folder it writes
-- to) is checked in on_train_begin, before the first batch.
local dl = require "dl"
local raise = require("dl.errors").raise
local check = require "dl.fit_check"
local History = require "dl.history"
local optim = require "dl.optim"
local base = require "dl.module"

local callbacks = {}

local function describe(v)
    return type(v) == "string" and "'" .. v .. "'" or tostring(v)
end

-- Checks the options of callback `fn`: known names and their types
-- (known[name] is the Lua type, or true for any).
local function options(fn, opts, known)
    opts = check.options(fn, 1, opts, known)
    for key, want in pairs(known) do
        local v = opts[key]
        if v ~= nil and want ~= true and type(v) ~= want then
            check.argerror(fn, 1, "expected option '%s' to be a %s, got %s", key, want, type(v))
        end
    end
    return opts
end

local function check_mode(fn, mode)
    if mode ~= nil and mode ~= "auto" and mode ~= "min" and mode ~= "max" then
        check.argerror(fn, 1, "expected option 'mode' to be \"auto\", \"min\" or \"max\", got %s",
                       describe(mode))
    end
end

local function check_non_negative(fn, key, v)
    if v ~= nil and not (v >= 0 and v < math.huge) then
        check.argerror(fn, 1, "expected option '%s' to be a finite number >= 0, got %s", key,
                       tostring(v))
    end
end

-- Refuses a monitored figure that this fit does not measure.
local function check_monitor(fn, monitor, logs)
    for _, name in ipairs(logs.metrics or {}) do
        if name == monitor then return end
    end
    local hint = monitor:sub(1, 4) == "val_" and " (give fit a validation set or validation_split)"
                 or ""
    raise(("%s: monitor '%s' is not measured by this fit%s; it measures: %s"):format(fn,
          monitor, hint, table.concat(logs.metrics or {}, ", ")))
end

-- "min" or "max" for a monitored figure ("auto": min for losses).
local function resolve_mode(mode, monitor)
    if mode == nil or mode == "auto" then
        return History.lower_is_better(monitor) and "min" or "max"
    end
    return mode
end

-- True when `value` improves on `best` by more than min_delta.
local function improves(mode, value, best, min_delta)
    if value ~= value then return false end
    if best == nil then return true end
    if mode == "min" then return value < best - min_delta end
    return value > best + min_delta
end

-- A callback prints as its constructor call with the settings it was made
-- with: nn.callbacks.early_stopping{monitor = "val_loss", patience = 5, ...}.
local function describe(self)
    local parts = {}
    for _, key in ipairs(rawget(self, "_settings")) do
        local value = rawget(self, key)
        parts[#parts + 1] = ("%s = %s"):format(key, type(value) == "string" and ("%q"):format(value)
                                                     or tostring(value))
    end
    return ("%s{%s}"):format(getmetatable(self).__name, table.concat(parts, ", "))
end

local function new(class, fields)
    class.__index = class
    class.__tostring = describe
    local settings = {}
    for key, value in pairs(fields) do
        local kind = type(value)
        if kind == "string" or kind == "number" or kind == "boolean" then settings[#settings + 1] = key end
    end
    table.sort(settings)
    fields._settings = settings
    return setmetatable(fields, class)
end

-- ---- model state: parameters and buffers ------------------------------------------

-- Every tensor of the model (parameters, then buffers such as running means).
local function model_tensors(module, out)
    out = out or {}
    for _, value in base.Module.fields(module) do
        if dl.is_tensor(value) then
            out[#out + 1] = value
        elseif base.Module.is_module(value) then
            model_tensors(value, out)
        end
    end
    return out
end

local function snapshot(model)
    local saved = {}
    for i, t in ipairs(model_tensors(model)) do saved[i] = t:detach():clone() end
    return saved
end

local function restore(model, saved)
    dl.no_grad(function()
        for i, t in ipairs(model_tensors(model)) do t:copy_(saved[i]) end
    end)
end

-- ---- early_stopping ---------------------------------------------------------------------

local EarlyStopping = {__name = "nn.callbacks.early_stopping"}

--- nn.callbacks.early_stopping{monitor="val_loss", patience=0, min_delta=0,
--- mode="auto", restore_best=false, verbose=true}: stops training when the
--- monitored figure has not improved by more than min_delta for `patience`
--- epochs; restore_best puts back the weights of the best epoch at the end.
function callbacks.early_stopping(opts)
    local fn = "early_stopping"
    opts = options(fn, opts, {monitor = "string", patience = "number", min_delta = "number",
                              mode = "string", restore_best = "boolean", verbose = "boolean"})
    check_mode(fn, opts.mode)
    check_non_negative(fn, "patience", opts.patience)
    check_non_negative(fn, "min_delta", opts.min_delta)
    return new(EarlyStopping, {monitor = opts.monitor or "val_loss", patience = opts.patience or 0,
        min_delta = opts.min_delta or 0, mode = opts.mode or "auto",
        restore_best = opts.restore_best == true, verbose = opts.verbose ~= false})
end

function EarlyStopping:on_train_begin(logs)
    check_monitor("early_stopping", self.monitor, logs)
    self.direction = resolve_mode(self.mode, self.monitor)
    self.best, self.best_epoch, self.wait, self.stopped_epoch = nil, nil, 0, nil
    self.best_weights, self.last_epoch = nil, nil
end

function EarlyStopping:on_epoch_end(epoch, logs)
    self.last_epoch = epoch
    local value = logs[self.monitor]
    if improves(self.direction, value, self.best, self.min_delta) then
        self.best, self.best_epoch, self.wait = value, epoch, 0
        if self.restore_best then self.best_weights = snapshot(self.model) end
        return
    end
    self.wait = self.wait + 1
    if self.wait >= self.patience then
        self.stopped_epoch = epoch
        self.model.stop_training = true
    end
end

function EarlyStopping:on_train_end()
    local restored = self.restore_best and self.best_weights and self.best_epoch ~= self.last_epoch
    if restored then restore(self.model, self.best_weights) end
    self.best_weights = nil
    if self.verbose and self.stopped_epoch then
        print(("early_stopping: stopped at epoch %d: %s has not improved since epoch %d (%.4f)%s")
              :format(self.stopped_epoch, self.monitor, self.best_epoch or 0, self.best or 0 / 0,
                      restored and "; the weights of that epoch are restored" or ""))
    end
end

-- ---- checkpoint -----------------------------------------------------------------------

local Checkpoint = {__name = "nn.callbacks.checkpoint"}

-- The path with {epoch} and {figure} (optionally {name:fmt}, e.g.
-- {epoch:03d}, {val_loss:.3f}) filled in.
local function fill_path(path, epoch, logs)
    return (path:gsub("{([%a_][%w_]*):?([^}]*)}", function(name, fmt)
        local value = name == "epoch" and epoch or logs[name]
        if value == nil then return nil end
        if fmt == "" then fmt = name == "epoch" and "d" or ".4f" end
        local ok, text = pcall(string.format, "%" .. fmt, value)
        return ok and text or tostring(value)
    end))
end

-- Raises when files cannot be created in the folder of path.
local function check_writable(fn, path)
    local dir = path:match("^(.*)/[^/]*$") or "."
    if dir == "" then dir = "/" end
    local probe = ("%s/.dlrepl-write-test-%d"):format(dir, math.random(1, 1e9))
    local f, err = io.open(probe, "w")
    if not f then
        raise(("%s: cannot write files in the folder '%s' of path '%s' (%s)"):format(fn, dir,
              path, (err or ""):match(": ([^:]*)$") or err))
    end
    f:close()
    os.remove(probe)
end

--- nn.callbacks.checkpoint{path=, monitor="val_loss", save_best_only=false,
--- mode="auto", verbose=false}: saves the model (m:save) after every epoch,
--- or only when the monitored figure improves; path may hold {epoch} and
--- any figure ({val_loss:.3f}).
function callbacks.checkpoint(opts)
    local fn = "checkpoint"
    opts = options(fn, opts, {path = "string", monitor = "string", save_best_only = "boolean",
                              mode = "string", verbose = "boolean"})
    if opts.path == nil or opts.path == "" then
        check.argerror(fn, 1, "option 'path' is required (a file name; it may hold {epoch})")
    end
    check_mode(fn, opts.mode)
    return new(Checkpoint, {path = opts.path, monitor = opts.monitor or "val_loss",
        save_best_only = opts.save_best_only == true, mode = opts.mode or "auto",
        verbose = opts.verbose == true})
end

function Checkpoint:on_train_begin(logs)
    if self.save_best_only then check_monitor("checkpoint", self.monitor, logs) end
    for name in self.path:gmatch("{([%a_][%w_]*)") do
        if name ~= "epoch" then check_monitor("checkpoint", name, logs) end
    end
    if type(self.model.save) ~= "function" then
        raise("checkpoint: this model has no save method (m:save)")
    end
    check_writable("checkpoint", self.path)
    self.direction = resolve_mode(self.mode, self.monitor)
    self.best, self.best_epoch, self.saved = nil, nil, {}
end

function Checkpoint:on_epoch_end(epoch, logs)
    local value = logs[self.monitor]
    if self.save_best_only then
        if not improves(self.direction, value, self.best, 0) then return end
        self.best, self.best_epoch = value, epoch
    end
    local path = fill_path(self.path, epoch, logs)
    self.model:save(path)
    self.saved[#self.saved + 1] = path
    self.last_path = path
    if self.verbose then
        print(self.save_best_only and
              ("checkpoint: epoch %d: %s improved to %.4f, saved %s"):format(epoch, self.monitor,
                                                                            value, path)
              or ("checkpoint: epoch %d: saved %s"):format(epoch, path))
    end
end

-- ---- lr_scheduler -----------------------------------------------------------------------

local LRScheduler = {__name = "nn.callbacks.lr_scheduler"}

--- nn.callbacks.lr_scheduler{name_or_constructor, options...} |
--- lr_scheduler(scheduler) | lr_scheduler{schedule = function(epoch, lr)}:
--- steps an optim scheduler after every epoch (built on fit's optimizer
--- when given by name, e.g. {"StepLR", step_size = 10}; ReduceLROnPlateau
--- gets the figure named by `monitor`, default val_loss), or sets the lr of
--- each epoch from schedule(epoch, lr) before it starts.
function callbacks.lr_scheduler(spec)
    local fn = "lr_scheduler"
    if type(spec) ~= "table" then
        check.argerror(fn, 1, "expected a scheduler, {\"StepLR\", options...} or " ..
                       "{schedule = function(epoch, lr)}, got %s", type(spec))
    end
    local self = {monitor = "val_loss"}
    if getmetatable(spec) ~= nil and spec.optimizer and spec.step then
        self.scheduler = spec
    elseif spec.schedule ~= nil then
        if not check.callable(spec.schedule) then
            check.argerror(fn, 1, "expected option 'schedule' to be a function(epoch, lr), got %s",
                           type(spec.schedule))
        end
        self.schedule = spec.schedule
    else
        local kind = spec[1]
        if type(kind) == "string" then
            if type(optim[kind]) ~= "function" then
                check.argerror(fn, 1, "optim has no scheduler '%s'", kind)
            end
            kind = optim[kind]
        elseif not check.callable(kind) then
            check.argerror(fn, 1, "expected a scheduler's name or constructor as entry 1, got %s",
                           type(kind))
        end
        self.make, self.options = kind, {}
        for k, v in pairs(spec) do
            if k == "monitor" then self.monitor = v elseif k ~= 1 then self.options[k] = v end
        end
    end
    return new(LRScheduler, self)
end

function LRScheduler:on_train_begin(logs)
    if self.make then
        self.scheduler = self.make(self.optimizer, self.options)
    elseif self.scheduler and self.scheduler.optimizer ~= self.optimizer then
        raise("lr_scheduler: the scheduler drives another optimizer than fit's; give that " ..
              "optimizer to fit (optimizer = opt)")
    end
    if self.scheduler and self.scheduler.name == "ReduceLROnPlateau" then
        check_monitor("lr_scheduler", self.monitor, logs)
    end
end

function LRScheduler:on_epoch_begin(epoch)
    if not self.schedule then return end
    local lr = self.schedule(epoch, self.optimizer.lr)
    if type(lr) ~= "number" or not (lr >= 0 and lr < math.huge) then
        raise(("lr_scheduler: schedule(%d, lr) must return a learning rate >= 0, got %s")
              :format(epoch, describe(lr)))
    end
    self.optimizer.lr = lr
end

function LRScheduler:on_epoch_end(epoch, logs)
    if not self.scheduler then return end
    if self.scheduler.name == "ReduceLROnPlateau" then
        self.scheduler:step(logs[self.monitor])
    else
        self.scheduler:step()
    end
end

-- ---- reduce_lr_on_plateau -------------------------------------------------------------

local ReduceLR = {__name = "nn.callbacks.reduce_lr_on_plateau"}

--- nn.callbacks.reduce_lr_on_plateau{monitor="val_loss", factor=0.1,
--- patience=10, mode="auto", threshold=1e-4, cooldown=0, min_lr=0,
--- verbose=true}: multiplies the lr by factor when the monitored figure has
--- not improved for `patience` epochs (optim.ReduceLROnPlateau's rule).
function callbacks.reduce_lr_on_plateau(opts)
    local fn = "reduce_lr_on_plateau"
    opts = options(fn, opts, {monitor = "string", factor = "number", patience = "number",
                              mode = "string", threshold = "number", cooldown = "number",
                              min_lr = "number", verbose = "boolean"})
    check_mode(fn, opts.mode)
    if opts.factor ~= nil and not (opts.factor > 0 and opts.factor < 1) then
        check.argerror(fn, 1, "expected option 'factor' in (0, 1), got %s", tostring(opts.factor))
    end
    for _, key in ipairs{"patience", "threshold", "cooldown", "min_lr"} do
        check_non_negative(fn, key, opts[key])
    end
    return new(ReduceLR, {monitor = opts.monitor or "val_loss", mode = opts.mode or "auto",
        factor = opts.factor or 0.1, patience = opts.patience or 10,
        threshold = opts.threshold or 1e-4, cooldown = opts.cooldown or 0,
        min_lr = opts.min_lr or 0, verbose = opts.verbose ~= false})
end

function ReduceLR:on_train_begin(logs)
    check_monitor("reduce_lr_on_plateau", self.monitor, logs)
    self.scheduler = optim.ReduceLROnPlateau(self.optimizer, {
        mode = resolve_mode(self.mode, self.monitor), factor = self.factor,
        patience = self.patience, threshold = self.threshold, cooldown = self.cooldown,
        min_lr = self.min_lr})
end

function ReduceLR:on_epoch_end(epoch, logs)
    local before = self.optimizer.lr
    self.scheduler:step(logs[self.monitor])
    if self.verbose and self.optimizer.lr < before then
        print(("reduce_lr_on_plateau: epoch %d: lr reduced to %g"):format(epoch, self.optimizer.lr))
    end
end

-- ---- csv_logger -----------------------------------------------------------------------

local CSVLogger = {__name = "nn.callbacks.csv_logger"}

--- nn.callbacks.csv_logger{path=, separator=",", append=false}: writes one
--- row per epoch (epoch, then every figure) to a CSV file with a header row.
function callbacks.csv_logger(opts)
    local fn = "csv_logger"
    opts = options(fn, opts, {path = "string", separator = "string", append = "boolean"})
    if opts.path == nil or opts.path == "" then
        check.argerror(fn, 1, "option 'path' is required (a file name)")
    end
    return new(CSVLogger, {path = opts.path, separator = opts.separator or ",",
                           append = opts.append == true})
end

function CSVLogger:on_train_begin()
    local had_rows = false
    if self.append then
        local f = io.open(self.path, "r")
        if f then
            had_rows = f:read(1) ~= nil
            f:close()
        end
    end
    local f, err = io.open(self.path, self.append and "a" or "w")
    if not f then raise(("csv_logger: cannot write '%s' (%s)"):format(self.path, err)) end
    self.file, self.columns, self.header_written = f, nil, had_rows
end

function CSVLogger:on_epoch_end(epoch, logs)
    if not self.columns then
        self.columns = {}
        for k in pairs(logs) do self.columns[#self.columns + 1] = k end
        table.sort(self.columns)
        if not self.header_written then
            self.file:write("epoch", self.separator, table.concat(self.columns, self.separator), "\n")
        end
    end
    local row = {tostring(epoch)}
    for _, k in ipairs(self.columns) do
        local v = logs[k]
        row[#row + 1] = type(v) == "number" and ("%.9g"):format(v) or ""
    end
    self.file:write(table.concat(row, self.separator), "\n")
    self.file:flush()
end

function CSVLogger:on_train_end()
    if self.file then self.file:close() end
    self.file = nil
end

return callbacks
