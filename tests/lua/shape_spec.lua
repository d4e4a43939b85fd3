-- Shape and indexing: 1-based dims and positions, views sharing storage,
-- t[i] / t[i] = v / #t, cat, stack, index_select, and their errors.
local H = require "tests.lua.helper"
local dl = H.dl

describe("reshape and view", function()
    local t
    before_each(function()
        t = dl.tensor{{1, 2, 3}, {4, 5, 6}}
    end)

    it("take sizes as numbers or a table, with one -1", function()
        H.close(t:reshape(3, 2), {{1, 2}, {3, 4}, {5, 6}})
        H.close(t:reshape{3, 2}, {{1, 2}, {3, 4}, {5, 6}})
        assert.same({6}, t:reshape(-1):shape())
        assert.same({3, 2}, t:reshape(-1, 2):shape())
        assert.same({1, 2, 3}, dl.reshape(t, 1, 2, 3):shape())
        assert.same({}, dl.tensor{7}:reshape{}:shape())
    end)

    it("view shares storage with its source", function()
        local v = t:view(6)
        v[1] = 100
        assert.equal(100, t[1][1])
        t:fill_(0)
        assert.equal(0, v[6])
    end)

    it("reshape of a transposed tensor copies", function()
        local r = t:t():reshape(6)
        H.close(r, {1, 4, 2, 5, 3, 6})
        r[1] = 9
        assert.equal(1, t[1][1])
    end)

    it("report wrong sizes", function()
        H.raises("bad argument #2 to 'reshape' (expected sizes whose product is 6, " ..
                 "got (4, 2))", t.reshape, t, 4, 2)
        H.raises("bad argument #3 to 'reshape' (expected a size >= 0 or -1, got -2)",
                 t.reshape, t, 3, -2)
        H.raises("bad argument #2 to 'view' (expected sizes >= 0 and at most one -1, " ..
                 "got (-1, -1))", t.view, t, -1, -1)
        H.raises("bad argument #1 to 'view' (this tensor's strides do not allow that " ..
                 "shape without a copy; use reshape)", function() return t:t():view(6) end)
    end)
end)

describe("transposes and permutations", function()
    local t = dl.tensor{{1, 2, 3}, {4, 5, 6}}

    it("transpose swaps two 1-based dims as a view", function()
        local tt = t:transpose(1, 2)
        H.close(tt, {{1, 4}, {2, 5}, {3, 6}})
        assert.is_false(tt:is_contiguous())
        H.close(tt:contiguous(), {{1, 4}, {2, 5}, {3, 6}})
        assert.is_true(tt:contiguous():is_contiguous())
        H.close(t:transpose(-1, -2), {{1, 4}, {2, 5}, {3, 6}})
        local c = t:clone()
        c:t()[3][1] = 30
        assert.equal(30, c[1][3])
    end)

    it("t() transposes 2-D and leaves 1-D alone", function()
        H.close(t:t(), {{1, 4}, {2, 5}, {3, 6}})
        H.close(dl.tensor{1, 2}:t(), {1, 2})
        H.raises("bad argument #1 to 't' (expected a tensor with at most 2 dims, " ..
                 "got (1, 2, 3))", dl.t, dl.ones(1, 2, 3))
    end)

    it("permute reorders every dim", function()
        local x = dl.arange(24):reshape(2, 3, 4)
        local p = x:permute(3, 1, 2)
        assert.same({4, 2, 3}, p:shape())
        assert.equal(x[2][3][4], p[4][2][3])
        assert.same({4, 2, 3}, x:permute{3, 1, 2}:shape())
        assert.same({4, 3, 2}, x:permute(-1, -2, -3):shape())
        H.raises("bad argument #2 to 'permute' (expected 3 dims, got 2)",
                 x.permute, x, 1, 2)
        H.raises("bad argument #2 to 'permute' (expected each dim once, got 1 twice)",
                 x.permute, x, 1, 1, 2)
        H.raises("bad argument #4 to 'permute' (expected a dim in 1..3 or -3..-1, got 4)",
                 x.permute, x, 1, 2, 4)
    end)
end)

