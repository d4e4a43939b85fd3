-- The module table, machine functions, inspection methods, printing, and
-- the lifetime of boxes (__gc, __close).
local H = require "tests.lua.helper"
local dl = H.dl

describe("the dl module", function()
    it("has a version, and the nn and optim tables", function()
        assert.matches("^%d+%.%d+%.%d+$", dl.version)
        assert.equal("table", type(dl.nn.Linear))
        assert.equal("function", type(dl.nn.cross_entropy))
        assert.equal("function", type(dl.optim.Adam))
        assert.equal(dl.nn, require("dl.nn"))
    end)

    it("exposes the methods table as dl.Tensor", function()
        assert.equal(dl.Tensor.sum, dl.ones(1).sum)
        assert.equal("function", type(dl.Tensor.matmul))
    end)

    it("registers every embedded module in package.preload", function()
        local ls = io.popen("ls bindings/lua/dl/*.lua 2>/dev/null")
        for path in ls:lines() do
            local name = "dl." .. path:match("([^/]+)%.lua$")
            assert.equal("function", type(package.preload[name]), name)
        end
        ls:close()
    end)

    it("tells tensors apart from other values", function()
        assert.is_true(dl.is_tensor(dl.ones(1)))
        assert.is_false(dl.is_tensor({}))
        assert.is_false(dl.is_tensor(io.stdout))
        assert.is_false(dl.is_tensor(nil))
    end)
end)

describe("machine functions", function()
    it("dl.clock is monotonic seconds", function()
        local t0 = dl.clock()
        local t1 = dl.clock()
        assert.equal("number", type(t0))
        assert.is_true(t1 >= t0)
    end)

    it("dl.threads reads and sets the thread count", function()
        local n = dl.threads()
        assert.is_true(n >= 1)
        assert.equal(1, dl.threads(1))
        assert.equal(1, dl.threads())
        assert.equal(n, dl.threads(n))
        local msg = H.err(dl.threads, 0)
        assert.truthy(msg:find("^bad argument #1 to 'threads' %(expected a thread count in "
                               .. "1%.%.%d+, got 0%)$"), msg)
    end)

    it("dl.memory counts live tensor bytes", function()
        collectgarbage()
        local before = dl.memory()
        local t = dl.zeros(1000)
        assert.is_true(dl.memory() >= before + 4000)
        t = nil
        collectgarbage()
        assert.equal(before, dl.memory())
    end)
end)

describe("inspection", function()
    local t = dl.tensor{{1, 2, 3}, {4, 5, 6}}

    it("shape, size, dim and numel", function()
        assert.same({2, 3}, t:shape())
        assert.same({2, 3}, t:size())
        assert.equal(2, t:size(1))
        assert.equal(3, t:size(2))
        assert.equal(3, t:size(-1))
        assert.equal(2, t:dim())
        assert.equal(6, t:numel())
        assert.equal(0, dl.tensor(1):dim())
        H.raises("bad argument #2 to 'size' (expected a dim in 1..2 or -2..-1, got 3)",
                 t.size, t, 3)
    end)

    it("item reads one-element tensors", function()
        assert.equal(2.5, dl.tensor(2.5):item())
        assert.equal(7, dl.tensor{{7}}:item())
        H.raises("bad argument #1 to 'item' (expected a tensor with one element, got " ..
                 "shape (2, 3))", t.item, t)
    end)

    it("totable follows views", function()
        assert.same({{1, 4}, {2, 5}, {3, 6}}, t:t():totable())
        assert.same({2, 5}, t:select(2, 2):totable())
    end)

    it("clone shares nothing", function()
        local c = t:clone()
        c[1] = 0
        assert.same({1, 2, 3}, t[1]:totable())
        assert.same({0, 0, 0}, c[1]:totable())
        assert.is_true(dl.clone(t:t()):is_contiguous())
    end)

    it("contiguous returns the tensor itself when already contiguous", function()
        assert.equal(t, t:contiguous())
        assert.are_not.equal(t:t(), t:t():contiguous())
    end)

    it("fill_ and copy_ work in place and return the tensor", function()
        local x = dl.zeros(2, 3)
        assert.equal(x, x:fill_(2))
        H.close(x, {{2, 2, 2}, {2, 2, 2}})
        assert.equal(x, x:copy_(dl.tensor{1, 2, 3}))
        H.close(x, {{1, 2, 3}, {1, 2, 3}})
        assert.matches("^bad argument #%d to 'copy_' %(expected a shape that broadcasts " ..
                       "to %(2, 3%), got %(4,%)%)$", H.err(x.copy_, x, dl.ones(4)))
        H.raises("bad argument #2 to 'fill_' (expected a number, got string)",
                 x.fill_, x, "a")
    end)

    it("copy_ from an overlapping view reads before writing", function()
        local x = dl.tensor{{1, 2}, {3, 4}}
        x:copy_(x:t())
        H.close(x, {{1, 3}, {2, 4}})
    end)

    it("requires_grad queries and sets the flag", function()
        local x = dl.ones(2)
        assert.is_false(x:requires_grad())
        assert.equal(x, x:requires_grad(true))
        assert.is_true(x:requires_grad())
        x:requires_grad(false)
        assert.is_false(x:requires_grad())
        H.raises("bad argument #2 to 'requires_grad' (expected a boolean, got number)",
                 x.requires_grad, x, 1)
    end)

    it("method calls on a non-tensor name the method", function()
        H.raises("bad argument #1 to 'numel' (expected a tensor, got table)",
                 dl.Tensor.numel, {})
    end)
end)

