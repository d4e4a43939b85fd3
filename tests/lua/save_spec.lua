-- save_spec.lua -- saving and loading (bindings/lua/dl/serialize.lua and
-- core/io/safetensors*.c): model round trips of every built-in layer,
-- PyTorch reading dl's files and dl reading PyTorch's (tests/oracle/save.py),
-- load_weights' report, dl.save / dl.load of nested tables, hostile files,
-- and the atomic write. Files go to a temporary folder.
local H = require "tests.lua.helper"
local dl = H.dl
local nn = dl.nn

local build = os.getenv("DL_BUILD") or "build"
local tmp = os.tmpname()
os.remove(tmp)
assert(os.execute("mkdir -p " .. tmp))

local function bytes_of(path)
    local f = io.open(path, "rb")
    if not f then return nil end
    local data = f:read("a")
    f:close()
    return data
end

local function write(path, data)
    local f = assert(io.open(path, "wb"))
    f:write(data)
    f:close()
    return path
end

-- Values of t in row-major order.
local function flat(t)
    return t:reshape(-1):totable()
end

-- Asserts that a and b hold the same floats, bit for bit (NaN = NaN).
local function identical(a, b)
    assert.are.same(a:shape(), b:shape())
    local x, y = flat(a), flat(b)
    for i = 1, #x do
        assert(x[i] == y[i] or (x[i] ~= x[i] and y[i] ~= y[i]),
               ("element %d differs: %.9g vs %.9g"):format(i, x[i], y[i]))
    end
end

local function close(a, b, tol)
    assert.are.same(a:shape(), b:shape())
    local x, y = flat(a), flat(b)
    for i = 1, #x do
        assert(math.abs(x[i] - y[i]) <= tol * math.max(1, math.abs(y[i])),
               ("element %d: %.9g vs %.9g"):format(i, x[i], y[i]))
    end
end

-- Runs a Lua script in a fresh process; returns its success and output.
local function run_lua(code)
    local script = write(tmp .. "/child.lua", ("package.cpath = %q .. package.cpath\n"):format(build .. "/?.so;")
                         .. "local dl = require 'dl'\nlocal nn = dl.nn\n" .. code)
    local pipe = io.popen("lua5.4 " .. script .. " 2>&1")
    local out = pipe:read("a")
    return pipe:close(), out
end

