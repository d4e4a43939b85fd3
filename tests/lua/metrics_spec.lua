-- dl.metrics against scikit-learn (Debian's python3-sklearn): every case of
-- tests/oracle/metrics.py is scored by both, and must agree to 1e-6 (the
-- classification report's text exactly). Then the errors users meet.
local H = require "tests.lua.helper"
local dl = H.dl
local metrics = dl.metrics

local function load_reference()
    return H.oracle("tests/oracle/metrics.py", "metrics_reference.lua")
end

local function close(got, want, what)
    if want ~= want then
        assert(got ~= got, ("%s: got %s, scikit-learn has nan"):format(what, tostring(got)))
        return
    end
    assert(type(got) == "number", ("%s: expected a number, got %s"):format(what, type(got)))
    assert(math.abs(got - want) <= 1e-6,
           ("%s: got %.12g, scikit-learn has %.12g"):format(what, got, want))
end

local function compare(got, want, what)
    if type(want) == "string" then
        assert.are.equal(want, tostring(got), what)
    elseif type(want) == "table" then
        if dl.is_tensor(got) then got = got:totable() end
        assert(type(got) == "table", what .. ": expected a list, got " .. type(got))
        assert.are.equal(#want, #got, what .. ": lengths differ")
        for i = 1, #want do compare(got[i], want[i], what .. "[" .. i .. "]") end
    else
        close(got, want, what)
    end
end

describe("dl.metrics against scikit-learn", function()
    local cases = load_reference()

    it("has the cases", function()
        assert(#cases > 60, "expected the reference cases, got " .. #cases)
    end)

    for _, case in ipairs(cases) do
        it(case.name, function()
            local pred = dl.tensor(case.pred):reshape(case.pshape)
            local target = dl.tensor(case.target):reshape(case.tshape)
            compare(metrics[case.fn](pred, target, case.opts), case.want, case.name)
        end)
    end
end)

describe("dl.metrics", function()
    it("takes Lua lists as well as tensors", function()
        assert.are.equal(0.75, metrics.accuracy({1, 2, 3, 3}, {1, 2, 3, 1}))
        assert.are.equal(2, metrics.accuracy({1, 2, 3, 3}, {1, 2, 2, 1}, {normalize = false}))
    end)

    it("thresholds binary probabilities of shape N x 1 at 0.5 or a given threshold", function()
        local prob = dl.tensor{{0.2}, {0.7}, {0.55}, {0.9}}
        assert.are.equal(0.75, metrics.accuracy(prob, dl.tensor{0, 1, 0, 1}))
        assert.are.equal(1, metrics.accuracy(prob, dl.tensor{0, 1, 0, 1}, {threshold = 0.6}))
    end)

    it("averages binary 0/1 labels as 'binary' and 1..C labels as 'macro' by default", function()
        assert.are.equal(metrics.f1({0, 1, 1, 0}, {0, 1, 0, 0}, {average = "binary"}),
                         metrics.f1({0, 1, 1, 0}, {0, 1, 0, 0}))
        assert.are.equal(metrics.f1({1, 2, 3, 3}, {1, 2, 2, 3}, {average = "macro"}),
                         metrics.f1({1, 2, 3, 3}, {1, 2, 2, 3}))
    end)

    it("gives the report's numbers as fields", function()
        local r = metrics.classification_report({1, 2, 2, 1}, {1, 2, 1, 1})
        assert.are.equal(0.75, r.accuracy)
        assert.are.equal("1", r.classes[1].name)
        assert.are.equal(3, r.classes[1].support)
        close(r.classes[2].precision, 0.5, "precision of class 2")
    end)

    it("names the function and argument of a bad call", function()
        H.raises("bad argument #1 to 'accuracy' (expected 3 predictions, one per target, got 2)",
                 metrics.accuracy, {1, 2}, {1, 2, 3})
        H.raises("bad argument #2 to 'f1' (expected whole-number class labels, got 1.5 at position 2)",
                 metrics.f1, {1, 2}, {1, 1.5})
        H.raises("bad argument #3 to 'precision' (unknown option 'avg'; known: average, beta, labels, "
                 .. "pos_label, threshold, zero_division)", metrics.precision, {1}, {1}, {avg = "macro"})
        H.raises("bad argument #3 to 'recall' (expected average = \"binary\", \"macro\", \"micro\", "
                 .. "\"weighted\" or \"none\", got \"mean\")", metrics.recall, {1}, {1}, {average = "mean"})
        H.raises("bad argument #3 to 'f1' (expected average = \"macro\", \"micro\" or \"weighted\" for "
                 .. "more than 2 classes, got average = \"binary\")",
                 metrics.f1, {1, 2, 3}, {1, 2, 3}, {average = "binary"})
        H.raises("bad argument #2 to 'roc_auc' (only one class present in the targets: "
                 .. "ROC AUC is not defined in that case)", metrics.roc_auc, {0.1, 0.9}, {1, 1})
        H.raises("bad argument #2 to 'mse' (expected at least one target, got none)",
                 metrics.mse, dl.zeros(0), dl.zeros(0))
        H.raises("bad argument #1 to 'mae' (expected a tensor or a list of numbers, got string)",
                 metrics.mae, "x", {1})
    end)
end)
