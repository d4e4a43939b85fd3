-- Arithmetic metamethods and methods, broadcasting, comparisons, math,
-- matmul, clamp and softmax.
local H = require "tests.lua.helper"
local dl = H.dl

describe("arithmetic", function()
    local a, row
    before_each(function()
        a = dl.tensor{{1, 2}, {3, 4}}
        row = dl.tensor{10, 20}
    end)

    it("+ - * / ^ broadcast a row over a matrix", function()
        H.close(a + row, {{11, 22}, {13, 24}})
        H.close(a - row, {{-9, -18}, {-7, -16}})
        H.close(a * row, {{10, 40}, {30, 80}})
        H.close(row / a, {{10, 10}, {10 / 3, 5}})
        H.close(a ^ dl.tensor{2, 0.5}, {{1, math.sqrt(2)}, {9, 2}})
    end)

    it("broadcasts a column against a row", function()
        H.close(dl.tensor{{1}, {2}} + dl.tensor{10, 20, 30}, {{11, 21, 31}, {12, 22, 32}})
    end)

    it("takes a number on either side", function()
        H.close(a + 1, {{2, 3}, {4, 5}})
        H.close(1 + a, {{2, 3}, {4, 5}})
        H.close(a - 1, {{0, 1}, {2, 3}})
        H.close(1 - a, {{0, -1}, {-2, -3}})
        H.close(a * 2, {{2, 4}, {6, 8}})
        H.close(2 * a, {{2, 4}, {6, 8}})
        H.close(a / 2, {{0.5, 1}, {1.5, 2}})
        H.close(12 / a, {{12, 6}, {4, 3}})
        H.close(a ^ 2, {{1, 4}, {9, 16}})
        H.close(2 ^ a, {{2, 4}, {8, 16}})
    end)

    it("negates with unary minus", function()
        H.close(-a, {{-1, -2}, {-3, -4}})
    end)

    it("chains without touching the operands", function()
        local y = a * 2 + 1
        H.close(y, {{3, 5}, {7, 9}})
        H.close(a, {{1, 2}, {3, 4}})
    end)

    it("has method and dl.* forms", function()
        H.close(a:add(row), {{11, 22}, {13, 24}})
        H.close(a:sub(1), {{0, 1}, {2, 3}})
        H.close(a:mul(a), {{1, 4}, {9, 16}})
        H.close(a:div(row), {{0.1, 0.1}, {0.3, 0.2}})
        H.close(a:pow(2), {{1, 4}, {9, 16}})
        H.close(dl.add(a, 1), {{2, 3}, {4, 5}})
        H.close(dl.mul(2, a), {{2, 4}, {6, 8}})
        H.close(dl.maximum(a, dl.tensor{2, 3}), {{2, 3}, {3, 4}})
        H.close(dl.minimum(a, 2.5), {{1, 2}, {2.5, 2.5}})
    end)

    it("follows IEEE for division by zero", function()
        H.close(dl.tensor{1, -1, 0} / 0, {math.huge, -math.huge, 0 / 0})
    end)
end)

describe("comparisons", function()
    local a = dl.tensor{{1, 2}, {3, 4}}

    it("give 0/1 tensors", function()
        H.close(a:gt(2), {{0, 0}, {1, 1}})
        H.close(a:ge(2), {{0, 1}, {1, 1}})
        H.close(a:lt(2), {{1, 0}, {0, 0}})
        H.close(a:le(2), {{1, 1}, {0, 0}})
        H.close(a:eq(dl.tensor{1, 4}), {{1, 0}, {0, 1}})
        H.close(a:ne(dl.tensor{1, 4}), {{0, 1}, {1, 0}})
        H.close(dl.gt(3, a), {{1, 1}, {0, 0}})
    end)

    it("leave == as identity (Lua makes it boolean)", function()
        local b = dl.tensor{{1, 2}, {3, 4}}
        assert.is_false(a == b)
        assert.is_true(a == a)
    end)
end)

