-- callbacks_spec.lua -- nn.callbacks: when early stopping stops and what it
-- restores, which epochs a checkpoint saves and where, learning-rate
-- schedules as fit records them, the CSV log, and their bad input.
local H = require "tests.lua.helper"
local dl = H.dl
local nn, optim = dl.nn, dl.optim
local cbs = nn.callbacks

local function blobs(n)
    dl.manual_seed(7)
    local x = dl.randn(n, 4)
    return x, (x:select(2, 1) - x:select(2, 3)):gt(0) + 1
end

local function mlp()
    return nn.Sequential{nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)}
end

-- Feeds `series` (values of figure `name`, one per epoch) to callback cb
-- as fit would; returns the epoch at which it asked to stop, or nil.
local function feed(cb, name, series, model)
    cb.model = model or {}
    cb.model.stop_training = false
    cb:on_train_begin({metrics = {"loss", name}})
    for epoch, value in ipairs(series) do
        cb:on_epoch_end(epoch, {loss = 1, [name] = value})
        if cb.model.stop_training then
            if cb.on_train_end then cb:on_train_end({}) end
            return epoch
        end
    end
    if cb.on_train_end then cb:on_train_end({}) end
end

local function quietly(f)
    local real = _G.print      -- busted gives each spec its own globals
    _G.print = function() end
    local ok, err = pcall(f)
    _G.print = real
    assert(ok, err)
end

