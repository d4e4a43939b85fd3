-- layers.lua -- the built-in layers. Each holds its parameters as tensors
-- requiring grad and calls one C operation (nn.functional) in forward.
-- Initialisation follows PyTorch's default for each layer.
local dl = require "dl"
local raise = require("dl.errors").raise
local option_names = require "dl.option_names"
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
    option_names.record(fn, known)   -- for Tab at the prompt
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

-- Conv2d, Conv1d ------------------------------------------------------------------

local padding_modes = {zeros = true, reflect = true, replicate = true, circular = true}

-- The convolution options of layer `fn` with `axes` (2 or 1) spatial dims:
-- stride, padding (sizes, "same" or "valid"), dilation, groups, padding_mode.
local function conv_options(fn, in_channels, out_channels, opts, axes)
    opts = options(fn, 4, opts, {stride = "size", padding = "size", dilation = "size",
                                 groups = "number", bias = "boolean", padding_mode = "string"})
    local sizes = axes == 2 and pair or function(f, a, v, what) return {1, check_count(f, a, v, what)} end
    local c = {stride = sizes(fn, 4, opts.stride or 1, "the stride"),
               dilation = sizes(fn, 4, opts.dilation or 1, "the dilation"),
               groups = check_count(fn, 4, opts.groups or 1, "the groups"),
               padding_mode = opts.padding_mode or "zeros"}
    if in_channels % c.groups ~= 0 or out_channels % c.groups ~= 0 then
        raise(("bad argument #4 to '%s' (expected option 'groups' to divide in_channels %d and "
               .. "out_channels %d, got %d)"):format(fn, in_channels, out_channels, c.groups))
    end
    if not padding_modes[c.padding_mode] then
        raise(("bad argument #4 to '%s' (expected padding_mode \"zeros\", \"reflect\", "
               .. "\"replicate\" or \"circular\", got \"%s\")"):format(fn, c.padding_mode))
    end
    if opts.padding == "same" or opts.padding == "valid" then
        if opts.padding == "same" and (c.stride[1] ~= 1 or c.stride[2] ~= 1) then
            raise(("bad argument #4 to '%s' (padding \"same\" needs stride 1, got stride %d)")
                  :format(fn, math.max(c.stride[1], c.stride[2])))
        end
        c.padding = opts.padding
    elseif type(opts.padding) == "string" then
        raise(("bad argument #4 to '%s' (expected padding as a size, \"same\" or \"valid\", got \"%s\")")
              :format(fn, opts.padding))
    elseif axes == 2 then
        c.padding = pair_or_zero(fn, 4, opts.padding, "the padding")
    else
        c.padding = {0, check_count(fn, 4, opts.padding or 0, "the padding", 0)}
    end
    return c, opts
end

-- x convolved by the 4-D weight w with the layer's options; other padding
-- modes than zeros pad x first ({left, right, top, bottom} as F.pad).
local function convolve(layer, x, w)
    local padding = layer.padding
    if layer.padding_mode ~= "zeros" and padding ~= "valid" then
        local pads = {}
        for axis = 1, 2 do
            local total = padding == "same" and layer.dilation[axis] * (w:size(2 + axis) - 1)
                          or 2 * padding[axis]
            local at = (2 - axis) * 2    -- W's pads come first
            pads[at + 1], pads[at + 2] = total // 2, total - total // 2
        end
        x, padding = F.pad(x, pads, {mode = layer.padding_mode}), 0
    end
    return F.conv2d(x, w, layer.bias, {stride = layer.stride, padding = padding,
                                       dilation = layer.dilation, groups = layer.groups})
end

