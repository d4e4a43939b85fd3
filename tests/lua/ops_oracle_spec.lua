-- The tensor ops of issue 12 against PyTorch (Debian's python3-torch):
-- tests/oracle/ops.py runs each op with torch on seeded inputs (transposed
-- views, broadcasting, empty tensors, ties, zeros and infinities) and
-- writes its outputs and gradients; here dl runs the same call, and values
-- and gradients must agree to 1e-4 relative (infinities and NaN exactly).
local H = require "tests.lua.helper"
local dl = H.dl

local function load_reference()
    return H.oracle("tests/oracle/ops.py", "oracle_ops.lua")
end

local function tensor(spec)
    if #spec.data == 0 then return dl.zeros(spec.shape) end
    return dl.tensor(spec.data):reshape(spec.shape)
end

local function same_number(got, want, rtol)
    if want ~= want then return got ~= got end
    if want == math.huge or want == -math.huge then return got == want end
    return math.abs(got - want) <= rtol * math.abs(want) + 1e-5
end

local function agree(got, spec, what, rtol)
    assert(dl.is_tensor(got), what .. ": expected a tensor, got " .. type(got))
    assert.are.same(spec.shape, got:shape(), what .. ": shapes differ")
    local values = got:numel() > 0 and got:reshape(-1):totable() or {}
    for i, want in ipairs(spec.data) do
        assert(same_number(values[i], want, rtol or 1e-4),
               ("%s: element %d is %.9g, PyTorch has %.9g"):format(what, i, values[i], want))
    end
end

local reference = load_reference()

describe("oracle: tensor ops against PyTorch", function()
    for i, case in ipairs(reference) do
        it(("%d %s"):format(i, case.name), function()
            local env = setmetatable({dl = dl}, {__index = _G})
            local fn = assert(load(case.call, case.name, "t", env))()
            local transposed, leaves, args = {}, {}, {}
            for _, k in ipairs(case.transposed) do transposed[k] = true end
            for k, spec in ipairs(case.inputs) do
                leaves[k] = tensor(spec)
                if #case.grads > 0 then leaves[k]:requires_grad(true) end
                args[k] = transposed[k] and leaves[k]:transpose(-1, -2) or leaves[k]
            end
            for _, spec in ipairs(case.consts) do
                args[#args + 1] = type(spec) == "table" and tensor(spec) or spec
            end
            local outs = table.pack(fn(table.unpack(args, 1, #case.inputs + #case.consts)))
            assert.equal(#case.outputs, outs.n, case.name .. ": number of results")
            for k, spec in ipairs(case.outputs) do
                agree(outs[k], spec, ("%s result %d"):format(case.name, k))
            end
            if #case.grads > 0 then
                -- ops with no slope anywhere (sign) record nothing: PyTorch's gradient is 0
                if outs[1]:requires_grad() then (outs[1] * tensor(case.upstream)):sum():backward() end
                for k, spec in ipairs(case.grads) do
                    agree(leaves[k].grad or dl.zeros(leaves[k]:shape()), spec,
                          ("%s gradient of input %d"):format(case.name, k))
                end
            end
        end)
    end
end)
