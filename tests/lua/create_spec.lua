-- Creators: sizes as numbers or a table, the options table, values, seeds,
-- and the errors of bad sizes and bad nested tables.
local H = require "tests.lua.helper"
local dl = H.dl

describe("creators", function()
    it("zeros and ones take sizes as numbers or one table", function()
        H.close(dl.zeros(2, 3), {{0, 0, 0}, {0, 0, 0}})
        H.close(dl.zeros{2, 3}, {{0, 0, 0}, {0, 0, 0}})
        H.close(dl.ones(3), {1, 1, 1})
        H.close(dl.ones{1, 2}, {{1, 1}})
        assert.same({2, 3, 4, 5}, dl.empty(2, 3, 4, 5):shape())
    end)

    it("no sizes make a 0-d tensor", function()
        local z = dl.zeros()
        assert.equal(0, z:dim())
        assert.equal(1, z:numel())
        assert.equal(0, z:item())
        assert.same({}, dl.ones{}:shape())
    end)

    it("zero-size dims are allowed", function()
        assert.same({0}, dl.zeros(0):shape())
        assert.same({2, 0}, dl.ones(2, 0):shape())
        assert.equal(0, dl.ones(2, 0):numel())
    end)

    it("every creator accepts a trailing options table", function()
        assert.is_true(dl.ones(2, 3, {requires_grad = true}):requires_grad())
        assert.is_true(dl.zeros({2, 3}, {requires_grad = true}):requires_grad())
        assert.is_true(dl.zeros({requires_grad = true}):requires_grad())
        assert.is_true(dl.full({2}, 7, {requires_grad = true}):requires_grad())
        assert.is_true(dl.randn(2, {requires_grad = true}):requires_grad())
        assert.is_true(dl.rand(2, {requires_grad = true}):requires_grad())
        assert.is_true(dl.arange(3, {requires_grad = true}):requires_grad())
        assert.is_true(dl.linspace(0, 1, 3, {requires_grad = true}):requires_grad())
        assert.is_true(dl.eye(2, {requires_grad = true}):requires_grad())
        assert.is_true(dl.tensor({1, 2}, {requires_grad = true}):requires_grad())
        assert.is_true(dl.randperm(3, {requires_grad = true}):requires_grad())
        assert.is_true(dl.zeros_like(dl.ones(2), {requires_grad = true}):requires_grad())
        assert.is_false(dl.ones(2, 3):requires_grad())
        assert.is_false(dl.ones(2, {requires_grad = false}):requires_grad())
    end)

    it("full fills with the value after the sizes", function()
        H.close(dl.full({2, 3}, 7), {{7, 7, 7}, {7, 7, 7}})
        H.close(dl.full(2, 2, -1.5), {{-1.5, -1.5}, {-1.5, -1.5}})
    end)

    it("arange follows torch.arange: the end is excluded", function()
        H.close(dl.arange(5), {0, 1, 2, 3, 4})
        H.close(dl.arange(1, 10), {1, 2, 3, 4, 5, 6, 7, 8, 9})
        H.close(dl.arange(0, 1, 0.25), {0, 0.25, 0.5, 0.75})
        H.close(dl.arange(10, 0, -3), {10, 7, 4, 1})
        assert.same({0}, dl.arange(0):shape())
    end)

    it("linspace includes both ends", function()
        local expected = {}
        for i = 0, 10 do expected[#expected + 1] = i / 10 end
        H.close(dl.linspace(0, 1, 11), expected)
        H.close(dl.linspace(-1, 1, 3), {-1, 0, 1})
        H.close(dl.linspace(2, 2, 1), {2})
    end)

    it("eye makes square or rectangular identities", function()
        H.close(dl.eye(3), {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}})
        H.close(dl.eye(2, 3), {{1, 0, 0}, {0, 1, 0}})
    end)

    it("randperm is a permutation of 1..n", function()
        local p = dl.randperm(20):totable()
        table.sort(p)
        for i = 1, 20 do assert.equal(i, p[i]) end
    end)

    it("rand draws from [0, 1)", function()
        local r = dl.rand(1000)
        assert.is_true(r:min():item() >= 0)
        assert.is_true(r:max():item() < 1)
        assert.is_true(math.abs(r:mean():item() - 0.5) < 0.05)
    end)

    it("randn draws standard normals", function()
        local r = dl.randn(20000)
        assert.is_true(math.abs(r:mean():item()) < 0.05)
        assert.is_true(math.abs(r:std():item() - 1) < 0.05)
    end)

    it("the _like creators copy the shape", function()
        local t = dl.ones(2, 3)
        H.close(dl.zeros_like(t), {{0, 0, 0}, {0, 0, 0}})
        H.close(dl.ones_like(dl.zeros(2)), {1, 1})
        assert.same({2, 3}, dl.randn_like(t):shape())
        assert.same({2, 3}, dl.rand_like(t):shape())
    end)
end)