describe("nn.callbacks.early_stopping", function()
    it("stops after `patience` epochs without improvement, lower being better for losses", function()
        quietly(function()
            assert.equals(4, feed(cbs.early_stopping{patience = 2}, "val_loss", {1, 0.8, 0.85, 0.9, 0.1}))
            assert.equals(3, feed(cbs.early_stopping{}, "val_loss", {1, 0.8, 0.8}))
            assert.is_nil(feed(cbs.early_stopping{patience = 2}, "val_loss", {1, 0.9, 0.95, 0.8, 0.85}))
        end)
    end)

    it("takes higher as better for accuracies, and needs more than min_delta", function()
        quietly(function()
            assert.equals(4, feed(cbs.early_stopping{monitor = "val_accuracy", patience = 2},
                                  "val_accuracy", {0.5, 0.6, 0.6, 0.6}))
            assert.equals(2, feed(cbs.early_stopping{patience = 1, min_delta = 0.1}, "val_loss",
                                  {1.0, 0.95, 0.5}))
            assert.equals(3, feed(cbs.early_stopping{monitor = "val_loss", mode = "max",
                                                     patience = 2}, "val_loss", {1, 0.9, 0.8}))
        end)
    end)

    it("puts back the weights of the best epoch with restore_best", function()
        local x, y = blobs(40)
        local model = mlp()
        local after = {}
        local function weights()
            local out = {}
            for _, p in ipairs(model:parameters()) do out[#out + 1] = p:clone() end
            return out
        end
        local es = cbs.early_stopping{monitor = "loss", mode = "max", patience = 2,
                                      restore_best = true}
        local printed
        local real = _G.print
        _G.print = function(s) printed = s end
        local ok, hist = pcall(model.fit, model, {x, y}, {epochs = 10, loss = "cross_entropy",
            lr = 0.05, verbose = false,
            callbacks = {es, {on_epoch_end = function(_, e) after[e] = weights() end}}})
        _G.print = real
        assert(ok, hist)
        assert.equals(3, #hist.loss)     -- the loss falls: epoch 1 stays the "best"
        assert.equals("early_stopping: stopped at epoch 3: loss has not improved since epoch " ..
                      ("1 (%.4f); the weights of that epoch are restored"):format(hist.loss[1]),
                      printed)
        for i, p in ipairs(model:parameters()) do
            H.close(p, after[1][i]:totable(), 0)
        end
    end)

    it("refuses a monitor the fit does not measure, before training", function()
        local x, y = blobs(20)
        local model = mlp()
        local before = model[1].weight:clone()
        H.raises("early_stopping: monitor 'val_loss' is not measured by this fit (give fit a " ..
                 "validation set or validation_split); it measures: loss, accuracy",
                 model.fit, model, {x, y}, {loss = "cross_entropy", metrics = {"accuracy"},
                                            callbacks = {cbs.early_stopping{}}})
        H.close(model[1].weight, before:totable(), 0)
    end)
end)

describe("nn.callbacks.checkpoint", function()
    local function recording_model()
        local model = {saved = {}}
        model.save = function(self, path) self.saved[#self.saved + 1] = path end
        return model
    end

    it("saves every epoch, {epoch} and figures filled into the path", function()
        local model = recording_model()
        feed(cbs.checkpoint{path = "/tmp/m-{epoch}-{epoch:03d}-{val_loss:.2f}.safetensors"},
             "val_loss", {0.5, 0.25, 0.75}, model)
        assert.same({"/tmp/m-1-001-0.50.safetensors", "/tmp/m-2-002-0.25.safetensors",
                     "/tmp/m-3-003-0.75.safetensors"}, model.saved)
    end)

    it("with save_best_only saves only the epochs that improve, per its mode", function()
        local model = recording_model()
        feed(cbs.checkpoint{path = "/tmp/best-{epoch}.st", save_best_only = true,
                            monitor = "val_accuracy"}, "val_accuracy", {0.5, 0.7, 0.6, 0.8, 0.8},
             model)
        assert.same({"/tmp/best-1.st", "/tmp/best-2.st", "/tmp/best-4.st"}, model.saved)
        model = recording_model()
        feed(cbs.checkpoint{path = "/tmp/best.st", save_best_only = true}, "val_loss",
             {0.5, 0.7, 0.4, 0.45}, model)
        assert.same({"/tmp/best.st", "/tmp/best.st"}, model.saved)
        model = recording_model()
        feed(cbs.checkpoint{path = "/tmp/best.st", save_best_only = true, mode = "max"},
             "val_loss", {0.5, 0.7, 0.4}, model)
        assert.same({"/tmp/best.st", "/tmp/best.st"}, model.saved)
    end)

    it("is called by fit after each epoch with the model", function()
        local x, y = blobs(30)
        local model = mlp()
        local saved = {}
        model.save = function(self, path) saved[#saved + 1] = {self, path} end
        model:fit({x, y}, {epochs = 3, loss = "cross_entropy", verbose = false,
                           callbacks = {cbs.checkpoint{path = "/tmp/fit-{epoch}.st",
                                                       monitor = "loss"}}})
        assert.equals(3, #saved)
        assert.equals(model, saved[3][1])
        assert.equals("/tmp/fit-3.st", saved[3][2])
    end)

    it("refuses, before training, a folder that does not exist or cannot be written", function()
        local x, y = blobs(20)
        local model = mlp()
        model.save = function() error("must not be called") end
        H.raises("checkpoint: cannot write files in the folder '/no/such/dir' of path " ..
                 "'/no/such/dir/m.st' (No such file or directory)", model.fit, model, {x, y},
                 {loss = "cross_entropy", callbacks = {cbs.checkpoint{path = "/no/such/dir/m.st",
                                                                      monitor = "loss"}}})
        H.raises("checkpoint: cannot write files in the folder '/etc/hostname' of path " ..
                 "'/etc/hostname/m.st' (Not a directory)", model.fit, model, {x, y},
                 {loss = "cross_entropy", callbacks = {cbs.checkpoint{path = "/etc/hostname/m.st",
                                                                      monitor = "loss"}}})
        H.raises("checkpoint: monitor 'val_loss' is not measured by this fit (give fit a " ..
                 "validation set or validation_split); it measures: loss", model.fit, model,
                 {x, y}, {loss = "cross_entropy",
                          callbacks = {cbs.checkpoint{path = "/tmp/m.st", save_best_only = true}}})
        H.raises("bad argument #1 to 'checkpoint' (option 'path' is required (a file name; it " ..
                 "may hold {epoch}))", cbs.checkpoint, {monitor = "loss"})
    end)
end)

describe("nn.callbacks.lr_scheduler and reduce_lr_on_plateau", function()
    local x, y = blobs(30)

    it("steps an optim scheduler given by name after every epoch", function()
        local hist = mlp():fit({x, y}, {epochs = 5, loss = "cross_entropy", optimizer = "sgd",
            lr = 0.1, verbose = false,
            callbacks = {cbs.lr_scheduler{"StepLR", step_size = 2, gamma = 0.5}}})
        assert.same({0.1, 0.1, 0.05, 0.05, 0.025}, hist.lr)
    end)

    it("wraps a scheduler object or a constructor, and a schedule function", function()
        local model = mlp()
        local opt = optim.SGD(model, {lr = 0.2})
        local hist = model:fit({x, y}, {epochs = 3, loss = "cross_entropy", optimizer = opt,
            verbose = false, callbacks = {cbs.lr_scheduler(optim.ExponentialLR(opt, {gamma = 0.5}))}})
        assert.same({0.2, 0.1, 0.05}, hist.lr)
        hist = mlp():fit({x, y}, {epochs = 3, loss = "cross_entropy", lr = 0.3, verbose = false,
            callbacks = {cbs.lr_scheduler{optim.ExponentialLR, gamma = 0.5}}})
        assert.same({0.3, 0.15, 0.075}, hist.lr)
        hist = mlp():fit({x, y}, {epochs = 3, loss = "cross_entropy", verbose = false,
            callbacks = {cbs.lr_scheduler{schedule = function(epoch) return 0.5 / epoch end}}})
        assert.same({0.5, 0.25, 0.5 / 3}, hist.lr)
    end)

    it("refuses a scheduler of another optimizer", function()
        local other = optim.SGD(mlp(), {lr = 0.1})
        local model = mlp()
        H.raises("lr_scheduler: the scheduler drives another optimizer than fit's; give that " ..
                 "optimizer to fit (optimizer = opt)", model.fit, model, {x, y},
                 {loss = "cross_entropy",
                  callbacks = {cbs.lr_scheduler(optim.StepLR(other, {step_size = 1}))}})
        H.raises("bad argument #1 to 'lr_scheduler' (optim has no scheduler 'StepLRR')",
                 cbs.lr_scheduler, {"StepLRR"})
    end)

    it("reduce_lr_on_plateau multiplies the lr by factor after patience bad epochs", function()
        local cb = cbs.reduce_lr_on_plateau{patience = 1, factor = 0.5, verbose = false}
        cb.optimizer = optim.SGD(mlp(), {lr = 1})
        feed(cb, "val_loss", {1, 1, 1, 1, 1, 1})
        assert.equals(0.25, cb.optimizer.lr)
        H.raises("bad argument #1 to 'reduce_lr_on_plateau' (expected option 'factor' in (0, 1), " ..
                 "got 2)", cbs.reduce_lr_on_plateau, {factor = 2})
    end)
end)

describe("nn.callbacks.csv_logger", function()
    it("writes a header and one row per epoch, and appends", function()
        local x, y = blobs(30)
        local path = os.tmpname()
        local hist = mlp():fit({x, y}, {epochs = 3, loss = "cross_entropy", metrics = {"accuracy"},
            verbose = false, callbacks = {cbs.csv_logger{path = path}}})
        mlp():fit({x, y}, {epochs = 1, loss = "cross_entropy", metrics = {"accuracy"},
            verbose = false, callbacks = {cbs.csv_logger{path = path, append = true}}})
        local lines = {}
        for line in io.lines(path) do lines[#lines + 1] = line end
        os.remove(path)
        assert.equals(5, #lines)
        assert.equals("epoch,accuracy,loss,lr,seconds", lines[1])
        for e = 1, 3 do
            local epoch, acc, loss, lr = lines[e + 1]:match("^(%d+),([^,]+),([^,]+),([^,]+),")
            assert.equals(tostring(e), epoch)
            assert.near(hist.accuracy[e], tonumber(acc), 1e-8)
            assert.near(hist.loss[e], tonumber(loss), 1e-8)
            assert.equals(0.001, tonumber(lr))
        end
        assert.truthy(lines[5]:match("^1,"))
    end)

    it("refuses a file it cannot write, before training", function()
        local x, y = blobs(10)
        local model = mlp()
        H.raises("csv_logger: cannot write '/no/such/dir/log.csv' (/no/such/dir/log.csv: No " ..
                 "such file or directory)", model.fit, model, {x, y},
                 {loss = "cross_entropy", callbacks = {cbs.csv_logger{path = "/no/such/dir/log.csv"}}})
    end)
end)

describe("nn.callbacks options", function()
    it("name unknown options and wrong types", function()
        H.raises("bad argument #1 to 'early_stopping' (unknown option 'patient', did you mean " ..
                 "'patience'?; known: min_delta, mode, monitor, patience, restore_best, verbose)",
                 cbs.early_stopping, {patient = 3})
        H.raises("bad argument #1 to 'early_stopping' (expected option 'patience' to be a " ..
                 "number, got string)", cbs.early_stopping, {patience = "3"})
        H.raises("bad argument #1 to 'early_stopping' (expected option 'mode' to be \"auto\", " ..
                 "\"min\" or \"max\", got 'lowest')", cbs.early_stopping, {mode = "lowest"})
        H.raises("bad argument #1 to 'csv_logger' (option 'path' is required (a file name))",
                 cbs.csv_logger, {})
    end)
end)

describe("a callback", function()
    it("prints as the call that makes it, with its settings", function()
        assert.equal('nn.callbacks.early_stopping{min_delta = 0, mode = "auto", monitor = "val_loss", '
                     .. 'patience = 5, restore_best = true, verbose = true}',
                     tostring(cbs.early_stopping{patience = 5, restore_best = true}))
        assert.equal('nn.callbacks.csv_logger{append = false, path = "log.csv", separator = ","}',
                     tostring(cbs.csv_logger{path = "log.csv"}))
    end)
end)
