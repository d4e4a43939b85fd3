-- fit_spec.lua -- Module:fit, evaluate, predict: the same weights as the
-- hand-written loop, the history, binary classification as Keras does it,
-- class weights, validation, modes, NaN, Ctrl-C and bad input.
local H = require "tests.lua.helper"
local dl = H.dl
local nn, optim = dl.nn, dl.optim
local F = require "dl.functional"

-- Two Gaussian blobs in 4-D: class 1 and class 2, n rows.
local function blobs(n, seed)
    dl.manual_seed(seed or 7)
    local x = dl.randn(n, 4)
    local y = (x:select(2, 1) + x:select(2, 2) * 0.5):gt(0) + 1
    return x, y
end

local function mlp(outputs, last)
    local layers = {nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, outputs)}
    if last then layers[#layers + 1] = last end
    return nn.Sequential(layers)
end

local function values(model)
    local out = {}
    for _, p in ipairs(model:parameters()) do
        for _, v in ipairs(p:reshape(-1):totable()) do out[#out + 1] = v end
    end
    return out
end

local function same_values(a, b)
    assert(#a == #b, "different parameter counts")
    for i = 1, #a do
        assert(a[i] == b[i], ("parameter value %d: %.9g ~= %.9g"):format(i, a[i], b[i]))
    end
end

-- Runs f with io.stdout replaced; returns what was written.
local function captured(f)
    local real, chunks = io.stdout, {}
    io.stdout = {write = function(self, ...)
        for _, s in ipairs{...} do chunks[#chunks + 1] = s end
        return self
    end, flush = function() end}
    local ok, err = pcall(f)
    io.stdout = real
    assert(ok, err)
    return table.concat(chunks)
end

describe("Module:fit", function()
    it("gives the same weights as the hand-written loop with the same seed", function()
        local x, y = blobs(100)
        local ds = dl.data.dataset(x, y)
        dl.manual_seed(3)
        local a = mlp(2)
        dl.manual_seed(3)
        local b = mlp(2)
        dl.manual_seed(11)
        a:fit(ds, {epochs = 3, batch_size = 16, loss = "cross_entropy",
                   optimizer = {"sgd", momentum = 0.9}, lr = 0.05, verbose = false})
        dl.manual_seed(11)
        local opt = optim.SGD(b, {lr = 0.05, momentum = 0.9})
        for _ = 1, 3 do
            for bx, by in ds:batches(16, {shuffle = true}) do
                local loss = nn.cross_entropy(b(bx), by)
                opt:zero_grad()
                loss:backward()
                opt:step()
            end
        end
        same_values(values(a), values(b))
    end)

    it("returns a history with one value per epoch, a compact text and no plot-only noise", function()
        local x, y = blobs(120)
        local hist = mlp(2):fit({x, y}, {epochs = 4, loss = "cross_entropy", lr = 0.02,
                                         metrics = {"accuracy"}, validation_split = 0.25,
                                         verbose = false})
        for _, name in ipairs{"loss", "val_loss", "accuracy", "val_accuracy", "lr", "seconds"} do
            assert.equals(4, #hist[name], name)
        end
        assert.equals(4, hist:epochs())
        assert.is_true(hist.loss[4] < hist.loss[1])
        for i = 1, 4 do
            assert.equals(0.02, hist.lr[i])
            assert.is_true(hist.accuracy[i] >= 0 and hist.accuracy[i] <= 1)
        end
        local text = tostring(hist)
        assert.truthy(text:match("^History: 4 epochs, [%d.]+ s\n  loss "))
        assert.truthy(text:find("\n  val_accuracy +[%d.]+   best [%d.]+ %(epoch %d%)"))
        assert.truthy(text:find("\n  lr +0.02$"))
    end)

    it("draws with dl.plot: the loss and metric series, not lr or seconds", function()
        local x, y = blobs(40)
        local hist = mlp(2):fit({x, y}, {epochs = 2, loss = "cross_entropy", verbose = false,
                                         metrics = {"accuracy"}, validation = {x, y}})
        local figure = require("dl.plot_kinds").history(hist)
        assert.equals("history:accuracy,loss,val_accuracy,val_loss", figure.key)
    end)

    it("measures validation_split on the last rows, before shuffling", function()
        local x, y = blobs(100)
        local model = mlp(2)
        local hist = model:fit({x, y}, {epochs = 1, loss = "cross_entropy", lr = 0.05,
                                        validation_split = 0.2, verbose = false})
        local last = model:evaluate({x:narrow(1, 81, 20), y:narrow(1, 81, 20)},
                                    {loss = "cross_entropy"})
        assert.near(last.loss, hist.val_loss[1], 1e-6)
        local first = model:evaluate({x:narrow(1, 1, 20), y:narrow(1, 1, 20)},
                                     {loss = "cross_entropy"})
        assert.is_not.near(first.loss, hist.val_loss[1], 1e-6)
    end)

    it("trains a single sigmoid output against 0/1 targets of shape N or N x 1 alike", function()
        local x, y = blobs(64)
        local targets = y - 1
        local hists = {}
        for i, t in ipairs{targets, targets:reshape(64, 1)} do
            dl.manual_seed(5)
            local model = mlp(1, nn.Sigmoid())
            dl.manual_seed(6)
            hists[i] = model:fit({x, t}, {epochs = 2, loss = "bce", metrics = {"accuracy"},
                                          batch_size = 8, verbose = false})
        end
        assert.same(hists[1].loss, hists[2].loss)
        assert.same(hists[1].accuracy, hists[2].accuracy)
    end)

    it("thresholds accuracy at 0.5 for probabilities and at 0 for logits", function()
        local x, y = blobs(80)
        local targets = y - 1
        for _, case in ipairs{{"bce", nn.Sigmoid(), 0.5}, {"bce_with_logits", nil, 0}} do
            local model = mlp(1, case[2])
            model:fit({x, targets}, {epochs = 2, loss = case[1], lr = 0.01, verbose = false})
            local out = model:predict(x):reshape(80)
            local expected = out:gt(case[3]):eq(targets):sum():item() / 80
            local got = model:evaluate({x, targets}, {metrics = {"accuracy"}})
            assert.near(expected, got.accuracy, 1e-12)
            assert.is_number(got.loss)
        end
    end)

    it("trains two named classes (labels 1, 2) under bce as 0, 1", function()
        local x, y = blobs(64)
        local ds = dl.data.dataset(x, y, {classes = {"no", "yes"}})
        dl.manual_seed(2)
        local a = mlp(1, nn.Sigmoid())
        dl.manual_seed(2)
        local b = mlp(1, nn.Sigmoid())
        dl.manual_seed(9)
        local ha = a:fit(ds, {epochs = 2, loss = "bce", metrics = {"accuracy"}, verbose = false})
        dl.manual_seed(9)
        local hb = b:fit({x, y - 1}, {epochs = 2, loss = "bce", metrics = {"accuracy"},
                                      verbose = false})
        assert.same(ha.loss, hb.loss)
        same_values(values(a), values(b))
    end)

    it("weights each sample's loss by its class, averaged over the batch as Keras does", function()
        local x, y = blobs(40)
        dl.manual_seed(4)
        local a = mlp(2)
        dl.manual_seed(4)
        local b = mlp(2)
        a:fit({x, y}, {epochs = 1, batch_size = 40, shuffle = false, loss = "cross_entropy",
                       optimizer = "sgd", lr = 1, class_weight = {[1] = 0.5, [2] = 3},
                       verbose = false})
        local weights = dl.tensor{0.5, 3}:index_select(1, y)
        local loss = (F.cross_entropy(b(x), y, {reduction = "none"}) * weights):mean()
        loss:backward()
        dl.no_grad(function()
            for _, p in ipairs(b:parameters()) do p:copy_(p - p.grad) end
        end)
        local va, vb = values(a), values(b)
        for i = 1, #va do assert.near(vb[i], va[i], 1e-6) end
    end)

    it("weights 0/1 targets under bce with class_weight {[0] =, [1] =}", function()
        local x, y = blobs(30)
        local t = (y - 1):reshape(30, 1)
        dl.manual_seed(4)
        local a = mlp(1, nn.Sigmoid())
        dl.manual_seed(4)
        local b = mlp(1, nn.Sigmoid())
        a:fit({x, t}, {epochs = 1, batch_size = 30, shuffle = false, loss = "bce",
                       optimizer = "sgd", lr = 1, class_weight = {[0] = 2, [1] = 0.25},
                       verbose = false})
        local w = t * (0.25 - 2) + 2
        local loss = (F.bce(b(x), t, {reduction = "none"}) * w):mean()
        loss:backward()
        dl.no_grad(function()
            for _, p in ipairs(b:parameters()) do p:copy_(p - p.grad) end
        end)
        local va, vb = values(a), values(b)
        for i = 1, #va do assert.near(vb[i], va[i], 1e-6) end
    end)

    it("takes a loss function and an optimizer object, and keeps the optimizer's state", function()
        local x, y = blobs(50)
        local model = mlp(2)
        local opt = optim.Adam(model, {lr = 0.01})
        local steps, step = 0, opt.step
        opt.step = function(self)
            steps = steps + 1
            return step(self)
        end
        local calls = 0
        local function loss(out, target)
            calls = calls + 1
            return nn.cross_entropy(out, target)
        end
        model:fit({x, y}, {epochs = 2, batch_size = 25, loss = loss, optimizer = opt,
                           verbose = false})
        assert.equals(4, calls)
        assert.equals(4, steps)
    end)

    it("takes a batch size larger than the set as one batch, as Keras does", function()
        local x, y = blobs(10)
        local batches = 0
        local hist = mlp(2):fit({x, y}, {epochs = 2, batch_size = 64, loss = "cross_entropy",
                                         verbose = false,
                                         callbacks = {{on_batch_end = function(_, _, logs)
                                             batches = batches + 1
                                             assert.equals(10, logs.size)
                                         end}}})
        assert.equals(2, batches)
        assert.equals(2, #hist.loss)
    end)

    it("restores the model's mode, training or eval", function()
        local x, y = blobs(20)
        local model = nn.Sequential{nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 2)}
        model:eval()
        model:fit({x, y}, {loss = "cross_entropy", verbose = false})
        assert.is_false(model.training)
        assert.is_false(model[2].training)
        model:train()
        model:fit({x, y}, {loss = "cross_entropy", verbose = false, validation = {x, y}})
        model:evaluate({x, y})
        model:predict(x)
        assert.is_true(model.training)
        assert.is_true(model[2].training)
    end)

    it("calls the hooks of a user callback in order, and stops when it sets stop_training", function()
        local x, y = blobs(24)
        local calls = {}
        local cb = {}
        for _, hook in ipairs{"on_train_begin", "on_epoch_begin", "on_batch_end",
                              "on_epoch_end", "on_train_end"} do
            cb[hook] = function(self, a)
                calls[#calls + 1] = hook:sub(4) .. (type(a) == "number" and a or "")
                if hook == "on_batch_end" and a == 2 and #calls > 6 then
                    self.model.stop_training = true
                end
            end
        end
        local model = mlp(2)
        local hist = model:fit({x, y}, {epochs = 5, batch_size = 8, loss = "cross_entropy",
                                        callbacks = {cb}, verbose = false})
        assert.equals("train_begin epoch_begin1 batch_end1 batch_end2 batch_end3 epoch_end1 " ..
                      "epoch_begin2 batch_end1 batch_end2 epoch_end2 train_end",
                      table.concat(calls, " "))
        assert.equals(2, #hist.loss)
        assert.equals(model, cb.model)
        assert.is_nil(rawget(model, "stop_training"))
    end)

    it("stops on a NaN loss before that batch's update, naming epoch and batch", function()
        local x, y = blobs(32)
        local model = mlp(2)
        local calls, before = 0, nil
        local function loss(out, target)
            calls = calls + 1
            if calls == 7 then return nn.cross_entropy(out, target) * (0 / 0) end
            return nn.cross_entropy(out, target)
        end
        local hist
        local text = captured(function()
            hist = model:fit({x, y}, {epochs = 3, batch_size = 8, loss = loss, verbose = false,
                                      callbacks = {{on_batch_end = function(_, b)
                                          if b == 2 then before = values(model) end
                                      end}}})
        end)
        assert.equals("fit: the loss is nan at epoch 2, batch 3; training stopped before that " ..
                      "batch's update (stop_on_nan = false trains on)\n", text)
        assert.equals(1, #hist.loss)
        same_values(before, values(model))
        calls = 0
        hist = model:fit({x, y}, {epochs = 3, batch_size = 8, loss = loss, verbose = false,
                                  stop_on_nan = false})
        assert.equals(3, #hist.loss)
        assert.is_true(hist.loss[2] ~= hist.loss[2])
    end)

    it("stops cleanly on Ctrl-C and returns the history so far", function()
        -- Under lua5.4 (busted) SIGINT raises "interrupted!" at the next
        -- instruction, as in any Lua program; fit catches it and returns.
        local x, y = blobs(40)
        local model = mlp(2)
        local hist
        local text = captured(function()
            hist = model:fit({x, y}, {epochs = 4, batch_size = 8, loss = "cross_entropy",
                                      verbose = false, callbacks = {{on_batch_end = function(_, b, logs)
                if logs.epoch == 3 and b == 2 then
                    local p = io.popen("kill -INT $PPID")
                    p:close()
                    for _ = 1, 100 do local _ = b + 1 end   -- the hook fires here
                end
            end}}})
        end)
        assert.truthy(text:match("^fit: stopped at epoch 3, batch 2 %(Ctrl%-C%)"), text)
        assert.equals(2, #hist.loss)
        assert.is_false(dl.interrupt_requested())
        local out = model:predict(x)
        assert.equals(40, out:size(1))
    end)

    it("defers a first Ctrl-C with dl.deferring_interrupts", function()
        assert.equals(6, dl.deferring_interrupts(function(a, b) return a * b end, 2, 3))
        assert.is_false(dl.interrupt_requested())
        local ok, err = pcall(dl.deferring_interrupts, function() error("inner", 0) end)
        assert.is_false(ok)
        assert.equals("inner", err)
    end)
end)

describe("Module:evaluate and Module:predict", function()
    it("predict runs in batches, in eval mode, without a graph", function()
        local x = dl.randn(23, 4)
        local model = nn.Sequential{nn.Linear(4, 6), nn.Dropout(0.5), nn.Linear(6, 3)}
        local out = model:predict(x, {batch_size = 5})
        assert.is_false(out:requires_grad())
        model:eval()
        local whole = dl.no_grad(function() return model(x) end)
        model:train()
        H.close(out, whole:totable(), 1e-6)
        H.close(model:predict(dl.data.dataset(x)), whole:totable(), 1e-6)
        H.close(model:predict({x}), whole:totable(), 1e-6)
    end)

    it("evaluate uses the loss and metrics of the last fit, over the whole set", function()
        local x, y = blobs(50)
        local model = mlp(2)
        model:fit({x, y}, {loss = "cross_entropy", metrics = {"accuracy"}, verbose = false})
        local r = model:evaluate({x, y}, {batch_size = 7})
        local out = dl.no_grad(function() return model(x) end)
        assert.near(nn.cross_entropy(out, y):item(), r.loss, 1e-5)
        assert.near(out:argmax(2):eq(y):sum():item() / 50, r.accuracy, 1e-12)
    end)

    it("hands other metrics to dl.metrics at the end of the pass", function()
        local x, y = blobs(60)
        local model = mlp(2)
        local ok, metrics = pcall(require, "dl.metrics")
        if not ok then
            assert.equals("bad argument #2 to 'fit' (metric 'f1' needs dl.metrics, which this " ..
                          "build does not have (\"accuracy\" is always there))",
                          H.err(model.fit, model, {x, y}, {loss = "cross_entropy",
                                                           metrics = {"f1"}}))
            return
        end
        local hist = model:fit({x, y}, {loss = "cross_entropy", metrics = {"accuracy", "f1"},
                                        validation = {x, y}, verbose = false})
        local pred = model:predict(x):argmax(2)
        assert.near(metrics.f1(pred, y), hist.val_f1[1], 1e-9)
        assert.near(metrics.accuracy(pred, y), hist.val_accuracy[1], 1e-9)
    end)
end)

describe("Module:fit on bad input", function()
    local x, y = blobs(20)

    -- The error f raises, and the model's weights left as they were.
    local function refuses(expected, model, data, opts)
        local before = values(model)
        H.raises(expected, model.fit, model, data, opts)
        same_values(before, values(model))
    end

    it("names an unknown option, the closest one and all known", function()
        refuses("bad argument #2 to 'fit' (unknown option 'epoch', did you mean 'epochs'?; " ..
                "known: augment, batch_size, callbacks, class_weight, epochs, loss, lr, metrics, " ..
                "optimizer, plot, shuffle, stop_on_nan, validation, validation_split, verbose)",
                mlp(2), {x, y}, {epoch = 3, loss = "cross_entropy"})
    end)

    it("refuses wrong types and values", function()
        local m = mlp(2)
        refuses("bad argument #2 to 'fit' (expected option 'epochs' to be a whole number >= 1, " ..
                "got 0)", m, {x, y}, {epochs = 0, loss = "cross_entropy"})
        refuses("bad argument #2 to 'fit' (expected option 'batch_size' to be a whole number " ..
                ">= 1, got 2.5)", m, {x, y}, {batch_size = 2.5, loss = "cross_entropy"})
        refuses("bad argument #2 to 'fit' (expected option 'shuffle' to be a boolean, got " ..
                "string)", m, {x, y}, {shuffle = "yes", loss = "cross_entropy"})
        refuses("bad argument #2 to 'fit' (expected option 'loss' to be one of \"mse\", \"l1\", " ..
                "\"bce\", \"bce_with_logits\", \"cross_entropy\", \"nll\" or a function, got " ..
                "'hinge')", m, {x, y}, {loss = "hinge"})
        refuses("bad argument #2 to 'fit' (option 'loss' is required: one of \"mse\", \"l1\", " ..
                "\"bce\", \"bce_with_logits\", \"cross_entropy\", \"nll\", or a " ..
                "function(output, target))", m, {x, y}, {})
        refuses("bad argument #2 to 'fit' (expected option 'optimizer' to be one of \"adagrad\", " ..
                "\"adam\", \"adamw\", \"rmsprop\", \"sgd\", {name, options...} or an optimizer, " ..
                "got 'lbfgs')", m, {x, y}, {loss = "cross_entropy", optimizer = "lbfgs"})
        refuses("bad argument #2 to 'fit' (expected option 'validation_split' to be a fraction " ..
                "in (0, 1), got 1)", m, {x, y}, {loss = "cross_entropy", validation_split = 1})
        -- the optimiser's own check (its list of known options is optim's)
        assert.truthy(H.err(m.fit, m, {x, y}, {loss = "cross_entropy",
                                               optimizer = {"sgd", momentun = 0.9}})
                      :find("^bad argument #2 to 'SGD' %(unknown option 'momentun'"))
    end)

    it("refuses empty sets and data that is not a set", function()
        refuses("bad argument #1 to 'fit' (the training set is empty (0 rows))", mlp(2),
                {dl.zeros(0, 4), dl.zeros(0)}, {loss = "cross_entropy"})
        refuses("bad argument #1 to 'fit' (expected the training set as a dataset or {x, y} " ..
                "tensors, got number)", mlp(2), 5, {loss = "cross_entropy"})
        refuses("bad argument #1 to 'fit' (the training set has 20 rows of x but 3 of y)",
                mlp(2), {x, dl.ones(3)}, {loss = "cross_entropy"})
        refuses("bad argument #1 to 'fit' (the training set has no targets (y); fit and " ..
                "evaluate need them)", mlp(2), dl.data.dataset(x), {loss = "cross_entropy"})
        refuses("bad argument #2 to 'fit' (the validation set is empty (0 rows))", mlp(2),
                {x, y}, {loss = "cross_entropy", validation = {dl.zeros(0, 4), dl.zeros(0)}})
    end)

    it("names the loss, the output shape and the target shape when they do not fit", function()
        refuses("bad argument #2 to 'fit' (loss 'cross_entropy' does not fit the model's " ..
                "output (20, 1) and the targets (20): it needs one output per class (C >= 2); " ..
                "for two classes with one output use loss = \"bce\" after a sigmoid, or " ..
                "\"bce_with_logits\" without one)", mlp(1, nn.Sigmoid()), {x, y},
                {loss = "cross_entropy"})
        refuses("bad argument #2 to 'fit' (loss 'bce' does not fit the model's output (20, 2) " ..
                "and the targets (20): it compares each output with a 0/1 target; for C " ..
                "classes with labels 1..C use loss = \"cross_entropy\")", mlp(2), {x, y - 1},
                {loss = "bce"})
        refuses("bad argument #2 to 'fit' (loss 'mse' does not fit the model's output (20, 2) " ..
                "and the targets (20, 3): it compares outputs and targets of the same shape)",
                mlp(2), {x, dl.zeros(20, 3)}, {loss = "mse"})
        refuses("bad argument #1 to 'fit' (the training set has targets 1..3, but loss " ..
                "'cross_entropy' needs class labels 1..2 (whole numbers; the model has 2 " ..
                "outputs))", mlp(2), {x, dl.tensor{1, 2, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                                   1, 1, 1, 1, 1}}, {loss = "cross_entropy"})
        refuses("bad argument #1 to 'fit' (the training set has targets 0..5, but loss 'bce' " ..
                "needs targets in 0..1)", mlp(1, nn.Sigmoid()), {x, dl.tensor{0, 5, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0}},
                {loss = "bce"})
        refuses("bad argument #2 to 'fit' (metric 'accuracy' needs a classification loss, got " ..
                "'mse' (for regression use \"mae\" or \"r2\"))", mlp(1), {x, y},
                {loss = "mse", metrics = {"accuracy"}})
    end)

    it("checks the validation set against the model and the loss before training", function()
        refuses("bad argument #2 to 'fit' (the model cannot take the rows of the validation set, " ..
                "of shape (5, 3): bad argument #1 to 'linear' (expected shape (*, 4), got (2, 3)))",
                mlp(2), {x, y}, {loss = "cross_entropy", validation = {dl.zeros(5, 3), dl.ones(5)}})
        refuses("bad argument #2 to 'fit' (loss 'cross_entropy' does not fit the model's output " ..
                "(5, 2) and the targets (5, 2): its targets are class labels 1..C, one per " ..
                "sample (N))", mlp(2), {x, y},
                {loss = "cross_entropy", validation = {dl.zeros(5, 4), dl.ones(5, 2)}})
        refuses("bad argument #2 to 'fit' (the validation set has targets 0..1, but loss " ..
                "'cross_entropy' needs class labels 1..2 (whole numbers; the model has 2 " ..
                "outputs))", mlp(2), {x, y}, {loss = "cross_entropy", validation = {x, y - 1}})
    end)

    it("refuses a bad callback and a class_weight that does not fit", function()
        refuses("bad argument #2 to 'fit' (callback 1 must be a table with at least one of " ..
                "on_train_begin, on_epoch_begin, on_batch_end, on_epoch_end, on_train_end, got " ..
                "function)", mlp(2), {x, y}, {loss = "cross_entropy", callbacks = {print}})
        refuses("bad argument #2 to 'fit' (class_weight has label 3; the labels are 1..2)",
                mlp(2), {x, y}, {loss = "cross_entropy", class_weight = {[3] = 1}})
        refuses("bad argument #2 to 'fit' (option 'class_weight' needs a classification loss " ..
                "by name, got 'mse')", mlp(1), {x, y}, {loss = "mse", class_weight = {1}})
    end)

    it("evaluate and predict check their arguments", function()
        local m = mlp(2)
        H.raises("bad argument #2 to 'evaluate' (nothing to measure: give {loss =} or " ..
                 "{metrics =} (or fit the model first))", m.evaluate, m, {x, y})
        H.raises("bad argument #2 to 'predict' (unknown option 'batch'; known: batch_size)",
                 m.predict, m, x, {batch = 3})
        H.raises("bad argument #1 to 'predict' (expected rows to predict, got 0 rows)",
                 m.predict, m, dl.zeros(0, 4))
    end)
end)
