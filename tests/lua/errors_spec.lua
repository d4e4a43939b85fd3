-- Every public function and metamethod, called with awkward arguments,
-- either works or raises "bad argument #N to 'name' (...)": never a crash
-- (run this under `make SAN=1` to catch memory errors) and never a bare
-- Lua message that leaves the user guessing.
local H = require "tests.lua.helper"
local dl = H.dl

local function closed_tensor()
    local t = dl.ones(2)
    getmetatable(t).__close(t)
    return t
end

local values = {
    nil, 0, -1, 1.5, 0 / 0, math.huge, 2 ^ 20, "x", {}, {1, 2}, {{1}, {2, 3}},
    {a = 1}, true, print, io.stdout, closed_tensor(),
    dl.tensor(3), dl.ones(3), dl.ones(2, 3), dl.ones(0), dl.ones(1, 1, 1, 1),
    dl.ones(2, 3):t(),
}
local nvalues = 22
local third = {1, 2, 3, 4, 10, 18}    -- indices into values for the 3rd argument

local function callables()
    local list = {}
    for name, f in pairs(dl) do
        -- save writes its file (its bad arguments are in save_spec)
        if type(f) == "function" and name ~= "threads" and name ~= "save" then
            list[#list + 1] = {"dl." .. name, f}
        end
    end
    for name, f in pairs(dl.Tensor) do
        list[#list + 1] = {"Tensor:" .. name, f}
    end
    -- the layer library: functions, losses, layer classes, optimisers, init
    for prefix, group in pairs{["nn.functional."] = dl.nn.functional, ["nn."] = dl.nn,
                               ["optim."] = dl.optim, ["nn.init."] = dl.nn.init} do
        for name, f in pairs(group) do
            local mt = type(f) == "table" and getmetatable(f)
            if type(f) == "function" or (mt and mt.__call) then
                list[#list + 1] = {prefix .. name, f}
            end
        end
    end
    local mt = getmetatable(dl.ones(1))
    for _, event in ipairs{"__add", "__sub", "__mul", "__div", "__pow", "__unm",
                           "__index", "__newindex", "__len", "__tostring"} do
        list[#list + 1] = {event, mt[event]}
    end
    table.sort(list, function(a, b) return a[1] < b[1] end)
    return list
end

describe("every function given wrong arguments", function()
    it("raises 'bad argument #N to name (...)' or works", function()
        local form = "^bad argument #%d+ to '[%w_]+' %(.+%)$"
        local wrong = {}
        for _, entry in ipairs(callables()) do
            local name, f = entry[1], entry[2]
            for i = 1, nvalues do
                for j = 1, nvalues do
                    for _, k in ipairs(third) do
                        local ok, msg = pcall(f, values[i], values[j], values[k])
                        msg = not ok and tostring(msg):gsub("^[^:]*:%d+: ", "") or ""
                        if not ok and not msg:match(form) and #wrong < 10 then
                            wrong[#wrong + 1] = ("%s(#%d, #%d, #%d): %s"):format(
                                name, i, j, k, msg)
                        end
                    end
                end
            end
        end
        assert.equal("", table.concat(wrong, "\n"))
    end)
end)

describe("methods of layers, models, optimisers and schedulers given wrong arguments", function()
    it("raise 'bad argument #N to name (...)' or work", function()
        local nn, optim = dl.nn, dl.optim
        -- A fresh object for every call: a call that works may change it.
        local function model() return nn.Sequential{nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)} end
        local function sgd() return optim.SGD(model(), {lr = 0.1, momentum = 0.9}) end
        local make = {
            Sequential = model, Linear = function() return nn.Linear(3, 2) end,
            Conv2d = function() return nn.Conv2d(1, 2, 3) end,
            BatchNorm1d = function() return nn.BatchNorm1d(3) end,
            BatchNorm2d = function() return nn.BatchNorm2d(2) end,
            LayerNorm = function() return nn.LayerNorm(3) end,
            Dropout = function() return nn.Dropout(0.5) end, Flatten = function() return nn.Flatten() end,
            Embedding = function() return nn.Embedding(5, 2) end,
            MaxPool2d = function() return nn.MaxPool2d(2) end,
            SGD = sgd, Adam = function() return optim.Adam(model()) end,
            StepLR = function() return optim.StepLR(sgd(), {step_size = 2}) end,
            ReduceLROnPlateau = function() return optim.ReduceLROnPlateau(sgd()) end,
        }
        -- The public methods of obj: functions reachable through __index
        -- tables, except metamethods and _private ones.
        local function methods(obj)
            local names, t = {}, obj
            while type(t) == "table" do
                for k, v in pairs(t) do
                    if type(k) == "string" and type(v) == "function" and not k:match("^_") and
                       k ~= "save" then   -- writes its file (bad arguments: save_spec)
                        names[#names + 1] = k
                    end
                end
                local mt = getmetatable(t)
                t = mt and mt.__index
            end
            table.sort(names)
            return names
        end
        local form = "^bad argument #%d+ to '[%w_]+' %(.+%)$"
        local wrong, quiet = {}, print
        print = function() end   -- summary() prints its table
        for kind, new in pairs(make) do
            for _, name in ipairs(methods(new())) do
                for i = 1, nvalues do
                    for _, j in ipairs(third) do
                        local target = new()
                        local ok, msg = pcall(target[name], target, values[i], values[j])
                        msg = not ok and tostring(msg):gsub("^[^:]*:%d+: ", "") or ""
                        if not ok and not msg:match(form) and #wrong < 10 then
                            wrong[#wrong + 1] = ("%s:%s(#%d, #%d): %s"):format(kind, name, i, j, msg)
                        end
                    end
                end
            end
        end
        print = quiet
        assert.equal("", table.concat(wrong, "\n"))
    end)
end)

describe("absurd sizes", function()
    it("are refused or handled without overflow", function()
        local huge = 2 ^ 40
        assert.matches("bad argument #2 to 'reshape'", H.err(function() dl.ones(2, 3):reshape(huge, huge) end))
        assert.matches("bad argument #2 to 'expand'", H.err(function() dl.ones(1, 1):expand(huge, huge) end))
        local empty = dl.empty(huge, huge, 0)
        assert.equal(0, empty:numel())
        assert.equal(0, empty:sum():item())
        assert.same({0}, empty:reshape(-1):shape())
        assert.matches("too large", H.err(function() dl.zeros(huge, huge) end))
    end)
end)

describe("error positions", function()
    local nn, optim = dl.nn, dl.optim
    local here = debug.getinfo(1, "S").short_src

    -- The message of f's error and the "chunk:line" it should name: the
    -- line of this file that made the call.
    local function raise_from_here(f)
        local line
        local ok, msg = pcall(function()
            line = debug.getinfo(1, "l").currentline; local r = f(); return r
        end)
        assert(not ok, "expected an error, got none")
        return tostring(msg), ("%s:%d: "):format(here, line)
    end

    it("name the user's line, not one inside dl's modules, exactly once", function()
        local cases = {
            function() return nn.Linear(-3, 4) end,                         -- layers.lua
            function() return nn.Linear(4, 2)(dl.randn(2, 3)) end,          -- C, via forward
            function() return optim.SGD(nn.Linear(2, 2), {lr = -1}) end,    -- optim.lua
            function() return nn.Sequential{nn.Linear(2, 3), 5} end,        -- module.lua
            function() return dl.data.csv("/nonexistent/table.csv") end,    -- C reader
            function() return nn.Sequential{nn.Linear(2, 3)}:summary{1, 5} end,   -- rethrown
        }
        for i, f in ipairs(cases) do
            local msg, want = raise_from_here(f)
            assert(msg:sub(1, #want) == want,
                   ("case %d: expected the prefix %s, got %s"):format(i, want, msg))
            assert(not msg:sub(#want + 1):find("^[^ ]*:%d+: "),
                   ("case %d: a second position in %s"):format(i, msg))
            assert(not msg:find("bindings/lua/dl/", 1, true), ("case %d: %s"):format(i, msg))
        end
    end)
end)
