-- The recurrent layers and cells against PyTorch (Debian's python3-torch):
-- tests/oracle/rnn.py writes each case's weights, inputs, initial states,
-- lengths, outputs and gradients; here dl loads PyTorch's weights into its
-- own nn.RNN / LSTM / GRU (or cell) and must agree to 1e-4 relative.
local H = require "tests.lua.helper"
local dl = H.dl
local nn = dl.nn

local function load_reference()
    return H.oracle("tests/oracle/rnn.py", "oracle_rnn.lua")
end

local function tensor(spec)
    return dl.tensor(spec.data):reshape(spec.shape)
end

-- |got - want| <= 1e-4 |want| + 1e-5, element by element.
local function agree(got, spec, what)
    assert(dl.is_tensor(got), what .. ": expected a tensor, got " .. type(got))
    assert.are.same(spec.shape, got:shape(), what .. ": shapes differ")
    local values = got:reshape(-1):totable()
    for i, want in ipairs(spec.data) do
        assert(math.abs(values[i] - want) <= 1e-4 * math.abs(want) + 1e-5,
               ("%s: element %d is %.9g, PyTorch has %.9g"):format(what, i, values[i], want))
    end
end

local function describe_case(case)
    local parts = {}
    for k, v in pairs(case.opts) do parts[#parts + 1] = k .. "=" .. tostring(v) end
    table.sort(parts)
    return ("%s%s %d -> %d {%s} on (%s)%s%s"):format(
        case.kind, case.layer and "" or "Cell", case.args[1], case.args[2], table.concat(parts, ", "),
        table.concat(case.x.shape, ", "), case.h0 and ", initial state" or "",
        case.lengths and ", lengths " .. table.concat(case.lengths, " ") or "")
end

describe("recurrent layers against PyTorch", function()
    local cases = load_reference()
    for _, case in ipairs(cases) do
        it(describe_case(case), function()
            local class = nn[case.kind .. (case.layer and "" or "Cell")]
            local m = class(case.args[1], case.args[2], case.opts)
            local names = {}
            for name, p in pairs(case.params) do
                names[#names + 1] = name
                assert(dl.is_tensor(m[name]), "no parameter " .. name)
                dl.no_grad(function() m[name]:copy_(tensor(p)) end)
            end
            assert.are.equal(#names, #m:parameters(), "parameter count")
            local x = tensor(case.x):requires_grad(true)
            local h0 = case.h0 and tensor(case.h0):requires_grad(true)
            local c0 = case.c0 and tensor(case.c0):requires_grad(true)
            local state = h0
            if case.kind == "LSTM" and h0 then state = {h0, c0} end
            local out, h_n, c_n
            if case.layer then
                local s
                out, s = m(x, state, case.lengths and {lengths = case.lengths} or nil)
                if case.kind == "LSTM" then h_n, c_n = s[1], s[2] else h_n = s end
            else
                h_n, c_n = m(x, state)
            end
            local loss = (h_n * tensor(case.up_h)):sum()
            agree(h_n, case.h_n, "h_n")
            if out then
                agree(out, case.output, "output")
                loss = loss + (out * tensor(case.up_out)):sum()
            end
            if case.c_n then
                agree(c_n, case.c_n, "c_n")
                loss = loss + (c_n * tensor(case.up_c)):sum()
            end
            loss:backward()
            agree(x.grad, case.grads.x, "input gradient")
            if h0 then agree(h0.grad, case.grads.h0, "h0 gradient") end
            if c0 then agree(c0.grad, case.grads.c0, "c0 gradient") end
            for _, name in ipairs(names) do
                agree(m[name].grad, case.grads[name], name .. " gradient")
            end
        end)
    end
end)