describe("math", function()
    it("applies elementwise functions", function()
        H.close(dl.tensor{0, 1}:exp(), {1, math.exp(1)})
        H.close(dl.tensor{1, math.exp(2)}:log(), {0, 2})
        H.close(dl.tensor{4, 9}:sqrt(), {2, 3})
        H.close(dl.tensor{-3, 3}:abs(), {3, 3})
        H.close(dl.tensor{0, 1}:tanh(), {0, (math.exp(2) - 1) / (math.exp(2) + 1)})
        H.close(dl.tensor{0, 2}:sigmoid(), {0.5, 1 / (1 + math.exp(-2))})
        H.close(dl.tensor{-1, 0, 2}:relu(), {0, 0, 2})
        H.close(dl.tensor{1, -2}:neg(), {-1, 2})
        H.close(dl.tensor{0, math.pi / 2}:sin(), {0, 1})
        H.close(dl.tensor{0, math.pi}:cos(), {1, -1})
        H.close(dl.tensor{1.5, -1.5}:floor(), {1, -2})
        H.close(dl.tensor{1.2, -1.2}:ceil(), {2, -1})
        H.close(dl.tensor{2.5, 3.5, -0.4}:round(), {2, 4, 0})
        H.close(dl.tensor{-2, 0, 3}:sign(), {-1, 0, 1})
        H.close(dl.exp(dl.zeros(2)), {1, 1})
    end)

    it("gives NaN for log of a negative", function()
        H.close(dl.tensor{-1}:log(), {0 / 0})
    end)

    it("clamps with nil for an open side", function()
        local t = dl.tensor{-2, 0.5, 3}
        H.close(t:clamp(0, 1), {0, 0.5, 1})
        H.close(t:clamp(0), {0, 0.5, 3})
        H.close(t:clamp(nil, 1), {-2, 0.5, 1})
        H.close(t:clamp{min = -1}, {-1, 0.5, 3})
        H.close(t:clamp{max = 0}, {-2, 0, 0})
        H.raises("bad argument #2 to 'clamp' (expected a min, a max or both, got neither)",
                 t.clamp, t)
    end)

    it("softmax rows sum to 1 along the chosen dim", function()
        local e1, e2, e3 = math.exp(1), math.exp(2), math.exp(3)
        local s = e1 + e2 + e3
        H.close(dl.tensor{1, 2, 3}:softmax(1), {e1 / s, e2 / s, e3 / s})
        local m = dl.tensor{{1, 2, 3}, {1, 1, 1}}
        H.close(m:softmax(2), {{e1 / s, e2 / s, e3 / s}, {1 / 3, 1 / 3, 1 / 3}})
        H.close(m:softmax(), {{e1 / s, e2 / s, e3 / s}, {1 / 3, 1 / 3, 1 / 3}})
        H.close(m:softmax(1):sum(1), {1, 1, 1})
        H.close(m:softmax(-1):sum(2), {1, 1})
    end)

    it("is stable for large inputs", function()
        H.close(dl.tensor{1000, 1000}:softmax(1), {0.5, 0.5})
        H.close(dl.tensor{1000, 0}:log_softmax(1), {0, -1000})
    end)

    it("log_softmax is the log of softmax", function()
        local m = dl.tensor{{1, 2, 3}, {0, -1, 4}}
        H.close(m:log_softmax(2), m:softmax(2):log():totable(), 1e-5)
    end)
end)

describe("matmul", function()
    it("multiplies matrices", function()
        local a, b = dl.tensor{{1, 2}, {3, 4}}, dl.tensor{{5, 6}, {7, 8}}
        H.close(a:matmul(b), {{19, 22}, {43, 50}})
        H.close(dl.matmul(a, b), {{19, 22}, {43, 50}})
        H.close(dl.tensor{{1, 2, 3}}:matmul(dl.tensor{{1}, {2}, {3}}), {{14}})
    end)

    it("uses transposed views without changing the result", function()
        local a = dl.tensor{{1, 2, 3}, {4, 5, 6}}
        H.close(a:matmul(a:t()), {{14, 32}, {32, 77}})
        H.close(a:t():matmul(a), {{17, 22, 27}, {22, 29, 36}, {27, 36, 45}})
    end)

    it("takes vectors as torch.matmul does", function()
        local d = dl.tensor{1, 2, 3}:matmul(dl.tensor{4, 5, 6})
        assert.equal(0, d:dim())
        assert.equal(32, d:item())
        H.close(dl.tensor{{1, 2}, {3, 4}}:matmul(dl.tensor{1, 1}), {3, 7})
        H.close(dl.tensor{1, 1}:matmul(dl.tensor{{1, 2}, {3, 4}}), {4, 6})
    end)

    it("multiplies batches", function()
        local a = dl.ones(3, 2, 4)
        local b = dl.ones(3, 4, 5)
        assert.same({3, 2, 5}, a:matmul(b):shape())
        H.close(a:matmul(b):sum(), 3 * 2 * 5 * 4)
    end)

    it("names mismatched shapes", function()
        local msg = H.err(function() return dl.randn(64, 785):matmul(dl.randn(784, 10)) end)
        assert.matches("^bad argument #2 to 'matmul' %(expected", msg)
        assert.matches("%(64, 785%)", msg)
        assert.matches("got %(784, 10%)%)$", msg)
    end)
end)

describe("arithmetic errors", function()
    local t = dl.ones(2, 3)

    it("name the operation and the bad operand", function()
        H.raises("bad argument #2 to 'add' (expected a tensor or a number, got string)",
                 function() return t + "x" end)
        H.raises("bad argument #1 to 'mul' (expected a tensor or a number, got table)",
                 function() return {} * t end)
        H.raises("bad argument #2 to 'sub' (expected a tensor or a number, got boolean)",
                 t.sub, t, true)
        H.raises("bad argument #2 to 'add' (expected a tensor, got number)", dl.add, 1, 2)
        H.raises("bad argument #1 to 'exp' (expected a tensor, got number)", dl.exp, 1)
        H.raises("bad argument #2 to 'matmul' (expected a tensor, got string)",
                 t.matmul, t, "x")
    end)

    it("report shapes that do not broadcast", function()
        H.raises("bad argument #2 to 'add' (expected a shape that broadcasts with " ..
                 "(2, 3), got (4,))", function() return t + dl.ones(4) end)
        H.raises("bad argument #2 to 'eq' (expected a shape that broadcasts with " ..
                 "(2, 3), got (2,))", t.eq, t, dl.ones(2))
    end)
end)
