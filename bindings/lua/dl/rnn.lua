-- rnn.lua -- recurrent layers: nn.RNN, nn.LSTM, nn.GRU and their cells.
--
-- The recurrence is composed from differentiable tensor operations, so the
-- gradients come from autograd. The input-to-hidden products of all time
-- steps of a layer and direction run as one matrix product over T*N rows
-- before the loop; each step then adds only h W_hh^T. Parameters, gate
-- order (LSTM: i, f, g, o; GRU: r, z, n) and initialisation are PyTorch's,
-- so weights copied from PyTorch give PyTorch's outputs.
local dl = require "dl"
local raise = require("dl.errors").raise
local option_names = require "dl.option_names"
local Module = require("dl.module").Module
local F = require "dl.functional"
local init = require "dl.initializers"

local rnn = {}

local function shape_text(shape)
    return "(" .. table.concat(shape, ", ") .. ")"
end

local function check_count(fn, argn, value, what, least)
    least = least or 1
    if type(value) ~= "number" or not math.tointeger(value) or value < least then
        raise(("bad argument #%d to '%s' (expected %s as a whole number >= %d, got %s)")
              :format(argn, fn, what, least, tostring(value)))
    end
    return math.tointeger(value)
end

-- The options table at argument `argn`, its keys checked against `known`
-- (option -> Lua type).
local function options(fn, argn, opts, known)
    option_names.record(fn, known)
    if opts == nil then return {} end
    if type(opts) ~= "table" then
        raise(("bad argument #%d to '%s' (expected an options table, got %s)"):format(argn, fn, type(opts)))
    end
    for key, value in pairs(opts) do
        if not known[key] then
            local names = {}
            for name in pairs(known) do names[#names + 1] = name end
            table.sort(names)
            raise(("bad argument #%d to '%s' (unknown option '%s'; known: %s)")
                  :format(argn, fn, tostring(key), table.concat(names, ", ")))
        end
        if known[key] ~= "any" and type(value) ~= known[key] then
            raise(("bad argument #%d to '%s' (expected option '%s' to be a %s, got %s)")
                  :format(argn, fn, key, known[key], type(value)))
        end
    end
    return opts
end

-- Gates per cell type: the rows of W_ih and W_hh are gates * hidden.
local gate_count = {RNN = 1, LSTM = 4, GRU = 3}

-- One step of each cell type on the input product xw = x W_ih^T + b_ih
-- (N, G*H) and the state; returns the new h (and c for the LSTM).
local steps = {}

function steps.RNN(p, xw, h, _, nonlinearity)
    local pre = xw + F.linear(h, p.w_hh, p.b_hh)
    if nonlinearity == "relu" then return pre:relu() end
    return pre:tanh()
end

function steps.LSTM(p, xw, h, c)
    local gates = xw + F.linear(h, p.w_hh, p.b_hh)
    local hidden = h:size(h:dim())
    local d = gates:dim()
    local i = gates:narrow(d, 1, hidden):sigmoid()
    local f = gates:narrow(d, hidden + 1, hidden):sigmoid()
    local g = gates:narrow(d, 2 * hidden + 1, hidden):tanh()
    local o = gates:narrow(d, 3 * hidden + 1, hidden):sigmoid()
    local c_new = f * c + i * g
    return o * c_new:tanh(), c_new
end

function steps.GRU(p, xw, h)
    local hw = F.linear(h, p.w_hh, p.b_hh)
    local hidden = h:size(h:dim())
    local d = hw:dim()
    local r = (xw:narrow(d, 1, hidden) + hw:narrow(d, 1, hidden)):sigmoid()
    local z = (xw:narrow(d, hidden + 1, hidden) + hw:narrow(d, hidden + 1, hidden)):sigmoid()
    local n = (xw:narrow(d, 2 * hidden + 1, hidden) + r * hw:narrow(d, 2 * hidden + 1, hidden)):tanh()
    return n + z * (h - n)
end

-- Creates the four parameters of one cell (layer) with names suffixed by
-- `suffix` ("" for cells, "_l0", "_l1_reverse", ... for layers), uniform in
-- +-1/sqrt(hidden) as PyTorch draws them.
local function add_parameters(self, suffix, input_size, hidden, gates, bias)
    local bound = 1 / math.sqrt(hidden)
    local function make(name, ...)
        local t = dl.empty(...):requires_grad(true)
        init.uniform(t, -bound, bound)
        self[name .. suffix] = t
    end
    make("weight_ih", gates * hidden, input_size)
    make("weight_hh", gates * hidden, hidden)
    if bias then
        make("bias_ih", gates * hidden)
        make("bias_hh", gates * hidden)
    end
end

local function parameters_of(self, suffix)
    return {w_ih = rawget(self, "weight_ih" .. suffix), w_hh = rawget(self, "weight_hh" .. suffix),
            b_ih = rawget(self, "bias_ih" .. suffix), b_hh = rawget(self, "bias_hh" .. suffix)}
end

local function check_nonlinearity(fn, argn, value)
    value = value or "tanh"
    if value ~= "tanh" and value ~= "relu" then
        raise(("bad argument #%d to '%s' (expected nonlinearity \"tanh\" or \"relu\", got \"%s\")")
              :format(argn, fn, tostring(value)))
    end
    return value
end

-- Raises unless `t` is a tensor of shape `want`; `what` names it.
local function check_state(fn, argn, t, want, what)
    if not dl.is_tensor(t) then
        raise(("bad argument #%d to '%s' (expected %s as a tensor of shape %s, got %s)")
              :format(argn, fn, what, shape_text(want), type(t)))
    end
    local shape = t:shape()
    local same = #shape == #want
    for k = 1, #want do same = same and shape[k] == want[k] end
    if not same then
        raise(("bad argument #%d to '%s' (expected %s of shape %s, got %s)")
              :format(argn, fn, what, shape_text(want), shape_text(shape)))
    end
end

-- Cells ----------------------------------------------------------------------------

local function make_cell(kind)
    local name = kind .. "Cell"
    local Cell = Module:extend(name)
    local known = {bias = "boolean"}
    if kind == "RNN" then known.nonlinearity = "string" end

    --- nn.RNNCell / LSTMCell / GRUCell(input_size, hidden_size, {bias = true,
    --- nonlinearity = "tanh"|"relu" (RNNCell)}): one step of the recurrence.
    function Cell:init(input_size, hidden_size, opts)
        input_size = check_count(name, 1, input_size, "the input size")
        hidden_size = check_count(name, 2, hidden_size, "the hidden size")
        opts = options(name, 3, opts, known)
        rawset(self, "input_size", input_size)
        rawset(self, "hidden_size", hidden_size)
        rawset(self, "nonlinearity", kind == "RNN" and check_nonlinearity(name, 3, opts.nonlinearity) or nil)
        add_parameters(self, "", input_size, hidden_size, gate_count[kind], opts.bias ~= false)
    end

    -- x (N, input) or (input); hx the state (h, or {h, c} for the LSTM) or nil.
    function Cell:forward(x, hx)
        if not dl.is_tensor(x) or (x:dim() ~= 1 and x:dim() ~= 2) then
            raise(("bad argument #1 to '%s' (expected an input tensor of shape (N, %d) or (%d), got %s)")
                  :format(name, self.input_size, self.input_size,
                          dl.is_tensor(x) and shape_text(x:shape()) or type(x)))
        end
        if x:size(x:dim()) ~= self.input_size then
            raise(("bad argument #1 to '%s' (expected input size %d in the last dimension, got shape %s)")
                  :format(name, self.input_size, shape_text(x:shape())))
        end
        local want = x:dim() == 2 and {x:size(1), self.hidden_size} or {self.hidden_size}
        local h, c
        if hx == nil then
            h = dl.zeros(want)
            c = kind == "LSTM" and dl.zeros(want) or nil
        elseif kind == "LSTM" then
            if type(hx) ~= "table" or dl.is_tensor(hx) then
                raise(("bad argument #2 to '%s' (expected the state {h, c}, got %s)"):format(name, type(hx)))
            end
            h, c = hx[1], hx[2]
            check_state(name, 2, h, want, "h")
            check_state(name, 2, c, want, "c")
        else
            h = hx
            check_state(name, 2, h, want, "h")
        end
        local p = parameters_of(self, "")
        return steps[kind](p, F.linear(x, p.w_ih, p.b_ih), h, c, self.nonlinearity)
    end

    function Cell:extra_repr()
        return ("%d -> %d%s"):format(self.input_size, self.hidden_size,
                                    rawget(self, "bias_ih") and "" or ", no bias")
    end

    rnn[name] = Cell
end

-- Layers ---------------------------------------------------------------------------

-- The per-step masks (N, 1) of sequences still running at step t, from
-- `lengths` (a table or 1-D tensor of N counts in 1..T); false where every
-- sequence runs.
local function step_masks(fn, lengths, steps_count, batch)
    local list = dl.is_tensor(lengths) and lengths:totable() or lengths
    if type(list) ~= "table" or #list ~= batch then
        raise(("bad argument #3 to '%s' (expected option 'lengths' to hold %d lengths, one per sequence, got %s)")
              :format(fn, batch, type(list) == "table" and tostring(#list) or type(list)))
    end
    for n = 1, batch do
        local len = list[n]
        if type(len) ~= "number" or not math.tointeger(len) or len < 1 or len > steps_count then
            raise(("bad argument #3 to '%s' (expected lengths in 1..%d, the sequence length, got %s at position %d)")
                  :format(fn, steps_count, tostring(len), n))
        end
    end
    local masks = {}
    for t = 1, steps_count do
        local values, full = {}, true
        for n = 1, batch do
            values[n] = list[n] >= t and 1 or 0
            full = full and values[n] == 1
        end
        masks[t] = not full and dl.tensor(values):reshape(batch, 1)
    end
    return masks
end

-- The tensors of `list` (same shape) stacked along a new first dim. Autograd
-- joins at most 4 tensors at once, so longer lists are joined as a tree.
local function stack_first(list)
    local level = {}
    for k, t in ipairs(list) do level[k] = t:unsqueeze(1) end
    while #level > 1 do
        local next_level = {}
        for k = 1, #level, 4 do
            next_level[#next_level + 1] = dl.cat({table.unpack(level, k, math.min(k + 3, #level))}, 1)
        end
        level = next_level
    end
    return level[1]
end

-- Runs one direction of one layer over x (T, N, I): returns the outputs
-- (T, N, H) and the final state(s).
local function run_direction(kind, p, x, h, c, reverse, masks, nonlinearity)
    local T = x:size(1)
    local xw = F.linear(x, p.w_ih, p.b_ih)   -- one product over all T*N rows
    if kind ~= "GRU" and p.b_hh then   -- b_hh added once, not per step (GRU's n gate needs it apart)
        xw = xw + p.b_hh
        p = {w_hh = p.w_hh}
    end
    local step = steps[kind]
    local outputs = {}
    local first, last, stride = 1, T, 1
    if reverse then first, last, stride = T, 1, -1 end
    for t = first, last, stride do
        local h_new, c_new = step(p, xw:select(1, t), h, c, nonlinearity)
        local mask = masks and masks[t]
        if mask then   -- finished sequences keep their state and output zeros
            h = h + mask * (h_new - h)
            if c then c = c + mask * (c_new - c) end
            outputs[t] = h_new * mask
        else
            h, c = h_new, c_new
            outputs[t] = h_new
        end
    end
    return stack_first(outputs), h, c
end

local function make_layer(kind)
    local Layer = Module:extend(kind)
    local known = {num_layers = "number", bias = "boolean", batch_first = "boolean",
                   dropout = "number", bidirectional = "boolean"}
    if kind == "RNN" then known.nonlinearity = "string" end

    --- nn.RNN / LSTM / GRU(input_size, hidden_size, {num_layers = 1, bias = true,
    --- batch_first = false, dropout = 0, bidirectional = false,
    --- nonlinearity = "tanh"|"relu" (RNN)}).
    function Layer:init(input_size, hidden_size, opts)
        input_size = check_count(kind, 1, input_size, "the input size")
        hidden_size = check_count(kind, 2, hidden_size, "the hidden size")
        opts = options(kind, 3, opts, known)
        local layers = check_count(kind, 3, opts.num_layers or 1, "option 'num_layers'")
        local dropout = opts.dropout or 0
        if dropout < 0 or dropout > 1 then
            raise(("bad argument #3 to '%s' (expected option 'dropout' in [0, 1], got %s)")
                  :format(kind, tostring(dropout)))
        end
        rawset(self, "input_size", input_size)
        rawset(self, "hidden_size", hidden_size)
        rawset(self, "num_layers", layers)
        rawset(self, "batch_first", opts.batch_first == true)
        rawset(self, "bidirectional", opts.bidirectional == true)
        rawset(self, "dropout", dropout)
        rawset(self, "nonlinearity", kind == "RNN" and check_nonlinearity(kind, 3, opts.nonlinearity) or nil)
        local directions = self.bidirectional and 2 or 1
        for l = 0, layers - 1 do
            for d = 1, directions do
                local suffix = "_l" .. l .. (d == 2 and "_reverse" or "")
                add_parameters(self, suffix, l == 0 and input_size or hidden_size * directions,
                               hidden_size, gate_count[kind], opts.bias ~= false)
            end
        end
    end

    -- The initial state(s) (L*D, N, H) from hx (nil, a tensor, or {h, c}).
    local function initial_state(self, hx, want)
        if hx == nil then
            return dl.zeros(want), kind == "LSTM" and dl.zeros(want) or nil
        end
        if kind == "LSTM" then
            if type(hx) ~= "table" or dl.is_tensor(hx) then
                raise(("bad argument #2 to 'LSTM' (expected the state {h0, c0}, got %s)")
                      :format(dl.is_tensor(hx) and "a tensor" or type(hx)))
            end
            check_state(kind, 2, hx[1], want, "h0")
            check_state(kind, 2, hx[2], want, "c0")
            return hx[1], hx[2]
        end
        check_state(kind, 2, hx, want, "h0")
        return hx
    end

    --- layer(x, hx, {lengths = }) -> output, h_n (LSTM: output, {h_n, c_n}).
    --- x is (T, N, input) ((N, T, input) with batch_first) or unbatched (T, input).
    function Layer:forward(x, hx, opts)
        if opts == nil and type(hx) == "table" and not dl.is_tensor(hx) and hx.lengths ~= nil
           and hx[1] == nil then
            hx, opts = nil, hx   -- layer(x, {lengths = ...})
        end
        opts = options(kind, 3, opts, {lengths = "any"})
        local input = self.input_size
        if not dl.is_tensor(x) or (x:dim() ~= 2 and x:dim() ~= 3) then
            raise(("bad argument #1 to '%s' (expected an input tensor of shape %s or (T, %d), got %s)")
                  :format(kind, self.batch_first and ("(N, T, %d)"):format(input) or ("(T, N, %d)"):format(input),
                          input, dl.is_tensor(x) and shape_text(x:shape()) or type(x)))
        end
        if x:size(x:dim()) ~= input then
            raise(("bad argument #1 to '%s' (expected input size %d in the last dimension, got shape %s)")
                  :format(kind, input, shape_text(x:shape())))
        end
        local unbatched = x:dim() == 2
        if unbatched then
            x = x:unsqueeze(2)
        elseif self.batch_first then
            x = x:transpose(1, 2)   -- (T, N, I) view; F.linear reads it strided
        end
        local T, N, H = x:size(1), x:size(2), self.hidden_size
        local directions = self.bidirectional and 2 or 1
        local want = unbatched and {self.num_layers * directions, H} or {self.num_layers * directions, N, H}
        local h0, c0 = initial_state(self, hx, want)
        if unbatched then
            h0 = h0:unsqueeze(2)
            c0 = c0 and c0:unsqueeze(2)
        end
        local masks = opts.lengths ~= nil and step_masks(kind, opts.lengths, T, N) or nil
        local h_n, c_n = {}, {}
        local layer_input = x
        for l = 0, self.num_layers - 1 do
            if l > 0 and self.dropout > 0 then
                layer_input = F.dropout(layer_input, self.dropout, self.training)
            end
            local outs = {}
            for d = 1, directions do
                local k = l * directions + d
                local p = parameters_of(self, "_l" .. l .. (d == 2 and "_reverse" or ""))
                local out, h, c = run_direction(kind, p, layer_input, h0:select(1, k),
                                                c0 and c0:select(1, k), d == 2, masks, self.nonlinearity)
                outs[d], h_n[k], c_n[k] = out, h, c
            end
            layer_input = directions == 2 and dl.cat(outs, 3) or outs[1]
        end
        local output = layer_input
        local h = stack_first(h_n)
        local c = kind == "LSTM" and stack_first(c_n) or nil
        if unbatched then
            output, h, c = output:squeeze(2), h:squeeze(2), c and c:squeeze(2)
        elseif self.batch_first then
            output = output:transpose(1, 2)
        end
        if kind == "LSTM" then return output, {h, c} end
        return output, h
    end

    function Layer:extra_repr()
        local parts = {("%d -> %d"):format(self.input_size, self.hidden_size)}
        if self.num_layers > 1 then parts[#parts + 1] = "num_layers=" .. self.num_layers end
        if self.bidirectional then parts[#parts + 1] = "bidirectional" end
        if self.batch_first then parts[#parts + 1] = "batch_first" end
        if self.dropout > 0 then parts[#parts + 1] = ("dropout=%g"):format(self.dropout) end
        return table.concat(parts, ", ")
    end

    rnn[kind] = Layer
end

for _, kind in ipairs{"RNN", "LSTM", "GRU"} do
    make_cell(kind)
    make_layer(kind)
end

return rnn