describe("Module:save and nn.load", function()
    -- Every built-in layer, alone and in a Sequential, with an input.
    local cases = {
        {"Linear", function() return nn.Linear(5, 3) end, {4, 5}},
        {"Linear without bias", function() return nn.Linear(5, 3, {bias = false}) end, {4, 5}},
        {"Conv2d", function() return nn.Conv2d(2, 3, 3, {stride = 2, padding = 1}) end, {2, 2, 7, 7}},
        {"Conv2d oblong, no bias", function() return nn.Conv2d(2, 3, {2, 3}, {bias = false}) end, {2, 2, 5, 6}},
        {"BatchNorm1d", function() return nn.BatchNorm1d(5) end, {4, 5}},
        {"BatchNorm1d options", function()
            return nn.BatchNorm1d(5, {affine = false, momentum = 0.2, eps = 1e-3}) end, {4, 5}},
        {"BatchNorm2d", function() return nn.BatchNorm2d(3) end, {2, 3, 4, 4}},
        {"LayerNorm", function() return nn.LayerNorm(5, {eps = 1e-6}) end, {3, 5}},
        {"Embedding", function() return nn.Embedding(10, 4) end, "indices"},
        {"Dropout", function() return nn.Dropout(0.25) end, {4, 5}},
        {"MaxPool2d", function() return nn.MaxPool2d(2) end, {2, 2, 6, 6}},
        {"MaxPool2d options", function() return nn.MaxPool2d(3, {stride = 2, padding = 1}) end, {2, 2, 7, 7}},
        {"AvgPool2d", function() return nn.AvgPool2d(2, {stride = 1}) end, {2, 2, 5, 5}},
        {"ReLU", function() return nn.ReLU() end, {3, 4}},
        {"Sigmoid", function() return nn.Sigmoid() end, {3, 4}},
        {"Tanh", function() return nn.Tanh() end, {3, 4}},
        {"GELU", function() return nn.GELU() end, {3, 4}},
        {"Softmax", function() return nn.Softmax(1) end, {3, 4}},
        {"LogSoftmax", function() return nn.LogSoftmax(2) end, {3, 4}},
        {"Identity", function() return nn.Identity() end, {3, 4}},
        {"Flatten", function() return nn.Flatten() end, {2, 3, 4}},
        {"Flatten options", function() return nn.Flatten({start_dim = 1, end_dim = 2}) end, {2, 3, 4}},
    }

    local function input_for(spec)
        if spec == "indices" then return dl.tensor{{1, 2, 3}, {10, 9, 8}} end
        return dl.randn(spec)
    end

    for _, case in ipairs(cases) do
        local name, make, spec = case[1], case[2], case[3]
        for _, wrapped in ipairs{false, true} do
            it(("rebuilds %s%s bit-identically"):format(name, wrapped and " in a Sequential" or ""), function()
                dl.manual_seed(7)
                local model = make()
                if wrapped then model = nn.Sequential{model} end
                local x = input_for(spec)
                model:train()
                model(x)                      -- moves BatchNorm's running statistics
                model(x)
                model:eval()
                local y = model(x)
                local path = tmp .. "/layer.safetensors"
                model:save(path)
                local loaded = nn.load(path)
                assert.are.equal(tostring(model), tostring(loaded))
                assert.is_false(loaded.training)
                identical(loaded(x), y)
                local a, names = model:state_dict()
                local b, loaded_names = loaded:state_dict()
                assert.are.same(names, loaded_names)
                for _, n in ipairs(names) do identical(b[n], a[n]) end
            end)
        end
    end

    it("names tensors as PyTorch's state_dict, counting from 0", function()
        local model = nn.Sequential{nn.Sequential{nn.Linear(4, 4), nn.ReLU()}, nn.BatchNorm1d(4),
                                    nn.Sequential{nn.Linear(4, 2)}}
        local _, names = model:state_dict()
        assert.are.same({"0.0.weight", "0.0.bias", "1.weight", "1.bias", "1.running_mean",
                         "1.running_var", "1.num_batches_tracked", "2.0.weight", "2.0.bias"}, names)
        model:train()
        model(dl.randn(3, 4))
        local path = tmp .. "/nested.safetensors"
        model:save(path)
        local loaded = nn.load(path)
        assert.are.equal(1, loaded[2].num_batches_tracked)
        local x = dl.randn(6, 4)
        model:eval()
        identical(loaded(x), model(x))
    end)

    it("keeps fields changed after construction and layers added later", function()
        local model = nn.Sequential{nn.Linear(3, 3)}
        model:add(nn.Dropout(0.5))
        model[2].p = 0.125
        local path = tmp .. "/changed.safetensors"
        model:save(path)
        local loaded = nn.load(path)
        assert.are.equal(2, #loaded)
        assert.are.equal(0.125, loaded[2].p)
    end)

    it("rebuilds registered custom modules, with children made in init", function()
        local Scaled = nn.Module:extend("SaveSpecScaled")
        function Scaled:init(n, opts)
            self.inner = nn.Linear(n, n)
            self.weight = dl.randn(n, {requires_grad = true})
            rawset(self, "factor", opts.factor)
        end
        function Scaled:forward(x) return self.inner(x) * self.weight * self.factor end
        dl.manual_seed(3)
        local model = nn.Sequential{Scaled(3, {factor = 2.5}), nn.Tanh()}
        local path = tmp .. "/custom.safetensors"
        model:save(path)
        local _, names = model:state_dict()
        assert.are.same({"0.inner.weight", "0.inner.bias", "0.weight"}, names)
        local loaded = nn.load(path)
        local x = dl.randn(4, 3)
        identical(loaded(x), model(x))
        -- a fresh process without the class cannot rebuild it ...
        local ok, out = run_lua(("nn.load(%q)"):format(path))
        assert.is_falsy(ok)
        assert.matches(("bad argument #1 to 'load' ('%s': cannot rebuild the custom module " ..
                        "'SaveSpecScaled' at model[1]: its class is not registered"):format(path), out, 1, true)
        -- ... and can once a class is registered under that name
        ok, out = run_lua(([[
            local C = nn.Module:extend()
            function C:init(n, opts) self.inner = nn.Linear(n, n); self.weight = dl.zeros(n, {requires_grad = true}) end
            function C:forward(x) return self.inner(x) * self.weight * self.factor end
            nn.register(C, "SaveSpecScaled")
            local m = nn.load(%q)
            print(m[1].factor, m[1].weight:shape()[1])
        ]]):format(path))
        assert.is_true(ok, out)
        assert.are.equal("2.5\t3\n", out)
    end)

    it("says why a module made by nn.Module{...} cannot be rebuilt, and loads its weights", function()
        local model = nn.Sequential{nn.Linear(2, 2), nn.Module{forward = function(_, x) return x * 2 end}}
        local path = tmp .. "/oneoff.safetensors"
        model:save(path)
        H.raises(("bad argument #1 to 'load' ('%s': cannot rebuild 'Module' at model[2]: it was made " ..
                  "by nn.Module{...}, which nn.load cannot call again; make a class with " ..
                  "nn.Module:extend(\"Name\") instead)"):format(path), nn.load, path)
        local other = nn.Sequential{nn.Linear(2, 2), nn.ReLU()}
        other:load_weights(path)
        identical(other[1].weight, model[1].weight)
    end)

    it("says which constructor argument of a custom module cannot be saved", function()
        local Fixed = nn.Module:extend("SaveSpecFixed")
        function Fixed:init(w, opts) self.w = w:clone():requires_grad(true) end
        function Fixed:forward(x) return x * self.w end
        local model = nn.Sequential{Fixed(dl.ones(2), {name = "a"})}
        local path = tmp .. "/fixed.safetensors"
        model:save(path)
        H.raises(("bad argument #1 to 'load' ('%s': cannot rebuild 'SaveSpecFixed' at model[1]: its " ..
                  "constructor arguments: cannot save a tensor at argument 1)"):format(path), nn.load, path)
        local other = nn.Sequential{Fixed(dl.zeros(2))}
        other:load_weights(path)
        identical(other[1].w, model[1].w)
    end)

    it("refuses files without an architecture, and bad arguments", function()
        local path = tmp .. "/plain.safetensors"
        dl.save({w = dl.ones(2)}, path)
        H.raises(("bad argument #1 to 'load' ('%s' holds no architecture: it was not written by " ..
                  "Module:save; build the model and call model:load_weights(path))"):format(path),
                 nn.load, path)
        H.raises("bad argument #1 to 'save' (expected a file path, got number)",
                 function() nn.Linear(1, 1):save(3) end)
        H.raises("bad argument #1 to 'load' (expected a file path, got nil)", nn.load)
        H.raises("bad argument #1 to 'register' (expected a module class made by nn.Module:extend, got string)",
                 nn.register, "Linear")
        H.raises(("bad argument #1 to 'load' (cannot open '%s/none': No such file or directory)"):format(tmp),
                 nn.load, tmp .. "/none")
    end)
end)

describe("load_weights, state_dict and load_state_dict", function()
    local path = tmp .. "/weights.safetensors"
    local model = nn.Sequential{nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)}
    model:save(path)

    it("loads into an existing model, keeping its tensors", function()
        local other = nn.Sequential{nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)}
        local weight = other[1].weight
        assert.are.equal(other, other:load_weights(path))
        assert.are.equal(weight, other[1].weight)
        assert.is_true(weight:requires_grad())
        local x = dl.randn(5, 4)
        identical(other(x), model(x))
    end)

    it("names every missing, unexpected and mis-shaped tensor in one error", function()
        local other = nn.Sequential{nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 5), nn.Linear(5, 1)}
        H.raises(("bad argument #1 to 'load_weights' ('%s' does not fit the model; missing from " ..
                  "'%s': 3.weight, 3.bias; shapes differ: 2.weight is (2, 3) in '%s', (5, 3) in " ..
                  "the model, 2.bias is (2) in '%s', (5) in the model)"):format(path, path, path, path),
                 other.load_weights, other, path)
        local small = nn.Sequential{nn.Linear(4, 3)}
        H.raises(("bad argument #1 to 'load_weights' ('%s' does not fit the model; not in the " ..
                  "model: 2.bias, 2.weight)"):format(path), small.load_weights, small, path)
        -- strict = false lets names differ, not shapes
        local before = flat(small[1].weight)
        small:load_weights(path, {strict = false})
        assert.are_not.same(before, flat(small[1].weight))
        identical(small[1].weight, model[1].weight)
        H.raises("bad argument #2 to 'load_weights' (unknown option 'strct'; known: strict)",
                 small.load_weights, small, path, {strct = false})
    end)

    it("state_dict shares memory; load_state_dict copies in place", function()
        local sd, names = model:state_dict()
        assert.are.same({"0.weight", "0.bias", "2.weight", "2.bias"}, names)
        assert.is_false(sd["0.weight"]:requires_grad())
        local other = nn.Sequential{nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)}
        local missing, unexpected = other:load_state_dict(sd)
        assert.are.same({}, missing)
        assert.are.same({}, unexpected)
        identical(other[3].bias, model[3].bias)
        sd["2.bias"]:fill_(0.5)               -- the view writes through
        assert.are.same({0.5, 0.5}, flat(model[3].bias))
        missing, unexpected = other:load_state_dict({["0.bias"] = dl.ones(3), extra = dl.ones(1)},
                                                    {strict = false})
        assert.are.same({"0.weight", "2.weight", "2.bias"}, missing)
        assert.are.same({"extra"}, unexpected)
        assert.are.same({1, 1, 1}, flat(other[1].bias))
        H.raises("bad argument #1 to 'load_state_dict' (expected a table of name -> tensor, got a tensor)",
                 other.load_state_dict, other, dl.ones(1))
    end)

    it("loads a state dict saved with dl.save", function()
        local p = tmp .. "/sd.safetensors"
        dl.save(model:state_dict(), p)
        local other = nn.Sequential{nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)}
        other:load_weights(p)
        identical(other[1].weight, model[1].weight)
    end)
