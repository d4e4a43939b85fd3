-- live_curves.lua -- an explicit training loop that redraws its loss and
-- accuracy curves every epoch.
--
--     dlrepl examples/live_curves.lua [figure.png]
--
-- A small MLP learns to tell three interleaved spirals apart. After each
-- epoch the history grows by one value a series and dl.plot(hist) draws
-- the same figure again: a window updates in place, a text plot is drawn
-- over the previous one. Run without a terminal (output to a file or a
-- pipe), nothing is drawn along the way and the final figure is saved as
-- a PNG (figure.png, by default live_curves.png).
local dl = dl or require "dl"
local nn, optim = dl.nn, dl.optim

local EPOCHS, BATCH = 40, 32
local at_terminal = os.execute("test -t 1") == true
local png = arg and arg[1] or "live_curves.png"

dl.manual_seed(1)

-- n points on each of three spirals: positions (3n×2) and classes 1..3.
local function spirals(n)
    local points, labels = {}, {}
    local noise = dl.randn(3 * n):totable()
    for c = 1, 3 do
        for i = 1, n do
            local r = i / n
            local angle = (c - 1) * 2 * math.pi / 3 + 4 * r + 0.25 * noise[(c - 1) * n + i]
            points[#points + 1] = {r * math.cos(angle), r * math.sin(angle)}
            labels[#labels + 1] = c
        end
    end
    return dl.tensor(points), dl.tensor(labels)
end

-- 80% to train on, 20% to validate, in random order.
local x, y = spirals(1000)
local order = dl.randperm(x:size(1))
x, y = x:index_select(1, order), y:index_select(1, order)
local n_train = math.floor(0.8 * x:size(1))
local n_val = x:size(1) - n_train
local x_train, y_train = x:narrow(1, 1, n_train), y:narrow(1, 1, n_train)
local x_val, y_val = x:narrow(1, n_train + 1, n_val), y:narrow(1, n_train + 1, n_val)

local model = nn.Sequential{
    nn.Linear(2, 128), nn.ReLU(),
    nn.Linear(128, 128), nn.ReLU(),
    nn.Linear(128, 3),
}
local opt = optim.Adam(model:parameters(), {lr = 0.01})

local function accuracy(logits, labels)
    return logits:argmax(2):eq(labels):mean():item()
end

if not at_terminal then
    dl.plot.terminal("dumb", {echo = false})    -- keep the figure for save only
end

local hist = {loss = {}, val_loss = {}, accuracy = {}, val_accuracy = {}}
local plot_seconds, start = 0, dl.clock()
for epoch = 1, EPOCHS do
    model:train()
    local shuffle = dl.randperm(n_train)
    local loss_sum, correct_sum, batches = 0, 0, 0
    for first = 1, n_train, BATCH do
        local idx = shuffle:narrow(1, first, math.min(BATCH, n_train - first + 1))
        local xb, yb = x_train:index_select(1, idx), y_train:index_select(1, idx)
        opt:zero_grad()
        local logits = model(xb)
        local loss = nn.cross_entropy(logits, yb)
        loss:backward()
        opt:step()
        loss_sum = loss_sum + loss:item()
        correct_sum = correct_sum + accuracy(logits:detach(), yb)
        batches = batches + 1
    end
    hist.loss[epoch] = loss_sum / batches
    hist.accuracy[epoch] = correct_sum / batches

    model:eval()
    dl.no_grad(function()
        local logits = model(x_val)
        hist.val_loss[epoch] = nn.cross_entropy(logits, y_val):item()
        hist.val_accuracy[epoch] = accuracy(logits, y_val)
    end)

    local t = dl.clock()
    dl.plot(hist, {title = ("three spirals, epoch %d of %d"):format(epoch, EPOCHS)})
    plot_seconds = plot_seconds + dl.clock() - t
end
local total = dl.clock() - start

if not at_terminal and dl.plot.save(png) then
    print(("saved the final curves to %s"):format(png))
end
print(("validation accuracy %.3f after %d epochs in %.1f s; a redraw took %.1f ms "
       .. "(%.1f%% of the time)"):format(hist.val_accuracy[EPOCHS], EPOCHS, total,
                                          1000 * plot_seconds / EPOCHS,
                                          100 * plot_seconds / total))
