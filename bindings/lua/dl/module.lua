-- module.lua -- nn.Module, the base of every layer, and nn.Sequential.
--
-- A module is a table whose class gives it `forward`. Calling the module
-- calls forward. Fields that are tensors requiring grad are its parameters,
-- fields that are modules are its children; both are found in the order
-- they were first assigned, so parameters() is the same list every run.
--
--   local Scale = nn.Module:extend("Scale")
--   function Scale:init(n) self.weight = dl.ones(n, {requires_grad = true}) end
--   function Scale:forward(x) return x * self.weight end
--
--   local m = nn.Module{forward = function(self, x) return x:relu() end}
local dl = require "dl"
local raise = require("dl.errors").raise

local Module = {}
Module.__name = "Module"

-- Records the order in which an instance's fields are first set.
local function remember_field(self, key, value)
    rawset(self, key, value)
    local order = rawget(self, "_order")
    order[#order + 1] = key
end

-- While summary() runs, every module call reports its output here.
local forward_observer = nil

-- module -> list of hooks set by register_forward_hook (weak: a module
-- dropped by the user takes its hooks with it).
local forward_hooks = setmetatable({}, {__mode = "k"})

local function call_forward(self, ...)
    if forward_observer then
        local out = self:forward(...)
        forward_observer(self, out)
        return out
    end
    local hooks = forward_hooks[self]
    if hooks then
        local out = self:forward(...)
        local inputs = table.pack(...)
        for _, hook in ipairs({table.unpack(hooks)}) do
            local replaced = hook(self, inputs, out)
            if replaced ~= nil then out = replaced end
        end
        return out
    end
    return self:forward(...)
end

local function is_module(v)
    return type(v) == "table" and getmetatable(v) ~= nil and rawget(getmetatable(v), "_is_module_class") == true
end
Module.is_module = is_module

local function is_parameter(v)
    return dl.is_tensor(v) and v:requires_grad()
end

-- A new instance of `class` with the bookkeeping fields set.
local function instantiate(class)
    local self = setmetatable({_order = {}, training = true}, class)
    return self
end

--- Class:extend(name) -> a subclass whose instances are built by Class(...)
--- calling init(self, ...).
function Module:extend(name)
    if name ~= nil and type(name) ~= "string" then
        raise(("bad argument #1 to 'extend' (expected a class name, got %s)"):format(type(name)))
    end
    local class = {}
    for k, v in pairs(self) do
        if type(k) == "string" and k:sub(1, 2) == "__" then class[k] = v end
    end
    class.__name = name or "Module"
    class.__index = class
    class.__newindex = remember_field
    class.__call = call_forward
    class._is_module_class = true
    return setmetatable(class, {
        __index = self,
        __call = function(cls, ...)
            local instance = instantiate(cls)
            rawset(instance, "_args", table.pack(...))   -- for nn.load (serialize.lua)
            instance:init(...)
            return instance
        end,
        __tostring = function() return "nn." .. class.__name end,
    })
end

Module.__index = Module
Module.__newindex = remember_field
Module.__call = call_forward
Module._is_module_class = true

--- Default initialiser: nothing to set up.
function Module:init() end

--- forward must be given by each module.
function Module:forward()
    raise(("%s has no forward(); define %s:forward(x)"):format(self.__name, self.__name))
end

--- Iterates over (key, value) of fields in assignment order.
local function fields(self)
    local order, i = rawget(self, "_order"), 0
    return function()
        while true do
            i = i + 1
            local key = order[i]
            if key == nil then return nil end
            local value = rawget(self, key)
            if value ~= nil then return key, value end
        end
    end
end
Module.fields = fields

--- m:children() -> list of direct submodules, with their names.
function Module:children()
    local list, names = {}, {}
    for key, value in fields(self) do
        if is_module(value) then
            list[#list + 1], names[#names + 1] = value, key
        end
    end
    return list, names
end

-- Appends {name, tensor} for each parameter of `module` not yet `seen`.
local function collect_parameters(module, prefix, out, seen)
    for key, value in fields(module) do
        if is_parameter(value) and not seen[value] then
            seen[value] = true
            out[#out + 1] = {prefix .. tostring(key), value}
        elseif is_module(value) then
            collect_parameters(value, prefix .. tostring(key) .. ".", out, seen)
        end
    end
    return out
end

--- m:named_parameters([prefix]) -> list of {name, tensor}; names are dotted
--- paths ("1.weight", "encoder.bias"), after `prefix` when given.
function Module:named_parameters(prefix)
    if prefix ~= nil and type(prefix) ~= "string" then
        raise(("bad argument #1 to 'named_parameters' (expected a name prefix, got %s)")
              :format(type(prefix)))
    end
    return collect_parameters(self, prefix or "", {}, {})
end

--- m:parameters() -> list of the tensors that training updates.
function Module:parameters()
    local list = {}
    for i, pair in ipairs(self:named_parameters()) do list[i] = pair[2] end
    return list
end

--- m:num_parameters() -> total number of trainable values.
function Module:num_parameters()
    local n = 0
    for _, p in ipairs(self:parameters()) do n = n + p:numel() end
    return n
end

--- m:train(mode) -> m; switches this module and its children to training
--- (mode true, the default) or evaluation behaviour (dropout, batch norm).
function Module:train(mode)
    if mode == nil then mode = true end
    rawset(self, "training", mode and true or false)
    for _, child in ipairs(self:children()) do child:train(mode) end
    return self
end

--- m:eval() -> m; the same as m:train(false).
function Module:eval()
    return self:train(false)
end

--- m:zero_grad() -> forgets the gradients of every parameter.
function Module:zero_grad()
    for _, p in ipairs(self:parameters()) do p:zero_grad() end
end

local HookHandle = {__name = "hook handle"}
HookHandle.__index = HookHandle

--- handle:remove(): the hook is called no more (removing twice is harmless).
function HookHandle:remove()
    local hooks = forward_hooks[self.module]
    if not hooks then return end
    for i, hook in ipairs(hooks) do
        if hook == self.hook then
            table.remove(hooks, i)
            break
        end
    end
    if #hooks == 0 then forward_hooks[self.module] = nil end
end

--- m:register_forward_hook(fn) -> handle: after each call of m, fn(m,
--- inputs, output) runs (inputs: the arguments, packed); a value it
--- returns replaces the output. handle:remove() takes the hook away.
function Module:register_forward_hook(fn)
    if type(fn) ~= "function" then
        raise(("bad argument #1 to 'register_forward_hook' (expected a function, got %s)")
              :format(dl.is_tensor(fn) and "a tensor" or type(fn)))
    end
    local hooks = forward_hooks[self] or {}
    forward_hooks[self] = hooks
    hooks[#hooks + 1] = fn
    return setmetatable({module = self, hook = fn}, HookHandle)
end

--- A one-line description of the layer's configuration ("784 -> 256").
function Module:extra_repr()
    return ""
end

--- tostring(m): the module tree, like PyTorch's repr.
function Module:__tostring()
    local children, names = self:children()
    local head = self.__name .. "(" .. self:extra_repr()
    if #children == 0 then return head .. ")" end
    local lines = {head}
    for i, child in ipairs(children) do
        local text = tostring(child):gsub("\n", "\n  ")
        lines[#lines + 1] = ("  (%s): %s"):format(names[i], text)
    end
    return table.concat(lines, "\n") .. "\n)"
end

local function group_digits(n)
    local text = tostring(math.tointeger(n) or n)
    return (text:reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^,", ""))
end

local function shape_of(value)
    if dl.is_tensor(value) then return "(" .. table.concat(value:shape(), ", ") .. ")" end
    return type(value)
end

--- m:summary(input) -> the text of a Keras-style table (also printed):
--- one row per layer with its output shape and parameter count, then the
--- totals. `input` is an example tensor or a shape such as {1, 784}; it
--- is run through the model without recording gradients, in eval mode.
function Module:summary(input)
    local children, names = self:children()
    local rows, index = {}, {}
    for i, child in ipairs(children) do
        index[child] = i
        rows[i] = {name = tostring(names[i]) .. " " .. child.__name, shape = "?",
                   params = child:num_parameters()}
    end
    if #children == 0 then
        rows[1] = {name = self.__name, shape = "?", params = self:num_parameters()}
        index[self] = 1
    end
    if input ~= nil then
        local x = input
        if not dl.is_tensor(x) then
            local ok
            ok, x = pcall(dl.zeros, input)
            if not ok then
                local listed, sizes = pcall(table.concat, input, ", ")   -- fails unless a list
                raise(("bad argument #1 to 'summary' (expected an example input or its shape " ..
                       "such as {1, 784}, got %s)"):format(listed and "{" .. sizes .. "}" or type(input)))
            end
        end
        local was_training = self.training
        self:eval()
        forward_observer = function(module, out)
            local i = index[module]
            if i then rows[i].shape = shape_of(out) end
        end
        local ok, err = pcall(dl.no_grad, function() return self(x) end)
        forward_observer = nil
        self:train(was_training)
        if not ok then error(err, 0) end   -- already placed at its line
    end
    local trainable = self:num_parameters()
    local function count_buffers(module)
        local n = 0
        for _, value in fields(module) do
            if dl.is_tensor(value) and not value:requires_grad() then
                n = n + value:numel()
            elseif is_module(value) then
                n = n + count_buffers(value)
            end
        end
        return n
    end
    local buffers = count_buffers(self)
    local name_width, shape_width = 22, 18
    for _, row in ipairs(rows) do
        name_width = math.max(name_width, #row.name + 2)
        shape_width = math.max(shape_width, #row.shape + 2)
    end
    local width = name_width + shape_width + 12
    local lines = {
        ("Model: %s"):format(self.__name),
        ("-"):rep(width),
        ("%-" .. name_width .. "s%-" .. shape_width .. "s%12s"):format("Layer (type)", "Output Shape", "Param #"),
        ("="):rep(width),
    }
    for _, row in ipairs(rows) do
        lines[#lines + 1] = ("%-" .. name_width .. "s%-" .. shape_width .. "s%12s")
            :format(row.name, row.shape, group_digits(row.params))
    end
    lines[#lines + 1] = ("="):rep(width)
    lines[#lines + 1] = "Total params: " .. group_digits(trainable + buffers)
    lines[#lines + 1] = "Trainable params: " .. group_digits(trainable)
    lines[#lines + 1] = "Non-trainable params: " .. group_digits(buffers)
    lines[#lines + 1] = ("-"):rep(width)
    local text = table.concat(lines, "\n")
    print(text)
    return text
end

--- nn.Module{forward = f, ...}: a one-off module from a table.
setmetatable(Module, {
    __call = function(_, spec)
        if type(spec) ~= "table" or type(spec.forward) ~= "function" then
            raise("bad argument #1 to 'Module' (expected a table with a forward function, got "
                  .. type(spec) .. ")")
        end
        local instance = instantiate(Module)
        local keys = {}
        for key in pairs(spec) do keys[#keys + 1] = key end
        table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
        for _, key in ipairs(keys) do instance[key] = spec[key] end
        return instance
    end,
    __tostring = function() return "nn.Module" end,
})

-- Sequential ------------------------------------------------------------------

local Sequential = Module:extend("Sequential")

--- nn.Sequential{layer1, layer2, ...}: applies the layers in order;
--- model[i] is layer i.
function Sequential:init(layers, ...)
    if type(layers) ~= "table" then
        raise("bad argument #1 to 'Sequential' (expected a list of layers, got " .. type(layers) .. ")")
    end
    if is_module(layers) or select("#", ...) > 0 then
        raise("bad argument #1 to 'Sequential' (expected one list of layers, nn.Sequential{a, b}, "
              .. "got the layers as separate arguments)")
    end
    for i, layer in ipairs(layers) do
        if not is_module(layer) then
            raise(("bad argument #1 to 'Sequential' (entry %d is not a layer, got %s)")
                  :format(i, dl.is_tensor(layer) and "a tensor" or type(layer)))
        end
        self[i] = layer
    end
end

function Sequential:forward(x)
    for _, layer in ipairs(self) do x = layer(x) end
    return x
end

--- model:add(layer) -> model, with the layer appended.
function Sequential:add(layer)
    if not is_module(layer) then
        raise("bad argument #1 to 'add' (expected a layer, got " .. type(layer) .. ")")
    end
    self[#self + 1] = layer
    return self
end

Sequential.__len = function(self) return rawlen(self) end

return {Module = Module, Sequential = Sequential}