end)

describe("PyTorch", function()
    it("loads dl's files with load_state_dict(strict=True) and computes the same outputs", function()
        dl.manual_seed(11)
        local cnn = nn.Sequential{
            nn.Conv2d(2, 4, 3, {padding = 1}), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
            nn.AvgPool2d(2, {stride = 1}), nn.Flatten(), nn.Linear(36, 16), nn.BatchNorm1d(16),
            nn.Tanh(), nn.Dropout(0.5), nn.LayerNorm(16), nn.GELU(), nn.Linear(16, 3), nn.LogSoftmax(2)}
        for _ = 1, 3 do cnn(dl.randn(6, 2, 8, 8)) end
        cnn:eval()
        local x = dl.randn(5, 2, 8, 8)
        cnn:save(tmp .. "/cnn.safetensors")
        dl.save(x, tmp .. "/cnn_input.safetensors")
        local emb = nn.Sequential{nn.Embedding(10, 4), nn.Flatten(), nn.Linear(12, 2), nn.Sigmoid()}
        local ids = dl.tensor{{1, 2, 3}, {10, 9, 8}, {5, 5, 5}, {4, 7, 1}, {2, 2, 10}}
        emb:save(tmp .. "/emb.safetensors")
        dl.save(ids, tmp .. "/emb_input.safetensors")
        assert(os.execute("/usr/bin/python3 tests/oracle/save.py from_dl " .. tmp),
               "tests/oracle/save.py from_dl failed")
        local out = dl.load(tmp .. "/torch_outputs.safetensors")
        close(cnn(x), out.cnn, 1e-5)
        close(emb(ids), out.emb, 1e-5)
        assert.are.equal(3, out.cnn_batches:item())
    end)

    it("gives dl files that load_weights takes, with every dtype", function()
        assert(os.execute("/usr/bin/python3 tests/oracle/save.py to_dl " .. tmp),
               "tests/oracle/save.py to_dl failed")
        local cnn = nn.Sequential{
            nn.Conv2d(2, 4, 3, {padding = 1}), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
            nn.AvgPool2d(2, {stride = 1}), nn.Flatten(), nn.Linear(36, 16), nn.BatchNorm1d(16),
            nn.Tanh(), nn.Dropout(0.5), nn.LayerNorm(16), nn.GELU(), nn.Linear(16, 3), nn.LogSoftmax(2)}
        cnn:load_weights(tmp .. "/torch_cnn.safetensors"):eval()
        local emb = nn.Sequential{nn.Embedding(10, 4), nn.Flatten(), nn.Linear(12, 2), nn.Sigmoid()}
        emb:load_weights(tmp .. "/torch_emb.safetensors"):eval()
        local io_ = dl.load(tmp .. "/torch_io.safetensors")
        close(cnn(io_.cnn_x), io_.cnn_y, 1e-5)
        close(emb(io_.emb_x), io_.emb_y, 1e-5)
        assert.are.equal(3, cnn[2].num_batches_tracked)
        local d = dl.load(tmp .. "/dtypes.safetensors")
        for _, name in ipairs{"f32", "f64", "f16", "bf16"} do
            assert.are.same({-1.5, -1, -0.5, 0, 0.5, 1}, flat(d[name]))
        end
        for _, name in ipairs{"i64", "i32", "i16", "i8"} do
            assert.are.same({-3, -2, -1, 0, 1, 2}, flat(d[name]))
        end
        assert.are.same({250, 251, 252, 253, 254, 255}, flat(d.u8))
        assert.are.same({0, 0, 0, 0, 1, 1}, flat(d.bool))
        identical(d.f16_special, d.f16_special_f32)
        identical(d.bf16_special, d.bf16_special_f32)
    end)
end)

