-- losses.lua -- losses composed of tensor operations (their gradients are
-- the operations' own): bce with element weights, bce_with_logits with
-- weight and pos_weight, smooth_l1_loss, huber_loss, kl_div and
-- cosine_embedding_loss. They are installed into nn.functional, next to
-- the C losses, so nn.bce and nn.functional.bce are the same function.
local dl = require "dl"
local raise = require("dl.errors").raise
local F = require "dl.functional"

local losses = {}
local c_bce, c_bce_with_logits = F.bce, F.bce_with_logits

local function shape_text(x)
    local shape = x:shape()
    return "(" .. table.concat(shape, ", ") .. (#shape == 1 and ",)" or ")")
end

local function check_tensor(fn, argn, x, what)
    if not dl.is_tensor(x) then
        raise(("bad argument #%d to '%s' (expected %s, got %s)"):format(argn, fn, what, type(x)))
    end
end

-- The options table at argument `argn`, keys checked against `known`
-- (name -> Lua type, or "tensor").
local function options(fn, argn, opts, known)
    if opts == nil then return {} end
    if type(opts) ~= "table" then
        raise(("bad argument #%d to '%s' (expected an options table, got %s)"):format(argn, fn, type(opts)))
    end
    for key, value in pairs(opts) do
        local want = known[key]
        if not want then
            local names = {}
            for name in pairs(known) do names[#names + 1] = name end
            table.sort(names)
            raise(("bad argument #%d to '%s' (unknown option '%s'; known: %s)")
                  :format(argn, fn, tostring(key), table.concat(names, ", ")))
        end
        local ok = want == "tensor" and dl.is_tensor(value) or type(value) == want
        if not ok then
            raise(("bad argument #%d to '%s' (expected option '%s' to be a %s, got %s)")
                  :format(argn, fn, key, want, dl.is_tensor(value) and "tensor" or type(value)))
        end
    end
    return opts
end

-- The loss of every element, reduced as `reduction` asks.
local function reduce(fn, argn, loss, reduction, extra)
    reduction = reduction or "mean"
    if reduction == "mean" then return loss:mean() end
    if reduction == "sum" then return loss:sum() end
    if reduction == "none" then return loss end
    if extra and reduction == extra[1] then return extra[2](loss) end
    raise(("bad argument #%d to '%s' (reduction must be \"mean\", \"sum\", \"none\"%s, got %s)")
          :format(argn, fn, extra and ' or "' .. extra[1] .. '"' or "", tostring(reduction)))
end

-- Raises unless a and b have the same shape.
local function check_same_shape(fn, a, b, what)
    local sa, sb = a:shape(), b:shape()
    local same = #sa == #sb
    for i = 1, #sa do same = same and sa[i] == sb[i] end
    if not same then
        raise(("bad argument #2 to '%s' (expected %s of the prediction's shape %s, got %s)")
              :format(fn, what or "a target", shape_text(a), shape_text(b)))
    end
end

-- loss * weight, where weight must broadcast to the loss's shape.
local function weighted(fn, argn, loss, weight, name)
    local ok, result = pcall(function() return loss * weight end)
    if not ok or #result:shape() ~= #loss:shape() or result:numel() ~= loss:numel() then
        raise(("bad argument #%d to '%s' (expected option '%s' broadcastable to %s, got %s)")
              :format(argn, fn, name, shape_text(loss), shape_text(weight)))
    end
    return result
end

--- nn.bce(prob, target, {weight = , reduction = "mean"}): binary cross-entropy of
--- probabilities; weight (broadcast to prob's shape) scales each element's loss.
function losses.bce(prob, target, opts)
    check_tensor("bce", 1, prob, "a tensor")
    opts = options("bce", 3, opts, {weight = "tensor", reduction = "string"})
    if opts.weight == nil then return c_bce(prob, target, {reduction = opts.reduction}) end
    local loss = weighted("bce", 3, c_bce(prob, target, {reduction = "none"}), opts.weight, "weight")
    return reduce("bce", 3, loss, opts.reduction)
end

--- nn.bce_with_logits(logits, target, {weight = , pos_weight = , reduction = "mean"}):
--- pos_weight (one per class, broadcast over the last dim) scales the positive term.
function losses.bce_with_logits(logits, target, opts)
    check_tensor("bce_with_logits", 1, logits, "a tensor")
    opts = options("bce_with_logits", 3, opts,
                   {weight = "tensor", pos_weight = "tensor", reduction = "string"})
    if opts.weight == nil and opts.pos_weight == nil then
        return c_bce_with_logits(logits, target, {reduction = opts.reduction})
    end
    local loss
    if opts.pos_weight == nil then
        loss = c_bce_with_logits(logits, target, {reduction = "none"})
    else
        check_tensor("bce_with_logits", 2, target, "a tensor")
        check_same_shape("bce_with_logits", logits, target)
        -- (1 - t) x + (1 + (pw - 1) t) softplus(-x), with softplus(-x) =
        -- -x/2 + (|x|/2 + log(1 + exp(-|x|))): stable, exact slope at 0.
        local a = logits:abs()
        local softplus = logits * -0.5 + a * 0.5 + ((-a):exp() + 1):log()
        local scale = weighted("bce_with_logits", 3, target, opts.pos_weight - 1, "pos_weight") + 1
        loss = (1 - target) * logits + scale * softplus
    end
    if opts.weight ~= nil then loss = weighted("bce_with_logits", 3, loss, opts.weight, "weight") end
    return reduce("bce_with_logits", 3, loss, opts.reduction)
end

-- 0.5 m^2 + delta (|d| - m) with m = min(|d|, delta): the Huber loss of the
-- difference d; at |d| = delta the tie splits min's gradient evenly, which
-- still sums to the right slope delta.
local function huber(d, delta)
    local a = d:abs()
    local m = a:minimum(delta)
    return m * m * 0.5 + (a - m) * delta
end

-- Positive number option `key` (0 allowed when zero_ok).
local function positive(fn, opts, key, default, zero_ok)
    local v = opts[key] or default
    if not (v > 0 or (zero_ok and v == 0)) then
        raise(("bad argument #3 to '%s' (expected option '%s' %s 0, got %s)")
              :format(fn, key, zero_ok and ">=" or ">", tostring(v)))
    end
    return v
end

--- nn.huber_loss(pred, target, {delta = 1, reduction = "mean"})
function losses.huber_loss(pred, target, opts)
    check_tensor("huber_loss", 1, pred, "a tensor")
    check_tensor("huber_loss", 2, target, "a tensor")
    opts = options("huber_loss", 3, opts, {delta = "number", reduction = "string"})
    local delta = positive("huber_loss", opts, "delta", 1)
    check_same_shape("huber_loss", pred, target)
    return reduce("huber_loss", 3, huber(pred - target, delta), opts.reduction)
end

--- nn.smooth_l1_loss(pred, target, {beta = 1, reduction = "mean"}): huber / beta;
--- beta = 0 is the L1 loss.
function losses.smooth_l1_loss(pred, target, opts)
    check_tensor("smooth_l1_loss", 1, pred, "a tensor")
    check_tensor("smooth_l1_loss", 2, target, "a tensor")
    opts = options("smooth_l1_loss", 3, opts, {beta = "number", reduction = "string"})
    local beta = positive("smooth_l1_loss", opts, "beta", 1, true)
    check_same_shape("smooth_l1_loss", pred, target)
    local d = pred - target
    local loss = beta == 0 and d:abs() or huber(d, beta) / beta
    return reduce("smooth_l1_loss", 3, loss, opts.reduction)
end

--- nn.kl_div(input, target, {reduction = "mean", log_target = false}): input holds
--- log-probabilities; target probabilities (or log-probabilities with log_target).
--- "batchmean" divides the sum by the batch size (dim 1).
function losses.kl_div(input, target, opts)
    check_tensor("kl_div", 1, input, "a tensor of log-probabilities")
    check_tensor("kl_div", 2, target, "a tensor")
    opts = options("kl_div", 3, opts, {reduction = "string", log_target = "boolean"})
    check_same_shape("kl_div", input, target)
    local loss
    if opts.log_target then
        loss = target:exp() * (target - input)
    else
        -- t log t is 0 at t = 0 (xlogy): log is taken of t + [t == 0].
        local zero = dl.no_grad(function() return target:eq(0) end)
        loss = target * ((target + zero):log() - input)
    end
    local batch = input:dim() > 0 and input:size(1) or 1
    return reduce("kl_div", 3, loss, opts.reduction,
                  {"batchmean", function(l) return l:sum() / batch end})
end

--- nn.cosine_embedding_loss(x1, x2, y, {margin = 0, reduction = "mean"}): rows of
--- x1, x2 (N, D) or vectors (D); y holds 1 (alike: 1 - cos) or -1 (unalike:
--- max(0, cos - margin)).
function losses.cosine_embedding_loss(x1, x2, y, opts)
    local fn = "cosine_embedding_loss"
    check_tensor(fn, 1, x1, "a tensor")
    check_tensor(fn, 2, x2, "a tensor")
    check_tensor(fn, 3, y, "a tensor of 1 and -1")
    opts = options(fn, 4, opts, {margin = "number", reduction = "string"})
    if x1:dim() < 1 or x1:dim() > 2 then
        raise(("bad argument #1 to '%s' (expected rows (N, D) or a vector (D), got %s)")
              :format(fn, shape_text(x1)))
    end
    check_same_shape(fn, x1, x2, "x2")
    local rows = x1:dim() == 2 and x1:size(1) or nil
    if (rows and (y:dim() ~= 1 or y:size(1) ~= rows)) or (not rows and y:dim() ~= 0) then
        raise(("bad argument #3 to '%s' (expected targets of shape %s, got %s)")
              :format(fn, rows and ("(" .. rows .. ",)") or "()", shape_text(y)))
    end
    local alike, unalike = dl.no_grad(function() return y:eq(1), y:eq(-1) end)
    if (alike + unalike):sum():item() ~= y:numel() then
        raise(("bad argument #3 to '%s' (expected targets 1 or -1)"):format(fn))
    end
    local dim = x1:dim()
    local eps = 1e-12   -- PyTorch's, added to each squared norm
    local cos = (x1 * x2):sum(dim) / ((((x1 * x1):sum(dim) + eps) * ((x2 * x2):sum(dim) + eps)):sqrt())
    local loss = alike * (1 - cos) + unalike * (cos - (opts.margin or 0)):relu()
    return reduce(fn, 4, loss, opts.reduction)
end

for name, fn in pairs(losses) do F[name] = fn end

return losses
