-- The tensor ops of issue 12 as a user meets them: results on small
-- tensors, the pieces chunk and split make, and the errors bad arguments
-- raise (function, argument, expected, got).
local H = require "tests.lua.helper"
local dl = H.dl
local nn = dl.nn

local x = dl.tensor{{1, 2, 3}, {4, 5, 6}}

describe("tensor ops", function()
    it("give PyTorch's results with 1-based dims and positions", function()
        assert.are.same({{3, 1}, {5, 5}}, x:gather(2, dl.tensor{{3, 1}, {2, 2}}):totable())
        assert.are.same({{1, 2, 0}, {0, 5, 6}}, x:scatter(2, dl.tensor{{3}, {1}}, 0):totable())
        assert.are.same({{0, 0, 0}, {4, 5, 6}}, dl.where(x:gt(3), x, 0):totable())
        assert.are.same({{6, 5, 4}, {3, 2, 1}}, x:flip{1, 2}:totable())
        assert.are.same({{3, 1, 2}, {6, 4, 5}}, x:roll(1, 2):totable())
        assert.are.same({1, 5}, x:diag():totable())
        local values, positions = dl.tensor{3, 1, 3, 2}:sort{descending = true}
        assert.are.same({3, 3, 2, 1}, values:totable())
        assert.are.same({1, 3, 4, 2}, positions:totable())
        local top, where = dl.tensor{3, 1, 3, 2}:topk(2)
        assert.are.same({3, 3}, top:totable())
        assert.are.same({1, 3}, where:totable())
        local median, at = x:median(2)
        assert.are.same({2, 5}, median:totable())
        assert.are.same({2, 2}, at:totable())
        assert.equal(2, dl.tensor{3, 1, 3, 2}:median():item())
    end)

    it("topk and median pick the positions the stable sort gives, ties and NaN included", function()
        dl.manual_seed(3)
        for trial = 1, 100 do
            local n = trial % 37 + 1
            local x = (dl.rand(3, n) * (trial % 5 + 1)):floor()
            if trial % 7 == 0 then x[1][1], x[2][n] = 0 / 0, 0 / 0 end
            local largest = trial % 2 == 0
            local _, sorted = x:sort(2, {descending = largest})
            local k = trial % (n + 1)
            local _, top = x:topk(k, 2, {largest = largest})
            if k > 0 then assert.are.same(sorted:narrow(2, 1, k):totable(), top:totable()) end
            local _, ascending = x:sort(2)
            local _, median = x:median(2)
            for r = 1, 3 do
                local nans = 0
                for c = 1, n do nans = nans + (x[r][c] ~= x[r][c] and 1 or 0) end
                local rank = nans > 0 and n - nans + 1 or (n - 1) // 2 + 1
                assert.equal(ascending[r][rank], median[r])
            end
        end
    end)

    it("chunk and split into views that share the tensor's storage", function()
        local t = dl.arange(1, 8)
        local pieces = t:chunk(3)
        assert.equal(3, #pieces)
        assert.are.same({{1, 2, 3}, {4, 5, 6}, {7}},
                        {pieces[1]:totable(), pieces[2]:totable(), pieces[3]:totable()})
        local parts = t:split{2, 5}
        assert.are.same({3, 4, 5, 6, 7}, parts[2]:totable())
        parts[1][1] = 10
        assert.equal(10, t[1])
        assert.equal(4, #t:split(2))
        assert.equal(2, #dl.arange(1, 3):chunk(5))
    end)

    it("refuse bad arguments, naming the function and the argument", function()
        H.raises("bad argument #3 to 'gather' (expected indices in 1..3 along dim 2, got 4 at entry 1)",
                 x.gather, x, 2, dl.tensor{{4}})
        H.raises("bad argument #3 to 'gather' (expected indices in 1..3 along dim 2, got 1.5 at entry 1)",
                 x.gather, x, 2, dl.tensor{{1.5}})
        H.raises("bad argument #2 to 'gather' (expected a dim in 1..2 or -2..-1, got 3)",
                 x.gather, x, 3, dl.tensor{{1}})
        H.raises("bad argument #3 to 'gather' (expected an index with 2 dims as the input (2, 3) has, got shape (1,))",
                 x.gather, x, 1, dl.tensor{1})
        H.raises("bad argument #3 to 'gather' (expected an index no larger than the input (2, 3) outside the "
                 .. "indexed dim, got shape (1, 4))", x.gather, x, 1, dl.ones(1, 4))
        H.raises("bad argument #3 to 'scatter' (expected an index no larger than the source (1, 1), got shape (1, 2))",
                 x.scatter, x, 2, dl.tensor{{1, 2}}, dl.ones(1, 1))
        H.raises("bad argument #3 to 'scatter_add' (expected indices in 1..2 along dim 1, got 0 at entry 2)",
                 x.scatter_add, x, 1, dl.tensor{{1, 0}}, dl.ones(1, 2))
        H.raises("bad argument #4 to 'scatter' (expected a tensor or a number, got string)",
                 x.scatter, x, 1, dl.tensor{{1}}, "a")
        H.raises("bad argument #2 to 'where' (expected shapes that broadcast together, got (4,), (2, 3) and ())",
                 dl.where, dl.ones(4), x, 1)
        H.raises("bad argument #2 to 'masked_fill' (expected a mask that broadcasts to (2, 3), got (3, 3))",
                 x.masked_fill, x, dl.ones(3, 3), 1)
        H.raises("bad argument #2 to 'flip' (expected distinct dims, got dim 1 twice)", x.flip, x, 1, 1)
        H.raises("bad argument #3 to 'roll' (expected as many dims as shifts (1), got 2)", x.roll, x, 1, {1, 2})
        H.raises("bad argument #2 to 'repeat' (expected at least 2 repeat counts, one per dim, got 1)",
                 x["repeat"], x, 2)
        H.raises("bad argument #1 to 'tril' (expected a tensor with at least 2 dims, got (3,))",
                 dl.tril, dl.ones(3))
        H.raises("bad argument #1 to 'diag' (expected a 1-D or 2-D tensor, got shape (1, 1, 1))",
                 dl.diag, dl.ones(1, 1, 1))
        H.raises("bad argument #2 to 'cumsum' (expected a dim, got none)", x.cumsum, x)
        H.raises("bad argument #2 to 'topk' (expected k in 0..3, the size of dim 2, got 4)", x.topk, x, 4)
        H.raises("bad argument #2 to 'sort' (unknown option 'reverse')", x.sort, x, {reverse = true})
        H.raises("bad argument #1 to 'median' (expected a non-empty dim to reduce, got size 0)",
                 dl.median, dl.zeros(2, 0), 2)
        H.raises("bad argument #1 to 'amax' (expected a non-empty dim to reduce, got size 0)",
                 dl.amax, dl.zeros(2, 0), 2)
        H.raises("bad argument #2 to 'norm' (expected p to be a number or \"fro\", got string)", x.norm, x, "x")
        H.raises("bad argument #2 to 'amax' (expected distinct dims, got dim 1 twice)", x.amax, x, {1, -2})
        H.raises("bad argument #2 to 'logsumexp' (expected a dim in 1..2 or -2..-1, got 3)",
                 x.logsumexp, x, {dim = {1, 3}})
        H.raises("bad argument #1 to 'mm' (expected a 2-D tensor, got shape (3,))", dl.mm, dl.ones(3), x)
        H.raises("bad argument #2 to 'bmm' (expected a batch of 1 matrices as #1 has, got 2)",
                 dl.bmm, dl.ones(1, 2, 3), dl.ones(2, 3, 2))
        H.raises("bad argument #2 to 'chunk' (expected a number of chunks >= 1, got 0)", x.chunk, x, 0)
        H.raises("bad argument #2 to 'split' (expected sizes that add up to 2 (the size of dim 1), got 3)",
                 x.split, x, {1, 2})
        H.raises("bad argument #2 to 'hardtanh' (expected min_val <= max_val, got min_val 2 and max_val 1)",
                 x.hardtanh, x, 2, 1)
        H.raises("bad argument #2 to 'leaky_relu' (unknown option 'slope')", x.leaky_relu, x, {slope = 1})
        H.raises("bad argument #2 to 'elu' (expected option 'alpha' to be a number, got string)",
                 x.elu, x, {alpha = "1"})
    end)

    it("einsum refuses what it does not do, clearly", function()
        H.raises("bad argument #1 to 'einsum' (expected at most two operands, got 3 in \"ij,jk,kl->il\")",
                 dl.einsum, "ij,jk,kl->il", x, x, x)
        H.raises("bad argument #1 to 'einsum' (expected letters only ('...' is not supported), got \"...ij->ij\")",
                 dl.einsum, "...ij->ij", x)
        H.raises("bad argument #1 to 'einsum' (output letter 'z' appears in no operand)", dl.einsum, "ij->z", x)
        H.raises("bad argument #2 to 'einsum' (expected 3 dims for \"ijk\", got shape (2, 3))", dl.einsum, "ijk->i", x)
        H.raises("bad argument #3 to 'einsum' (letter 'j' has size 3 in operand 1 and 2 here)",
                 dl.einsum, "ij,jk->ik", x, x)
        H.raises("bad argument #1 to 'einsum' (expected 2 tensors for \"ij,jk->ik\", got 1)", dl.einsum, "ij,jk->ik", x)
        H.raises("bad argument #2 to 'einsum' (expected a repeated letter only as \"ii\" (a diagonal), got \"iij\")",
                 dl.einsum, "iij->j", dl.ones(2, 2, 2))
    end)

    it("activation layers check their options as the other layers do", function()
        assert.equal("LeakyReLU(negative_slope=0.2)", tostring(nn.LeakyReLU{negative_slope = 0.2}))
        assert.equal("Hardtanh(min_val=0, max_val=6)", tostring(nn.Hardtanh(0, 6)))
        H.raises("bad argument #1 to 'LeakyReLU' (unknown option 'slope'; known: negative_slope)",
                 nn.LeakyReLU, {slope = 1})
        H.raises("bad argument #1 to 'Softplus' (expected option 'beta' to be a number, got string)",
                 nn.Softplus, {beta = "2"})
        H.raises("bad argument #1 to 'SiLU' (expected no arguments, got number)", nn.SiLU, 1)
        H.raises("bad argument #1 to 'Mish' (expected a tensor, got nil)", function() return nn.Mish()() end)
    end)
end)