describe("dl.save and dl.load", function()
    -- Deep equality that tells integers from floats, -0.0 from 0.0, and
    -- compares tensors by value.
    local function same(a, b, where)
        where = where or "value"
        if dl.is_tensor(a) then
            assert(dl.is_tensor(b), where .. ": expected a tensor")
            identical(b, a)
            return
        end
        assert.are.equal(type(a), type(b), where)
        if type(a) == "number" then
            assert.are.equal(math.type(a), math.type(b), where)
            assert(a == b or (a ~= a and b ~= b), where .. (": %s vs %s"):format(a, b))
            if a == 0 then assert.are.equal(1 / a, 1 / b, where .. ": sign of zero") end
        elseif type(a) == "table" then
            for k, v in pairs(a) do same(v, b[k], where .. "." .. tostring(k)) end
            for k in pairs(b) do assert(a[k] ~= nil, where .. ": extra key " .. tostring(k)) end
        else
            assert.are.equal(a, b, where)
        end
    end

    it("round-trips a tensor, a scalar and an empty tensor", function()
        local p = tmp .. "/t.safetensors"
        for _, t in ipairs{dl.randn(3, 4), dl.tensor(2.5), dl.zeros(0, 3), dl.randn(2, 3):t()} do
            dl.save(t, p)
            local back = dl.load(p)
            assert(dl.is_tensor(back))
            identical(back, t)
        end
    end)

    it("round-trips nested tables exactly", function()
        local shared = dl.randn(2)
        local value = {
            a = dl.ones(2), nested = {b = {dl.zeros(1), dl.full({2, 2}, 3)}}, n = 3, f = 2.5,
            whole = 3.0, big = math.maxinteger, small = math.mininteger, nan = 0 / 0,
            inf = math.huge, minf = -math.huge, neg0 = -0.0, tiny = 5e-324, third = 1 / 3,
            s = "héllo", bin = "\0\255\1", flag = false, yes = true,
            mixed = {[1] = "x", [3] = "y", k = true}, [5] = "five", [2.5] = "float key",
            [true] = "bool key", ["$odd"] = "dollar key", empty = {}, list = {1, 2.0, "3"},
            twice = {shared, shared},
        }
        local p = tmp .. "/nested_value.safetensors"
        dl.save(value, p)
        local back = dl.load(p)
        same(value, back)
        assert.are.equal(back.twice[1], back.twice[2])   -- one tensor, as saved
        -- tensor names are the dotted paths, so other tools see them
        local names = {}
        for name in pairs(require("dl.safetensors").read(p) and select(2, require("dl.safetensors").read(p))) do
            names[#names + 1] = name
        end
        table.sort(names)
        assert.are.same({"a", "nested.b.1", "nested.b.2", "twice.1"}, names)
    end)

    it("keeps an optimiser's state dict as it was", function()
        local state = {state = {[1] = {step = 3, exp_avg = dl.randn(2, 2), exp_avg_sq = dl.rand(2, 2)},
                                [2] = {step = 3, exp_avg = dl.randn(2), exp_avg_sq = dl.rand(2)}},
                       param_groups = {{lr = 0.001, betas = {0.9, 0.999}, eps = 1e-8, weight_decay = 0,
                                        amsgrad = false, params = {1, 2}}}}
        local p = tmp .. "/optim.safetensors"
        dl.save(state, p)
        same(state, dl.load(p))
    end)

    it("returns name -> tensor for files without dl's metadata", function()
        local value = dl.load(tmp .. "/weights.safetensors")
        assert.are.same({2, 3}, value["2.weight"]:shape())
    end)

    it("refuses what it cannot save, naming where it is", function()
        local p = tmp .. "/bad.safetensors"
        H.raises("bad argument #1 to 'save' (expected a tensor or a table, got function)", dl.save, print, p)
        H.raises("bad argument #1 to 'save' (cannot save a function at x.f)", dl.save, {x = {f = print}}, p)
        local cycle = {}
        cycle.me = cycle
        H.raises("bad argument #1 to 'save' (cannot save a table that contains itself (at me))",
                 dl.save, cycle, p)
        H.raises("bad argument #2 to 'save' (expected a file path, got number)", dl.save, dl.ones(1), 5)
        H.raises("bad argument #1 to 'save' (expected a tensor or a table, got a module: use " ..
                 "model:save(path))", dl.save, nn.ReLU(), p)
        local closed = dl.ones(1)
        getmetatable(closed).__close(closed)
        H.raises("bad argument #1 to 'save' (cannot save a closed tensor at w)", dl.save, {w = closed}, p)
        H.raises("bad argument #1 to 'save' (cannot save a closed tensor)", dl.save, closed, p)
        assert.is_nil(bytes_of(p))
    end)
end)

describe("hostile files", function()
    local function file(header, data)
        return string.pack("<I8", #header) .. header .. (data or "")
    end
    local sixteen = string.rep("\0", 16)
    local cases = {
        {"an empty file", "", "truncated at byte 0: a safetensors file starts with an 8-byte header length"},
        {"a short length", "\1\0\0", "truncated at byte 3"},
        {"a length past the end", string.pack("<I8", 1000) .. "{}", "the header length 1000 is past the end of the file (10 bytes)"},
        {"a huge length", string.pack("<I8", -1) .. "{}", "the header length 18446744073709551615 is past the end"},
        {"bad JSON", file('{"a": '), "the header is not valid JSON"},
        {"trailing garbage", file('{} x'), "the header is not valid JSON (at byte 3 of the header)"},
        {"not an object", file("[1, 2]"), "the header is not a JSON object"},
        {"a non-UTF-8 name", file('{"\255\254": {}}'), "the header is not UTF-8 (byte 2 of the header)"},
        {"a NUL in a name", file('{"a\\u0000b": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]}}', "\0\0\0\0"),
         "a string of the header holds a NUL character"},
        {"a raw control byte", file('{"a\1": {}}'), "the header is not valid JSON (a control character in a string at byte 3)"},
        {"metadata not an object", file('{"__metadata__": [1]}'), "__metadata__ is not an object of strings"},
        {"metadata not strings", file('{"__metadata__": {"k": 1}}'), "__metadata__ entry 'k' is not a string"},
        {"an entry not an object", file('{"w": 3}'), "tensor 'w': expected an object with dtype, shape and data_offsets"},
        {"an unknown dtype", file('{"w": {"dtype": "F12", "shape": [4], "data_offsets": [0, 16]}}', sixteen),
         "tensor 'w': unknown dtype \"F12\""},
        {"an 8-bit float", file('{"w": {"dtype": "F8_E4M3", "shape": [16], "data_offsets": [0, 16]}}', sixteen),
         "tensor 'w' has dtype F8_E4M3, which dl cannot read"},
        {"a wrong dtype for the size", file('{"w": {"dtype": "F64", "shape": [4], "data_offsets": [0, 16]}}', sixteen),
         "tensor 'w': shape (4,) of F64 needs 32 bytes, its data_offsets [0, 16] hold 16"},
        {"a 10 GB shape", file('{"w": {"dtype": "F32", "shape": [100000, 25000], "data_offsets": [0, 16]}}', sixteen),
         "tensor 'w': shape (100000, 25000) of F32 needs 10000000000 bytes, its data_offsets [0, 16] hold 16"},
        {"a 10 GB shape and offsets", file('{"w": {"dtype": "F32", "shape": [100000, 25000], "data_offsets": [0, 10000000000]}}', sixteen),
         "tensor 'w': data_offsets [0, 10000000000] pass the end of the data (16 bytes)"},
        {"an overflowing shape", file('{"w": {"dtype": "F32", "shape": [4294967296, 4294967296, 4294967296], "data_offsets": [0, 16]}}', sixteen),
         "tensor 'w': shape (4294967296, 4294967296, 4294967296) has more elements than can be counted"},
        {"a negative size", file('{"w": {"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}}', sixteen),
         "tensor 'w': dimension 1 of the shape is not a whole number >= 0"},
        {"a fractional size", file('{"w": {"dtype": "F32", "shape": [2.5], "data_offsets": [0, 10]}}', sixteen),
         "tensor 'w': dimension 1 of the shape is not a whole number >= 0"},
        {"one offset", file('{"w": {"dtype": "F32", "shape": [4], "data_offsets": [0]}}', sixteen),
         "tensor 'w': expected data_offsets [begin, end] of two whole numbers"},
        {"backward offsets", file('{"w": {"dtype": "F32", "shape": [4], "data_offsets": [16, 0]}}', sixteen),
         "tensor 'w': data_offsets [16, 0] end before they begin"},
        {"offsets out of range", file('{"w": {"dtype": "F32", "shape": [8], "data_offsets": [0, 32]}}', sixteen),
         "tensor 'w': data_offsets [0, 32] pass the end of the data (16 bytes)"},
        {"overlapping offsets", file('{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},' ..
                                     '"b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}}', string.rep("\0", 24)),
         "tensor 'b': data_offsets [8, 24] overlap those of tensor 'a'"},
        {"a gap", file('{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},' ..
                       '"b": {"dtype": "F32", "shape": [1], "data_offsets": [12, 16]}}', sixteen),
         "tensor 'b': data_offsets [12, 16] leave bytes 8..11 of the data unused"},
        {"data after the tensors", file('{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}', sixteen),
         "8 bytes of data after the last tensor"},
        {"a name twice", file('{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},' ..
                              '"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}', sixteen),
         "'w' appears twice in the header"},
        {"too many dimensions", file('{"w": {"dtype": "F32", "shape": [1,1,1,1,1,1,1,1,1], "data_offsets": [0, 4]}}', "\0\0\0\0"),
         "tensor 'w' has 9 dimensions, dl tensors have at most"},
        {"too many JSON values", file('{"w": {"dtype": "F32", "shape": [' .. string.rep("1,", 1 << 21) .. '1]}}'),
         "the header holds more than 2097152 JSON values"},
    }
    for i, case in ipairs(cases) do
        it("refuses " .. case[1] .. ", naming the file", function()
            local path = write(("%s/hostile%d.safetensors"):format(tmp, i), case[2])
            local msg = H.err(dl.load, path)
            assert.matches(path .. ": " .. case[3], msg, 1, true)
            assert.matches(path, H.err(nn.load, path), 1, true)
            assert.matches(path, H.err(nn.Linear(1, 1).load_weights, nn.Linear(1, 1), path), 1, true)
        end)
    end

    it("refuses a header over 100 MB (sparse file)", function()
        local path = tmp .. "/big_header.safetensors"
        local f = assert(io.open(path, "wb"))
        f:write(string.pack("<I8", 100000001))
        f:seek("set", 100000100)
        f:write("x")
        f:close()
        assert.matches(path .. ": the header length 100000001 is over the limit of 100000000 bytes",
                       H.err(dl.load, path), 1, true)
        os.remove(path)
    end)

    it("refuses an architecture that asks for far more than the file holds, before building it", function()
        local st = require "dl.safetensors"
        local path = tmp .. "/greedy.safetensors"
        for _, arch in ipairs{'{"class":"Linear","args":[100000,100000]}',
                              '{"class":"Sequential","children":[[1,{"class":"Conv2d","args":[1,1,40000]}]]}'} do
            st.write(path, {{"weight", dl.ones(2, 2)}}, {["dlrepl.architecture"] = arch}, "save", 1)
            local before = dl.memory()
            assert.matches(("bad argument #1 to 'load' ('%s': its architecture asks for about"):format(path),
                           H.err(nn.load, path), 1, true)
            assert(dl.memory() - before < 1e6)
        end
        st.write(path, {{"weight", dl.ones(2, 2)}}, {["dlrepl.architecture"] = '{"class":'}, "save", 1)
        H.raises(("bad argument #1 to 'load' ('%s': its architecture is not valid JSON)"):format(path),
                 nn.load, path)
        st.write(path, {}, {["dlrepl.architecture"] = '{"class":"Sequential","children":[[1,7]]}'}, "save", 1)
        H.raises(("bad argument #1 to 'load' ('%s': its architecture is damaged at model[1])"):format(path),
                 nn.load, path)
        st.write(path, {}, {["dlrepl.architecture"] = '{"class":"NoSuchLayer"}'}, "save", 1)
        H.raises(("bad argument #1 to 'load' ('%s': cannot rebuild 'NoSuchLayer' at model: dl has no " ..
                  "layer of that name)"):format(path), nn.load, path)
    end)

    it("refuses the file truncated at every byte", function()
        local model = nn.Sequential{nn.Linear(2, 2), nn.BatchNorm1d(2)}
        local good = tmp .. "/good.safetensors"
        model:save(good)
        local data = bytes_of(good)
        local cut = tmp .. "/cut.safetensors"
        for n = 0, #data - 1 do
            write(cut, data:sub(1, n))
            local ok, msg = pcall(nn.load, cut)
            assert(not ok, ("truncated at %d bytes of %d: no error"):format(n, #data))
            assert(tostring(msg):find(cut, 1, true), msg)
        end
        write(cut, data)
        assert(nn.load(cut))
    end)
end)

describe("the atomic write", function()
    local function leftovers(dir)
        local pipe = io.popen("ls -A " .. dir)
        local names = pipe:read("a")
        pipe:close()
        return names
    end

    it("fails clearly for a folder that does not exist", function()
        H.raises(("bad argument #1 to 'save' (cannot write '%s/no/dir/m.safetensors': No such file " ..
                  "or directory)"):format(tmp), function() nn.Linear(1, 1):save(tmp .. "/no/dir/m.safetensors") end)
    end)

    it("leaves an existing file intact when the disk fills up half-way", function()
        local dir = tmp .. "/full"
        assert(os.execute("mkdir -p " .. dir))
        local path = dir .. "/m.safetensors"
        nn.Linear(2, 2):save(path)
        local before = bytes_of(path)
        -- a file size limit of 64 KB (and SIGXFSZ ignored) makes the write of
        -- a 4 MB model fail with EFBIG part-way through
        local script = write(tmp .. "/big.lua", ("package.cpath = %q .. package.cpath\n"):format(build .. "/?.so;") ..
            ("local dl = require 'dl'\nlocal ok, err = pcall(function() dl.nn.Linear(1000, 1000):save(%q) end)\n" ..
             "print(ok, err)"):format(path))
        local pipe = io.popen(("bash -c 'trap \"\" XFSZ; ulimit -f 64; lua5.4 %s' 2>&1"):format(script))
        local out = pipe:read("a")
        pipe:close()
        assert.matches("false\t.*bad argument #1 to 'save' %(cannot write '" .. path:gsub("%p", "%%%0") ..
                       "': File too large%)", out)
        assert.are.equal(before, bytes_of(path))
        assert.are.equal("m.safetensors\n", leftovers(dir))
    end)

    it("leaves an existing file intact in a folder nobody may write (/proc)", function()
        local before = bytes_of("/proc/version")
        H.raises("bad argument #1 to 'save' (cannot write '/proc/version': No such file or directory)",
                 function() nn.Linear(3, 3):save("/proc/version") end)
        assert.are.equal(before, bytes_of("/proc/version"))
        H.raises("bad argument #2 to 'save' (cannot write '/proc/version': No such file or directory)",
                 dl.save, dl.ones(2), "/proc/version")
    end)

    it("leaves an existing file intact in a folder it may not write", function()
        local dir = tmp .. "/readonly"
        assert(os.execute("mkdir -p " .. dir))
        local path = dir .. "/m.safetensors"
        nn.Linear(2, 2):save(path)
        local before = bytes_of(path)
        assert(os.execute("chmod 555 " .. dir))
        local probe = io.open(dir .. "/probe", "w")
        if probe then                          -- root writes anyway
            probe:close()
            os.remove(dir .. "/probe")
            assert(os.execute("chmod 755 " .. dir))
            pending("running as root: folder permissions do not apply")
            return
        end
        local msg = H.err(function() nn.Linear(3, 3):save(path) end)
        assert(os.execute("chmod 755 " .. dir))
        assert.are.equal(("bad argument #1 to 'save' (cannot write '%s': Permission denied)"):format(path), msg)
        assert.are.equal(before, bytes_of(path))
        assert.are.equal("m.safetensors\n", leftovers(dir))
    end)
end)