describe("dims of size 1", function()
    local t = dl.ones(2, 3)

    it("unsqueeze inserts a dim that becomes dim d", function()
        assert.same({1, 2, 3}, t:unsqueeze(1):shape())
        assert.same({2, 1, 3}, t:unsqueeze(2):shape())
        assert.same({2, 3, 1}, t:unsqueeze(3):shape())
        assert.same({2, 3, 1}, t:unsqueeze(-1):shape())
        H.raises("bad argument #2 to 'unsqueeze' (expected a dim in 1..3 or -3..-1, " ..
                 "got 4)", t.unsqueeze, t, 4)
    end)

    it("squeeze drops one or every size-1 dim", function()
        local x = dl.zeros(1, 2, 1, 3)
        assert.same({2, 3}, x:squeeze():shape())
        assert.same({2, 1, 3}, x:squeeze(1):shape())
        assert.same({1, 2, 3}, x:squeeze(3):shape())
        assert.same({1, 2, 1, 3}, x:squeeze(2):shape())
    end)

    it("flatten merges dims", function()
        local x = dl.zeros(2, 3, 4)
        assert.same({24}, x:flatten():shape())
        assert.same({2, 12}, x:flatten(2):shape())
        assert.same({6, 4}, x:flatten(1, 2):shape())
        assert.same({1}, dl.tensor(3):flatten():shape())
        H.raises("bad argument #3 to 'flatten' (expected an end dim >= the start dim 2, " ..
                 "got 1)", x.flatten, x, 2, 1)
    end)

    it("expand stretches size-1 dims without copying", function()
        local col = dl.tensor{{1}, {2}}
        local e = col:expand(2, 3)
        H.close(e, {{1, 1, 1}, {2, 2, 2}})
        H.close(col:expand(-1, 2), {{1, 1}, {2, 2}})
        assert.same({4, 2, 3}, col:expand(4, 2, 3):shape())
        col[1] = 5
        H.close(e, {{5, 5, 5}, {2, 2, 2}})
        H.raises("bad argument #2 to 'expand' (cannot expand shape (2, 1) to (3, 3))",
                 col.expand, col, 3, 3)
        H.raises("bad argument #2 to 'expand' (expected a size for new dim 1, got -1)",
                 col.expand, col, -1, 2, 1)
    end)
end)

describe("narrow and select", function()
    local t
    before_each(function()
        t = dl.tensor{{1, 2, 3}, {4, 5, 6}}
    end)

    it("narrow takes length entries from a 1-based start", function()
        H.close(t:narrow(2, 2, 2), {{2, 3}, {5, 6}})
        H.close(t:narrow(1, 2, 1), {{4, 5, 6}})
        H.close(t:narrow(2, -1, 1), {{3}, {6}})
        assert.same({2, 0}, t:narrow(2, 4, 0):shape())
        t:narrow(2, 1, 2):fill_(0)
        H.close(t, {{0, 0, 3}, {0, 0, 6}})
    end)

    it("select picks a 1-based entry and drops the dim", function()
        H.close(t:select(1, 2), {4, 5, 6})
        H.close(t:select(2, -1), {3, 6})
        t:select(2, 1):fill_(9)
        H.close(t, {{9, 2, 3}, {9, 5, 6}})
    end)

    it("name out-of-range positions", function()
        H.raises("bad argument #4 to 'narrow' (expected a length in 0..2, got 3)",
                 t.narrow, t, 2, 2, 3)
        H.raises("bad argument #3 to 'narrow' (expected a start in 1..3 or -3..-1, got 5)",
                 t.narrow, t, 2, 5, 1)
        H.raises("bad argument #3 to 'select' (expected an index in 1..2 or -2..-1, got 3)",
                 t.select, t, 1, 3)
        H.raises("bad argument #2 to 'select' (expected a dim in 1..2 or -2..-1, got 0)",
                 t.select, t, 0, 1)
    end)
end)

