-- Lesson 3: linear regression by gradient descent, with the first step
-- worked by hand: θ = (0, 0), x = (1, 2, 3), y = (2, 4, 6), mean squared
-- error: loss 56/3, dθ0 = -8, dθ1 = -56/3.
local function near(a, b, tol) return type(a) == "number" and math.abs(a - b) <= (tol or 1e-4) end

local function number_of(v)
    if dl.is_tensor(v) and v:numel() == 1 then return v:item() end
    return v
end

return {
    title = "Linear regression by gradient descent",
    {
        text = "The model is ŷ = θ0 + θ1·x. With θ = (0, 0) every prediction is 0. For\n"
            .. "x = (1, 2, 3) and y = (2, 4, 6) the mean squared error is\n"
            .. "((0-2)² + (0-4)² + (0-6)²) / 3. Set loss to it (a number).",
        check = function(env)
            local v = number_of(env.loss)
            if type(v) ~= "number" then return false, "loss should be a number" end
            return near(v, 56 / 3), ("loss = %g; (4 + 16 + 36) / 3 = 18.667"):format(v)
        end,
        solution = "loss = (4 + 16 + 36) / 3",
        hint = "square each error: 4, 16, 36; then take their mean",
    },
    {
        text = "By hand: dloss/dθ0 = mean(2(ŷ - y)) and dloss/dθ1 = mean(2(ŷ - y)·x).\n"
            .. "Set d0 and d1 to their values at θ = (0, 0).",
        check = function(env)
            local d0, d1 = number_of(env.d0), number_of(env.d1)
            if not near(d0, -8) then
                return false, "d0 should be 2·(-2 - 4 - 6)/3, got " .. tostring(d0)
            end
            return near(d1, -56 / 3), "d1 should be 2·(-2·1 - 4·2 - 6·3)/3, got " .. tostring(d1)
        end,
        solution = "d0 = 2 * (-2 - 4 - 6) / 3\nd1 = 2 * (-2 * 1 - 4 * 2 - 6 * 3) / 3",
        hint = "ŷ - y is (-2, -4, -6); multiply by 2 (and by x for d1), then average",
    },
    {
        text = "Autodiff gives the same numbers. Run this and compare theta.grad with\n"
            .. "(d0, d1).",
        code = "x = dl.tensor{1, 2, 3}\n"
            .. "y = dl.tensor{2, 4, 6}\n"
            .. "theta = dl.zeros(2, {requires_grad = true})\n"
            .. "l = ((theta:select(1, 1) + theta:select(1, 2) * x - y) ^ 2):mean()\n"
            .. "l:backward()\n"
            .. "theta.grad",
        check = function(env)
            local g = env.theta and env.theta.grad
            if not dl.is_tensor(g) then return false, "theta.grad is empty: call l:backward()" end
            local t = g:totable()
            return near(t[1], -8) and near(t[2], -56 / 3), "theta.grad should be (-8, -18.667)"
        end,
        hint = "type the six lines in order",
    },
    {
        text = "Gradient descent repeats θ ← θ - lr·grad. Run 200 steps with lr = 0.05:\n"
            .. "θ should approach (0, 2), since y = 2x.",
        code = "for step = 1, 200 do\n"
            .. "    theta:zero_grad()\n"
            .. "    l = ((theta:select(1, 1) + theta:select(1, 2) * x - y) ^ 2):mean()\n"
            .. "    l:backward()\n"
            .. "    dl.no_grad(function() theta:copy_(theta - 0.05 * theta.grad) end)\n"
            .. "end\n"
            .. "theta",
        check = function(env)
            if not dl.is_tensor(env.theta) then return false, "theta should be a tensor" end
            local t = env.theta:totable()
            return near(t[1], 0, 0.1) and near(t[2], 2, 0.05),
                   ("θ = (%.3f, %.3f), expected near (0, 2): run the loop"):format(t[1], t[2])
        end,
        hint = "the update must run without recording: dl.no_grad(function() ... end)",
    },
}
