-- The tools that show what a network does: dl.gradcheck (it must catch a
-- deliberately wrong gradient and pass correct ones), dl.graph (the tree,
-- and the dot file parsed back), activation hooks (exact statistics of a
-- network with known weights), dl.pca (against scikit-learn, up to sign),
-- and the data behind dl.plot.weights / grads / filters / decision /
-- embedding (histograms against numpy), drawn as text when gnuplot is here.
local H = require "tests.lua.helper"
local dl = H.dl
local nn = dl.nn
local F = nn.functional
local inside_plot = require "dl.plot_inside"

local build = os.getenv("DL_BUILD") or "build"

local function reference()
    local path = build .. "/inside_reference.lua"
    local ok = os.execute(("/usr/bin/python3 tests/oracle/inside.py %s"):format(path))
    assert(ok, "tests/oracle/inside.py failed: are python3-sklearn and numpy installed? "
               .. "(scripts/install-deps)")
    return dofile(path)
end

local function read_file(path)
    local f = assert(io.open(path))
    local text = f:read("a")
    f:close()
    return text
end

describe("dl.gradcheck", function()
    it("reports a function whose autodiff gradient is wrong", function()
        dl.manual_seed(3)
        local x = dl.randn(2, 3, {requires_grad = true})
        -- d/dx sum(x·x) = 2x, but detaching one factor makes autodiff say x
        local ok, report = dl.gradcheck(function(a) return (a:detach() * a):sum() end, x)
        assert.is_false(ok)
        assert.is_false(report.ok)
        assert.equal(6, report.checked)
        assert.equal(6, report.failed)
        local values = x:reshape(-1):totable()
        for _, w in ipairs(report.worst) do
            local i = (w.position[1] - 1) * 3 + w.position[2]
            assert.near(values[i], w.analytic, 1e-6)
            assert.near(2 * values[i], w.numeric, 1e-2 * math.abs(values[i]) + 1e-3)
            assert.is_false(w.ok)
        end
        local text = tostring(report)
        assert.truthy(text:find("gradcheck: FAILED, 6 of 6 elements out of tolerance", 1, true))
        assert.truthy(text:find("input  position  analytic", 1, true))
        assert.truthy(text:find("<- wrong", 1, true))
        -- the worst first: the largest |x| has the largest error
        local largest = 0
        for _, v in ipairs(values) do largest = math.max(largest, math.abs(v)) end
        assert.near(largest, math.abs(report.worst[1].analytic), 1e-6)
    end)

    it("reports only the wrong input of several, and a gradient that is missing", function()
        local a = dl.tensor({1, 2}, {requires_grad = true})
        local b = dl.tensor({3, 4}, {requires_grad = true})
        -- b enters only through a no_grad branch: its autodiff gradient is 0
        local ok, report = dl.gradcheck(function(p, q)
            local hidden = dl.no_grad(function() return q * 1 end)
            return (p * p):sum() + (hidden * q:detach()):sum()
        end, {a, b})
        assert.is_false(ok)
        assert.equal(2, report.failed)
        for _, w in ipairs(report.worst) do
            if w.input == 2 then
                assert.equal(0, w.analytic)
                assert.is_false(w.ok)
            else
                assert.is_true(w.ok)
            end
        end
        assert.is_nil(a.grad)           -- the inputs' gradients are cleared
    end)

    it("passes matmul, softmax and conv2d", function()
        dl.manual_seed(4)
        local x = dl.randn(3, 4, {requires_grad = true})
        local w = dl.randn(4, 2, {requires_grad = true})
        assert.is_true((dl.gradcheck(function(a, b) return a:matmul(b):pow(2):sum() end, {x, w})))
        local weights = dl.randn(3, 4)
        local ok, report = dl.gradcheck(function(a) return (a:softmax(2) * weights):sum() end, x)
        assert.is_true(ok, tostring(report))
        assert.equal(12, report.checked)
        local image = dl.randn(1, 2, 5, 5, {requires_grad = true})
        local kernel = dl.randn(3, 2, 3, 3, {requires_grad = true})
        local bias = dl.randn(3, {requires_grad = true})
        local probe = dl.randn(1, 3, 5, 5)
        ok, report = dl.gradcheck(function(i, k, b)
            return (F.conv2d(i, k, b, {padding = 1}) * probe):sum()
        end, {image, kernel, bias})
        assert.is_true(ok, tostring(report))
        assert.equal(50 + 54 + 3, report.checked)
        assert.truthy(tostring(report):find("gradcheck: ok, 0 of 107", 1, true))
    end)

    it("leaves inputs that do not require grad alone, and puts every value back", function()
        local x = dl.tensor({0.5, -1.5}, {requires_grad = true})
        local c = dl.tensor{2, 3}
        local ok, report = dl.gradcheck(function(a, k) return (a:tanh() * k):sum() end, {x, c},
                                        {eps = 1e-2, rows = 1})
        assert.is_true(ok)
        assert.equal(2, report.checked)
        assert.equal(1, #report.worst)
        H.close(x, {0.5, -1.5}, 0)
    end)

    it("says what is wrong with its arguments", function()
        local x = dl.ones(2, {requires_grad = true})
        H.raises("bad argument #1 to 'gradcheck' (expected a function, got nil)", dl.gradcheck)
        H.raises("bad argument #2 to 'gradcheck' (expected a tensor or a list of tensors, got "
                 .. "string)", dl.gradcheck, function() end, "x")
        H.raises("bad argument #2 to 'gradcheck' (expected at least one tensor that requires "
                 .. "grad, got none)", dl.gradcheck, function(a) return a:sum() end, dl.ones(2))
        H.raises("bad argument #2 to 'gradcheck' (expected leaf tensors, got one computed by "
                 .. "'mul' at [1] (check x:detach():requires_grad(true)))",
                 dl.gradcheck, function(a) return a:sum() end, x * 2)
        H.raises("bad argument #3 to 'gradcheck' (unknown option 'tol')",
                 dl.gradcheck, function(a) return a:sum() end, x, {tol = 1})
        H.raises("bad argument #3 to 'gradcheck' (expected option 'eps' to be a number > 0, "
                 .. "got 0)", dl.gradcheck, function(a) return a:sum() end, x, {eps = 0})
        H.raises("bad argument #1 to 'gradcheck' (expected a function returning a scalar tensor, "
                 .. "it returned a tensor of shape (2))",
                 dl.gradcheck, function(a) return a * 2 end, x)
    end)
end)

describe("dl.graph", function()
    it("prints the graph as a tree, names tensors and marks what requires grad", function()
        local x = dl.ones(2, 3, {requires_grad = true})
        local w = dl.ones(3, 2, {requires_grad = true})
        local loss = (x:matmul(w):relu() * x:sum()):mean()
        local g = dl.graph(loss, {names = {x = x, w = w}})
        assert.equal(table.concat({
            "mean scalar",
            "└─ mul (2, 2)",
            "   ├─ relu (2, 2)",
            "   │  └─ matmul (2, 2)",
            "   │     ├─ x (2, 3) requires grad",
            "   │     └─ w (3, 2) requires grad",
            "   └─ sum scalar",
            "      └─ x (2, 3) requires grad",
        }, "\n"), tostring(g))
        assert.equal(7, #g.nodes)          -- x once, though used twice
        assert.equal(7, #g.edges)
        assert.equal("mean", g.nodes[1].op)
        assert.is_true(g.nodes[5].leaf)
        assert.equal("x", g.nodes[5].name)
    end)

    it("draws a result used twice once, names a model's parameters, shows constants", function()
        local model = nn.Sequential{nn.Linear(4, 3), nn.ReLU()}
        local h = model(dl.ones(2, 4))
        local g = dl.graph((h * h):sum(), {names = model})
        local text = tostring(g)
        assert.truthy(text:find("1.weight (3, 4) requires grad", 1, true))
        assert.truthy(text:find("constant (2, 4)", 1, true))
        assert.truthy(text:find("relu (2, 3) (shown above)", 1, true))
        assert.equal(7, #g.nodes)    -- sum, mul, relu (once), linear, input, weight, bias
        assert.equal(7, #g.edges)    -- relu feeds mul twice
        assert.same({}, g.nodes[1].shape)
    end)

    it("prints a long chain 40 levels deep, and keeps every node", function()
        local x = dl.ones(2, {requires_grad = true})
        local y = x
        for _ = 1, 100 do y = y * 2 end
        local g = dl.graph(y)
        assert.equal(101, #g.nodes)
        local _, lines = tostring(g):gsub("\n", "")
        assert.equal(40, lines)
        assert.truthy(tostring(g):match("%.%.%. %(deeper levels not shown: the graph's nodes and "
                                        .. "dot have them%)$"))
    end)

    it("writes Graphviz dot whose nodes and edges parse back", function()
        local a = dl.tensor({1, 2}, {requires_grad = true})
        local b = dl.tensor({3, 4}, {requires_grad = true})
        local path = os.tmpname()
        local y = ((a * b):exp() + a):sum()
        local g = dl.graph(y, {dot = path, names = {['a "quoted" \\ name'] = a, b = b}})
        local dot = read_file(path)
        os.remove(path)
        assert.equal(g.dot, dot)
        assert.truthy(dot:match("^digraph autograd {\n"))
        assert.truthy(dot:match("}\n$"))
        local nodes, labels, edges = {}, {}, {}
        for id, label in dot:gmatch('\n    (n%d+) %[label="(.-[^\\])"') do
            nodes[#nodes + 1] = id
            labels[id] = label
        end
        for from, to in dot:gmatch("\n    (n%d+) %-> (n%d+);") do
            edges[#edges + 1] = {from, to}
            assert.truthy(labels[from], "edge from an unknown node " .. from)
            assert.truthy(labels[to], "edge to an unknown node " .. to)
        end
        assert.equal(#g.nodes, #nodes)
        assert.equal(#g.edges, #edges)
        assert.equal(6, #nodes)            -- sum, add, exp, mul, a, b
        assert.equal(6, #edges)            -- a feeds mul and add
        assert.equal("sum scalar", labels.n1)
        local quoted = false
        for _, label in pairs(labels) do
            quoted = quoted or label == 'a \\"quoted\\" \\\\ name (2)\\nrequires grad'
        end
        assert.is_true(quoted, "the name is escaped inside the dot string")
    end)

    it("renders with Graphviz when it is installed", function()
        local have_dot = os.execute("command -v dot >/dev/null 2>&1")
        if not have_dot then
            pending("graphviz (dot) is not installed: rendering not checked")
            return
        end
        local x = dl.ones(2, {requires_grad = true})
        local path = os.tmpname()
        dl.graph((x * 2):sum(), {dot = path})
        local svg = io.popen("dot -Tsvg " .. path):read("a")
        os.remove(path)
        assert.truthy(svg:find("<svg", 1, true))
    end)

    it("says when backward has freed the graph, and what is wrong with its arguments", function()
        local x = dl.ones(2, {requires_grad = true})
        local y = (x * 2):sum()
        y:backward()
        assert.equal("tensor scalar (graph freed by backward)", tostring(dl.graph(y)))
        assert.equal("leaf (2) requires grad", tostring(dl.graph(x)))
        H.raises("bad argument #1 to 'graph' (expected a tensor, got number)", dl.graph, 1)
        H.raises("bad argument #2 to 'graph' (unknown option 'file')", dl.graph, x, {file = "g"})
        H.raises("bad argument #2 to 'graph' (expected option 'names' to map names to tensors, "
                 .. "got number at 'w')", dl.graph, x, {names = {w = 1}})
    end)
end)

describe("activation hooks", function()
    -- Linear(2, 3) with known weights: unit 3 is always negative, so after
    -- the ReLU it is dead; inputs are positive.
    local function model()
        local m = nn.Sequential{nn.Linear(2, 3), nn.ReLU()}
        dl.no_grad(function()
            m[1].weight:copy_(dl.tensor{{1, 0}, {0, -1}, {-1, -1}})
            m[1].bias:copy_(dl.tensor{0, 0.5, -10})
        end)
        return m
    end

    it("gathers each layer's mean, std, zeros and dead units over forward passes", function()
        local m = model()
        local hooks = m:hook_activations()
        m(dl.tensor{{1, 2}, {3, 0}})
        m(dl.tensor{{2, 1}})
        -- Linear outputs: (1, -1.5, -13), (3, 0.5, -13), (2, -0.5, -13)
        -- ReLU outputs:   (1, 0, 0),      (3, 0.5, 0),   (2, 0, 0)
        local rows = hooks:stats()
        assert.equal(2, #rows)
        assert.equal("1 Linear", rows[1].layer)
        assert.equal("2 ReLU", rows[2].layer)
        assert.equal(2, rows[2].calls)
        local lin = {1, -1.5, -13, 3, 0.5, -13, 2, -0.5, -13}
        local relu = {1, 0, 0, 3, 0.5, 0, 2, 0, 0}
        local function mean_std(v)
            local s, ss = 0, 0
            for _, x in ipairs(v) do s, ss = s + x, ss + x * x end
            local mean = s / #v
            return mean, math.sqrt(ss / #v - mean * mean)
        end
        local mean, std = mean_std(lin)
        assert.near(mean, rows[1].mean, 1e-6)
        assert.near(std, rows[1].std, 1e-5)
        mean, std = mean_std(relu)
        assert.near(mean, rows[2].mean, 1e-6)
        assert.near(std, rows[2].std, 1e-5)
        assert.near(5 / 9, rows[2].zeros, 1e-12)
        assert.near(1 / 3, rows[2].dead, 1e-12)     -- unit 3 never fired; unit 2 did once
        assert.equal(0, rows[1].dead)
        assert.same({1, 3}, rows[2].shape)
        local text = tostring(hooks)
        assert.truthy(text:find("2 ReLU", 1, true))
        assert.truthy(text:find("33.3%", 1, true))
        assert.truthy(text:find("55.6%", 1, true))

        hooks:reset()
        assert.equal(0, hooks:stats()[1].calls)
        hooks:remove()
        m(dl.tensor{{1, 1}})
        assert.equal(0, hooks:stats()[1].calls)     -- removed: nothing gathered
    end)

    it("register_forward_hook sees inputs and output, may replace it, and is removable", function()
        local layer = nn.Linear(2, 2)
        local seen
        local handle = layer:register_forward_hook(function(module, inputs, out)
            seen = {module, inputs.n, out:shape()}
            return out * 0
        end)
        local y = layer(dl.ones(3, 2))
        assert.equal(layer, seen[1])
        assert.equal(1, seen[2])
        assert.same({3, 2}, seen[3])
        H.close(y, {{0, 0}, {0, 0}, {0, 0}})
        handle:remove()
        handle:remove()
        seen = nil
        layer(dl.ones(1, 2))
        assert.is_nil(seen)
        H.raises("bad argument #1 to 'register_forward_hook' (expected a function, got number)",
                 function() layer:register_forward_hook(1) end)
    end)
end)

describe("dl.pca and the figures' data", function()
    local ref = reference()

    it("projects like scikit-learn's PCA (up to the sign of each axis)", function()
        local x = dl.tensor(ref.pca.x)
        local projection, components, ratio = dl.pca(x)
        assert.same({60, 2}, projection:shape())
        assert.same({2, 5}, components:shape())
        local p, c = projection:totable(), components:totable()
        for axis = 1, 2 do
            local sign = c[axis][1] * ref.pca.components[axis][1] >= 0 and 1 or -1
            for j = 1, 5 do
                assert.near(ref.pca.components[axis][j], sign * c[axis][j], 1e-4)
            end
            local scale = math.abs(ref.pca.projection[1][axis]) + 1
            for i = 1, 60 do
                assert.near(ref.pca.projection[i][axis], sign * p[i][axis], 1e-3 * scale)
            end
            assert.near(ref.pca.ratio[axis], ratio[axis], 1e-5)
        end
        H.raises("bad argument #2 to 'pca' (expected option 'k' to be a count in 1..5, got 6)",
                 dl.pca, x, {k = 6})
        H.raises("bad argument #1 to 'pca' (expected rows that vary, got 3 identical rows)",
                 dl.pca, dl.ones(3, 4))
    end)

    it("computes weight and gradient histograms as numpy does, with norms", function()
        local m = nn.Sequential{nn.Linear(1000, 1, {bias = false})}
        dl.no_grad(function() m[1].weight:copy_(dl.tensor(ref.hist.values):reshape(1, 1000)) end)
        local stats = inside_plot.parameter_stats("weights", m, "weights", 30)
        assert.equal(1, #stats)
        assert.same(ref.hist.counts, stats[1].counts)
        for b = 1, 31 do assert.near(ref.hist.edges[b], stats[1].edges[b], 1e-5) end
        local norm = 0
        for _, v in ipairs(ref.hist.values) do norm = norm + v * v end
        assert.near(math.sqrt(norm), stats[1].norm, 1e-4 * math.sqrt(norm))
        H.raises("bad argument #1 to 'grads' (expected a model whose parameters have gradients "
                 .. "(call loss:backward() first), got none)",
                 inside_plot.parameter_stats, "grads", m, "grads", 30)
        m(dl.ones(2, 1000)):sum():backward()
        local grads = inside_plot.parameter_stats("grads", m, "grads", 4)
        assert.near(math.sqrt(1000 * 4), grads[1].norm, 1e-3)   -- every gradient is 2
        assert.same({0, 0, 1000, 0}, grads[1].counts)   -- a constant: numpy's bins around it
    end)

    it("scales each filter to [0, 1] and finds the first conv layer of a model", function()
        local model = nn.Sequential{nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 2, 3)}
        local images = inside_plot.filter_images(model, 64)
        assert.same({4, 3, 3, 3}, images:shape())
        for i = 1, 4 do
            assert.near(0, images[i]:min():item(), 1e-7)
            assert.near(1, images[i]:max():item(), 1e-6)
        end
        local gray = inside_plot.filter_images(model[3], 1)     -- 4 inputs: averaged
        assert.same({1, 1, 3, 3}, gray:shape())
        local w = model[3].weight[1]:mean(1):reshape(-1):totable()
        local lo, hi = math.huge, -math.huge
        for _, v in ipairs(w) do lo, hi = math.min(lo, v), math.max(hi, v) end
        local got = gray:reshape(-1):totable()
        for i, v in ipairs(w) do assert.near((v - lo) / (hi - lo), got[i], 1e-5) end
        H.raises("bad argument #1 to 'filters' (expected a conv layer (a 4-D weight), a model "
                 .. "with one, or a 4-D tensor, got table)", inside_plot.filter_images,
                 nn.Linear(2, 2), 4)
    end)

    it("predicts the decision regions of a model over a grid around the points", function()
        -- class 2 where x1 > x2, else class 1
        local m = nn.Linear(2, 2)
        dl.no_grad(function()
            m.weight:copy_(dl.tensor{{0, 1}, {1, 0}})
            m.bias:zero_()
        end)
        local x = dl.tensor{{0, 0}, {1, 1}, {0, 1}, {1, 0}}
        local g = inside_plot.decision_grid(m, {x, dl.tensor{1, 1, 1, 2}}, {steps = 11})
        assert.equal(11, #g.xs)
        assert.near(-0.1, g.xs[1], 1e-12)
        assert.near(1.1, g.xs[11], 1e-12)
        assert.is_false(g.binary)
        for j = 1, 11 do
            for i = 1, 11 do
                if g.xs[i] ~= g.ys[j] then
                    assert.equal(g.xs[i] > g.ys[j] and 2 or 1, g.class[j][i])
                end
            end
        end
        -- one output: a logit, class 1 above the threshold (0), else 0
        local logit = nn.Linear(2, 1)
        dl.no_grad(function()
            logit.weight:copy_(dl.tensor{{1, 0}})
            logit.bias:copy_(dl.tensor{-0.4})
        end)
        local ds = dl.data.dataset(x, dl.tensor{0, 1, 0, 1})
        g = inside_plot.decision_grid(logit, ds, {steps = 3})
        assert.is_true(g.binary)
        assert.same({0, 1, 1}, g.class[1])
        assert.is_true(logit.training)          -- the mode is put back
        H.raises("bad argument #2 to 'decision' (expected a dataset or {x, y} with x of shape "
                 .. "(N, 2), got x of shape (4, 3))", inside_plot.decision_grid, m,
                 {dl.ones(4, 3), dl.ones(4)}, {})
    end)
end)

local have_gnuplot = require("dl.gnuplot").find() ~= nil
local describe_gnuplot = have_gnuplot and describe or pending

describe_gnuplot("the figures, drawn as text", function()
    local plot = dl.plot
    setup(function() plot.terminal("dumb", {width = 100, height = 40, echo = false}) end)

    it("weights and grads: a norm panel and a histogram per parameter, and the stats", function()
        local m = nn.Sequential{nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)}
        local stats = plot.weights(m, {bins = 10})
        local text = plot.last_text()
        assert.truthy(text:find("weights", 1, true))
        assert.truthy(text:find("norm (log scale)", 1, true))
        assert.truthy(text:find(("1.weight  norm %.3g"):format(stats[1].norm), 1, true))
        assert.truthy(tostring(stats):find("parameter  shape", 1, true))
        nn.mse_loss(m(dl.ones(5, 3)), dl.zeros(5, 2)):backward()
        stats = plot.grads(m)
        assert.equal(4, #stats)
        assert.truthy(plot.last_text():find("gradients", 1, true))
    end)

    it("filters, decision regions and embeddings", function()
        plot.filters(nn.Conv2d(1, 4, 3), {title = "first layer"})
        assert.truthy(plot.last_text():find("first layer", 1, true))
        local x = dl.tensor{{0, 0}, {1, 1}, {0, 1}, {1, 0}}
        plot.decision(nn.Linear(2, 3), {x, dl.tensor{1, 2, 3, 1}},
                      {classes = {"cat", "dog", "it's"}, steps = 20})
        local text = plot.last_text()
        assert.truthy(text:find("decision regions", 1, true))
        assert.truthy(text:find("it's", 1, true))     -- quoted as data, not a command
        local labels = {}
        for i = 1, 30 do labels[i] = i % 3 end          -- classes 0, 1, 2
        plot.embedding(dl.randn(30, 5), labels)
        assert.truthy(plot.last_text():find("PC1", 1, true))
        H.raises("bad argument #3 to 'decision' (unknown option 'grid')",
                 plot.decision, nn.Linear(2, 2), {x, dl.ones(4)}, {grid = 3})
    end)
end)
