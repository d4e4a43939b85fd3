-- layers.lua -- the built-in layers. Each holds its parameters as tensors
-- requiring grad and calls one C operation (nn.functional) in forward.
-- Initialisation follows PyTorch's default for each layer.
local dl = require "dl"
local raise = require("dl.errors").raise
local base = require "dl.module"
local F = require "dl.functional"
local init = require "dl.initializers"

local Module = base.Module
local layers = {}

-- Argument checks in the style of the rest of dl. A count is a whole
-- number >= `least` (1 unless given).
local function check_count(fn, argn, value, what, least)
    least = least or 1
    if type(value) ~= "number" or not math.tointeger(value) then
        raise(("bad argument #%d to '%s' (expected %s as a whole number, got %s)")
              :format(argn, fn, what, type(value) == "number" and tostring(value) or type(value)))
    end
    if value < least then
        raise(("bad argument #%d to '%s' (expected %s >= %d, got %s)"):format(argn, fn, what, least, value))
    end
    return math.tointeger(value)
end

-- The options table at argument `argn`; `known` maps each option to the
-- Lua type it takes ("size": a count or {h, w}, checked where it is read).
local function options(fn, argn, opts, known)
    if opts == nil then return {} end
    if type(opts) ~= "table" then
        raise(("bad argument #%d to '%s' (expected an options table, got %s)"):format(argn, fn, type(opts)))
    end
    for key, value in pairs(opts) do
        if not known[key] then
            local names = {}
            for name in pairs(known) do names[#names + 1] = name end
            table.sort(names)
            raise(("bad argument #%d to '%s' (unknown option '%s'; %s)")
                  :format(argn, fn, tostring(key), #names == 0 and "it takes no options"
                          or "known: " .. table.concat(names, ", ")))
        end
        if known[key] ~= "size" and type(value) ~= known[key] then
            raise(("bad argument #%d to '%s' (expected option '%s' to be a %s, got %s)")
                  :format(argn, fn, key, known[key], type(value)))
        end
    end
    return opts
end

-- A pair (h, w) from a number or a table of two numbers.
local function pair(fn, argn, value, what)
    if type(value) == "table" then
        return {check_count(fn, argn, value[1], what), check_count(fn, argn, value[2], what)}
    end
    local n = check_count(fn, argn, value, what)
    return {n, n}
end

-- A pair of sizes that may be 0 (padding), 0 when absent.
local function pair_or_zero(fn, argn, value, what)
    if value == nil then return {0, 0} end
    if type(value) == "table" then
        return {check_count(fn, argn, value[1], what, 0), check_count(fn, argn, value[2], what, 0)}
    end
    local n = check_count(fn, argn, value, what, 0)
    return {n, n}
end

-- Raises unless the input x of layer `fn`'s forward is a tensor.
local function check_input(fn, x)
    if not dl.is_tensor(x) then
        raise(("bad argument #1 to '%s' (expected a tensor, got %s)"):format(fn, type(x)))
    end
end

local function shape_text(x)
    return "(" .. table.concat(x:shape(), ", ") .. ")"
end

-- A new parameter tensor make(sizes...) (dl.empty, dl.ones, ...) of layer
-- `fn`; sizes too large to allocate are reported as the layer's error.
local function parameter(fn, make, ...)
    local ok, t = pcall(make, ...)
    if not ok then
        raise(("bad argument #1 to '%s' (cannot make a parameter of %s floats: %s)")
              :format(fn, table.concat({...}, " x "), tostring(t):match("%((.*)%)") or tostring(t)))
    end
    return t:requires_grad(true)
end

-- Linear ------------------------------------------------------------------------

local Linear = Module:extend("Linear")

--- nn.Linear(in, out, {bias = true}): y = x W^T + b with W (out, in).
function Linear:init(in_features, out_features, opts)
    in_features = check_count("Linear", 1, in_features, "the input size")
    out_features = check_count("Linear", 2, out_features, "the output size")
    opts = options("Linear", 3, opts, {bias = "boolean"})
    rawset(self, "in_features", in_features)
    rawset(self, "out_features", out_features)
    self.weight = parameter("Linear", dl.empty, out_features, in_features)
    init.kaiming_uniform(self.weight, {a = math.sqrt(5)})
    if opts.bias ~= false then
        self.bias = parameter("Linear", dl.empty, out_features)
        local bound = 1 / math.sqrt(in_features)
        init.uniform(self.bias, -bound, bound)
    end
end

function Linear:forward(x)
    return F.linear(x, self.weight, self.bias)
end

function Linear:extra_repr()
    return ("%d -> %d%s"):format(self.in_features, self.out_features, self.bias and "" or ", no bias")
end

layers.Linear = Linear

-- Conv2d ------------------------------------------------------------------------

local Conv2d = Module:extend("Conv2d")

--- nn.Conv2d(in, out, k, {stride = 1, padding = 0, bias = true}); k, stride
--- and padding are a number or {h, w}.
function Conv2d:init(in_channels, out_channels, kernel_size, opts)
    in_channels = check_count("Conv2d", 1, in_channels, "the input channels")
    out_channels = check_count("Conv2d", 2, out_channels, "the output channels")
    local kernel = pair("Conv2d", 3, kernel_size, "the kernel size")
    opts = options("Conv2d", 4, opts, {stride = "size", padding = "size", bias = "boolean"})
    rawset(self, "in_channels", in_channels)
    rawset(self, "out_channels", out_channels)
    rawset(self, "kernel_size", kernel)
    rawset(self, "stride", pair("Conv2d", 4, opts.stride or 1, "the stride"))
    rawset(self, "padding", pair_or_zero("Conv2d", 4, opts.padding, "the padding"))
    self.weight = parameter("Conv2d", dl.empty, out_channels, in_channels, kernel[1], kernel[2])
    init.kaiming_uniform(self.weight, {a = math.sqrt(5)})
    if opts.bias ~= false then
        self.bias = parameter("Conv2d", dl.empty, out_channels)
        local bound = 1 / math.sqrt(in_channels * kernel[1] * kernel[2])
        init.uniform(self.bias, -bound, bound)
    end
end

function Conv2d:forward(x)
    return F.conv2d(x, self.weight, self.bias, {stride = self.stride, padding = self.padding})
end

function Conv2d:extra_repr()
    return ("%d -> %d, kernel %dx%d, stride %d, padding %d"):format(self.in_channels,
        self.out_channels, self.kernel_size[1], self.kernel_size[2], self.stride[1], self.padding[1])
end

layers.Conv2d = Conv2d

-- Pooling -----------------------------------------------------------------------

local function pooling(name, functional)
    local Pool = Module:extend(name)
    --- nn.MaxPool2d(k, {stride = k, padding = 0}) / nn.AvgPool2d(k, ...)
    function Pool:init(kernel_size, opts)
        opts = options(name, 2, opts, {stride = "size", padding = "size"})
        rawset(self, "kernel_size", pair(name, 1, kernel_size, "the kernel size"))
        rawset(self, "stride", opts.stride and pair(name, 2, opts.stride, "the stride") or self.kernel_size)
        rawset(self, "padding", pair_or_zero(name, 2, opts.padding, "the padding"))
    end
    function Pool:forward(x)
        return functional(x, self.kernel_size, {stride = self.stride, padding = self.padding})
    end
    function Pool:extra_repr()
        return ("kernel %dx%d, stride %d"):format(self.kernel_size[1], self.kernel_size[2], self.stride[1])
    end
    return Pool
end

layers.MaxPool2d = pooling("MaxPool2d", F.max_pool2d)
layers.AvgPool2d = pooling("AvgPool2d", F.avg_pool2d)

-- Flatten, Dropout ----------------------------------------------------------------

local Flatten = Module:extend("Flatten")

--- nn.Flatten({start_dim = 2, end_dim = -1}): keeps the batch dim.
function Flatten:init(opts)
    opts = options("Flatten", 1, opts, {start_dim = "number", end_dim = "number"})
    rawset(self, "start_dim", opts.start_dim or 2)
    rawset(self, "end_dim", opts.end_dim or -1)
end

function Flatten:forward(x)
    check_input("Flatten", x)
    return x:flatten(self.start_dim, self.end_dim)
end

layers.Flatten = Flatten

local Dropout = Module:extend("Dropout")

--- nn.Dropout(p = 0.5): zeroes a share p of the inputs while training.
function Dropout:init(p, opts)
    options("Dropout", 2, opts, {})
    p = p or 0.5
    if type(p) ~= "number" or p < 0 or p > 1 then
        raise(("bad argument #1 to 'Dropout' (expected a probability in [0, 1], got %s)"):format(tostring(p)))
    end
    rawset(self, "p", p)
end

function Dropout:forward(x)
    return F.dropout(x, self.p, self.training)
end

function Dropout:extra_repr()
    return ("p=%g"):format(self.p)
end

layers.Dropout = Dropout

-- Normalisation ---------------------------------------------------------------------

local function batch_norm(name, dims)
    local BatchNorm = Module:extend(name)
    --- nn.BatchNorm1d(n) / nn.BatchNorm2d(c), {eps = 1e-5, momentum = 0.1, affine = true}
    function BatchNorm:init(features, opts)
        features = check_count(name, 1, features, "the number of features")
        opts = options(name, 2, opts, {eps = "number", momentum = "number", affine = "boolean"})
        rawset(self, "num_features", features)
        rawset(self, "eps", opts.eps or 1e-5)
        rawset(self, "momentum", opts.momentum or 0.1)
        if opts.affine ~= false then
            self.weight = parameter(name, dl.ones, features)
            self.bias = parameter(name, dl.zeros, features)
        end
        self.running_mean = dl.zeros(features)
        self.running_var = dl.ones(features)
    end
    function BatchNorm:forward(x)
        check_input(name, x)
        if x:dim() ~= dims then
            raise(("bad argument #1 to '%s' (expected a %d-D input, got shape %s)")
                  :format(name, dims, shape_text(x)))
        end
        if x:size(2) ~= self.num_features then
            raise(("bad argument #1 to '%s' (expected %d %s in dim 2, got shape %s)")
                  :format(name, self.num_features, dims == 2 and "features" or "channels",
                          shape_text(x)))
        end
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            {training = self.training, momentum = self.momentum, eps = self.eps})
    end
    function BatchNorm:extra_repr()
        return tostring(self.num_features)
    end
    return BatchNorm
