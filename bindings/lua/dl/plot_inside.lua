-- plot_inside.lua -- the figures that show what a network does:
--
--     dl.plot.weights(model)        per-parameter histograms and norms
--     dl.plot.grads(model)          the same for the gradients (after backward)
--     dl.plot.filters(conv)         a conv layer's filters as an image grid
--     dl.plot.decision(model, ds)   a 2-D classifier's regions with its points
--     dl.plot.embedding(x, labels)  vectors projected on their first 2 principal axes
--
-- The data each figure shows is prepared by a function of this module
-- (parameter_stats, filter_images, decision_grid), which the tests read
-- directly; plot.lua hands in its `draw` through install().
local gp = require "dl.gnuplot"
local raise = require("dl.errors").raise
local K = require "dl.plot_kinds"
local Module = require("dl.module").Module
local pca = require("dl.pca").pca
local dl = gp.dl

local M = {}

local MAX_PANELS = 16           -- parameters drawn by weights / grads
local MAX_FILTERS = 64
local COLORS = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"}
local REGION_COLORS = {"#c6dbef", "#fdd0a2", "#c7e9c0", "#fcbba1", "#dadaeb", "#e3d3cf",
                       "#f7d4ea", "#d9d9d9", "#ecedb7", "#c2ecf1"}
local REGION_CHARS = ".:-=~^'`,_"     -- a region as text, class k -> k-th char
local MAX_CLASSES = #COLORS

local num = gp.number

local function shape_text(shape)
    return "(" .. table.concat(shape, ", ") .. ")"
end

-- ---- weights and gradients ---------------------------------------------------

