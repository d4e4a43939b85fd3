-- Lesson 4: activations, softmax and losses with numbers a student can
-- verify: softmax(2, 1, 0.5) = (0.6285, 0.2312, 0.1402), sigmoid(2) =
-- 0.8808, and the binary cross-entropy of one example.
local function close(t, values, tol)
    if not dl.is_tensor(t) then return false end
    local flat = t:reshape(-1):totable()
    if #flat ~= #values then return false end
    for i, v in ipairs(values) do
        if math.abs(flat[i] - v) > (tol or 1e-4) then return false end
    end
    return true
end

return {
    title = "Activations, softmax and losses",
    {
        text = "sigmoid(z) = 1 / (1 + e^-z) squashes any number into (0, 1). Set s to\n"
            .. "dl.tensor{2}:sigmoid() and check it against 1 / (1 + math.exp(-2)).",
        code = "s = dl.tensor{2}:sigmoid()",
        check = function(env)
            return close(env.s, {0.8808}), "s should be the tensor (0.8808)"
        end,
        hint = "dl.tensor{2}:sigmoid()",
    },
    {
        text = "softmax turns scores into probabilities: e^z / sum(e^z). Compute p, the\n"
            .. "softmax of (2, 1, 0.5); its values add up to 1.",
        check = function(env)
            if not dl.is_tensor(env.p) then
                return false, "p should be a tensor, got " .. type(env.p)
            end
            return close(env.p, {0.6285, 0.2312, 0.1402}),
                   "p should be (0.6285, 0.2312, 0.1402)"
        end,
        solution = "p = dl.tensor{2, 1, 0.5}:softmax(1)",
        hint = "dl.tensor{2, 1, 0.5}:softmax(1): softmax along dimension 1",
    },
    {
        text = "Binary cross-entropy of one prediction p = 0.8 for a true label 1 is\n"
            .. "-log(0.8) = 0.2231. Compute it with nn.bce and call it bce.",
        code = "bce = nn.bce(dl.tensor{0.8}, dl.tensor{1})",
        check = function(env)
            return close(env.bce, {0.2231}), "bce should be the scalar 0.2231"
        end,
        hint = "nn.bce(prediction, target) with tensors of one value each",
    },
    {
        text = "A confident wrong answer costs much more: set bad to the binary\n"
            .. "cross-entropy of p = 0.1 for the label 1 (it is -log(0.1) = 2.3026).",
        check = function(env)
            return close(env.bad, {2.3026}), "bad should be nn.bce(dl.tensor{0.1}, dl.tensor{1})"
        end,
        solution = "bad = nn.bce(dl.tensor{0.1}, dl.tensor{1})",
        hint = "the same call with 0.1 as the prediction",
    },
}
