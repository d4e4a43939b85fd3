-- Tensors of 5 to 8 dims against PyTorch (tests/oracle/dims.py): creation,
-- broadcasting arithmetic, reductions along each dim, transpose, permute,
-- reshape and backward; a 9th dim is refused naming the limit.
local H = require "tests.lua.helper"
local dl = H.dl

local build = os.getenv("DL_BUILD") or "build"
local reference_path = build .. "/oracle_dims.lua"
assert(os.execute(("/usr/bin/python3 tests/oracle/dims.py %s"):format(reference_path)),
       "tests/oracle/dims.py failed: is python3-torch installed?")
local reference = dofile(reference_path)

local function tensor(spec, opts)
    local t = dl.tensor(spec.data):reshape(spec.shape)
    return opts and t:requires_grad(true) or t
end

-- |got - want| <= 1e-5 (1 + |want|), element by element, same shape.
local function agree(got, spec, what)
    assert.same(spec.shape, got:shape(), what .. ": shapes differ")
    local values = got:reshape(-1):totable()
    for i, want in ipairs(spec.data) do
        assert(math.abs(values[i] - want) <= 1e-5 * (1 + math.abs(want)),
               ("%s: element %d is %.9g, PyTorch has %.9g"):format(what, i, values[i], want))
    end
end

describe("tensors of 5 to 8 dims", function()
    for nd = 5, 8 do
        local case = reference[nd]
        it(nd .. "-D: arithmetic, reductions, views and backward agree with PyTorch", function()
            local x = tensor(case.x, {requires_grad = true})
            local y = tensor(case.y, {requires_grad = true})
            assert.equal(nd, x:dim())
            local z = x * y + x
            agree(z, case.z, "broadcast x * y + x")
            for d = 1, nd do
                agree(x:sum(d), case.sums[d], "sum(" .. d .. ")")
                agree(x:max(d), case.maxes[d], "max(" .. d .. ")")
                agree(x:mean(d, {keepdim = true}), case.means_keep[d], "mean(" .. d .. ", keepdim)")
            end
            agree(x:transpose(2, nd), case.transposed, "transpose(2, " .. nd .. ")")
            local order = {}
            for d = 1, nd do order[d] = nd + 1 - d end
            agree(x:permute(table.unpack(order)), case.permuted, "permute")
            local loss = (z * z):sum() + x:transpose(1, nd):reshape(-1):narrow(1, 1, 5):sum()
            H.close(loss, case.loss, 1e-5)
            loss:backward()
            agree(x.grad, case.grad_x, "x.grad")
            agree(y.grad, case.grad_y, "y.grad")
        end)
    end

    it("batched matmul over broadcast batch dims agrees with PyTorch", function()
        local case = reference.matmul
        local a = tensor(case.a, true)
        local b = tensor(case.b, true)
        local c = a:matmul(b)
        agree(c, case.c, "matmul")
        ;(c * c):sum():backward()
        agree(a.grad, case.grad_a, "a.grad")
        agree(b.grad, case.grad_b, "b.grad")
    end)

    it("creates, prints and indexes 8-D tensors", function()
        local t = dl.arange(1, 257):reshape(2, 2, 2, 2, 2, 2, 2, 2)
        assert.same({2, 2, 2, 2, 2, 2, 2, 2}, dl.zeros(2, 2, 2, 2, 2, 2, 2, 2):shape())
        assert.same({1, 1, 1, 1, 1, 1, 1, 3}, dl.ones{1, 1, 1, 1, 1, 1, 1, 3}:shape())
        assert.equal(256, t[2][2][2][2][2][2][2][2])
        assert.equal(129, t[2][1][1][1][1][1][1][1])
        assert.same({{{{{{{{5}}}}}}}}, dl.tensor{{{{{{{{5}}}}}}}}:totable())
        assert.matches("%[tensor of shape %(2, 2, 2, 2, 2, 2, 2, 2%)%]$", tostring(t))
        H.close(dl.stack({t:sum(1), t:sum(1)}, 8):sum(), 2 * 256 * 257 / 2)
        H.close(t:flatten(3, 6):sum(), 256 * 257 / 2)
    end)

    it("refuses a 9th dim, naming the limit", function()
        local t = dl.zeros(1, 1, 1, 1, 1, 1, 1, 1)
        H.raises("bad argument #9 to 'zeros' (expected at most 8 sizes, got 9)",
                 dl.zeros, 1, 1, 1, 1, 1, 1, 1, 1, 1)
        assert.matches("at most 8", H.err(function() return t:unsqueeze(1) end))
        assert.matches("at most 8", H.err(dl.stack, {t, t}, 1))
        assert.matches("at most 8", H.err(function() return dl.ones(2):reshape(1, 1, 1, 1, 1, 1, 1, 1, 2) end))
        assert.matches("at most 8", H.err(function() return dl.ones(2):expand(1, 1, 1, 1, 1, 1, 1, 1, 2) end))
        assert.matches("at most 8 levels", H.err(dl.tensor, {{{{{{{{{1}}}}}}}}}))
    end)
end)
