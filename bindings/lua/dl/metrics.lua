-- metrics.lua -- dl.metrics: classification and regression scores that agree
-- with scikit-learn's (same definitions, same degenerate cases).
--
-- Every function takes (pred, target, opts): predictions first, as in Keras'
-- metric objects and the rest of dl (sklearn's own order is the reverse).
-- pred and target are tensors or Lua lists. For the classification metrics,
-- pred may be
--   * labels (any whole numbers: 1..C, or 0/1 for a binary problem),
--   * class scores N x C (C > 1): the predicted label is the argmax, 1-based,
--   * probabilities or logits for a binary problem, shape N or N x 1: they
--     are thresholded at opts.threshold (0.5 by default).
-- The labels are the sorted union of those in pred and target unless
-- opts.labels lists them. Results are Lua numbers computed in double
-- precision; a per-class result (average = "none") is a Lua list.
local dl = require "dl"
local raise = require("dl.errors").raise

local metrics = {}

-- ---- argument handling ---------------------------------------------------

local function argerror(fn, n, expected, got)
    raise(("bad argument #%d to '%s' (expected %s, got %s)"):format(n, fn, expected, got))
end

local function describe(v)
    if dl.is_tensor(v) then
        local s = v:shape()
        return ("a tensor of shape (%s)"):format(table.concat(s, ", "))
    end
    return type(v)
end

-- Checks an option table against its known keys.
local function check_options(fn, n, opts, known)
    if opts == nil then return {} end
    if type(opts) ~= "table" then argerror(fn, n, "an option table", type(opts)) end
    for key in pairs(opts) do
        if not known[key] then
            local names = {}
            for k in pairs(known) do names[#names + 1] = k end
            table.sort(names)
            raise(("bad argument #%d to '%s' (unknown option '%s'; known: %s)")
                :format(n, fn, tostring(key), table.concat(names, ", ")))
        end
    end
    return opts
end

local function set_of(list)
    local s = {}
    for _, k in ipairs(list) do s[k] = true end
    return s
end

-- A tensor or a (nested) Lua list as {values = flat list, shape = {...}}.
local function as_array(fn, n, v)
    if dl.is_tensor(v) then
        local shape = v:shape()
        if #shape > 2 then argerror(fn, n, "a tensor of 1 or 2 dimensions", describe(v)) end
        local flat = v:dim() == 0 and {v:item()} or v:reshape(-1):totable()
        return {values = flat, shape = #shape == 0 and {1} or shape}
    elseif type(v) == "table" then
        local ok, t = pcall(dl.tensor, v)
        if not ok then argerror(fn, n, "a tensor or a list of numbers", "a table that is not one") end
        return as_array(fn, n, t)
    end
    argerror(fn, n, "a tensor or a list of numbers", type(v))
end

local function is_whole(x) return x == math.floor(x) end

-- The labels of a 1-D target, checked to be whole numbers.
local function label_values(fn, n, arr)
    if #arr.shape == 2 and arr.shape[2] ~= 1 then
        argerror(fn, n, "labels of shape (N) or (N, 1)", ("shape (%s)"):format(table.concat(arr.shape, ", ")))
    end
    for i, x in ipairs(arr.values) do
        if x ~= x or not is_whole(x) then
            argerror(fn, n, "whole-number class labels", ("%s at position %d"):format(tostring(x), i))
        end
    end
    return arr.values
end

-- Predicted labels from labels, scores N x C or binary probabilities.
local function predicted_labels(fn, arr, threshold)
    local values, shape = arr.values, arr.shape
    if #shape == 2 and shape[2] > 1 then
        local n, c, out = shape[1], shape[2], {}
        for i = 1, n do
            local best, at = -math.huge, 1
            for j = 1, c do
                local x = values[(i - 1) * c + j]
                if x > best or (x ~= x and best == best) then best, at = x, j end
            end
            out[i] = at
        end
        return out
    end
    local whole = true
    for _, x in ipairs(values) do
        if x ~= x then argerror(fn, 1, "finite predictions", "nan") end
        if not is_whole(x) then whole = false end
    end
    if whole then return values end
    local out = {}
    for i, x in ipairs(values) do out[i] = x > threshold and 1 or 0 end
    return out
end

-- Checks a pair of predictions and targets for a classification metric and
-- returns the predicted labels and the true labels as equal-length lists.
local function classification_pair(fn, pred, target, opts)
    local p = as_array(fn, 1, pred)
    local t = as_array(fn, 2, target)
    local y_true = label_values(fn, 2, t)
    local y_pred = predicted_labels(fn, p, opts.threshold or 0.5)
    if #y_pred ~= #y_true then
        argerror(fn, 1, ("%d predictions, one per target"):format(#y_true), ("%d"):format(#y_pred))
    end
    if #y_true == 0 then argerror(fn, 2, "at least one target", "none") end
    return y_pred, y_true
end

-- The sorted labels present in either list, or opts.labels.
local function label_list(fn, opts, y_pred, y_true)
    if opts.labels ~= nil then
        if type(opts.labels) ~= "table" or #opts.labels == 0 then
            argerror(fn, 3, "labels as a non-empty list", type(opts.labels))
        end
        return opts.labels
    end
    local seen, list = {}, {}
    for _, ys in ipairs{y_pred, y_true} do
        for _, y in ipairs(ys) do
            if not seen[y] then seen[y] = true; list[#list + 1] = y end
        end
    end
    table.sort(list)
    return list
end

-- Counts per label: true positives, predicted, and true (support).
local function per_label_counts(labels, y_pred, y_true)
    local index = {}
    for i, l in ipairs(labels) do index[l] = i end
    local tp, npred, ntrue = {}, {}, {}
    for i = 1, #labels do tp[i], npred[i], ntrue[i] = 0, 0, 0 end
    for i = 1, #y_true do
        local a, b = index[y_true[i]], index[y_pred[i]]
        if a then ntrue[a] = ntrue[a] + 1 end
        if b then npred[b] = npred[b] + 1 end
        if a and a == b then tp[a] = tp[a] + 1 end
    end
    return tp, npred, ntrue
end

local function ratio(num, den, zero_division)
    if den == 0 then return zero_division end
    return num / den
end

local function fbeta_of(p, r, beta2, zero_division)
    if p + r == 0 then return zero_division end
    return (1 + beta2) * p * r / (beta2 * p + r)
end

local AVERAGES = set_of{"binary", "macro", "micro", "weighted", "none"}

-- The average to use: opts.average, else "binary" for 0/1 labels and
-- "macro" otherwise (sklearn insists on "binary" and refuses more labels).
local function choose_average(fn, opts, labels)
    local average = opts.average
    if average == nil then
        for _, l in ipairs(labels) do
            if l ~= 0 and l ~= 1 then return "macro" end
        end
        return "binary"
    end
    if not AVERAGES[average] then
        argerror(fn, 3, "average = \"binary\", \"macro\", \"micro\", \"weighted\" or \"none\"",
                 ("%q"):format(tostring(average)))
    end
    return average
end

-- precision, recall and F-beta for one (pred, target) pair, as sklearn's
-- precision_recall_fscore_support (zero_division = 0 by default).
local function prf(fn, pred, target, opts, which)
    opts = check_options(fn, 3, opts, set_of{"average", "labels", "pos_label", "threshold",
                                               "zero_division", "beta"})
    local y_pred, y_true = classification_pair(fn, pred, target, opts)
    local labels = label_list(fn, opts, y_pred, y_true)
    local average = choose_average(fn, opts, labels)
    local zd = opts.zero_division or 0
    local beta2 = (opts.beta or 1) ^ 2
    if average == "binary" then
        local pos = opts.pos_label or 1
        if #labels > 2 then
            argerror(fn, 3, "average = \"macro\", \"micro\" or \"weighted\" for more than 2 classes",
                     "average = \"binary\"")
        end
        labels = {pos}
    end
    local tp, npred, ntrue = per_label_counts(labels, y_pred, y_true)
    local function score(t, np, nt)
        local p, r = ratio(t, np, zd), ratio(t, nt, zd)
        if which == "precision" then return p end
        if which == "recall" then return r end
        return fbeta_of(ratio(t, np, 0), ratio(t, nt, 0), beta2, zd)
    end
    if average == "micro" then
        local t, np, nt = 0, 0, 0
        for i = 1, #labels do t, np, nt = t + tp[i], np + npred[i], nt + ntrue[i] end
        return score(t, np, nt)
    end
    local scores = {}
    for i = 1, #labels do scores[i] = score(tp[i], npred[i], ntrue[i]) end
    if average == "binary" then return scores[1] end
    if average == "none" then return scores end
    local total, weight_sum = 0, 0
    for i = 1, #labels do
        local w = average == "weighted" and ntrue[i] or 1
        total, weight_sum = total + w * scores[i], weight_sum + w
    end
    if weight_sum == 0 then return zd end
    return total / weight_sum
end

-- ---- classification ------------------------------------------------------

--- dl.metrics.accuracy(pred, target, {normalize = true, threshold = 0.5})
--- -> the fraction (or with normalize = false the count) of correct labels.
function metrics.accuracy(pred, target, opts)
    opts = check_options("accuracy", 3, opts, set_of{"normalize", "threshold"})
    local y_pred, y_true = classification_pair("accuracy", pred, target, opts)
    local correct = 0
    for i = 1, #y_true do
        if y_pred[i] == y_true[i] then correct = correct + 1 end
    end
    if opts.normalize == false then return correct end
    return correct / #y_true
end

--- dl.metrics.precision(pred, target, {average =, labels =, pos_label = 1,
--- zero_division = 0}) -> tp / (tp + fp).
function metrics.precision(pred, target, opts) return prf("precision", pred, target, opts, "precision") end

--- dl.metrics.recall(pred, target, opts) -> tp / (tp + fn).
function metrics.recall(pred, target, opts) return prf("recall", pred, target, opts, "recall") end

--- dl.metrics.f1(pred, target, opts) -> the harmonic mean of precision and
--- recall (opts.beta makes it the F-beta score).
function metrics.f1(pred, target, opts) return prf("f1", pred, target, opts, "f1") end

--- dl.metrics.confusion_matrix(pred, target, {labels =}) -> C x C tensor whose
--- row i, column j counts the samples of true label i predicted as j.
function metrics.confusion_matrix(pred, target, opts)
    opts = check_options("confusion_matrix", 3, opts, set_of{"labels", "threshold"})
    local y_pred, y_true = classification_pair("confusion_matrix", pred, target, opts)
    local labels = label_list("confusion_matrix", opts, y_pred, y_true)
    local index, n = {}, #labels
    for i, l in ipairs(labels) do index[l] = i end
    local rows = {}
    for i = 1, n do
        rows[i] = {}
        for j = 1, n do rows[i][j] = 0 end
    end
    for i = 1, #y_true do
        local a, b = index[y_true[i]], index[y_pred[i]]
        if a and b then rows[a][b] = rows[a][b] + 1 end
    end
    return dl.tensor(rows)
end

--- dl.metrics.cohen_kappa(pred, target, {weights = nil | "linear" | "quadratic"})
--- -> agreement beyond chance, as sklearn's cohen_kappa_score.
function metrics.cohen_kappa(pred, target, opts)
    opts = check_options("cohen_kappa", 3, opts, set_of{"labels", "weights", "threshold"})
    local weights = opts.weights
    if weights ~= nil and weights ~= "linear" and weights ~= "quadratic" then
        argerror("cohen_kappa", 3, "weights = \"linear\" or \"quadratic\"", ("%q"):format(tostring(weights)))
    end
    local cm = metrics.confusion_matrix(pred, target, {labels = opts.labels, threshold = opts.threshold}):totable()
    local n, total = #cm, 0
    local row_sum, col_sum = {}, {}
    for i = 1, n do row_sum[i], col_sum[i] = 0, 0 end
    for i = 1, n do
        for j = 1, n do
            row_sum[i], col_sum[j], total = row_sum[i] + cm[i][j], col_sum[j] + cm[i][j], total + cm[i][j]
        end
    end
    local observed, expected = 0, 0
    for i = 1, n do
        for j = 1, n do
            local w
            if weights == nil then w = i == j and 0 or 1
            elseif weights == "linear" then w = math.abs(i - j)
            else w = (i - j) ^ 2 end
            observed = observed + w * cm[i][j]
            expected = expected + w * row_sum[i] * col_sum[j] / total
        end
    end
    if expected == 0 then return -(0 / 0) end
    return 1 - observed / expected
end

-- AUC of scores for a 0/1 truth, by the rank-sum (ties get average ranks,
-- which is the trapezoidal area sklearn computes).
local function binary_auc(fn, scores, truth)
    local n, order = #scores, {}
    for i = 1, n do order[i] = i end
    table.sort(order, function(a, b) return scores[a] < scores[b] end)
    local rank_sum, positives = 0, 0
    local i = 1
    while i <= n do
        local j = i
        while j < n and scores[order[j + 1]] == scores[order[i]] do j = j + 1 end
        local average_rank = (i + j) / 2
        for k = i, j do
            if truth[order[k]] then rank_sum, positives = rank_sum + average_rank, positives + 1 end
        end
        i = j + 1
    end
    local negatives = n - positives
    if positives == 0 or negatives == 0 then
        raise(("bad argument #2 to '%s' (only one class present in the targets: "
               .. "ROC AUC is not defined in that case)"):format(fn))
    end
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)
end

--- dl.metrics.roc_auc(scores, target, {average = "macro" | "weighted"}) -> the
--- area under the ROC curve: binary from scores of shape N (or N x 1, or the
--- positive column of N x 2); for C > 2 classes, scores N x C one-vs-rest.
function metrics.roc_auc(scores, target, opts)
    local fn = "roc_auc"
    opts = check_options(fn, 3, opts, set_of{"average", "labels", "pos_label"})
    local s = as_array(fn, 1, scores)
    local y_true = label_values(fn, 2, as_array(fn, 2, target))
    local n = #y_true
    if n == 0 then argerror(fn, 2, "at least one target", "none") end
    if s.shape[1] ~= n then
        argerror(fn, 1, ("scores for %d samples"):format(n), ("shape (%s)"):format(table.concat(s.shape, ", ")))
    end
    for i, x in ipairs(s.values) do
        if x ~= x then argerror(fn, 1, "scores that are not nan", ("nan at position %d"):format(i)) end
    end
    local labels = opts.labels
    if labels == nil then
        local seen
        seen, labels = {}, {}
        for _, y in ipairs(y_true) do
            if not seen[y] then seen[y] = true; labels[#labels + 1] = y end
        end
        table.sort(labels)
    end
    local columns = #s.shape == 2 and s.shape[2] or 1
    if columns <= 2 and #labels <= 2 then
        local pos = opts.pos_label or labels[#labels]
        local col = {}
        for i = 1, n do col[i] = s.values[i * columns] end
        local truth = {}
        for i = 1, n do truth[i] = y_true[i] == pos end
        return binary_auc(fn, col, truth)
    end
    if columns ~= #labels then
        argerror(fn, 1, ("one score column per class (%d)"):format(#labels),
                 ("%d columns"):format(columns))
    end
    local average = opts.average or "macro"
    if average ~= "macro" and average ~= "weighted" then
        argerror(fn, 3, "average = \"macro\" or \"weighted\"", ("%q"):format(tostring(average)))
    end
    local total, weight_sum = 0, 0
    for c, label in ipairs(labels) do
        local col, truth, support = {}, {}, 0
        for i = 1, n do
            col[i] = s.values[(i - 1) * columns + c]
            truth[i] = y_true[i] == label
            if truth[i] then support = support + 1 end
        end
        local w = average == "weighted" and support or 1
        total, weight_sum = total + w * binary_auc(fn, col, truth), weight_sum + w
    end
    return total / weight_sum
end

--- dl.metrics.top_k_accuracy(scores, target, {k = 2}) -> the fraction of
--- samples whose true label is among the k highest scores (N x C scores,
--- labels 1..C; ties broken as sklearn: the later column ranks higher).
function metrics.top_k_accuracy(scores, target, opts)
    local fn = "top_k_accuracy"
    opts = check_options(fn, 3, opts, set_of{"k", "normalize"})
    local k = opts.k or 2
    if type(k) ~= "number" or k < 1 or not is_whole(k) then
        argerror(fn, 3, "k a whole number >= 1", tostring(k))
    end
    local s = as_array(fn, 1, scores)
    local y_true = label_values(fn, 2, as_array(fn, 2, target))
    local n = #y_true
    if n == 0 then argerror(fn, 2, "at least one target", "none") end
    local hits = 0
    if #s.shape == 1 or s.shape[2] == 1 then
        if #s.values ~= n then argerror(fn, 1, ("%d scores"):format(n), #s.values) end
        local lo, hi = math.huge, -math.huge
        for _, x in ipairs(s.values) do lo, hi = math.min(lo, x), math.max(hi, x) end
        local threshold = (lo >= 0 and hi <= 1) and 0.5 or 0
        for i = 1, n do
            if k > 1 or (s.values[i] > threshold and 1 or 0) == y_true[i] then hits = hits + 1 end
        end
    else
        local c = s.shape[2]
        if s.shape[1] ~= n then argerror(fn, 1, ("scores for %d samples"):format(n), s.shape[1]) end
        for i = 1, n do
            local y = y_true[i]
            if y < 1 or y > c then
                argerror(fn, 2, ("labels in 1..%d"):format(c), ("%g at position %d"):format(y, i))
            end
            local mine, above = s.values[(i - 1) * c + y], 0
            for j = 1, c do
                local x = s.values[(i - 1) * c + j]
                if x > mine or (x == mine and j > y) then above = above + 1 end
            end
            if above < k then hits = hits + 1 end
        end
    end
    if opts.normalize == false then return hits end
    return hits / n
end

-- True when every label present in the predictions or targets is listed.
local function covers_all(labels, y_pred, y_true)
    local listed = set_of(labels)
    for _, ys in ipairs{y_pred, y_true} do
        for _, y in ipairs(ys) do
            if not listed[y] then return false end
        end
    end
    return true
end

-- The report's rows as data: one per label, then the averages.
local function report_rows(pred, target, opts)
    local fn = "classification_report"
    local y_pred, y_true = classification_pair(fn, pred, target, opts)
    local labels = label_list(fn, opts, y_pred, y_true)
    local names = opts.target_names
    if names ~= nil and (type(names) ~= "table" or #names ~= #labels) then
        argerror(fn, 3, ("target_names with %d names, one per label"):format(#labels),
                 type(names) == "table" and #names .. " names" or type(names))
    end
    local zd = opts.zero_division or 0
    local tp, npred, ntrue = per_label_counts(labels, y_pred, y_true)
    local rows, sums = {}, {p = 0, r = 0, f = 0, wp = 0, wr = 0, wf = 0, support = 0}
    for i, label in ipairs(labels) do
        local p, r = ratio(tp[i], npred[i], zd), ratio(tp[i], ntrue[i], zd)
        local f = fbeta_of(ratio(tp[i], npred[i], 0), ratio(tp[i], ntrue[i], 0), 1, zd)
        rows[i] = {name = names and tostring(names[i]) or ("%g"):format(label),
                   precision = p, recall = r, f1 = f, support = ntrue[i]}
        sums.p, sums.r, sums.f = sums.p + p, sums.r + r, sums.f + f
        sums.wp, sums.wr, sums.wf = sums.wp + p * ntrue[i], sums.wr + r * ntrue[i], sums.wf + f * ntrue[i]
        sums.support = sums.support + ntrue[i]
    end
    local n = #labels
    local correct = 0
    for i = 1, #y_true do if y_pred[i] == y_true[i] then correct = correct + 1 end end
    local weighted = function(x) return sums.support == 0 and zd or x / sums.support end
    local micro = nil
    if not covers_all(labels, y_pred, y_true) then
        local t, np = 0, 0
        for i = 1, n do t, np = t + tp[i], np + npred[i] end
        local p, r = ratio(t, np, zd), ratio(t, sums.support, zd)
        micro = {precision = p, recall = r, support = sums.support,
                 f1 = fbeta_of(ratio(t, np, 0), ratio(t, sums.support, 0), 1, zd)}
    end
    return rows, {
        accuracy = correct / #y_true, total = sums.support, micro = micro,
        macro = {precision = sums.p / n, recall = sums.r / n, f1 = sums.f / n, support = sums.support},
        weighted = {precision = weighted(sums.wp), recall = weighted(sums.wr), f1 = weighted(sums.wf),
                    support = sums.support},
    }
end

-- sklearn's layout: names right-aligned to the widest name (at least
-- "weighted avg"), then columns of " " plus 9 characters.
local function format_report(rows, summary, digits)
    local width = math.max(#"weighted avg", digits)
    for _, row in ipairs(rows) do width = math.max(width, #row.name) end
    local name = "%" .. width .. "s "
    local num = " %9." .. digits .. "f"
    local function row_line(heading, r)
        return name:format(heading) .. num:format(r.precision) .. num:format(r.recall)
            .. num:format(r.f1) .. (" %9d"):format(r.support)
    end
    local lines = {name:format("") .. (" %9s %9s %9s %9s"):format("precision", "recall", "f1-score", "support"), ""}
    for _, row in ipairs(rows) do lines[#lines + 1] = row_line(row.name, row) end
    lines[#lines + 1] = ""
    if summary.micro then
        lines[#lines + 1] = row_line("micro avg", summary.micro)
    else
        lines[#lines + 1] = name:format("accuracy") .. (" "):rep(20) .. num:format(summary.accuracy)
            .. (" %9d"):format(summary.total)
    end
    lines[#lines + 1] = row_line("macro avg", summary.macro)
    lines[#lines + 1] = row_line("weighted avg", summary.weighted)
    return table.concat(lines, "\n") .. "\n"
end

local Report = {__name = "ClassificationReport"}
Report.__index = Report
Report.__tostring = function(self) return self.text end

--- dl.metrics.classification_report(pred, target, {target_names =, digits = 2,
--- labels =, zero_division = 0}) -> a report that prints as scikit-learn's
--- table; report.classes[i] holds name, precision, recall, f1, support, and
--- report.accuracy, report.macro, report.weighted the summary rows.
function metrics.classification_report(pred, target, opts)
    opts = check_options("classification_report", 3, opts,
                         set_of{"target_names", "digits", "labels", "zero_division", "threshold"})
    local digits = opts.digits or 2
    if type(digits) ~= "number" or digits < 0 or digits > 15 or not is_whole(digits) then
        argerror("classification_report", 3, "digits a whole number in 0..15", tostring(digits))
    end
    local rows, summary = report_rows(pred, target, opts)
    return setmetatable({
        classes = rows, accuracy = summary.accuracy, macro = summary.macro,
        weighted = summary.weighted, text = format_report(rows, summary, digits),
    }, Report)
end

-- ---- regression ----------------------------------------------------------

-- Equal-length value lists of a regression pair (any matching shapes).
local function regression_pair(fn, pred, target)
    local p, t = as_array(fn, 1, pred), as_array(fn, 2, target)
    if #p.values ~= #t.values then
        argerror(fn, 1, ("%d predictions, one per target"):format(#t.values), #p.values)
    end
    if #t.values == 0 then argerror(fn, 2, "at least one target", "none") end
    return p, t
end

-- Per output column: sum over rows of f(pred, target); averaged over columns.
local function column_mean(p, t, f)
    local columns = #t.shape == 2 and t.shape[2] or 1
    local rows = #t.values // columns
    local total = 0
    for c = 1, columns do
        local acc = 0
        for r = 1, rows do
            local k = (r - 1) * columns + c
            acc = acc + f(p.values[k], t.values[k])
        end
        total = total + acc / rows
    end
    return total / columns
end

--- dl.metrics.mse(pred, target) -> mean squared error (averaged over outputs).
function metrics.mse(pred, target)
    local p, t = regression_pair("mse", pred, target)
    return column_mean(p, t, function(a, b) return (a - b) ^ 2 end)
end

--- dl.metrics.mae(pred, target) -> mean absolute error.
function metrics.mae(pred, target)
    local p, t = regression_pair("mae", pred, target)
    return column_mean(p, t, function(a, b) return math.abs(a - b) end)
end

--- dl.metrics.r2(pred, target) -> the coefficient of determination, averaged
--- over outputs; a constant target scores 1 when predicted exactly, else 0.
function metrics.r2(pred, target)
    local p, t = regression_pair("r2", pred, target)
    local columns = #t.shape == 2 and t.shape[2] or 1
    local rows = #t.values // columns
    local total = 0
    for c = 1, columns do
        local mean = 0
        for r = 1, rows do mean = mean + t.values[(r - 1) * columns + c] end
        mean = mean / rows
        local ss_res, ss_tot = 0, 0
        for r = 1, rows do
            local k = (r - 1) * columns + c
            ss_res = ss_res + (t.values[k] - p.values[k]) ^ 2
            ss_tot = ss_tot + (t.values[k] - mean) ^ 2
        end
        if ss_tot == 0 then
            total = total + (ss_res == 0 and 1 or 0)
        else
            total = total + 1 - ss_res / ss_tot
        end
    end
    return total / columns
end

return metrics
