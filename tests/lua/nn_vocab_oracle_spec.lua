-- The newer layers and losses against PyTorch (Debian's python3-torch):
-- tests/oracle/nn_vocab.py writes PyTorch's inputs, weights, outputs and
-- gradients; here dl rebuilds each case from those numbers and must agree
-- to 1e-4 relative. Inputs marked `swapped` arrive non-contiguous.
local H = require "tests.lua.helper"
local dl = H.dl
local nn = dl.nn

local function load_reference()
    return H.oracle("tests/oracle/nn_vocab.py", "oracle_nn_vocab.lua")
end

local function tensor(spec)
    return dl.tensor(spec.data):reshape(spec.shape)
end

-- A case's argument: a tensor, transposed back to a non-contiguous view
-- when it was written swapped, or a plain value.
local function argument(spec)
    if spec.value then return spec.value end
    local t = tensor(spec.tensor)
    return spec.swapped and t:transpose(1, -1) or t
end

-- Options with tensor specs turned into tensors.
local function options(opts)
    local out = {}
    for k, v in pairs(opts) do
        out[k] = type(v) == "table" and v.shape and tensor(v) or v
    end
    return out
end

-- |got - want| <= 1e-4 |want| + 1e-5, element by element; nan matches nan.
local function agree(got, spec, what)
    assert(dl.is_tensor(got), what .. ": expected a tensor, got " .. type(got))
    assert.are.same(spec.shape, got:shape(), what .. ": shapes differ")
    local values = got:reshape(-1):totable()
    for i, want in ipairs(spec.data) do
        local ok = (want ~= want and values[i] ~= values[i])
                   or math.abs(values[i] - want) <= 1e-4 * math.abs(want) + 1e-5
        assert(ok, ("%s: element %d is %.9g, PyTorch has %.9g"):format(what, i, values[i], want))
    end
end

local function describe_case(case)
    local parts = {}
    for k, v in pairs(case.opts) do
        parts[#parts + 1] = k .. "=" .. (type(v) == "table" and "tensor" or tostring(v))
    end
    table.sort(parts)
    local input = case.input or case.args[1]
    return ("%s {%s}%s"):format(case.name, table.concat(parts, ", "),
                                input.swapped and " (non-contiguous)" or "")
end

local reference = load_reference()

describe("nn vocabulary matches PyTorch", function()
    for _, case in ipairs(reference) do
        if case.kind == "fn" then
            it(describe_case(case), function()
                local args = {}
                for i, spec in ipairs(case.args) do
                    args[i] = argument(spec)
                    if case.grad[i] then args[i]:requires_grad(true) end
                end
                args[#args + 1] = options(case.opts)
                local out = (nn[case.name] or nn.functional[case.name])(table.unpack(args))
                agree(out, case.output, "output")
                if out.requires_grad then
                    (out * tensor(case.upstream)):sum():backward()
                end
                for i in ipairs(case.args) do
                    if case.grad[i] then
                        local g = args[i].grad or dl.zeros(table.unpack(args[i]:shape()))
                        agree(g, case.grads["g" .. i], "gradient of argument " .. i)
                    end
                end
            end)
        elseif case.kind == "layer" then
            it(describe_case(case), function()
                local pos = {}
                for i, v in ipairs(case.pos) do pos[i] = v end
                pos[#pos + 1] = options(case.opts)
                local layer = nn[case.name](table.unpack(pos))
                for name, spec in pairs(case.params) do
                    dl.no_grad(function() layer[name]:copy_(tensor(spec)) end)
                end
                for name, spec in pairs(case.buffers) do
                    if layer[name] then layer[name]:copy_(tensor(spec)) end
                end
                layer:train(case.train)
                local x = argument(case.input):requires_grad(true)
                local y = layer(x)
                agree(y, case.output, "output")
                local loss = (y * tensor(case.upstream)):sum()
                loss:backward()
                agree(x.grad, case.grads.input, "input gradient")
                for name, spec in pairs(case.grads) do
                    if name ~= "input" then agree(layer[name].grad, spec, name .. " gradient") end
                end
                for name, spec in pairs(case.buffers_after) do
                    if layer[name] then agree(layer[name], spec, name .. " after the step") end
                end
            end)
        end
    end
end)
