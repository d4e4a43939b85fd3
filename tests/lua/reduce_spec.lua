-- Reductions over every element or along a 1-based dim, keepdim, the two
-- results of max/min along a dim, and var/std corrections.
local H = require "tests.lua.helper"
local dl = H.dl

describe("reductions", function()
    local t
    before_each(function()
        t = dl.tensor{{1, 2, 3}, {4, 5, 6}}
    end)

    it("reduce every element to a 0-d tensor", function()
        local s = t:sum()
        assert.equal(0, s:dim())
        assert.equal(21, s:item())
        assert.equal(3.5, t:mean():item())
        assert.equal(720, t:prod():item())
        assert.equal(6, t:max():item())
        assert.equal(1, t:min():item())
        assert.equal(21, dl.sum(t):item())
    end)

    it("reduce along 1-based dims, negative ones from the end", function()
        H.close(t:sum(1), {5, 7, 9})
        H.close(t:sum(2), {6, 15})
        H.close(t:sum(-1), {6, 15})
        H.close(t:sum(-2), {5, 7, 9})
        H.close(t:mean(1), {2.5, 3.5, 4.5})
        H.close(t:prod(2), {6, 120})
    end)

    it("keep the reduced dim on request", function()
        local k = t:sum(2, {keepdim = true})
        assert.same({2, 1}, k:shape())
        H.close(k, {{6}, {15}})
        assert.same({1, 3}, t:sum{dim = 1, keepdim = true}:shape())
        assert.same({1, 1}, t:sum{keepdim = true}:shape())
        assert.same({3}, t:sum{dim = 1}:shape())
    end)

    it("max and min along a dim give values and 1-based indices", function()
        local v, i = t:max(2)
        H.close(v, {3, 6})
        H.close(i, {3, 3})
        v, i = t:min(1)
        H.close(v, {1, 2, 3})
        H.close(i, {1, 1, 1})
        v, i = dl.tensor{{3, 1, 3}}:max(2, {keepdim = true})
        H.close(v, {{3}})
        H.close(i, {{1}})
    end)

    it("argmax and argmin give 1-based positions", function()
        assert.equal(6, t:argmax():item())
        assert.equal(1, t:argmin():item())
        H.close(t:argmax(2), {3, 3})
        H.close(dl.tensor{{5, 1}, {0, 7}}:argmin(1), {2, 1})
        H.close(dl.tensor{{5, 1}, {0, 7}}:argmax(-1), {1, 2})
    end)

    it("max and min with a tensor are elementwise", function()
        H.close(t:max(dl.tensor{3, 3, 3}), {{3, 3, 3}, {4, 5, 6}})
        H.close(t:min(dl.tensor{3, 3, 3}), {{1, 2, 3}, {3, 3, 3}})
    end)

    it("var and std are unbiased unless told otherwise", function()
        local v = dl.tensor{1, 2, 3, 4}    -- squared deviations sum to 5
        assert.is_true(math.abs(v:var():item() - 5 / 3) < 1e-5)
        assert.is_true(math.abs(v:var{unbiased = false}:item() - 1.25) < 1e-6)
        assert.is_true(math.abs(v:var{correction = 0}:item() - 1.25) < 1e-6)
        assert.is_true(math.abs(v:std():item() - math.sqrt(5 / 3)) < 1e-5)
        assert.is_true(math.abs(v:std{unbiased = false}:item() - math.sqrt(1.25)) < 1e-5)
        H.close(t:var(1), {4.5, 4.5, 4.5})
        H.close(t:var(2, {unbiased = false}), {2 / 3, 2 / 3})
        H.close(t:std(2, {keepdim = true}), {{1}, {1}})
    end)

    it("name the function and argument on errors", function()
        H.raises("bad argument #2 to 'sum' (expected a dim in 1..2 or -2..-1, got 3)",
                 t.sum, t, 3)
        H.raises("bad argument #2 to 'mean' (expected a dim in 1..2 or -2..-1, got 0)",
                 t.mean, t, 0)
        H.raises("bad argument #2 to 'sum' (unknown option 'keepdims')",
                 t.sum, t, {keepdims = true})
        H.raises("bad argument #3 to 'max' (unknown option 'unbiased')",
                 t.max, t, 1, {unbiased = true})
        H.raises("bad argument #2 to 'var' (expected option 'correction' to be an " ..
                 "integer >= 0, got -1)", t.var, t, {correction = -1})
        H.raises("bad argument #3 to 'sum' (expected an options table, got boolean)",
                 t.sum, t, 1, true)
        H.raises("bad argument #1 to 'sum' (expected a tensor, got number)", dl.sum, 3)
        H.raises("bad argument #2 to 'sum' (expected no dim (the tensor has none), got 1)",
                 dl.tensor(1).sum, dl.tensor(1), 1)
    end)
end)