describe("t[i], t[i] = v and #t", function()
    local t
    before_each(function()
        t = dl.tensor{{1, 2, 3}, {4, 5, 6}}
    end)

    it("t[i] is row i as a view", function()
        H.close(t[2], {4, 5, 6})
        H.close(t[-1], {4, 5, 6})
        local row = t[1]
        row[2] = 20
        assert.equal(20, t[1][2])
    end)

    it("t[i] of a 1-D tensor is a number", function()
        local v = dl.tensor{7, 8, 9}
        assert.equal(8, v[2])
        assert.equal(9, v[-1])
        assert.equal("number", type(v[1]))
        assert.equal(6, t[2][3])
    end)

    it("t[i] = v writes a number or a broadcast tensor into the row", function()
        t[1] = 0
        H.close(t, {{0, 0, 0}, {4, 5, 6}})
        t[2] = dl.tensor{7, 8, 9}
        H.close(t, {{0, 0, 0}, {7, 8, 9}})
        t[1] = dl.tensor{1}
        H.close(t, {{1, 1, 1}, {7, 8, 9}})
        local v = dl.zeros(3)
        v[2] = 5
        v[-1] = dl.tensor(6)
        H.close(v, {0, 5, 6})
    end)

    it("#t is the size of dim 1", function()
        assert.equal(2, #t)
        assert.equal(3, #t[1])
        assert.equal(0, #dl.zeros(0, 4))
    end)

    it("name bad indices", function()
        H.raises("bad argument #2 to '__index' (expected an index in 1..2 or -2..-1, " ..
                 "got 3)", function() return t[3] end)
        H.raises("bad argument #2 to '__index' (expected an index in 1..2 or -2..-1, " ..
                 "got 0)", function() return t[0] end)
        H.raises("bad argument #2 to '__index' (expected an integer, got 1.5)",
                 function() return t[1.5] end)
        H.raises("bad argument #2 to '__index' (expected an index or a method name, " ..
                 "got boolean)", function() return t[true] end)
        H.raises("bad argument #2 to '__index' (expected no index (the tensor is 0-d), " ..
                 "got 1)", function() return dl.tensor(1)[1] end)
        H.raises("bad argument #2 to '__newindex' (expected an index in 1..2 or -2..-1, " ..
                 "got 5)", function() t[5] = 1 end)
        H.raises("bad argument #3 to '__newindex' (expected a shape that broadcasts to " ..
                 "the row's (3,), got (4,))", function() t[1] = dl.ones(4) end)
        H.raises("bad argument #3 to '__newindex' (expected a number or a tensor, " ..
                 "got string)", function() t[1] = "x" end)
        H.raises("bad argument #2 to '__newindex' (expected an index, got the field " ..
                 "name 'foo' (tensors have no settable fields))", function() t.foo = 1 end)
        H.raises("bad argument #1 to '__len' (expected a tensor with dims, got a 0-d " ..
                 "tensor)", function() return #dl.tensor(1) end)
    end)

    it("unknown method names read as nil", function()
        assert.is_nil(t.no_such_method)
    end)
end)

describe("index_select", function()
    local t = dl.tensor{{1, 2, 3}, {4, 5, 6}}

    it("picks entries by 1-based positions from a table or a tensor", function()
        H.close(t:index_select(1, {2, 1, 2}), {{4, 5, 6}, {1, 2, 3}, {4, 5, 6}})
        H.close(t:index_select(2, dl.tensor{3, 1}), {{3, 1}, {6, 4}})
        H.close(dl.index_select(t, -1, {2}), {{2}, {5}})
    end)

    it("gathers a batch of rows large enough to be copied by several threads", function()
        local x = dl.arange(0, 3 * 500 * 40):reshape(3, 500, 40)   -- 60,000 floats
        local pick = {}
        for i = 1, 400 do pick[i] = (i * 37) % 500 + 1 end         -- repeats included
        pick[400] = pick[1]
        for _, dim in ipairs{1, 2} do
            local got = dim == 1 and x:reshape(1500, 40):index_select(1, pick)
                                 or x:index_select(2, pick)
            local ok = true
            for i = 1, 400 do
                for _, o in ipairs(dim == 1 and {1} or {1, 2, 3}) do
                    local want = dim == 1 and x:reshape(1500, 40)[pick[i]] or x[o][pick[i]]
                    local row = dim == 1 and got[i] or got[o][i]
                    ok = ok and (row - want):abs():max():item() == 0
                end
            end
            assert.is_true(ok)
        end
    end)

    it("names bad positions", function()
        H.raises("bad argument #3 to 'index_select' (expected positions in 1..2, got 3 " ..
                 "at entry 2)", t.index_select, t, 1, {1, 3})
        H.raises("bad argument #3 to 'index_select' (expected an integer position " ..
                 "at [1], got 1.5)", t.index_select, t, 1, {1.5})
        H.raises("bad argument #3 to 'index_select' (expected a tensor or a table of " ..
                 "positions, got number)", t.index_select, t, 1, 1)
    end)
end)

describe("dl.cat and dl.stack", function()
    local a = dl.tensor{{1, 2}, {3, 4}}
    local b = dl.tensor{{5, 6}}

    it("cat joins along an existing dim, 1 by default", function()
        H.close(dl.cat({a, b}), {{1, 2}, {3, 4}, {5, 6}})
        H.close(dl.cat({a, b:t():expand(2, 2)}, 2), {{1, 2, 5, 5}, {3, 4, 6, 6}})
        H.close(dl.cat({a, a}, -1), {{1, 2, 1, 2}, {3, 4, 3, 4}})
    end)

    it("stack joins along a new dim", function()
        local s = dl.stack({a, a * 10})
        assert.same({2, 2, 2}, s:shape())
        H.close(s[2], {{10, 20}, {30, 40}})
        assert.same({2, 2, 2}, dl.stack({a, a}, 3):shape())
        H.close(dl.stack({a, a * 10}, 3)[1][1], {1, 10})
        H.close(dl.stack({dl.tensor{1, 2}, dl.tensor{3, 4}}, 2), {{1, 3}, {2, 4}})
    end)

    it("name bad lists and shapes", function()
        H.raises("bad argument #1 to 'cat' (expected a non-empty list of tensors, got " ..
                 "an empty one)", dl.cat, {})
        H.raises("bad argument #1 to 'cat' (expected a tensor at [2], got number)",
                 dl.cat, {a, 1})
        H.raises("bad argument #1 to 'stack' (expected a list of tensors, got a tensor)",
                 dl.stack, a)
        H.raises("bad argument #1 to 'cat' (tensor 2 has shape (1, 3), expected one " ..
                 "matching tensor 1's (2, 2) except along the joined dim)",
                 dl.cat, {a, dl.ones(1, 3)})
        H.raises("bad argument #1 to 'stack' (tensor 2 has shape (1, 2), expected one " ..
                 "matching tensor 1's (2, 2))", dl.stack, {a, b})
        H.raises("bad argument #2 to 'stack' (expected a dim in 1..3 or -3..-1, got 4)",
                 dl.stack, {a, a}, 4)
    end)
end)
