-- initializers.lua -- nn.init: filling parameters in place, PyTorch's way.
--
-- Fan-in and fan-out of a weight (out, in, kh, kw) are in*kh*kw and
-- out*kh*kw. Every function returns the tensor it filled and draws from
-- dl's seeded generator, so dl.manual_seed makes initialisation repeatable.
local dl = require "dl"
local raise = require("dl.errors").raise

local init = {}

local function check_tensor(fn, t)
    if not dl.is_tensor(t) then
        raise(("bad argument #1 to '%s' (expected a tensor, got %s)"):format(fn, type(t)))
    end
end

--- (fan_in, fan_out) of a weight tensor of 2 or more dims.
function init.fans(t)
    check_tensor("fans", t)
    if t:dim() < 2 then
        raise(("bad argument #1 to 'fans' (expected a weight of at least 2 dims, got %d)")
              :format(t:dim()))
    end
    local field = t:numel() // (t:size(1) * t:size(2))
    return t:size(2) * field, t:size(1) * field
end

--- The recommended gain for a nonlinearity ("linear", "sigmoid", "tanh",
--- "relu", "leaky_relu" with its slope `param`), as torch.nn.init.calculate_gain.
function init.calculate_gain(nonlinearity, param)
    local gains = {linear = 1, identity = 1, conv2d = 1, sigmoid = 1, tanh = 5 / 3,
                   relu = math.sqrt(2), selu = 3 / 4}
    if nonlinearity == "leaky_relu" then
        local slope = param or 0.01
        return math.sqrt(2 / (1 + slope * slope))
    end
    local gain = gains[nonlinearity]
    if not gain then
        raise(("bad argument #1 to 'calculate_gain' (unknown nonlinearity '%s')"):format(tostring(nonlinearity)))
    end
    return gain
end

-- The numeric option `key` of the options table at argument #2 of `fn`, or
-- `default`.
local function number_option(fn, opts, key, default)
    if opts == nil then return default end
    if type(opts) ~= "table" then
        raise(("bad argument #2 to '%s' (expected an options table, got %s)"):format(fn, type(opts)))
    end
    local value = opts[key]
    if value == nil then return default end
    if type(value) ~= "number" then
        raise(("bad argument #2 to '%s' (expected option '%s' to be a number, got %s)")
              :format(fn, key, type(value)))
    end
    return value
end

local function in_place(t, fill)
    dl.no_grad(fill)
    return t
end

--- Fills t with draws from U(a, b).
function init.uniform(t, a, b)
    check_tensor("uniform", t)
    return in_place(t, function() t:uniform_(a or 0, b or 1) end)
end

--- Fills t with draws from N(mean, std^2).
function init.normal(t, mean, std)
    check_tensor("normal", t)
    return in_place(t, function() t:normal_(mean or 0, std or 1) end)
end

--- Fills t with a value.
function init.constant(t, value)
    check_tensor("constant", t)
    return in_place(t, function() t:fill_(value) end)
end

function init.zeros(t) return init.constant(t, 0) end
function init.ones(t) return init.constant(t, 1) end

--- Glorot: U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out)).
function init.xavier_uniform(t, opts)
    check_tensor("xavier_uniform", t)
    local fan_in, fan_out = init.fans(t)
    local bound = number_option("xavier_uniform", opts, "gain", 1) * math.sqrt(6 / (fan_in + fan_out))
    return init.uniform(t, -bound, bound)
end

--- Glorot: N(0, s^2), s = gain * sqrt(2 / (fan_in + fan_out)).
function init.xavier_normal(t, opts)
    check_tensor("xavier_normal", t)
    local fan_in, fan_out = init.fans(t)
    local gain = number_option("xavier_normal", opts, "gain", 1)
    return init.normal(t, 0, gain * math.sqrt(2 / (fan_in + fan_out)))
end

-- He's standard deviation gain / sqrt(fan) for the options {a, mode, nonlinearity}.
local function kaiming_std(fn, t, opts)
    check_tensor(fn, t)
    local a = number_option(fn, opts, "a", 0)
    opts = opts or {}
    local fan_in, fan_out = init.fans(t)
    local mode = opts.mode or "fan_in"
    if mode ~= "fan_in" and mode ~= "fan_out" then
        raise(("bad argument #2 to '%s' (mode must be \"fan_in\" or \"fan_out\", got %s)")
              :format(fn, tostring(mode)))
    end
    local gain = init.calculate_gain(opts.nonlinearity or "leaky_relu", a)
    return gain / math.sqrt(mode == "fan_in" and fan_in or fan_out)
end

--- He: U(-b, b), b = sqrt(3) * gain / sqrt(fan); PyTorch's Linear and
--- Conv2d default is {a = sqrt(5)}.
function init.kaiming_uniform(t, opts)
    local bound = math.sqrt(3) * kaiming_std("kaiming_uniform", t, opts)
    return init.uniform(t, -bound, bound)
end

--- He: N(0, s^2), s = gain / sqrt(fan).
function init.kaiming_normal(t, opts)
    return init.normal(t, 0, kaiming_std("kaiming_normal", t, opts))
end

return init
