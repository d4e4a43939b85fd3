-- fit_check.lua -- what Module:fit, evaluate and predict check before they
-- start: option tables, the data, the loss against the model's output and
-- the targets, the metrics. Every mistake is one error naming the function
-- and the argument, raised before any weight changes.
local dl = require "dl"
local raise = require("dl.errors").raise
local Dataset = require "dl.dataset"
local F = require "dl.functional"

local check = {}

local function argerror(fn, n, fmt, ...)
    raise(("bad argument #%d to '%s' (%s)"):format(n, fn, fmt:format(...)))
end
check.argerror = argerror

local function shape_text(t)
    return "(" .. table.concat(t:shape(), ", ") .. ")"
end
check.shape_text = shape_text

-- The Levenshtein distance of two short words (for "did you mean").
local function distance(a, b)
    local row = {}
    for j = 0, #b do row[j] = j end
    for i = 1, #a do
        local diagonal, left = row[0], i
        row[0] = i
        for j = 1, #b do
            local cost = a:sub(i, i) == b:sub(j, j) and 0 or 1
            local value = math.min(row[j] + 1, left + 1, diagonal + cost)
            diagonal, row[j], left = row[j], value, value
        end
    end
    return row[#b]
end

--- check.options(fn, n, opts, known) -> opts (a table): refuses a non-table
--- and unknown keys, naming the closest known one and listing them all.
function check.options(fn, n, opts, known)
    if opts == nil then return {} end
    if type(opts) ~= "table" then
        argerror(fn, n, "expected an options table, got %s", type(opts))
    end
    for key in pairs(opts) do
        if known[key] == nil then
            local names, closest, best = {}, nil, 3
            for name in pairs(known) do
                names[#names + 1] = name
                local d = type(key) == "string" and distance(key, name) or math.huge
                if d < best then closest, best = name, d end
            end
            table.sort(names)
            argerror(fn, n, "unknown option '%s'%s; known: %s", tostring(key),
                     closest and (", did you mean '%s'?"):format(closest) or "",
                     table.concat(names, ", "))
        end
    end
    return opts
end

local function describe(v)
    if dl.is_tensor(v) then return "a tensor of shape " .. shape_text(v) end
    if type(v) == "number" then return tostring(v) end
    return type(v)
end

--- check.count(fn, n, name, v): v is nil or a whole number >= 1.
function check.count(fn, n, name, v)
    if v ~= nil and (math.type(v) == nil or v ~= math.floor(v) or v < 1) then
        argerror(fn, n, "expected option '%s' to be a whole number >= 1, got %s", name, describe(v))
    end
end

--- check.kind(fn, n, name, v, lua_type): v is nil or of that Lua type.
function check.kind(fn, n, name, v, lua_type)
    if v ~= nil and type(v) ~= lua_type then
        argerror(fn, n, "expected option '%s' to be a %s, got %s", name, lua_type, describe(v))
    end
end

local function callable(v)
    return type(v) == "function" or (getmetatable(v) or {}).__call ~= nil
end
check.callable = callable

-- ---- data ------------------------------------------------------------------------

--- check.dataset(fn, n, data, what, need_y) -> a Dataset: a dl.data dataset,
--- or {x, y} / {x = , y = } tensors with as many rows. An empty set, a
--- missing y (when need_y) or rows that do not pair up are errors.
function check.dataset(fn, n, data, what, need_y)
    local ds
    if Dataset.is_dataset(data) then
        ds = data
    elseif type(data) == "table" and getmetatable(data) == nil then
        local x, y = data.x or data[1], data.y or data[2]
        if not dl.is_tensor(x) or x:dim() == 0 then
            argerror(fn, n, "expected %s as a dataset or {x, y} tensors, got %s", what,
                     x == nil and "a table without x" or "x = " .. describe(x))
        end
        if y ~= nil and (not dl.is_tensor(y) or y:dim() == 0) then
            argerror(fn, n, "expected %s's y to be a tensor with one row per sample, got %s",
                     what, describe(y))
        end
        if y ~= nil and #y ~= #x then
            argerror(fn, n, "%s has %d rows of x but %d of y", what, #x, #y)
        end
        ds = Dataset.new{x = x, y = y}
    else
        argerror(fn, n, "expected %s as a dataset or {x, y} tensors, got %s", what,
                 dl.is_tensor(data) and "a tensor alone (give {x, y})" or type(data))
    end
    if #ds == 0 then argerror(fn, n, "%s is empty (0 rows)", what) end
    if need_y and ds.y == nil then
        argerror(fn, n, "%s has no targets (y); fit and evaluate need them", what)
    end
    return ds
end

-- ---- losses ----------------------------------------------------------------------

-- Losses by name: the function of nn.functional and the kind of task.
local LOSSES = {
    mse = {"mse_loss", "regression"}, mse_loss = {"mse_loss", "regression"},
    l1 = {"l1_loss", "regression"}, l1_loss = {"l1_loss", "regression"},
    bce = {"bce", "binary"}, bce_with_logits = {"bce_with_logits", "binary"},
    cross_entropy = {"cross_entropy", "multiclass"},
    nll = {"nll_loss", "multiclass"}, nll_loss = {"nll_loss", "multiclass"},
}
local LOSS_NAMES = "\"mse\", \"l1\", \"bce\", \"bce_with_logits\", \"cross_entropy\", \"nll\""

--- check.loss(fn, n, loss) -> {name =, fn =, kind =, threshold =} for a loss
--- by name or a function (kind "custom").
function check.loss(fn, n, loss)
    if loss == nil then
        argerror(fn, n, "option 'loss' is required: one of %s, or a function(output, target)",
                 LOSS_NAMES)
    end
    if callable(loss) then return {name = "loss", fn = loss, kind = "custom"} end
    local entry = type(loss) == "string" and LOSSES[loss]
    if not entry then
        argerror(fn, n, "expected option 'loss' to be one of %s or a function, got %s",
                 LOSS_NAMES, type(loss) == "string" and "'" .. loss .. "'" or type(loss))
    end
    return {name = loss, fn = F[entry[1]], kind = entry[2],
            threshold = loss == "bce_with_logits" and 0 or 0.5}
end

-- The values of y as "lo..hi".
local function value_range(y)
    return ("%g..%g"):format(y:min():item(), y:max():item())
end

-- Why `out` and `y` do not fit loss `spec`, or nil when they do. Also
-- returns how targets are reshaped to the output (a shape, or nil).
local function mismatch(spec, out, y)
    local kind = spec.kind
    local rows = out:dim() >= 1 and out:size(1) or 0
    if kind == "multiclass" then
        if out:dim() ~= 2 then
            return "it needs one row of class scores per sample (N x C)"
        elseif out:size(2) < 2 then
            return "it needs one output per class (C >= 2); for two classes with one output " ..
                   "use loss = \"bce\" after a sigmoid, or \"bce_with_logits\" without one"
        elseif y:dim() ~= 1 then
            return "its targets are class labels 1..C, one per sample (N)"
        end
        return nil
    elseif kind == "binary" then
        local per_row = out:dim() == 1 and 1 or out:numel() // math.max(rows, 1)
        local y_per_row = y:dim() == 1 and 1 or y:numel() // math.max(#y, 1)
        if per_row == 1 and y_per_row == 1 then return nil, out:shape() end
        if y:dim() == out:dim() and shape_text(y) == shape_text(out) then return nil end
        if y:dim() == 1 then
            return "it compares each output with a 0/1 target; for C classes with labels " ..
                   "1..C use loss = \"cross_entropy\""
        end
        return "it needs one 0/1 target per output"
    elseif kind == "regression" then
        if shape_text(y) == shape_text(out) then return nil end
        if y:numel() == out:numel() and (y:dim() == 1 or out:dim() == 1) then
            return nil, out:shape()
        end
        return "it compares outputs and targets of the same shape"
    end
    return nil
end

-- The shape of t with its rows counted as `rows` (the whole set's).
local function set_shape(t, rows)
    local shape = t:shape()
    shape[1] = rows
    return "(" .. table.concat(shape, ", ") .. ")"
end

--- check.targets(fn, n, spec, out, y, rows) -> reshape (a shape for y, or
--- nil): the loss against a probe output of the model and the matching
--- targets. The error names the loss and both shapes, for all `rows`.
function check.targets(fn, n, spec, out, y, rows)
    local why, reshape = mismatch(spec, out, y)
    if why then
        argerror(fn, n, "loss '%s' does not fit the model's output %s and the targets %s: %s",
                 spec.name, set_shape(out, rows), set_shape(y, rows), why)
    end
    return reshape
end

--- check.labels(fn, n, spec, y, classes, what) -> shift: the targets'
--- values (y, of the set called `what`) against the loss: labels 1..C for cross_entropy, 0/1 (or
--- probabilities) for bce. A set of two named classes trains with labels
--- 1, 2 as 0, 1 under bce (the second class is the positive one): shift 1.
function check.labels(fn, n, spec, y, classes, what)
    if spec.kind == "multiclass" then
        local lo, hi = y:min():item(), y:max():item()
        local whole = (y - y:floor()):abs():max():item() == 0
        if lo < 1 or hi > classes or not whole then
            argerror(fn, n, "%s has targets %s, but loss '%s' needs class labels 1..%d " ..
                     "(whole numbers; the model has %d outputs)", what, value_range(y),
                     spec.name, classes, classes)
        end
    elseif spec.kind == "binary" then
        local lo, hi = y:min():item(), y:max():item()
        if classes == 2 and lo >= 1 and hi <= 2 then return 1 end
        if lo < 0 or hi > 1 then
            argerror(fn, n, "%s has targets %s, but loss '%s' needs targets in 0..1", what,
                     value_range(y), spec.name)
        end
    end
    return 0
end

-- ---- metrics ---------------------------------------------------------------------

-- Metrics that are computed from scores (probabilities), not labels.
check.SCORE_METRICS = {roc_auc = true, top_k_accuracy = true}

--- check.metrics(fn, n, names, spec) -> list of names: "accuracy" (or
--- "acc") is computed by fit itself; the others must be functions of
--- dl.metrics.
function check.metrics(fn, n, names, spec)
    if names == nil then return {} end
    if type(names) == "string" then names = {names} end
    if type(names) ~= "table" then
        argerror(fn, n, "expected option 'metrics' to be a list of names such as " ..
                 "{\"accuracy\"}, got %s", describe(names))
    end
    local list = {}
    for i, name in ipairs(names) do
        if type(name) ~= "string" then
            argerror(fn, n, "expected metric %d to be a name, got %s", i, describe(name))
        end
        if name == "acc" then name = "accuracy" end
        if name == "accuracy" and spec and spec.kind == "regression" then
            argerror(fn, n, "metric 'accuracy' needs a classification loss, got '%s' " ..
                     "(for regression use \"mae\" or \"r2\")", spec.name)
        end
        if name ~= "accuracy" then
            local ok, metrics = pcall(require, "dl.metrics")
            if not ok or type(metrics) ~= "table" then
                argerror(fn, n, "metric '%s' needs dl.metrics, which this build does not have " ..
                         "(\"accuracy\" is always there)", name)
            end
            if type(metrics[name]) ~= "function" or name == "confusion_matrix" or
               name == "classification_report" then
                local known = {"accuracy"}
                for k, v in pairs(metrics) do
                    if type(v) == "function" and k ~= "accuracy" and k ~= "confusion_matrix"
                       and k ~= "classification_report" then
                        known[#known + 1] = k
                    end
                end
                table.sort(known)
                argerror(fn, n, "unknown metric '%s'; known: %s", name, table.concat(known, ", "))
            end
        end
        list[#list + 1] = name
    end
    return list
end

--- check.class_weight(fn, n, weights, spec, classes) -> a 1-D tensor of
--- weights indexed by label (+1 for 0/1 targets), or nil.
function check.class_weight(fn, n, weights, spec, classes)
    if weights == nil then return nil end
    if type(weights) ~= "table" then
        argerror(fn, n, "expected option 'class_weight' to be a table {[label] = weight}, got %s",
                 describe(weights))
    end
    if spec.kind ~= "multiclass" and spec.kind ~= "binary" then
        argerror(fn, n, "option 'class_weight' needs a classification loss by name, got %s",
                 spec.kind == "custom" and "a loss function" or "'" .. spec.name .. "'")
    end
    local first = spec.kind == "binary" and 0 or 1
    local last = spec.kind == "binary" and 1 or classes
    local list = {}
    for label = first, last do list[#list + 1] = 1 end
    for label, w in pairs(weights) do
        if math.type(label) == nil or label < first or label > last or label % 1 ~= 0 then
            argerror(fn, n, "class_weight has label %s; the labels are %d..%d", tostring(label),
                     first, last)
        end
        if type(w) ~= "number" or not (w >= 0) or w == math.huge then
            argerror(fn, n, "class_weight[%s] must be a finite number >= 0, got %s",
                     tostring(label), describe(w))
        end
        list[label - first + 1] = w
    end
    return dl.tensor(list)
end

return check
