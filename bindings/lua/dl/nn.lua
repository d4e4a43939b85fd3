-- nn.lua -- the `nn` table: modules, layers, losses, nn.init, nn.functional.
local base = require "dl.module"
local layers = require "dl.layers"
local F = require "dl.functional"
local init = require "dl.initializers"
local optim = require "dl.optim"
require "dl.fit"    -- adds Module:fit, Module:evaluate, Module:predict

local nn = {
    Module = base.Module,
    Sequential = base.Sequential,
    functional = F,
    init = init,
    utils = {clip_grad_norm = optim.clip_grad_norm, l1_penalty = optim.l1_penalty},
    callbacks = require "dl.callbacks",
}

for name, layer in pairs(layers) do nn[name] = layer end

--- Losses: nn.mse_loss(pred, target, {reduction = "mean" | "sum" | "none"}) and
--- friends; cross_entropy also takes {label_smoothing = }.
for _, name in ipairs{"mse_loss", "l1_loss", "bce", "bce_with_logits", "cross_entropy", "nll_loss"} do
    nn[name] = F[name]
end

return nn
