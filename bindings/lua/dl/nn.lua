-- nn.lua -- the `nn` table: modules, layers, losses, nn.init, nn.functional.
local base = require "dl.module"
local layers = require "dl.layers"
local dl = require "dl"
local F = require "dl.functional"
require "dl.losses"   -- adds the composed losses to F
local init = require "dl.initializers"
local optim = require "dl.optim"
require "dl.fit"    -- adds Module:fit, Module:evaluate, Module:predict

local nn = {
    Module = base.Module,
    Sequential = base.Sequential,
    functional = F,
    init = init,
    prune = require "dl.prune",
    utils = {clip_grad_norm = optim.clip_grad_norm, l1_penalty = optim.l1_penalty},
    callbacks = require "dl.callbacks",
}

for name, layer in pairs(layers) do nn[name] = layer end
for name, layer in pairs(require "dl.rnn") do nn[name] = layer end   -- RNN, LSTM, GRU and cells
nn.DataParallel = require "dl.data_parallel"

--- Activations as functions too, as torch.nn.functional has them:
--- nn.functional.leaky_relu(x, {negative_slope = 0.2}) is x:leaky_relu{...}.
for _, name in ipairs{"relu", "sigmoid", "tanh", "gelu", "softmax", "log_softmax", "leaky_relu",
                      "elu", "silu", "softplus", "logsigmoid", "hardtanh", "mish"} do
    F[name] = F[name] or dl[name]
end

--- Losses: nn.mse_loss(pred, target, {reduction = "mean" | "sum" | "none"}) and
--- friends; cross_entropy also takes {weight = , ignore_index = , label_smoothing = }.
for _, name in ipairs{"mse_loss", "l1_loss", "bce", "bce_with_logits", "cross_entropy", "nll_loss",
                      "smooth_l1_loss", "huber_loss", "kl_div", "cosine_embedding_loss"} do
    nn[name] = F[name]
end

require("dl.serialize").install(nn)   -- nn.load, nn.register, dl.save, dl.load, m:save

return nn
