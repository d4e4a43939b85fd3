-- Lesson 2: gradients by hand, by autodiff, and checked by finite
-- differences.
return {
    title = "Gradients by hand and by autodiff",
    {
        text = "f(w) = w² + 3w. By hand, df/dw = 2w + 3. Set g to its value at w = 2\n"
            .. "(a plain number).",
        check = function(env)
            if type(env.g) ~= "number" then
                return false, "g should be a number, got " .. (dl.is_tensor(env.g) and "a tensor"
                                                                 or type(env.g))
            end
            return math.abs(env.g - 7) < 1e-9, ("g = %g is not 2·2 + 3"):format(env.g)
        end,
        solution = "g = 2 * 2 + 3",
        hint = "the derivative of w² is 2w, of 3w is 3: at w = 2, 2·2 + 3",
    },
    {
        text = "Autodiff computes the same number. Make w a tensor that requires grad,\n"
            .. "compute f and call backward: w.grad holds df/dw.",
        code = "w = dl.tensor({2}, {requires_grad = true})\n"
            .. "f = (w * w + 3 * w):sum()\n"
            .. "f:backward()\n"
            .. "w.grad",
        check = function(env)
            if not dl.is_tensor(env.w) or not env.w:requires_grad() then
                return false, "w should be a tensor made with {requires_grad = true}"
            end
            if env.w.grad == nil then return false, "w.grad is empty: call f:backward()" end
            return math.abs(env.w.grad:item() - 7) < 1e-5, "w.grad should be 7"
        end,
        hint = "run the four lines in order; backward() fills w.grad",
    },
    {
        text = "A finite difference checks a gradient without calculus:\n"
            .. "(f(w + h) - f(w - h)) / (2h). Set d to it with h = 0.001 at w = 2.",
        check = function(env)
            if type(env.d) ~= "number" then
                return false, "d should be a number, got " .. type(env.d)
            end
            return math.abs(env.d - 7) < 1e-3, ("d = %g, expected about 7"):format(env.d)
        end,
        solution = "local function f(v) return v * v + 3 * v end\n"
            .. "d = (f(2.001) - f(1.999)) / 0.002",
        hint = "local function f(v) return v * v + 3 * v end, then d = (f(2.001) - f(1.999)) / 0.002",
    },
    {
        text = "dl.gradcheck does this for every element of a tensor and compares with\n"
            .. "autodiff. Check the gradient of a softmax-weighted sum: ok should be true.",
        code = "v = dl.tensor({0.5, -1, 2}, {requires_grad = true})\n"
            .. "ok, report = dl.gradcheck(function(a) return (a:softmax(1) * dl.tensor{1, 2, 3}):sum() end, v)\n"
            .. "report",
        check = function(env)
            if env.ok ~= true then
                return false, "ok is " .. tostring(env.ok) .. ": run the dl.gradcheck line"
            end
            return true
        end,
        hint = "dl.gradcheck(fn, inputs) returns ok, report",
    },
    {
        text = "A wrong gradient is caught: detach() cuts the graph, so autodiff sees\n"
            .. "only half of w·w. Set bad to the first result of gradcheck on it.",
        code = "bad = dl.gradcheck(function(a) return (a:detach() * a):sum() end, v)",
        check = function(env)
            if env.bad ~= false then
                return false, "bad should be false (the gradient is wrong), got " .. tostring(env.bad)
            end
            return true
        end,
        hint = "gradcheck's first result is false when a gradient is wrong",
    },
}
