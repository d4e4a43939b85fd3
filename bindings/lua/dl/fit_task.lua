-- fit_task.lua -- how Module:fit, evaluate and predict meet the model's
-- output with the targets: the run's task (loss, target reshaping, which
-- metrics), checked on a probe of the model before any weight changes; the
-- loss of a batch (with class weights); the tallies of a pass (loss,
-- accuracy from each batch's outputs, predictions kept for dl.metrics);
-- and a measuring pass in eval mode without a graph.
local dl = require "dl"
local check = require "dl.fit_check"

local argerror = check.argerror
local M = {}

-- The first rows of ds (argument n of fn, called `what`) run through the
-- model without a graph in eval mode: the output fit checks the loss and
-- targets against. A model that cannot take the rows is an error saying so.
function M.probe(model, ds, fn, n, what)
    local rows = math.min(#ds, 2)
    local x = ds:_range(1, rows)
    local was_training = model.training
    model:eval()
    local ok, out = pcall(dl.no_grad, function() return model(x) end)
    model:train(was_training)
    if not ok then
        local shape = x:shape()
        shape[1] = #ds
        argerror(fn, n, "the model cannot take the rows of %s, of shape (%s): %s", what,
                 table.concat(shape, ", "), tostring(out):gsub("^[^:]*:%d+: ", ""))
    end
    if not dl.is_tensor(out) then
        argerror(fn, n, "expected the model to return a tensor, got %s", type(out))
    end
    return out, ds.y:narrow(1, 1, rows)
end

-- How batch targets are made to fit the output: labels of two named
-- classes shifted to 0/1 for bce, and N targets viewed as N x 1.
function M.target_adapter(shift, reshape)
    if shift == 0 and reshape == nil then return nil end
    return function(y)
        if shift ~= 0 then y = y - shift end
        if reshape then
            local shape = {#y}
            for d = 2, #reshape do shape[d] = reshape[d] end
            y = y:reshape(shape)
        end
        return y
    end
end

-- How accuracy reads outputs: "multiclass" (argmax) or "binary" (threshold).
function M.accuracy_kind(spec, out, y, wants_accuracy)
    if spec.kind == "multiclass" or spec.kind == "binary" then return spec.kind end
    if spec.kind == "regression" then return nil end
    if out:dim() == 2 and out:size(2) >= 2 and y:dim() == 1 then return "multiclass" end
    if out:numel() == #out and y:numel() == #y then return "binary" end
    if wants_accuracy then
        argerror("fit", 2, "metric 'accuracy' cannot read the model's output %s against the " ..
                 "targets %s (expected N x C scores with labels 1..C, or one 0/1 output per " ..
                 "sample)", check.shape_text(out), check.shape_text(y))
    end
end

-- The loss, targets and metrics of a run, checked against a probe of the
-- model on `ds`: {loss = spec|nil, adapt = fn|nil, metrics = list,
-- accuracy_kind = kind|nil, extra = list of dl.metrics names, threshold =}.
-- Without a loss (evaluate with metrics only) the output is read as a
-- classifier's: class scores, or one probability per sample.
function M.task(model, ds, loss, metrics, fn, what)
    local spec = loss ~= nil and check.loss(fn, 2, loss) or {name = "output", kind = "custom"}
    local out, y = M.probe(model, ds, fn, 1, what)
    local reshape = spec.kind ~= "custom" and check.targets(fn, 2, spec, out, y, #ds) or nil
    local classes = spec.kind == "multiclass" and out:size(2) or (ds.classes and #ds.classes)
    local shift = check.labels(fn, 1, spec, ds.y, classes, what)
    local names = check.metrics(fn, 2, metrics, spec)
    local t = {loss = loss ~= nil and spec or nil, loss_name = spec.name,
               adapt = M.target_adapter(shift, reshape), metrics = names, classes = classes,
               threshold = spec.threshold or 0.5, extra = {}}
    local wants_accuracy = false
    for _, name in ipairs(names) do
        if name == "accuracy" then wants_accuracy = true else t.extra[#t.extra + 1] = name end
    end
    local adapted = t.adapt and t.adapt(y) or y
    t.accuracy_kind = M.accuracy_kind(spec, out, adapted, wants_accuracy or #t.extra > 0)
    t.wants_accuracy = wants_accuracy
    return t
end

-- Another set (validation) checked against the task of the training set:
-- the model takes its rows, and its targets fit the loss.
function M.check_other_set(model, t, ds, what)
    local out, y = M.probe(model, ds, "fit", 2, what)
    if t.loss.kind ~= "custom" then check.targets("fit", 2, t.loss, out, y, #ds) end
    if t.loss.kind == "multiclass" or t.loss.kind == "binary" then
        check.labels("fit", 2, t.loss, ds.y, t.classes, what)
    end
end

-- ---- one batch -----------------------------------------------------------------------

-- The batch's loss: the loss by name (weighted per sample by class_weight,
-- averaged over the batch as Keras does) or the user's function.
function M.batch_loss(t, out, y)
    if not t.weights then return t.loss.fn(out, y) end
    local per_sample = t.loss.fn(out, y, {reduction = "none"})
    local w
    if t.loss.kind == "binary" then
        local w0, w1 = t.weights[1], t.weights[2]
        w = y * (w1 - w0) + w0
    else
        w = t.weights:index_select(1, y)
    end
    return (per_sample * w):mean()
end

-- Predicted labels (and scores when `scores`) of a batch's output.
function M.read_output(t, out, scores)
    local kind = t.accuracy_kind
    if kind == "multiclass" then
        local s
        if scores then
            s = t.loss_name == "cross_entropy" and out:softmax(2)
                or (t.loss_name == "nll" or t.loss_name == "nll_loss") and out:exp() or out
        end
        return out:argmax(2), s
    end
    local s
    if scores then s = t.loss_name == "bce_with_logits" and out:sigmoid() or out end
    return out:gt(t.threshold), s
end

-- A running tally of one pass: loss sum, correct count, and the
-- predictions dl.metrics needs at the end.
function M.new_tally(t)
    return {loss = 0, seen = 0, correct = 0, count = 0, preds = {}, scores = {}, targets = {},
            keep = #t.extra > 0}
end

function M.tally_batch(t, tally, out, y, loss_value)
    local n = #y
    tally.loss, tally.seen = tally.loss + loss_value * n, tally.seen + n
    if not (t.wants_accuracy or tally.keep) then return end
    if not t.accuracy_kind then
        if tally.keep then   -- regression metrics read the outputs themselves
            tally.preds[#tally.preds + 1] = out:detach():reshape(y:shape())
            tally.targets[#tally.targets + 1] = y
        end
        return
    end
    local o = out:detach()
    local pred, scores = M.read_output(t, o, tally.keep)
    local target = y
    if t.accuracy_kind == "binary" and pred:numel() == n then
        pred, target = pred:reshape(n), y:reshape(n)
        if scores then scores = scores:reshape(n) end
    end
    if t.wants_accuracy then
        tally.correct = tally.correct + pred:eq(target):sum():item()
        tally.count = tally.count + target:numel()
    end
    if tally.keep then
        local i = #tally.preds + 1
        tally.preds[i], tally.scores[i], tally.targets[i] = pred, scores, target
    end
end

-- The figures of a tally: loss, accuracy, and (unless `running`) the
-- dl.metrics ones.
function M.tally_figures(t, tally, prefix, with_loss, running)
    local logs = {}
    if with_loss then logs[prefix .. "loss"] = tally.loss / math.max(tally.seen, 1) end
    if t.wants_accuracy then
        logs[prefix .. "accuracy"] = tally.correct / math.max(tally.count, 1)
    end
    if tally.keep and #tally.preds > 0 and not running then
        local metrics = require "dl.metrics"
        local pred, target = dl.cat(tally.preds, 1), dl.cat(tally.targets, 1)
        local scores = #tally.scores > 0 and dl.cat(tally.scores, 1) or nil
        for _, name in ipairs(t.extra) do
            local input = check.SCORE_METRICS[name] and scores or pred
            local value = metrics[name](input, target)
            if type(value) ~= "number" then
                argerror(name, 1, "dl.metrics.%s returned %s, not a number", name, type(value))
            end
            logs[prefix .. name] = value
        end
    end
    return logs
end

-- ---- evaluation -------------------------------------------------------------------------

-- Runs the model over ds in batches, without a graph and in eval mode, and
-- returns the figures (prefixed, e.g. "val_").
function M.measure(model, ds, t, batch_size, prefix)
    local was_training = model.training
    model:eval()
    local tally = M.new_tally(t)
    local ok, err = pcall(dl.no_grad, function()
        for x, y in ds:batches(batch_size, {shuffle = false}) do
            if t.adapt then y = t.adapt(y) end
            local out = model(x)
            local loss = t.loss and t.loss.fn(out, y):item() or 0
            M.tally_batch(t, tally, out, y, loss)
        end
    end)
    model:train(was_training)
    if not ok then error(err, 0) end
    return M.tally_figures(t, tally, prefix, t.loss ~= nil)
end

return M
