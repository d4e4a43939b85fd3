-- Lesson 5: XOR needs a hidden layer. A linear model cannot separate the
-- classes; 8 tanh units can. dl.plot.decision shows both.
local function accuracy(model, x, y)
    local ok, logits = pcall(function() return dl.no_grad(function() return model(x) end) end)
    if not ok or not dl.is_tensor(logits) or logits:numel() ~= 4 then return nil end
    local right = 0
    local p, t = logits:reshape(-1):totable(), y:reshape(-1):totable()
    for i = 1, 4 do
        if (p[i] > 0 and 1 or 0) == t[i] then right = right + 1 end
    end
    return right / 4
end

return {
    title = "XOR with a hidden layer",
    {
        text = "XOR: the output is 1 when exactly one input is 1. Make the data.",
        code = "x = dl.tensor{{0, 0}, {0, 1}, {1, 0}, {1, 1}}\ny = dl.tensor{{0}, {1}, {1}, {0}}",
        check = function(env)
            return dl.is_tensor(env.x) and dl.is_tensor(env.y) and env.y:sum():item() == 2,
                   "x should be the four corners and y their XOR"
        end,
        hint = "type the two lines as shown",
    },
    {
        text = "A network with one hidden layer of 8 tanh units, trained for 300 steps\n"
            .. "with bce_with_logits (the output is a logit: class 1 when it is > 0).",
        code = "dl.manual_seed(1)\n"
            .. "model = nn.Sequential{nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1)}\n"
            .. "opt = optim.SGD(model:parameters(), {lr = 0.5, momentum = 0.9})\n"
            .. "for step = 1, 300 do\n"
            .. "    local loss = nn.bce_with_logits(model(x), y)\n"
            .. "    opt:zero_grad()\n"
            .. "    loss:backward()\n"
            .. "    opt:step()\n"
            .. "end",
        check = function(env)
            if env.model == nil then return false, "model is not defined yet" end
            local a = accuracy(env.model, env.x, env.y)
            if a == nil then return false, "model(x) should give 4 logits" end
            return a == 1, ("the model gets %d of 4 right: train it (the loop)"):format(a * 4)
        end,
        hint = "run all the lines; the loop does forward, loss, backward and step 300 times",
    },
    {
        text = "Now show why a hidden layer is needed: train linear = nn.Linear(2, 1) the\n"
            .. "same way. It cannot get all four right; set best to its accuracy.\n"
            .. "(dl.plot.decision(model, {x, y:reshape(-1)}) draws the regions of each.)",
        check = function(env)
            if env.linear == nil then return false, "linear is not defined yet" end
            local a = accuracy(env.linear, env.x, env.y)
            if a == nil then return false, "linear(x) should give 4 logits" end
            if a == 1 then return false, "a linear model cannot get XOR right: check your data" end
            return env.best == a, ("best should be the accuracy of linear, %g"):format(a)
        end,
        solution = "linear = nn.Linear(2, 1)\n"
            .. "opt = optim.SGD(linear:parameters(), {lr = 0.5})\n"
            .. "for step = 1, 300 do\n"
            .. "    local loss = nn.bce_with_logits(linear(x), y)\n"
            .. "    opt:zero_grad()\n"
            .. "    loss:backward()\n"
            .. "    opt:step()\n"
            .. "end\n"
            .. "local right = 0\n"
            .. "local p = linear(x):reshape(-1):totable()\n"
            .. "local t = y:reshape(-1):totable()\n"
            .. "for i = 1, 4 do if (p[i] > 0 and 1 or 0) == t[i] then right = right + 1 end end\n"
            .. "best = right / 4",
        hint = "count the points where (logit > 0) equals the label, divide by 4",
    },
}