describe("dl.manual_seed", function()
    it("makes random draws repeat", function()
        dl.manual_seed(42)
        local a, pa = dl.randn(5):totable(), dl.randperm(8):totable()
        local ra = dl.rand(3):totable()
        dl.manual_seed(42)
        local b, pb = dl.randn(5):totable(), dl.randperm(8):totable()
        local rb = dl.rand(3):totable()
        assert.same(a, b)
        assert.same(pa, pb)
        assert.same(ra, rb)
    end)

    it("gives different draws for different seeds", function()
        dl.manual_seed(1)
        local a = dl.randn(5):totable()
        dl.manual_seed(2)
        local b = dl.randn(5):totable()
        assert.are_not.same(a, b)
    end)

    it("wants an integer", function()
        H.raises("bad argument #1 to 'manual_seed' (expected an integer, got 1.5)",
                 dl.manual_seed, 1.5)
    end)
end)

describe("dl.tensor", function()
    it("round-trips nested tables through totable", function()
        local data = {{{1, 2}, {3, 4}}, {{5, 6}, {7, 8.5}}}
        local t = dl.tensor(data)
        assert.same({2, 2, 2}, t:shape())
        assert.same(data, t:totable())
        assert.same({{1, 2}, {3, 4}}, dl.tensor{{1, 2}, {3, 4}}:totable())
        assert.same({-1, 0.5}, dl.tensor{-1, 0.5}:totable())
    end)

    it("makes a 0-d tensor from a number", function()
        local s = dl.tensor(5)
        assert.equal(0, s:dim())
        assert.equal(5, s:item())
        assert.equal(5, s:totable())
    end)

    it("makes empty tensors from empty tables", function()
        assert.same({0}, dl.tensor{}:shape())
        assert.same({2, 0}, dl.tensor{{}, {}}:shape())
    end)

    it("copies a tensor", function()
        local a = dl.tensor{1, 2}
        local b = dl.tensor(a)
        b[1] = 9
        assert.same({1, 2}, a:totable())
        assert.same({9, 2}, b:totable())
    end)

    it("names the position of a ragged row", function()
        H.raises("bad argument #1 to 'tensor' (expected 2 values at [2] (as in the " ..
                 "first row), got 1)", dl.tensor, {{1, 2}, {3}})
        H.raises("bad argument #1 to 'tensor' (expected 2 values at [2][1] (as in the " ..
                 "first row), got 3)", dl.tensor, {{{1, 2}}, {{1, 2, 3}}})
    end)

    it("names the position of a value that is not a number", function()
        H.raises("bad argument #1 to 'tensor' (expected a number at [1][2], got string)",
                 dl.tensor, {{1, "a"}})
        H.raises("bad argument #1 to 'tensor' (expected a table at [2], got number)",
                 dl.tensor, {{1}, 2})
        H.raises("bad argument #1 to 'tensor' (expected a number, nested tables of " ..
                 "numbers or a tensor, got string)", dl.tensor, "x")
    end)

    it("refuses more than 8 levels", function()
        H.raises("bad argument #1 to 'tensor' (expected at most 8 levels of nesting, " ..
                 "got more)", dl.tensor, {{{{{{{{{1}}}}}}}}})
    end)
end)

describe("creator errors", function()
    it("name the function, the argument, the expectation and the value", function()
        H.raises("bad argument #1 to 'zeros' (expected a size >= 0, got -1)", dl.zeros, -1)
        H.raises("bad argument #2 to 'ones' (expected an integer size, got 2.5)",
                 dl.ones, 2, 2.5)
        H.raises("bad argument #1 to 'randn' (expected a size >= 0 at [2], got -3)",
                 dl.randn, {2, -3})
        H.raises("bad argument #1 to 'rand' (expected a size, got string)", dl.rand, "a")
        H.raises("bad argument #9 to 'zeros' (expected at most 8 sizes, got 9)",
                 dl.zeros, 1, 2, 3, 4, 5, 6, 7, 8, 9)
        H.raises("bad argument #2 to 'zeros' (unknown option 'requires_gradd')",
                 dl.zeros, 2, {requires_gradd = true})
        H.raises("bad argument #2 to 'ones' (expected option 'requires_grad' to be a " ..
                 "boolean, got number)", dl.ones, 2, {requires_grad = 1})
        H.raises("bad argument #3 to 'arange' (expected a step going from 1 towards " ..
                 "10, got -1)", dl.arange, 1, 10, -1)
        H.raises("bad argument #3 to 'linspace' (expected a number of steps >= 0, " ..
                 "got -1)", dl.linspace, 0, 1, -1)
        H.raises("bad argument #1 to 'eye' (expected a size >= 0, got -2)", dl.eye, -2)
        H.raises("bad argument #2 to 'full' (expected sizes then a value, got string)",
                 dl.full, {2}, "x")
        H.raises("bad argument #1 to 'zeros_like' (expected a tensor, got table)",
                 dl.zeros_like, {1, 2})
    end)
end)
