-- plots.lua -- every kind of dl.plot figure, on generated data.
--
--     dlrepl examples/plots.lua            draw them where figures go
--     dlrepl examples/plots.lua figures/   ... and save each as figures/<name>.png
--
-- In a window or as inline images each figure replaces the previous one,
-- so the script waits for Enter between them; as text they follow each
-- other down the terminal.
local dl = dl or require "dl"
local plot = dl.plot

local out_dir = arg and arg[1]
local waits = (plot.terminal() or "dumb") ~= "dumb"     -- nil: no gnuplot

-- Draws one figure with `draw`, then saves it and waits, as asked.
local function show(name, draw)
    print(("-- %s"):format(name))
    draw()
    if out_dir then
        plot.save(("%s/%s.png"):format(out_dir, name))
    end
    if waits then
        io.write("Enter for the next figure ")
        io.read("l")
    end
end

dl.manual_seed(7)

-- Lines: one series, several named series, a log scale.
local xs = dl.linspace(0, 4 * math.pi, 200)
show("lines", function()
    plot.lines({x = xs, y = {sin = xs:sin(), cos = xs:cos()}},
               {title = "sin and cos", xlabel = "x", ylabel = "value"})
end)
show("lines_log", function()
    local steps, lr = {}, {}
    for i = 1, 50 do steps[i], lr[i] = i, 0.1 * 0.9 ^ i end
    plot.lines({x = steps, y = {lr = lr}}, {title = "learning rate schedule",
                                            xlabel = "epoch", logscale = "y"})
end)

-- Scatter: three Gaussian blobs, coloured by class, the legend naming them.
show("scatter", function()
    local n = 150
    local x, y, labels = {}, {}, {}
    local centres = {{0, 0}, {3, 1}, {1, 3}}
    local noise = dl.randn(n, 2):totable()
    for i = 1, n do
        local c = (i - 1) % 3 + 1
        x[i] = centres[c][1] + 0.7 * noise[i][1]
        y[i] = centres[c][2] + 0.7 * noise[i][2]
        labels[i] = c
    end
    plot.scatter(x, y, {color = labels, classes = {"setosa", "versicolor", "virginica"},
                        title = "three classes", xlabel = "feature 1",
                        ylabel = "feature 2"})
end)

-- Histogram: the values of a normal draw.
show("hist", function()
    plot.hist(dl.randn(5000), {bins = 30, title = "5000 draws from N(0, 1)"})
end)

-- Images: one, then a grid captioned with predicted/true labels (red
-- where they differ).
local function ring(r, size)
    local img = dl.zeros(size, size)
    for i = 1, size do
        for j = 1, size do
            local d = math.sqrt((i - size / 2) ^ 2 + (j - size / 2) ^ 2)
            img[i][j] = math.exp(-((d - r) ^ 2) / 4)
        end
    end
    return img
end
show("image", function()
    plot.image(ring(8, 28), {title = "one 28×28 image"})
end)
show("image_grid", function()
    local images = {}
    for k = 1, 8 do images[k] = ring(2 + 1.3 * k, 28) end
    local classes = {"small", "medium", "large"}
    plot.image(images, {pred = {1, 1, 1, 2, 2, 3, 3, 3}, target = {1, 1, 2, 2, 2, 2, 3, 3},
                        classes = classes, cols = 4, title = "predicted/true"})
end)

-- Confusion matrix: counts with class names.
show("confusion", function()
    plot.confusion({{48, 2, 0}, {5, 40, 5}, {0, 3, 47}},
                   {labels = {"setosa", "versicolor", "virginica"}})
end)

-- Training history: loss and accuracy, train and validation, two panels.
show("history", function()
    local hist = {loss = {}, val_loss = {}, accuracy = {}, val_accuracy = {}}
    for e = 1, 30 do
        hist.loss[e] = 2 * math.exp(-e / 6) + 0.1
        hist.val_loss[e] = 2 * math.exp(-e / 7) + 0.2 + 0.004 * e
        hist.accuracy[e] = 0.98 - 0.6 * math.exp(-e / 5)
        hist.val_accuracy[e] = 0.9 - 0.6 * math.exp(-e / 6)
    end
    plot(hist, {title = "a made-up training run"})
end)