end

layers.BatchNorm1d = batch_norm("BatchNorm1d", 2)
layers.BatchNorm2d = batch_norm("BatchNorm2d", 4)

local LayerNorm = Module:extend("LayerNorm")

--- nn.LayerNorm(d, {eps = 1e-5, affine = true}): normalises the last dim.
function LayerNorm:init(features, opts)
    features = check_count("LayerNorm", 1, features, "the normalised size")
    opts = options("LayerNorm", 2, opts, {eps = "number", affine = "boolean"})
    rawset(self, "normalized_shape", features)
    rawset(self, "eps", opts.eps or 1e-5)
    if opts.affine ~= false then
        self.weight = parameter("LayerNorm", dl.ones, features)
        self.bias = parameter("LayerNorm", dl.zeros, features)
    end
end

function LayerNorm:forward(x)
    check_input("LayerNorm", x)
    if x:dim() < 1 or x:size(-1) ~= self.normalized_shape then
        raise(("bad argument #1 to 'LayerNorm' (expected a last dim of %d, got shape %s)")
              :format(self.normalized_shape, shape_text(x)))
    end
    return F.layer_norm(x, self.weight, self.bias, {eps = self.eps})
end

function LayerNorm:extra_repr()
    return tostring(self.normalized_shape)
end

layers.LayerNorm = LayerNorm

