-- Lesson 1: tensors and broadcasting. A lesson is a list of steps; copy
-- this file to start your own (docs/teaching.md describes the format).
local function shape_is(t, shape)
    if not dl.is_tensor(t) then return false end
    return table.concat(t:shape(), ",") == table.concat(shape, ",")
end

local function close(t, values)
    local flat = t:reshape(-1):totable()
    if #flat ~= #values then return false end
    for i, v in ipairs(values) do
        if math.abs(flat[i] - v) > 1e-4 then return false end
    end
    return true
end

return {
    title = "Tensors and broadcasting",
    {
        text = "A tensor is a grid of numbers with a shape. Make the 2×3 tensor below and\n"
            .. "call it x.",
        code = "x = dl.tensor{{1, 2, 3}, {4, 5, 6}}",
        check = function(env)
            if not dl.is_tensor(env.x) then
                return false, "x is not a tensor yet (it is " .. type(env.x) .. ")"
            end
            if not shape_is(env.x, {2, 3}) then
                return false, "x has shape (" .. table.concat(env.x:shape(), ", ")
                    .. "), expected (2, 3)"
            end
            return close(env.x, {1, 2, 3, 4, 5, 6}), "x holds other numbers than 1..6"
        end,
        hint = "type the line exactly as shown: two rows of three numbers",
    },
    {
        text = "Arithmetic works element by element. Make y, the tensor x with 10 added to\n"
            .. "every element.",
        check = function(env)
            if not shape_is(env.y, {2, 3}) then return false, "y should be a 2×3 tensor" end
            return close(env.y, {11, 12, 13, 14, 15, 16}), "y should be x + 10"
        end,
        solution = "y = x + 10",
        hint = "a number is added to every element: y = x + 10",
    },
    {
        text = "Broadcasting stretches a smaller tensor over a bigger one: a row of 3 is\n"
            .. "repeated over both rows of x. Compute z = x * dl.tensor{1, 0, -1}.",
        code = "z = x * dl.tensor{1, 0, -1}",
        check = function(env)
            if not shape_is(env.z, {2, 3}) then return false, "z should be a 2×3 tensor" end
            return close(env.z, {1, 0, -3, 4, 0, -6}), "z should multiply each row by (1, 0, -1)"
        end,
        hint = "the row (1, 0, -1) multiplies each row of x",
    },
    {
        text = "Reductions sum along a dimension; dimensions count from 1. Make s, the sum\n"
            .. "of each column of x (a tensor of 3 values).",
        check = function(env)
            if not shape_is(env.s, {3}) then
                return false, "s should have shape (3): sum over dimension 1, the rows"
            end
            return close(env.s, {5, 7, 9}), "s should hold the column sums 5, 7, 9"
        end,
        solution = "s = x:sum(1)",
        hint = "x:sum(1) sums over dimension 1 (down the rows), leaving one value per column",
    },
    {
        text = "Well done: shapes, element-wise arithmetic, broadcasting and reductions\n"
            .. "are most of what tensors do.",
    },
}
