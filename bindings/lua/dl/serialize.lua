-- serialize.lua -- saving and loading: Module:save, nn.load,
-- Module:load_weights, Module:state_dict, Module:load_state_dict,
-- nn.register, dl.save and dl.load. Files are safetensors (the C reader
-- and writer of core/io/safetensors.c, through dl.safetensors).
--
-- A model's tensors are named as PyTorch's state_dict() names them for
-- the same module tree: dotted paths of field names, where the integer
-- keys of a Sequential count from 0 ("0.weight", "2.running_mean"), so
-- torch's load_state_dict takes the file as it is. Its architecture goes
-- in the metadata as JSON ("dlrepl.architecture"): for every module its
-- class, its constructor arguments (recorded by Module:extend's
-- constructor), its plain data fields and its children. nn.load calls the
-- constructors again, sets the fields and children, then copies the
-- tensors in.
--
-- Lua values go to JSON through a typed layer, so that they come back
-- exactly: whole floats are {"$float": "3.0"}, big integers
-- {"$int": "..."}, byte strings that are not UTF-8 {"$bytes": hex},
-- tables that are neither lists nor string-keyed {"$pairs": [[k, v]...]},
-- tensors {"$tensor": name}, a missing argument {"$nil": true}.
local dl = require "dl"
local raise = require("dl.errors").raise
local base = require "dl.module"
local st = require "dl.safetensors"

local Module = base.Module
local is_module = Module.is_module

local ARCHITECTURE = "dlrepl.architecture"
local VALUE = "dlrepl.value"

-- Classes rebuilt empty and then given their children (their constructor
-- arguments are the children themselves).
local children_only = {[base.Sequential] = true}

