-- checkpoint_save_spec.lua -- nn.callbacks.checkpoint end to end: the files
-- it writes through m:save are models nn.load rebuilds, and the best one
-- predicts exactly as the model did at its epoch.
local H = require "tests.lua.helper"
local dl = H.dl
local nn = dl.nn

describe("nn.callbacks.checkpoint with m:save and nn.load", function()
    it("keeps the best epoch's model in a file that nn.load rebuilds", function()
        dl.manual_seed(21)
        local x = dl.randn(60, 4)
        local y = (x:select(2, 1) - x:select(2, 2)):gt(0) + 1
        local model = nn.Sequential{nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)}
        local base = os.tmpname()
        local path = base .. "-{epoch}.safetensors"
        local predictions = {}
        local hist = model:fit({x, y}, {epochs = 5, batch_size = 10, loss = "cross_entropy",
            lr = 0.05, validation = {x:narrow(1, 1, 20), y:narrow(1, 1, 20)}, verbose = false,
            callbacks = {nn.callbacks.checkpoint{path = path, save_best_only = true},
                         {on_epoch_end = function(_, e) predictions[e] = model:predict(x) end}}})
        local best = 1
        for e, v in ipairs(hist.val_loss) do
            if v < hist.val_loss[best] then best = e end
        end
        local file = base .. "-" .. best .. ".safetensors"
        local loaded = nn.load(file)
        H.close(loaded:predict(x), predictions[best]:totable(), 0)
        for e = 1, 5 do os.remove(base .. "-" .. e .. ".safetensors") end
        os.remove(base)
    end)
end)