describe("printing", function()
    it("shows values in aligned columns and a shape line", function()
        assert.equal("[[1., 2.],\n [3., 4.]]\n[tensor of shape (2, 2)]",
                     tostring(dl.tensor{{1, 2}, {3, 4}}))
        assert.equal("[  1., -10., 100.]\n[tensor of shape (3,)]",
                     tostring(dl.tensor{1, -10, 100}))
        assert.equal("[1.5000, 2.2500]\n[tensor of shape (2,)]",
                     tostring(dl.tensor{1.5, 2.25}))
    end)

    it("switches to scientific notation for wide ranges", function()
        assert.equal("[[ 1.5000e+00, -2.0000e+01],\n [ 3.0000e+02,  2.5000e-01]]\n" ..
                     "[tensor of shape (2, 2)]",
                     tostring(dl.tensor{{1.5, -20}, {300, 0.25}}))
    end)

    it("shows the grad flag in the last line", function()
        assert.equal("[[0., 0., 0.],\n [0., 0., 0.]]\n" ..
                     "[tensor of shape (2, 3), requires_grad]",
                     tostring(dl.zeros(2, 3, {requires_grad = true})))
        assert.equal("3.5000\n[scalar tensor, requires_grad]",
                     tostring(dl.tensor(3.5, {requires_grad = true})))
        assert.equal("3.5000\n[scalar tensor]", tostring(dl.tensor(3.5)))
    end)

    it("elides long dims with ...", function()
        assert.equal("[   0.,    1.,    2., ..., 1997., 1998., 1999.]\n" ..
                     "[tensor of shape (2000,)]", tostring(dl.arange(2000)))
        local lines = {}
        for line in tostring(dl.arange(3000):reshape(50, 60)):gmatch("[^\n]+") do
            lines[#lines + 1] = line
        end
        assert.equal(8, #lines)
        assert.equal("[[   0.,    1.,    2., ...,   57.,   58.,   59.],", lines[1])
        assert.equal(" ...,", lines[4])
        assert.equal(" [2940., 2941., 2942., ..., 2997., 2998., 2999.]]", lines[7])
        assert.equal("[tensor of shape (50, 60)]", lines[8])
    end)

    it("separates the blocks of 3-D tensors with a blank line", function()
        assert.equal("[[[1., 2.]],\n\n [[3., 4.]]]\n[tensor of shape (2, 1, 2)]",
                     tostring(dl.tensor{{{1, 2}}, {{3, 4}}}))
    end)

    it("shows NaN and infinities", function()
        assert.equal("[ nan,  inf, -inf]\n[tensor of shape (3,)]",
                     tostring(dl.tensor{0 / 0, math.huge, -math.huge}))
    end)
end)

describe("lifetime", function()
    it("views keep their storage alive after the source is collected", function()
        local t = dl.arange(6)
        local v = t:view(2, 3)[2]
        t = nil
        collectgarbage()
        collectgarbage()
        H.close(v, {3, 4, 5})
    end)

    it("<close> releases at the end of the block, and a closed tensor says so", function()
        collectgarbage()
        local before = dl.memory()
        local kept
        do
            local x <close> = dl.zeros(1000)
            kept = x
            assert.is_true(dl.memory() >= before + 4000)
        end
        assert.equal(before, dl.memory())
        assert.equal("tensor (closed)", tostring(kept))
        H.raises("bad argument #1 to 'sum' (expected a tensor, got a closed tensor)",
                 kept.sum, kept)
        H.raises("bad argument #2 to 'add' (expected a tensor, got a closed tensor)",
                 function() return dl.ones(1) + kept end)
        H.raises("bad argument #1 to '__index' (expected a tensor, got a closed tensor)",
                 function() return kept[1] end)
    end)

    it("closing twice is harmless", function()
        local x = dl.ones(3)
        getmetatable(x).__close(x)
        getmetatable(x).__close(x)
        assert.equal("tensor (closed)", tostring(x))
    end)

    it("__gc refuses values that are not tensors", function()
        H.raises("bad argument #1 to '__gc' (expected a tensor, got FILE*)",
                 getmetatable(dl.ones(1)).__gc, io.stdout)
    end)
end)