-- Integer counters PyTorch keeps as int64 buffers (BatchNorm's), held by
-- dl's modules as plain number fields.
local counters = {"num_batches_tracked"}

-- Classes registered for nn.load by name (every named Module:extend).
local registry = {}

local nn_table   -- the nn table, for the built-in classes (install)

local function shape_text(t)
    return "(" .. table.concat(t:shape(), ", ") .. ")"
end

-- Values <-> JSON ------------------------------------------------------------------

local function hex(s)
    return (s:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

local function unhex(s)
    return (s:gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end))
end

local function float_text(x)
    if x ~= x then return "nan" end
    if x == math.huge then return "inf" end
    if x == -math.huge then return "-inf" end
    local text = ("%.17g"):format(x)
    for digits = 15, 16 do
        local shorter = ("%." .. digits .. "g"):format(x)
        if tonumber(shorter) == x then text = shorter break end
    end
    if not text:find("[.eE]") then text = text .. ".0" end
    return text
end

local function float_of(text)
    if text == "nan" then return 0 / 0 end
    if text == "inf" then return math.huge end
    if text == "-inf" then return -math.huge end
    local value = tonumber(text)
    if math.type(value) == "integer" then value = value + 0.0 end   -- keeps -0.0 as it is
    return value
end

local function is_plain_string(s)
    return utf8.len(s) ~= nil and not s:find("\0", 1, true)
end

local key_order = {boolean = 1, number = 2, string = 3}

local function key_less(a, b)
    local ta, tb = type(a), type(b)
    if ta ~= tb then return (key_order[ta] or 4) < (key_order[tb] or 4) end
    if ta == "boolean" then return not a and b end
    return a < b
end

-- The JSON-ready form of v. ctx.tensor(t, where) names a tensor (nil:
-- tensors are refused), ctx.module(m) describes a module (nil: refused).
-- Raises (level 0) "cannot save <what> at <where>".
local function encode(v, ctx, where, visiting)
    local kind = type(v)
    if kind == "boolean" then return v end
    if kind == "number" then
        if math.type(v) == "integer" then
            if v > 2 ^ 53 or v < -2 ^ 53 then return {["$int"] = tostring(v)} end
            return v
        end
        if v ~= v or v == math.floor(v) then return {["$float"] = float_text(v)} end
        return v
    end
    if kind == "string" then
        if is_plain_string(v) then return v end
        return {["$bytes"] = hex(v)}
    end
    if dl.is_tensor(v) then
        if not ctx.tensor then error(("cannot save a tensor at %s"):format(where), 0) end
        if not pcall(v.dim, v) then
            error(("cannot save a closed tensor%s"):format(where == "" and "" or " at " .. where), 0)
        end
        return {["$tensor"] = ctx.tensor(v, where)}
    end
    if is_module(v) then
        if not ctx.module then error(("cannot save a module at %s"):format(where), 0) end
        return {["$module"] = ctx.module(v)}
    end
    if kind ~= "table" then
        error(("cannot save a %s at %s"):format(kind, where), 0)
    end
    if visiting[v] then error(("cannot save a table that contains itself (at %s)"):format(where), 0) end
    visiting[v] = true
    local keys, n, strings, positions = {}, #v, true, true
    for key in pairs(v) do
        keys[#keys + 1] = key
        if type(key) ~= "string" or not is_plain_string(key) or key:sub(1, 1) == "$" then
            strings = false
        end
        if math.type(key) ~= "integer" or key < 1 or key > n then positions = false end
    end
    local out = {}
    local function path(key)
        return where == "" and tostring(key) or where .. "." .. tostring(key)
    end
    if positions and #keys == n and n > 0 then
        for i = 1, n do out[i] = encode(v[i], ctx, path(i), visiting) end
    elseif strings then
        for _, key in ipairs(keys) do out[key] = encode(v[key], ctx, path(key), visiting) end
    else
        table.sort(keys, key_less)
        local pairs_list = {}
        for i, key in ipairs(keys) do
            if type(key) == "table" or type(key) == "userdata" or type(key) == "function" then
                error(("cannot save a table with a %s as a key (at %s)"):format(type(key), where), 0)
            end
            pairs_list[i] = {encode(key, ctx, where, visiting), encode(v[key], ctx, path(key), visiting)}
        end
        out = {["$pairs"] = pairs_list}
    end
    visiting[v] = nil
    return out
end

-- The Lua value of a JSON-ready form; ctx.tensors maps names to tensors,
-- ctx.module(desc) rebuilds a module.
local function decode(j, ctx)
    if type(j) ~= "table" then return j end
    local tag = next(j)
    if type(tag) == "string" and tag:sub(1, 1) == "$" and next(j, tag) == nil then
        local value = j[tag]
        if tag == "$float" then return float_of(value) end
        if tag == "$int" then return math.tointeger(tonumber(value)) end
        if tag == "$bytes" then return unhex(value) end
        if tag == "$nil" then return nil end
        if tag == "$tensor" then
            local t = ctx.tensors and ctx.tensors[value]
            if t == nil then error(("the file has no tensor '%s'"):format(tostring(value)), 0) end
            return t
        end
        if tag == "$module" then return ctx.module(value) end
        if tag == "$pairs" then
            local out = {}
            for _, pair in ipairs(value) do out[decode(pair[1], ctx)] = decode(pair[2], ctx) end
            return out
        end
        error(("unknown tag '%s' in the metadata"):format(tag), 0)
    end
    local out = {}
    for key, value in pairs(j) do out[key] = decode(value, ctx) end
    return out
end

-- The state of a module ---------------------------------------------------------------

-- PyTorch's name of a field key: integer keys count from 0.
local function key_name(key)
    if math.type(key) == "integer" then return tostring(key - 1) end
    return tostring(key)
end

-- Every tensor field (parameters and buffers) and counter of `module` and
-- its children, as {name =, tensor = | count =, owner =, key =}, in field order.
local function state_entries(module, prefix, out, visiting)
    prefix, out, visiting = prefix or "", out or {}, visiting or {}
    visiting[module] = true
    for key, value in Module.fields(module) do
        local name = prefix .. key_name(key)
        if dl.is_tensor(value) then
            out[#out + 1] = {name = name, tensor = value, owner = module, key = key}
        elseif is_module(value) and not visiting[value] then
            state_entries(value, name .. ".", out, visiting)
        end
    end
    for _, key in ipairs(counters) do
        local count = rawget(module, key)
        if type(count) == "number" then
            out[#out + 1] = {name = prefix .. key, count = count, owner = module, key = key}
        end
    end
    visiting[module] = nil
    return out
end

--- m:state_dict() -> table of name -> tensor (PyTorch's names), and the list
--- of names in the model's order. The tensors share memory with the model
--- (detached views); counters such as num_batches_tracked are new scalars.
function Module:state_dict()
    local sd, names = {}, {}
    for i, e in ipairs(state_entries(self)) do
        sd[e.name] = e.tensor and e.tensor:detach() or dl.tensor(e.count)
        names[i] = e.name
    end
    return sd, names
end

local function list_text(names)
    return table.concat(names, ", ")
end

-- Checks sd (name -> tensor) against the model's entries; raises one
-- error naming every missing, unexpected and mis-shaped tensor.
local function check_fit(entries, sd, strict, fn, source)
    local missing, unexpected, misshaped, known = {}, {}, {}, {}
    for _, e in ipairs(entries) do
        known[e.name] = true
        local given = sd[e.name]
        if given == nil then
            missing[#missing + 1] = e.name
        elseif not dl.is_tensor(given) and not (e.count and type(given) == "number") then
            raise(("bad argument #1 to '%s' (entry '%s' is a %s, expected a tensor)")
                  :format(fn, e.name, type(given)))
        elseif e.tensor and table.concat(given:shape(), ",") ~= table.concat(e.tensor:shape(), ",") then
            misshaped[#misshaped + 1] = ("%s is %s in %s, %s in the model")
                :format(e.name, shape_text(given), source, shape_text(e.tensor))
        elseif e.count and dl.is_tensor(given) and given:numel() ~= 1 then
            misshaped[#misshaped + 1] = ("%s is %s in %s, a single count in the model")
                :format(e.name, shape_text(given), source)
        end
    end
    for name in pairs(sd) do
        if not known[name] then unexpected[#unexpected + 1] = tostring(name) end
    end
    table.sort(unexpected)
    local problems = {}
    if strict and #missing > 0 then
        problems[#problems + 1] = "missing from " .. source .. ": " .. list_text(missing)
    end
    if strict and #unexpected > 0 then
        problems[#problems + 1] = "not in the model: " .. list_text(unexpected)
    end
    if #misshaped > 0 then
        problems[#problems + 1] = "shapes differ: " .. list_text(misshaped)
    end
    if #problems > 0 then
        raise(("bad argument #1 to '%s' (%s does not fit the model; %s)")
              :format(fn, source, table.concat(problems, "; ")))
    end
    return missing, unexpected
end

-- Copies the state sd into the model's entries (checked before).
local function copy_state(entries, sd)
    dl.no_grad(function()
        for _, e in ipairs(entries) do
            local given = sd[e.name]
            if given ~= nil then
                if e.tensor then
                    e.tensor:copy_(given)
                else
                    local count = dl.is_tensor(given) and given:item() or given
                    rawset(e.owner, e.key, math.tointeger(count) or count)
                end
            end
        end
    end)
end

local function load_into(model, sd, strict, fn, source)
    local entries = state_entries(model)
    local missing, unexpected = check_fit(entries, sd, strict, fn, source)
    copy_state(entries, sd)
    return missing, unexpected
end

local function check_options(fn, argn, opts)
    if opts == nil then return {} end
    if type(opts) ~= "table" then
        raise(("bad argument #%d to '%s' (expected an options table, got %s)"):format(argn, fn, type(opts)))
    end
    for key, value in pairs(opts) do
        if key ~= "strict" then
            raise(("bad argument #%d to '%s' (unknown option '%s'; known: strict)"):format(argn, fn, tostring(key)))
        end
        if type(value) ~= "boolean" then
            raise(("bad argument #%d to '%s' (expected option 'strict' to be a boolean, got %s)")
                  :format(argn, fn, type(value)))
        end
    end
    return opts
end

--- m:load_state_dict(sd, {strict = true}) -> missing names, unexpected names.
--- Copies the tensors of sd (name -> tensor, PyTorch's names) into the
--- model's own tensors, in place. Shapes must agree; with strict (the
--- default) the names must be exactly the model's.
function Module:load_state_dict(sd, opts)
    if type(sd) ~= "table" then
        raise(("bad argument #1 to 'load_state_dict' (expected a table of name -> tensor, got %s)")
              :format(dl.is_tensor(sd) and "a tensor" or type(sd)))
    end
    opts = check_options("load_state_dict", 2, opts)
    return load_into(self, sd, opts.strict ~= false, "load_state_dict", "the state dict")
end

local function check_path(fn, argn, path)
    if type(path) ~= "string" then
        raise(("bad argument #%d to '%s' (expected a file path, got %s)")
              :format(argn, fn, dl.is_tensor(path) and "a tensor" or type(path)))
    end
end

-- Architecture ------------------------------------------------------------------------------

local function class_of(module)
    return getmetatable(module)
end

-- A JSON-ready description of module: {class, custom, args, fields,
-- children, unsaved}.
local function describe(module, visiting)
    visiting = visiting or {}
    if visiting[module] then
        return {class = module.__name, unsaved = "the module contains itself"}
    end
    visiting[module] = true
    local class = class_of(module)
    local name = rawget(class, "__name") or "Module"
    local desc = {class = name}
    if nn_table[name] ~= class then desc.custom = true end
    local ctx = {module = function(m) return describe(m, visiting) end}
    local args = rawget(module, "_args")
    if class == Module then
        desc.unsaved = "it was made by nn.Module{...}, which nn.load cannot call again; " ..
                       "make a class with nn.Module:extend(\"Name\") instead"
    elseif not children_only[class] and args then
        local list = {}
        for i = 1, args.n do
            local ok, encoded = true, {["$nil"] = true}
            if args[i] ~= nil then ok, encoded = pcall(encode, args[i], ctx, "argument " .. i, {}) end
            if not ok then
                desc.unsaved, list = "its constructor arguments: " .. encoded, nil
                break
            end
            list[i] = encoded
        end
        desc.args = list
    end
    local fields, children = {}, {}
    for key, value in pairs(module) do
        if type(key) == "string" and key:sub(1, 1) ~= "_" and key ~= "training" and
           key ~= "stop_training" and not dl.is_tensor(value) and not is_module(value) and
           type(value) ~= "function" then
            local ok, encoded = pcall(encode, value, {}, key, {})
            if ok then fields[#fields + 1] = {key, encoded} end
        end
    end
    table.sort(fields, function(a, b) return a[1] < b[1] end)
    for key, value in Module.fields(module) do
        if is_module(value) then
            children[#children + 1] = {encode(key, {}, "key", {}), describe(value, visiting)}
        end
    end
    if #fields > 0 then desc.fields = fields end
    if #children > 0 then desc.children = children end
    visiting[module] = nil
    return desc
end

-- The module a description stands for, built again; `where` names it in
-- errors (the path of fields from the root).
local function rebuild(desc, where)
    if type(desc) ~= "table" or type(desc.class) ~= "string" then
        error(("its architecture is damaged at %s"):format(where), 0)
    end
    local name = desc.class
    local class
    if desc.custom then class = registry[name] else class = nn_table[name] end
    if class == nil then
        if desc.custom then
            error(("cannot rebuild the custom module '%s' at %s: its class is not registered " ..
                   "(define it with nn.Module:extend(\"%s\") or call nn.register(%s) before nn.load)")
                  :format(name, where, name, name), 0)
        end
        error(("cannot rebuild '%s' at %s: dl has no layer of that name"):format(name, where), 0)
    end
    if desc.unsaved then
        error(("cannot rebuild '%s' at %s: %s"):format(name, where, desc.unsaved), 0)
    end
    local ctx = {module = function(d) return rebuild(d, where .. " (argument)") end}
    local module
    if children_only[class] then
        module = class({})
    elseif desc.args then
        local args = decode(desc.args, ctx)
        module = class(table.unpack(args, 1, #desc.args))
    else
        module = class()
    end
    for _, pair in ipairs(desc.children or {}) do
        local key = decode(pair[1], ctx)
        local path = math.type(key) == "integer" and ("%s[%d]"):format(where, key) or where .. "." .. tostring(key)
        module[key] = rebuild(pair[2], path)
    end
    for _, pair in ipairs(desc.fields or {}) do
        module[pair[1]] = decode(pair[2], ctx)
    end
    return module
end

-- Saving models ---------------------------------------------------------------------------------

--- m:save(path): writes the model to a safetensors file: its tensors under
--- PyTorch's state_dict names and its architecture in the metadata, so
--- nn.load(path) rebuilds it. The file is replaced whole or not at all.
function Module:save(path)
    check_path("save", 1, path)
    local entries = {}
    for i, e in ipairs(state_entries(self)) do
        entries[i] = e.tensor and {e.name, e.tensor} or {e.name, dl.tensor(e.count), true}
    end
    local metadata = {
        format = "pt",
        [ARCHITECTURE] = st.json_encode(describe(self)),
        ["dlrepl.version"] = dl.version,
    }
    st.write(path, entries, metadata, "save", 1)
end

local function read(fn, path)
    local _, tensors, metadata = st.read(path, fn)
    return tensors, metadata
end

--- m:load_weights(path, {strict = true}) -> m, with the tensors of the file
--- copied in (any safetensors file with PyTorch's names: one written by
--- m:save, dl.save(m:state_dict(), path) or safetensors.torch.save_file).
--- One error names every missing, unexpected and mis-shaped tensor.
function Module:load_weights(path, opts)
    check_path("load_weights", 1, path)
    opts = check_options("load_weights", 2, opts)
    local tensors = read("load_weights", path)
    load_into(self, tensors, opts.strict ~= false, "load_weights", "'" .. path .. "'")
    return self
end

-- Floats the built-in layers of a description would allocate, estimated
-- from their constructor arguments (the product of the numbers >= 1 in
-- them; a Conv2d's square kernel counts twice). Custom classes are the
-- user's own code and are not counted. nn.load compares this with the
-- file's tensors, so that a hostile architecture cannot make it allocate
-- gigabytes before the file's tensors are found not to fit.
local function requested_floats(desc)
    if type(desc) ~= "table" then return 0 end
    local cost, product = 0, 1
    local function scan(v)
        if type(v) == "number" and math.abs(v) >= 1 then
            product = product * math.abs(v)
        elseif type(v) == "table" then
            if v["$module"] ~= nil then
                cost = cost + requested_floats(v["$module"])
            else
                for _, x in pairs(v) do scan(x) end
            end
        end
    end
    if type(desc.args) == "table" then
        for i, arg in pairs(desc.args) do
            scan(arg)
            if desc.class == "Conv2d" and i == 3 then scan(arg) end
        end
        if not desc.custom then cost = cost + product end
    end
    for _, pair in ipairs(type(desc.children) == "table" and desc.children or {}) do
        if type(pair) == "table" then cost = cost + requested_floats(pair[2]) end
    end
    return cost
end

local function load_model(path)
    check_path("load", 1, path)
    local tensors, metadata = read("load", path)
    local text = metadata[ARCHITECTURE]
    if text == nil then
        raise(("bad argument #1 to 'load' ('%s' holds no architecture: it was not written by " ..
               "Module:save; build the model and call model:load_weights(path))"):format(path))
    end
    local ok, desc = pcall(st.json_decode, text)
    if not ok then
        raise(("bad argument #1 to 'load' ('%s': its architecture is not valid JSON)"):format(path))
    end
    local held = 0
    for _, t in pairs(tensors) do held = held + t:numel() end
    local wanted = requested_floats(desc)
    if wanted > math.max(16 * held, 1 << 24) then
        raise(("bad argument #1 to 'load' ('%s': its architecture asks for about %.0f parameters, " ..
               "the file holds %d: refusing to build it)"):format(path, wanted, held))
    end
    local model
    ok, model = pcall(rebuild, desc, "model")
    if not ok then
        raise(("bad argument #1 to 'load' ('%s': %s)"):format(path, tostring(model):gsub("^[^:]*:%d+: ", "")))
    end
    load_into(model, tensors, true, "load", "'" .. path .. "'")
    return model:eval()
end

local function register(class, name)
    if type(class) ~= "table" or rawget(class, "_is_module_class") ~= true then
        raise(("bad argument #1 to 'register' (expected a module class made by " ..
               "nn.Module:extend, got %s)"):format(type(class)))
    end
    if name ~= nil and type(name) ~= "string" then
        raise(("bad argument #2 to 'register' (expected a class name, got %s)"):format(type(name)))
    end
    name = name or rawget(class, "__name")
    if name == nil or class == Module then
        raise("bad argument #1 to 'register' (the class has no name: make it with " ..
              "nn.Module:extend(\"Name\"))")
    end
    registry[name] = class
    return class
end

-- Saving values ---------------------------------------------------------------------------------

local function save_value(value, path)
    if not dl.is_tensor(value) and type(value) ~= "table" then
        raise(("bad argument #1 to 'save' (expected a tensor or a table, got %s)"):format(type(value)))
    end
    check_path("save", 2, path)
    if is_module(value) then
        raise("bad argument #1 to 'save' (expected a tensor or a table, got a module: use model:save(path))")
    end
    local entries, names, used = {}, {}, {}
    local function name_tensor(t, where)
        if names[t] then return names[t] end
        local name = where == "" and "tensor" or where
        local k = 1
        while used[name] do
            k = k + 1
            name = where .. "#" .. k
        end
        used[name], names[t] = true, name
        entries[#entries + 1] = {name, t}
        return name
    end
    local ok, structure = pcall(encode, value, {tensor = name_tensor}, "", {})
    if not ok then raise(("bad argument #1 to 'save' (%s)"):format(structure)) end
    local metadata = {format = "pt", [VALUE] = st.json_encode(structure), ["dlrepl.version"] = dl.version}
    st.write(path, entries, metadata, "save", 2)
end

local function load_value(path)
    check_path("load", 1, path)
    local tensors, metadata = read("load", path)
    local text = metadata[VALUE]
    if text == nil then return tensors end
    local ok, value = pcall(function() return decode(st.json_decode(text), {tensors = tensors}) end)
    if not ok then
        raise(("bad argument #1 to 'load' ('%s': %s)"):format(path, tostring(value):gsub("^[^:]*:%d+: ", "")))
    end
    return value
end

-- Installation ------------------------------------------------------------------------------------

local serialize = {}

--- Adds nn.load and nn.register to `nn`, dl.save and dl.load to dl, and
--- registers every class later made by a named Module:extend.
function serialize.install(nn)
    nn_table = nn
    nn.load = load_model
    nn.register = register
    dl.save = save_value
    dl.load = load_value
    local extend = Module.extend
    function Module.extend(class, name)
        local subclass = extend(class, name)
        if type(name) == "string" then registry[name] = subclass end
        return subclass
    end
end

return serialize