local function init_conv(self, fn, in_channels, out_channels, kernel, opts, axes)
    local c
    c, opts = conv_options(fn, in_channels, out_channels, opts, axes)
    rawset(self, "in_channels", in_channels)
    rawset(self, "out_channels", out_channels)
    rawset(self, "kernel_size", kernel)
    for key, value in pairs(c) do rawset(self, key, value) end
    local fan_in = in_channels // c.groups * kernel[1] * kernel[2]
    local shape = axes == 2 and {out_channels, in_channels // c.groups, kernel[1], kernel[2]}
                  or {out_channels, in_channels // c.groups, kernel[2]}
    self.weight = parameter(fn, dl.empty, table.unpack(shape))
    init.kaiming_uniform(self.weight, {a = math.sqrt(5)})
    if opts.bias ~= false then
        self.bias = parameter(fn, dl.empty, out_channels)
        local bound = 1 / math.sqrt(fan_in)
        init.uniform(self.bias, -bound, bound)
    end
end

local function conv_repr(self, axes)
    local k = axes == 2 and ("%dx%d"):format(self.kernel_size[1], self.kernel_size[2])
              or tostring(self.kernel_size[2])
    local axis = axes == 2 and 1 or 2     -- the first spatial axis shown, as before
    local padding = type(self.padding) == "string" and self.padding or tostring(self.padding[axis])
    local text = ("%d -> %d, kernel %s, stride %d, padding %s"):format(self.in_channels,
        self.out_channels, k, self.stride[axis], padding)
    if self.dilation[1] ~= 1 or self.dilation[2] ~= 1 then text = text .. ", dilation " .. self.dilation[axis] end
    if self.groups ~= 1 then text = text .. ", groups " .. self.groups end
    if self.padding_mode ~= "zeros" then text = text .. ", padding_mode " .. self.padding_mode end
    return text
end

local Conv2d = Module:extend("Conv2d")

--- nn.Conv2d(in, out, k, {stride = 1, padding = 0, dilation = 1, groups = 1, bias = true,
--- padding_mode = "zeros"}); k, stride, padding and dilation are a number or {h, w};
--- padding may be "same" or "valid".
function Conv2d:init(in_channels, out_channels, kernel_size, opts)
    in_channels = check_count("Conv2d", 1, in_channels, "the input channels")
    out_channels = check_count("Conv2d", 2, out_channels, "the output channels")
    local kernel = pair("Conv2d", 3, kernel_size, "the kernel size")
    init_conv(self, "Conv2d", in_channels, out_channels, kernel, opts, 2)
end

function Conv2d:forward(x)
    return convolve(self, x, self.weight)
end

function Conv2d:extra_repr()
    return conv_repr(self, 2)
end

layers.Conv2d = Conv2d

local Conv1d = Module:extend("Conv1d")

--- nn.Conv1d(in, out, k, {stride = 1, padding = 0, dilation = 1, groups = 1, bias = true,
--- padding_mode = "zeros"}) over (N, C, L): Conv2d on (N, C, 1, L).
function Conv1d:init(in_channels, out_channels, kernel_size, opts)
    in_channels = check_count("Conv1d", 1, in_channels, "the input channels")
    out_channels = check_count("Conv1d", 2, out_channels, "the output channels")
    local kernel = {1, check_count("Conv1d", 3, kernel_size, "the kernel size")}
    init_conv(self, "Conv1d", in_channels, out_channels, kernel, opts, 1)
end

function Conv1d:forward(x)
    check_input("Conv1d", x)
    if x:dim() ~= 3 then
        raise(("bad argument #1 to 'Conv1d' (expected a sequence batch (N, C, L), got shape %s)")
              :format(shape_text(x)))
    end
    return convolve(self, x:unsqueeze(3), self.weight:unsqueeze(3)):squeeze(3)
end

function Conv1d:extra_repr()
    return conv_repr(self, 1)
end

layers.Conv1d = Conv1d

-- Pooling -----------------------------------------------------------------------

local function pooling(name, functional, axes)
    local Pool = Module:extend(name)
    local average = name:find("Avg") ~= nil
    local known = {stride = "size", padding = "size", ceil_mode = "boolean",
                   count_include_pad = average and "boolean" or nil}
    local function sizes(argn, value, what, least)
        if axes == 2 then
            return least == 0 and pair_or_zero(name, argn, value, what) or pair(name, argn, value, what)
        end
        return {least == 0 and 0 or 1, check_count(name, argn, value or 0, what, least)}
    end
    --- nn.MaxPool2d(k, {stride = k, padding = 0, ceil_mode = false}) / nn.AvgPool2d(k,
    --- {..., count_include_pad = true}); MaxPool1d / AvgPool1d over (N, C, L).
    function Pool:init(kernel_size, opts)
        opts = options(name, 2, opts, known)
        rawset(self, "kernel_size", sizes(1, kernel_size, "the kernel size", 1))
        rawset(self, "stride", opts.stride and sizes(2, opts.stride, "the stride", 1) or self.kernel_size)
        rawset(self, "padding", sizes(2, opts.padding, "the padding", 0))
        rawset(self, "ceil_mode", opts.ceil_mode or false)
        rawset(self, "count_include_pad", opts.count_include_pad ~= false)
    end
    function Pool:forward(x)
        local pool_opts = {stride = self.stride, padding = self.padding, ceil_mode = self.ceil_mode}
        if average then pool_opts.count_include_pad = self.count_include_pad end
        if axes == 2 then return functional(x, self.kernel_size, pool_opts) end
        check_input(name, x)
        if x:dim() ~= 3 then
            raise(("bad argument #1 to '%s' (expected a sequence batch (N, C, L), got shape %s)")
                  :format(name, shape_text(x)))
        end
        return functional(x:unsqueeze(3), self.kernel_size, pool_opts):squeeze(3)
    end
    function Pool:extra_repr()
        local k = axes == 2 and ("%dx%d"):format(self.kernel_size[1], self.kernel_size[2])
                  or tostring(self.kernel_size[2])
        return ("kernel %s, stride %d%s"):format(k, self.stride[axes == 2 and 1 or 2],
                                                 self.ceil_mode and ", ceil_mode" or "")
    end
    return Pool
end

layers.MaxPool2d = pooling("MaxPool2d", F.max_pool2d, 2)
layers.AvgPool2d = pooling("AvgPool2d", F.avg_pool2d, 2)
layers.MaxPool1d = pooling("MaxPool1d", F.max_pool2d, 1)
layers.AvgPool1d = pooling("AvgPool1d", F.avg_pool2d, 1)

local function adaptive_pooling(name, functional)
    local Pool = Module:extend(name)
    --- nn.AdaptiveAvgPool2d(size) / nn.AdaptiveMaxPool2d(size): size h or {h, w}
    function Pool:init(size)
        rawset(self, "output_size", pair(name, 1, size, "the output size"))
    end
    function Pool:forward(x)
        return functional(x, self.output_size)
    end
    function Pool:extra_repr()
        return ("%dx%d"):format(self.output_size[1], self.output_size[2])
    end
    return Pool
end

layers.AdaptiveAvgPool2d = adaptive_pooling("AdaptiveAvgPool2d", F.adaptive_avg_pool2d)
layers.AdaptiveMaxPool2d = adaptive_pooling("AdaptiveMaxPool2d", F.adaptive_max_pool2d)

local Upsample = Module:extend("Upsample")

--- nn.Upsample{size = , scale_factor = , mode = "nearest" | "linear" | "bilinear",
--- align_corners = false}: images (N, C, H, W) or sequences (N, C, L)
function Upsample:init(opts)
    opts = options("Upsample", 1, opts, {size = "size", scale_factor = "size", mode = "string",
                                         align_corners = "boolean"})
    rawset(self, "options", opts)
    -- The options are checked once, here, on a small sequence or image.
    local sample = opts.mode == "linear" and dl.zeros(1, 1, 2) or dl.zeros(1, 1, 2, 2)
    local ok, err = pcall(F.interpolate, sample, opts)
    if not ok then
        raise((tostring(err):match("%((.*)%)$") and ("bad argument #1 to 'Upsample' (%s)")
               :format(tostring(err):match("%((.*)%)$"))) or tostring(err))
    end
end

function Upsample:forward(x)
    return F.interpolate(x, self.options)
end

function Upsample:extra_repr()
    local o = self.options
    local what = o.size and ("size " .. (type(o.size) == "table" and table.concat(o.size, "x") or o.size))
                 or ("scale_factor " .. (type(o.scale_factor) == "table" and table.concat(o.scale_factor, "x")
                                         or o.scale_factor))
    return what .. ", " .. (o.mode or "nearest")
end

layers.Upsample = Upsample

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
    --- nn.BatchNorm1d(n) over (N, C) or (N, C, L) / nn.BatchNorm2d(c),
    --- {eps = 1e-5, momentum = 0.1, affine = true}
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
        rawset(self, "num_batches_tracked", 0)   -- training batches seen, as PyTorch counts
    end
    function BatchNorm:forward(x)
        check_input(name, x)
        local sequence = dims == 2 and x:dim() == 3
        if x:dim() ~= dims and not sequence then
            raise(("bad argument #1 to '%s' (expected a %s input, got shape %s)")
                  :format(name, dims == 2 and "2-D (N, C) or 3-D (N, C, L)" or dims .. "-D", shape_text(x)))
        end
        if x:size(2) ~= self.num_features then
            raise(("bad argument #1 to '%s' (expected %d %s%s in dim 2, got shape %s)")
                  :format(name, self.num_features, dims == 2 and "feature" or "channel",
                          self.num_features == 1 and "" or "s", shape_text(x)))
        end
        if self.training then rawset(self, "num_batches_tracked", self.num_batches_tracked + 1) end
        local y = F.batch_norm(sequence and x:unsqueeze(4) or x, self.running_mean, self.running_var,
                               self.weight, self.bias,
                               {training = self.training, momentum = self.momentum, eps = self.eps})
        return sequence and y:squeeze(4) or y
    end
    function BatchNorm:extra_repr()
        return tostring(self.num_features)
    end
    return BatchNorm
end

layers.BatchNorm1d = batch_norm("BatchNorm1d", 2)
layers.BatchNorm2d = batch_norm("BatchNorm2d", 4)

local LayerNorm = Module:extend("LayerNorm")

--- nn.LayerNorm(shape, {eps = 1e-5, affine = true}): normalises the trailing dims
--- given by shape (a size or a table of sizes).
function LayerNorm:init(normalized_shape, opts)
    local shape = type(normalized_shape) == "table" and normalized_shape or {normalized_shape}
    if #shape == 0 then
        raise("bad argument #1 to 'LayerNorm' (expected the normalised shape as a size or a table of sizes, got {})")
    end
    for i, size in ipairs(shape) do shape[i] = check_count("LayerNorm", 1, size, "the normalised size") end
    opts = options("LayerNorm", 2, opts, {eps = "number", affine = "boolean"})
    rawset(self, "normalized_shape", #shape == 1 and shape[1] or shape)
    rawset(self, "shape", shape)
    rawset(self, "eps", opts.eps or 1e-5)
    if opts.affine ~= false then
        self.weight = parameter("LayerNorm", dl.ones, table.unpack(shape))
        self.bias = parameter("LayerNorm", dl.zeros, table.unpack(shape))
    end
end

function LayerNorm:forward(x)
    check_input("LayerNorm", x)
    local shape, n = self.shape, x:dim()
    local fits = n >= #shape
    for i = 1, #shape do fits = fits and x:size(n - #shape + i) == shape[i] end
    if not fits then
        local want = #shape == 1 and ("a last dim of %d"):format(shape[1])
                     or ("trailing dims (%s)"):format(table.concat(shape, ", "))
        raise(("bad argument #1 to 'LayerNorm' (expected %s, got shape %s)"):format(want, shape_text(x)))
    end
    if #shape == 1 then
        return F.layer_norm(x, self.weight, self.bias, {eps = self.eps})
    end
    -- Several trailing dims are one for the normalisation: flatten, then restore.
    local flat = x:flatten(n - #shape + 1, n)
    local w = self.weight and self.weight:reshape(-1)
    local b = self.bias and self.bias:reshape(-1)
    return F.layer_norm(flat, w, b, {eps = self.eps}):reshape(x:shape())
end

function LayerNorm:extra_repr()
    return table.concat(self.shape, "x")
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

-- An activation that calls the tensor method `method` with its options,
-- given as numbers in the order of `names` or as an options table:
-- nn.LeakyReLU(0.2) or nn.LeakyReLU{negative_slope = 0.2}. Absent options
-- keep the method's (PyTorch's) defaults; a layer without names takes no
-- arguments.
local function activation_with(name, method, names)
    local Activation = Module:extend(name)
    local known = {}
    for _, option in ipairs(names) do known[option] = "number" end
    function Activation:init(...)
        local args, given = {...}, {}
        local n = select("#", ...)
        for i = 1, n do
            local value = args[i]
            if type(value) == "table" and i == n then
                for k, v in pairs(options(name, i, value, known)) do given[k] = v end
            elseif type(value) == "number" and names[i] then
                given[names[i]] = value
            elseif value ~= nil then
                local expected = #names == 0 and "no arguments"
                    or ("a number or an options table (%s)"):format(table.concat(names, ", "))
                raise(("bad argument #%d to '%s' (expected %s, got %s)"):format(i, name, expected, type(value)))
            end
        end
        rawset(self, "options", given)
    end
    function Activation:forward(x)
        check_input(name, x)
        return x[method](x, self.options)
    end
    function Activation:extra_repr()
        local parts = {}
        for _, option in ipairs(names) do
            if self.options[option] ~= nil then
                parts[#parts + 1] = ("%s=%s"):format(option, tostring(self.options[option]))
            end
        end
        return table.concat(parts, ", ")
    end
    return Activation
end

--- nn.LeakyReLU{negative_slope = 0.01}, nn.ELU{alpha = 1}, nn.SiLU(),
--- nn.Softplus{beta = 1, threshold = 20}, nn.LogSigmoid(),
--- nn.Hardtanh{min_val = -1, max_val = 1}, nn.Mish()
layers.LeakyReLU = activation_with("LeakyReLU", "leaky_relu", {"negative_slope"})
layers.ELU = activation_with("ELU", "elu", {"alpha"})
layers.SiLU = activation_with("SiLU", "silu", {})
layers.Softplus = activation_with("Softplus", "softplus", {"beta", "threshold"})
layers.LogSigmoid = activation_with("LogSigmoid", "logsigmoid", {})
layers.Hardtanh = activation_with("Hardtanh", "hardtanh", {"min_val", "max_val"})
layers.Mish = activation_with("Mish", "mish", {})

local Identity = Module:extend("Identity")
function Identity:init(opts) options("Identity", 1, opts, {}) end
function Identity:forward(x) return x end
layers.Identity = Identity

return layers