-- Histogram of the values of t over `bins` equal bins from its min to its
-- max (numpy.histogram's edges; ±0.5 around a constant): counts and edges.
local function histogram(t, bins)
    local lo, hi = t:min():item(), t:max():item()
    if lo == hi then lo, hi = lo - 0.5, hi + 0.5 end       -- as numpy does
    local width = (hi - lo) / bins
    local k = ((t - lo) / width):floor():clamp(0, bins - 1)
    local counts, edges = {}, {}
    for b = 0, bins - 1 do counts[b + 1] = k:eq(b):sum():item() end
    for b = 0, bins do edges[b + 1] = lo + b * width end
    return counts, edges
end

local function stats_text(self)
    local rows = {{"parameter", "shape", "norm", "mean", "std", "min", "max"}}
    for _, s in ipairs(self) do
        rows[#rows + 1] = {s.name, shape_text(s.shape), ("%.4g"):format(s.norm),
                           ("%.4g"):format(s.mean), ("%.4g"):format(s.std),
                           ("%.4g"):format(s.min), ("%.4g"):format(s.max)}
    end
    local width = {}
    for _, row in ipairs(rows) do
        for c, text in ipairs(row) do width[c] = math.max(width[c] or 0, #text) end
    end
    local lines = {}
    for i, row in ipairs(rows) do
        local cells = {}
        for c, text in ipairs(row) do
            cells[c] = c <= 2 and text .. (" "):rep(width[c] - #text)
                       or (" "):rep(width[c] - #text) .. text
        end
        lines[i] = (table.concat(cells, "  "):gsub("%s+$", ""))
    end
    if self.skipped and #self.skipped > 0 then
        lines[#lines + 1] = "no gradient yet: " .. table.concat(self.skipped, ", ")
    end
    return table.concat(lines, "\n")
end

local Stats = {__name = "parameter statistics", __tostring = stats_text}

--- M.parameter_stats(fn, model, which, bins) -> list of {name, shape, norm,
--- mean, std, min, max, counts, edges} for each parameter (which =
--- "weights") or each parameter's gradient (which = "grads"; those
--- without one are listed in .skipped).
function M.parameter_stats(fn, model, which, bins)
    if not Module.is_module(model) then
        K.argerror(fn, 1, "expected a model, got %s", K.typename(model))
    end
    local out = setmetatable({skipped = {}}, Stats)
    for _, pair in ipairs(model:named_parameters()) do
        local name, p = pair[1], pair[2]
        local t = p
        if which == "grads" then t = p.grad end
        if t == nil then
            out.skipped[#out.skipped + 1] = name
        else
            dl.no_grad(function()
                t = t:detach():reshape(-1)
                local counts, edges = histogram(t, bins)
                out[#out + 1] = {name = name, shape = p:shape(), norm = (t * t):sum():sqrt():item(),
                                 mean = t:mean():item(),
                                 std = t:numel() > 1 and t:std():item() or 0,
                                 min = t:min():item(), max = t:max():item(),
                                 counts = counts, edges = edges}
            end)
        end
    end
    if #out == 0 then
        K.argerror(fn, 1, which == "grads"
            and "expected a model whose parameters have gradients (call loss:backward() "
                .. "first), got none"
            or "expected a model with parameters, got none")
    end
    return out
end

-- The figure of parameter_stats: a bar per parameter with its norm (log
-- scale: a vanishing or exploding gradient is a staircase), then one
-- histogram per parameter.
local function stats_figure(stats, o, what)
    local shown = math.min(#stats, MAX_PANELS)
    local data, norms, tics = {}, {}, {}
    for i = 1, #stats do
        norms[i] = stats[i].norm > 0 and stats[i].norm or 0/0
        tics[i] = ("%s %d"):format(K.quote(stats[i].name), i)
    end
    data[1] = gp.datablock("$dl_norms", {true, norms})
    for i = 1, shown do
        local s, centers = stats[i], {}
        for b = 1, #s.counts do centers[b] = (s.edges[b] + s.edges[b + 1]) / 2 end
        data[#data + 1] = gp.datablock("$dl_hist" .. i, {centers, s.counts})
    end
    local panels = shown + 1
    local cols = math.min(panels, o.cols or 4)
    local rows = math.ceil(panels / cols)
    local function script(text)
        local c = {("set multiplot layout %d,%d title %s"):format(rows, cols,
                   K.quote(o.title or what))}
        c[#c + 1] = "set title " .. K.quote("norm (log scale)")
        c[#c + 1] = "set logscale y"
        c[#c + 1] = "set style fill solid 0.5"
        c[#c + 1] = "set boxwidth 0.7"
        c[#c + 1] = ("set xrange [0.5:%d.5]"):format(#stats)
        c[#c + 1] = "set xtics (" .. table.concat(tics, ", ") .. ") rotate by -45"
        c[#c + 1] = "unset key"
        c[#c + 1] = "plot $dl_norms using 1:2 with boxes notitle"
        c[#c + 1] = "unset logscale y"
        c[#c + 1] = "set autoscale x"
        c[#c + 1] = "set xtics autofreq norotate"
        for i = 1, shown do
            local s = stats[i]
            c[#c + 1] = "set title " .. K.quote(("%s  norm %.3g"):format(s.name, s.norm))
            c[#c + 1] = ("set boxwidth %s"):format(num(s.edges[2] - s.edges[1]))
            -- three tics (min, middle, max): more would run into each other
            c[#c + 1] = ("set xtics (%s, %s, %s)"):format(num(s.min), num((s.min + s.max) / 2),
                                                         num(s.max))
            c[#c + 1] = "set format x '%.2g'"
            c[#c + 1] = ("plot $dl_hist%d using 1:2 with boxes notitle"):format(i)
        end
        c[#c + 1] = "unset multiplot"
        return table.concat(c, "\n") .. "\n"
    end
    local note = #stats > shown and ("note: histograms of the first %d of %d parameters")
        :format(shown, #stats) or nil
    return {data = table.concat(data), script = script, note = note,
            size = {cols * 300, rows * 240}, text_rows = rows * 14, text_cols = cols * 40}
end

local STATS_OPTIONS = {"bins", "title", "cols"}

local function check_stats_options(fn, o)
    o = K.options(o, fn, 2, STATS_OPTIONS)
    local bins = o.bins or 30
    if type(bins) ~= "number" or bins % 1 ~= 0 or bins < 1 then
        K.argerror(fn, 2, "expected option 'bins' to be a count >= 1, got %s",
                   type(bins) == "number" and num(bins) or K.typename(bins))
    end
    if o.cols ~= nil and (type(o.cols) ~= "number" or o.cols % 1 ~= 0 or o.cols < 1) then
        K.argerror(fn, 2, "expected option 'cols' to be a count >= 1, got %s", K.typename(o.cols))
    end
    return o, math.tointeger(bins)
end

-- ---- filters -----------------------------------------------------------------------

-- The conv weight of `layer`: a 4-D weight tensor itself, a layer with
-- one, or the first such layer of a model.
local function conv_weight(layer)
    if dl.is_tensor(layer) then return layer:dim() == 4 and layer or nil end
    if not Module.is_module(layer) then return nil end
    local w = rawget(layer, "weight")
    if dl.is_tensor(w) and w:dim() == 4 then return w end
    for _, child in ipairs(layer:children()) do
        local found = conv_weight(child)
        if found then return found end
    end
    return nil
end

--- M.filter_images(layer, max) -> N×C×kh×kw tensor (C = 1 or 3) of the
--- first `max` filters, each scaled to [0, 1]; filters over other than 1
--- or 3 input channels are shown averaged over them.
function M.filter_images(layer, max)
    local w = conv_weight(layer)
    if not w then
        K.argerror("filters", 1, "expected a conv layer (a 4-D weight), a model with one, or "
                   .. "a 4-D tensor, got %s", dl.is_tensor(layer) and "a tensor of shape "
                   .. shape_text(layer:shape()) or K.typename(layer))
    end
    return dl.no_grad(function()
        w = w:detach()
        local n = math.min(w:size(1), max)
        w = w:narrow(1, 1, n)
        if w:size(2) ~= 1 and w:size(2) ~= 3 then w = w:mean(2, {keepdim = true}) end
        local flat = w:reshape(n, -1)
        local lo = flat:min(2, {keepdim = true})
        local span = flat:max(2, {keepdim = true}) - lo
        span = span + span:eq(0)                    -- a constant filter: all zeros
        return ((flat - lo) / span):reshape(w:shape())
    end)
end

-- ---- decision regions ---------------------------------------------------------------

-- x (N×2) and labels (a Lua list) of ds: a dataset, or {x, y}.
local function points_of(ds)
    local x, y
    if type(ds) == "table" and (dl.data.is_dataset(ds) or ds.x ~= nil) then
        x, y = ds.x, ds.y
    elseif type(ds) == "table" then
        x, y = ds[1], ds[2]
    end
    if not dl.is_tensor(x) or x:dim() ~= 2 or x:size(2) ~= 2 then
        K.argerror("decision", 2, "expected a dataset or {x, y} with x of shape (N, 2), got %s",
                   dl.is_tensor(x) and "x of shape " .. shape_text(x:shape()) or K.typename(ds))
    end
    if not dl.is_tensor(y) or y:numel() ~= x:size(1) then
        K.argerror("decision", 2, "expected %d labels y (one a point), got %s", x:size(1),
                   dl.is_tensor(y) and y:numel() .. " values" or K.typename(y))
    end
    return x, y:reshape(-1):totable()
end

-- Classes of model outputs (rows of out): argmax (1..C) of several
-- columns, or, for one output, 1 when it is > threshold, else 0.
local function classes_of(out, threshold)
    if out:dim() == 1 or out:size(2) == 1 then
        return out:reshape(-1):gt(threshold):totable(), true
    end
    return out:argmax(2):reshape(-1):totable(), false
end

--- M.decision_grid(model, ds, o) -> {xs, ys (grid coordinates), class
--- (class[j][i] at xs[i], ys[j]), binary, points = x, labels}: the model's
--- predictions over a steps×steps grid covering the points with a margin.
function M.decision_grid(model, ds, o)
    if not Module.is_module(model) and type(model) ~= "function" then
        K.argerror("decision", 1, "expected a model, got %s", K.typename(model))
    end
    local x, labels = points_of(ds)
    local steps = o.steps or 100
    if type(steps) ~= "number" or steps % 1 ~= 0 or steps < 2 then
        K.argerror("decision", 3, "expected option 'steps' to be a count >= 2, got %s",
                   K.typename(steps))
    end
    local threshold = o.threshold or 0
    if type(threshold) ~= "number" then
        K.argerror("decision", 3, "expected option 'threshold' to be a number, got %s",
                   K.typename(threshold))
    end
    local grid = {}
    local xs, ys = {}, {}
    for axis = 1, 2 do
        local col = x:select(2, axis)
        local lo, hi = col:min():item(), col:max():item()
        local margin = hi > lo and (hi - lo) * 0.1 or 1
        lo, hi = lo - margin, hi + margin
        local list = axis == 1 and xs or ys
        for i = 1, steps do list[i] = lo + (hi - lo) * (i - 1) / (steps - 1) end
    end
    for j = 1, steps do
        for i = 1, steps do grid[#grid + 1] = {xs[i], ys[j]} end
    end
    local out
    local was_training = Module.is_module(model) and model.training
    if Module.is_module(model) then model:eval() end
    local ok, err = pcall(dl.no_grad, function() out = model(dl.tensor(grid)) end)
    if Module.is_module(model) then model:train(was_training) end
    if not ok then error(err, 0) end
    if not dl.is_tensor(out) or out:size(1) ~= #grid then
        K.argerror("decision", 1, "expected a model giving one row of outputs per point, got %s",
                   dl.is_tensor(out) and "shape " .. shape_text(out:shape()) or K.typename(out))
    end
    local flat, binary = classes_of(out, threshold)
    local class = {}
    for j = 1, steps do
        class[j] = {}
        for i = 1, steps do class[j][i] = math.tointeger(flat[(j - 1) * steps + i]) end
    end
    return {xs = xs, ys = ys, class = class, binary = binary, points = x, labels = labels}
end

-- Colour index (1..) of a class: binary classes 0/1 are colours 1/2.
local function color_index(c, binary, fn)
    local k = binary and c + 1 or c
    if k ~= math.floor(k) or k < 1 or k > MAX_CLASSES then
        K.argerror(fn, 2, "expected class labels %s, got %s", binary and "0 or 1"
                   or ("1..%d"):format(MAX_CLASSES), num(c))
    end
    return math.tointeger(k)
end

local function decision_figure(g, o)
    local n = #g.xs
    local region, coarse = {{}, {}, {}}, {{}, {}, {}}
    local top = 0
    for j = 1, n do
        for i = 1, n do
            local k = color_index(g.class[j][i], g.binary, "decision")
            top = math.max(top, k)
            local r = #region[1] + 1
            region[1][r], region[2][r], region[3][r] = g.xs[i], g.ys[j], k
        end
    end
    -- as text: at most 60 × 24 region characters, under the points
    local step_x, step_y = math.max(1, n // 60), math.max(1, n // 24)
    for j = 1, n, step_y do
        for i = 1, n, step_x do
            local r = #coarse[1] + 1
            coarse[1][r], coarse[2][r] = g.xs[i], g.ys[j]
            coarse[3][r] = color_index(g.class[j][i], g.binary, "decision")
        end
    end
    local px, py, pk = {}, {}, {}
    local xs, ys = g.points:select(2, 1):totable(), g.points:select(2, 2):totable()
    for i, label in ipairs(g.labels) do
        px[i], py[i], pk[i] = xs[i], ys[i], color_index(label, g.binary, "decision")
        top = math.max(top, pk[i])
    end
    local data = gp.datablock("$dl_region", region) .. gp.datablock("$dl_coarse", coarse)
                 .. gp.datablock("$dl_points", {px, py, pk})
    local names = o.classes or {}
    local function class_name(k)
        local name = names[k]
        if name == nil then name = g.binary and k - 1 or k end
        return tostring(name)
    end
    local function script(text)
        local c = {"set title " .. K.quote(o.title or "decision regions"),
                   ("set xrange [%s:%s]"):format(num(g.xs[1]), num(g.xs[n])),
                   ("set yrange [%s:%s]"):format(num(g.ys[1]), num(g.ys[n]))}
        local terms = {}
        if text then
            c[#c + 1] = "set key outside right top"
            c[#c + 1] = "region_chars = " .. K.quote(REGION_CHARS)
            terms[1] = "$dl_coarse using 1:2:(substr(region_chars, int($3), int($3))) "
                       .. "with labels notitle"
            for k = 1, top do
                terms[#terms + 1] = ("$dl_points using 1:($3 == %d ? $2 : NaN) with points pt %d "
                                     .. "title %s"):format(k, k, K.quote(class_name(k)))
            end
        else
            local palette = {}
            for k = 1, top do palette[k] = ("%d '%s'"):format(k, REGION_COLORS[k]) end
            c[#c + 1] = "set palette defined (" .. table.concat(palette, ", ") .. ")"
            c[#c + 1] = ("set cbrange [1:%d]"):format(math.max(top, 2))
            c[#c + 1] = "unset colorbox"
            c[#c + 1] = "set key outside right top"
            terms[1] = "$dl_region using 1:2:3 with image pixels notitle"
            for k = 1, top do
                terms[#terms + 1] = ("$dl_points using 1:($3 == %d ? $2 : NaN) with points pt 7 "
                                     .. "ps 0.8 lc rgb '%s' title %s"):format(k, COLORS[k],
                                                                          K.quote(class_name(k)))
            end
        end
        c[#c + 1] = "plot " .. table.concat(terms, ", ")
        return table.concat(c, "\n") .. "\n"
    end
    return {data = data, script = script, size = {760, 600}, text_rows = 28, text_cols = 90}
end

-- ---- embedding -----------------------------------------------------------------------

-- Labels of embedding as classes 1..C for scatter, and their names.
local function embedding_classes(labels, n, names)
    local values
    if dl.is_tensor(labels) then
        values = labels:reshape(-1):totable()
    elseif type(labels) == "table" then
        values = labels
    else
        K.argerror("embedding", 2, "expected labels (a tensor or a table of class numbers), "
                   .. "got %s", K.typename(labels))
    end
    if #values ~= n then
        K.argerror("embedding", 2, "expected %d labels (one a row of x), got %d", n, #values)
    end
    local low = math.huge
    for i, v in ipairs(values) do
        if type(v) ~= "number" or v % 1 ~= 0 then
            K.argerror("embedding", 2, "expected whole class numbers, got %s at [%d]",
                       type(v) == "number" and num(v) or K.typename(v), i)
        end
        low = math.min(low, v)
    end
    local shift = low < 1 and 1 - low or 0       -- labels from 0 (or lower) drawn as 1..
    local classes, out = {}, {}
    for i, v in ipairs(values) do
        out[i] = v + shift
        classes[math.tointeger(v + shift)] = names and names[math.tointeger(v + shift)]
                                             or tostring(math.tointeger(v))
    end
    return out, classes
end

-- ---- installing into dl.plot -----------------------------------------------------------

--- M.install(plot, draw): adds the figures of this module to dl.plot.
function M.install(plot, draw)
    --- dl.plot.weights(model, {bins=30, title=, cols=4}) -> stats
    function plot.weights(model, o)
        local bins
        o, bins = check_stats_options("weights", o)
        local stats = M.parameter_stats("weights", model, "weights", bins)
        draw("weights", stats_figure(stats, o, "weights"))
        return stats
    end

    --- dl.plot.grads(model, {bins=30, title=, cols=4}) -> stats
    function plot.grads(model, o)
        local bins
        o, bins = check_stats_options("grads", o)
        local stats = M.parameter_stats("grads", model, "grads", bins)
        draw("grads", stats_figure(stats, o, "gradients"))
        return stats
    end

    --- dl.plot.filters(layer, {max=64, title=, cols=})
    function plot.filters(layer, o)
        o = K.options(o, "filters", 2, {"max", "title", "cols"})
        local max = o.max or MAX_FILTERS
        if type(max) ~= "number" or max % 1 ~= 0 or max < 1 or max > 256 then
            K.argerror("filters", 2, "expected option 'max' to be a count in 1..256, got %s",
                       K.typename(max))
        end
        local images = M.filter_images(layer, math.tointeger(max))
        local captions = {}
        for i = 1, images:size(1) do captions[i] = tostring(i) end
        plot.image(images, {captions = captions, title = o.title or "filters", cols = o.cols})
    end

    --- dl.plot.decision(model, ds, {steps=100, threshold=0, classes=, title=})
    function plot.decision(model, ds, o)
        o = K.options(o, "decision", 3, {"steps", "threshold", "classes", "title"})
        draw("decision", decision_figure(M.decision_grid(model, ds, o), o))
    end

    --- dl.plot.embedding(x, labels, {classes=, title=})
    function plot.embedding(x, labels, o)
        o = K.options(o, "embedding", 3, {"classes", "title"})
        if not dl.is_tensor(x) then
            K.argerror("embedding", 1, "expected a tensor N×D, got %s", K.typename(x))
        end
        local points, _, ratio = pca(x, {k = 2})
        local opts = {title = o.title or "PCA projection",
                      xlabel = ("PC1 (%.1f%% of the variance)"):format(100 * ratio[1]),
                      ylabel = ("PC2 (%.1f%%)"):format(100 * ratio[2])}
        if labels ~= nil then
            opts.color, opts.classes = embedding_classes(labels, x:size(1), o.classes)
        end
        plot.scatter(points, opts)
    end
end

return M
