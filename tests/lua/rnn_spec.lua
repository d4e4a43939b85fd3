-- The recurrent layers' behaviour beyond the PyTorch oracle (rnn_oracle_spec):
-- parameter names and order, the initialisation bound, dropout between layers,
-- what lengths do, finite-difference gradients, saving, and bad input.
local H = require "tests.lua.helper"
local dl = H.dl
local nn = dl.nn

local function max_diff(a, b)
    return (a - b):abs():max():item()
end

describe("recurrent layers", function()
    it("name and order their parameters as PyTorch's state_dict", function()
        local m = nn.LSTM(3, 4, {num_layers = 2, bidirectional = true})
        local names = {}
        for _, pair in ipairs(m:named_parameters()) do names[#names + 1] = pair[1] end
        local want = {}
        for _, suffix in ipairs{"_l0", "_l0_reverse", "_l1", "_l1_reverse"} do
            for _, name in ipairs{"weight_ih", "weight_hh", "bias_ih", "bias_hh"} do
                want[#want + 1] = name .. suffix
            end
        end
        assert.are.same(want, names)
        assert.are.same({16, 3}, m.weight_ih_l0:shape())
        assert.are.same({16, 8}, m.weight_ih_l1_reverse:shape())
        assert.are.same({12, 4}, nn.GRUCell(5, 4).weight_hh:shape())
        assert.is_nil(nn.RNN(3, 4, {bias = false}).bias_ih_l0)
    end)

    it("draw their parameters uniformly in +-1/sqrt(hidden)", function()
        dl.manual_seed(3)
        local m = nn.GRU(50, 25)
        local w = m.weight_hh_l0
        assert.is_true(w:abs():max():item() <= 0.2)
        assert.is_true(w:abs():max():item() > 0.19)
        assert.is_true(math.abs(w:mean():item()) < 0.01)
    end)

    it("apply dropout between layers only while training", function()
        dl.manual_seed(1)
        local m = nn.LSTM(4, 6, {num_layers = 2, dropout = 0.5})
        local x = dl.randn(5, 3, 4)
        local a = m(x)
        local b = m(x)
        assert.is_true(max_diff(a, b) > 1e-4)
        m:eval()
        assert.are.equal(0, max_diff(m(x), m(x)))
        -- one layer: nothing to drop between, so training equals eval
        local single = nn.GRU(4, 6, {dropout = 0.5})
        local y_train = single(x)
        single:eval()
        assert.are.equal(0, max_diff(y_train, single(x)))
    end)

    it("stop each sequence at its length: zero outputs after it, its own last state", function()
        dl.manual_seed(2)
        local m = nn.GRU(3, 5, {batch_first = true})
        local x = dl.randn(2, 6, 3)
        local out, h = m(x, nil, {lengths = {6, 3}})
        local short_out, short_h = m(x[2]:narrow(1, 1, 3):unsqueeze(1))
        assert.is_true(max_diff(out[2]:narrow(1, 1, 3), short_out[1]) < 1e-6)
        assert.are.equal(0, out[2]:narrow(1, 4, 3):abs():max():item())
        assert.is_true(max_diff(h:select(2, 2), short_h:select(2, 1)) < 1e-6)
        -- lengths as a tensor and without a state argument
        local out2 = m(x, {lengths = dl.tensor{6, 3}})
        assert.are.equal(0, max_diff(out, out2))
    end)

    it("run reversed sequences from their own last step", function()
        dl.manual_seed(4)
        local m = nn.LSTM(3, 4, {bidirectional = true})
        local x = dl.randn(5, 2, 3)
        local out, state = m(x, nil, {lengths = {5, 2}})
        local alone, alone_state = m(x:narrow(1, 1, 2):narrow(2, 2, 1))
        assert.is_true(max_diff(out:narrow(1, 1, 2):narrow(2, 2, 1), alone) < 1e-6)
        assert.is_true(max_diff(state[2]:narrow(2, 2, 1), alone_state[2]) < 1e-6)
    end)

    it("take unbatched input (T, input) and give unbatched states", function()
        local m = nn.LSTM(3, 4, {num_layers = 2})
        local out, state = m(dl.randn(7, 3))
        assert.are.same({7, 4}, out:shape())
        assert.are.same({2, 4}, state[1]:shape())
        assert.are.same({2, 4}, state[2]:shape())
    end)

    it("have gradients that agree with finite differences", function()
        dl.manual_seed(5)
        for _, kind in ipairs{"RNN", "LSTM", "GRU"} do
            local m = nn[kind](2, 3, {bidirectional = true})
            local x = dl.randn(4, 2, 2):requires_grad(true)
            local up = dl.randn(4, 2, 6)
            local function loss()
                local out = m(x, nil, {lengths = {4, 3}})
                return (out * up):sum()
            end
            loss():backward()
            local w = m.weight_hh_l0_reverse
            local analytic = {x = x.grad:reshape(-1):totable(), w = w.grad:reshape(-1):totable()}
            for name, t in pairs{x = x, w = w} do
                local values = t:detach():reshape(-1):totable()
                local function set(i, v)
                    local copy = {table.unpack(values)}
                    copy[i] = v
                    dl.no_grad(function() t:copy_(dl.tensor(copy):reshape(t:shape())) end)
                end
                for i = 1, t:numel(), 3 do
                    local v, eps = values[i], 1e-2
                    set(i, v + eps)
                    local up_loss = dl.no_grad(loss):item()
                    set(i, v - eps)
                    local down_loss = dl.no_grad(loss):item()
                    set(i, v)
                    local numeric = (up_loss - down_loss) / (2 * eps)
                    assert(math.abs(numeric - analytic[name][i]) < 2e-2 * (1 + math.abs(numeric)),
                           ("%s d%s[%d]: finite differences %.5f, backward %.5f")
                           :format(kind, name, i, numeric, analytic[name][i]))
                end
            end
        end
    end)

    it("save and load through nn.load", function()
        local m = nn.LSTM(3, 4, {num_layers = 2, batch_first = true})
        local path = os.tmpname()
        m:save(path)
        local back = nn.load(path)
        os.remove(path)
        local x = dl.randn(2, 5, 3)
        assert.are.equal(0, max_diff(m(x), back(x)))
    end)

    it("accumulate the gradient of many slices of one tensor", function()
        local x = dl.randn(6, 3):requires_grad(true)
        local loss = x:sum()
        for t = 1, 6 do loss = loss + x:select(1, t):sum() * t + x:narrow(1, t, 1):sum() end
        loss:backward()
        for t = 1, 6 do
            assert.is_true(max_diff(x.grad[t], dl.full({3}, 2 + t)) < 1e-6)
        end
    end)
end)

describe("recurrent cells", function()
    it("step like a one-step layer", function()
        dl.manual_seed(6)
        for _, kind in ipairs{"RNN", "LSTM", "GRU"} do
            local layer = nn[kind](3, 4)
            local cell = nn[kind .. "Cell"](3, 4)
            for _, name in ipairs{"weight_ih", "weight_hh", "bias_ih", "bias_hh"} do
                dl.no_grad(function() cell[name]:copy_(layer[name .. "_l0"]) end)
            end
            local x = dl.randn(2, 3)
            local _, state = layer(x:unsqueeze(1))
            local h = cell(x)
            local want = kind == "LSTM" and state[1] or state
            assert.is_true(max_diff(h, want[1]) < 1e-6)
        end
    end)
end)

describe("recurrent layers refuse bad input", function()
    it("names the argument and the shapes", function()
        local m = nn.LSTM(5, 7, {num_layers = 2})
        H.raises("bad argument #1 to 'LSTM' (expected input size 5 in the last dimension, got shape (4, 3, 6))",
                 m, dl.randn(4, 3, 6))
        H.raises("bad argument #1 to 'LSTM' (expected an input tensor of shape (T, N, 5) or (T, 5), got (5))",
                 m, dl.randn(5))
        H.raises("bad argument #2 to 'LSTM' (expected h0 of shape (2, 3, 7), got (1, 3, 7))",
                 m, dl.randn(4, 3, 5), {dl.zeros(1, 3, 7), dl.zeros(2, 3, 7)})
        H.raises("bad argument #2 to 'LSTM' (expected the state {h0, c0}, got a tensor)",
                 m, dl.randn(4, 3, 5), dl.zeros(2, 3, 7))
        local g = nn.GRU(5, 7, {batch_first = true})
        H.raises("bad argument #2 to 'GRU' (expected h0 of shape (1, 2, 7), got (1, 3, 7))",
                 g, dl.randn(2, 4, 5), dl.zeros(1, 3, 7))
        H.raises("bad argument #3 to 'GRU' (expected lengths in 1..4, the sequence length, got 5 at position 2)",
                 g, dl.randn(2, 4, 5), nil, {lengths = {1, 5}})
        H.raises("bad argument #3 to 'GRU' (expected lengths in 1..4, the sequence length, got 0 at position 1)",
                 g, dl.randn(2, 4, 5), nil, {lengths = {0, 4}})
        H.raises("bad argument #3 to 'GRU' (expected option 'lengths' to hold 2 lengths, one per sequence, got 3)",
                 g, dl.randn(2, 4, 5), nil, {lengths = {1, 2, 3}})
        H.raises("bad argument #2 to 'GRUCell' (expected h of shape (3, 4), got (4))",
                 nn.GRUCell(2, 4), dl.randn(3, 2), dl.zeros(4))
        H.raises("bad argument #1 to 'RNNCell' (expected input size 2 in the last dimension, got shape (3, 5))",
                 nn.RNNCell(2, 4), dl.randn(3, 5))
    end)

    it("checks the constructor's arguments", function()
        H.raises("bad argument #2 to 'GRU' (expected the hidden size as a whole number >= 1, got 0)",
                 nn.GRU, 3, 0)
        H.raises("bad argument #3 to 'RNN' (expected nonlinearity \"tanh\" or \"relu\", got \"gelu\")",
                 nn.RNN, 3, 4, {nonlinearity = "gelu"})
        H.raises("bad argument #3 to 'LSTM' (expected option 'dropout' in [0, 1], got 2)",
                 nn.LSTM, 3, 4, {dropout = 2})
        local msg = H.err(nn.LSTM, 3, 4, {layers = 2})
        assert.truthy(msg:find("unknown option 'layers'", 1, true))
    end)
end)