-- Embedding -----------------------------------------------------------------------

local Embedding = Module:extend("Embedding")

--- nn.Embedding(n, d): a table of n vectors of size d, looked up by 1-based index.
function Embedding:init(num, dim, opts)
    num = check_count("Embedding", 1, num, "the number of entries")
    dim = check_count("Embedding", 2, dim, "the vector size")
    options("Embedding", 3, opts, {})
    rawset(self, "num_embeddings", num)
    rawset(self, "embedding_dim", dim)
    self.weight = parameter("Embedding", dl.randn, num, dim)
end

function Embedding:forward(indices)
    return F.embedding(indices, self.weight)
end

function Embedding:extra_repr()
    return ("%d, %d"):format(self.num_embeddings, self.embedding_dim)
end

layers.Embedding = Embedding

-- Activations -------------------------------------------------------------------------

local function activation(name, method)
    local Activation = Module:extend(name)
    --- nn.ReLU() and friends take no options: any given is refused
    function Activation:init(opts)
        options(name, 1, opts, {})
    end
    function Activation:forward(x) return x[method](x) end
    return Activation
end

layers.ReLU = activation("ReLU", "relu")
layers.Sigmoid = activation("Sigmoid", "sigmoid")
layers.Tanh = activation("Tanh", "tanh")

local GELU = Module:extend("GELU")

--- nn.GELU({approximate = "none" | "tanh"}): exact, or PyTorch's tanh form.
function GELU:init(opts)
    opts = options("GELU", 1, opts, {approximate = "string"})
    local approximate = opts.approximate or "none"
    if approximate ~= "none" and approximate ~= "tanh" then
        raise(("bad argument #1 to 'GELU' (expected approximate = \"none\" or \"tanh\", got \"%s\")")
              :format(approximate))
    end
    rawset(self, "approximate", approximate)
end

function GELU:forward(x)
    check_input("GELU", x)
    return x:gelu({approximate = self.approximate})
end

function GELU:extra_repr()
    return self.approximate == "tanh" and 'approximate="tanh"' or ""
end

layers.GELU = GELU

local function along_dim(name, method)
    local Layer = Module:extend(name)
    --- nn.Softmax(dim) / nn.LogSoftmax(dim); dim defaults to the last
    function Layer:init(dim, opts)
        if dim ~= nil and not math.tointeger(dim) then
            raise(("bad argument #1 to '%s' (expected a dim as a whole number, got %s)")
                  :format(name, type(dim) == "number" and tostring(dim) or type(dim)))
        end
        options(name, 2, opts, {})
        rawset(self, "dim", dim or -1)
    end
    function Layer:forward(x) return x[method](x, self.dim) end
    function Layer:extra_repr() return "dim=" .. tostring(self.dim) end
    return Layer
end

layers.Softmax = along_dim("Softmax", "softmax")
layers.LogSoftmax = along_dim("LogSoftmax", "log_softmax")

local Identity = Module:extend("Identity")
function Identity:init(opts) options("Identity", 1, opts, {}) end
function Identity:forward(x) return x end
layers.Identity = Identity

return layers
