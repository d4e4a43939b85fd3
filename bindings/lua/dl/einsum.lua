-- einsum.lua -- dl.einsum(equation, a, [b]): torch.einsum's notation for one
-- or two operands, done with permute, reshape, sum, diag and one matmul:
--   "ij,jk->ik" matrix product, "bij,bjk->bik" batched, "ij,kj->ik" with a
--   transpose, "i,j->ij" outer, "i,i->" dot, "ij->ji" transpose, "ij->i"
--   and "ij->" sums, "ii->" trace, "ii->i" diagonal. Without "->" the output
--   is the letters used once, in alphabetical order. Gradients flow through
--   the ops it uses. Refused, with an error: "...", three or more operands,
--   a letter repeated within an operand other than as "ii".
local dl = require "dl"
local raise = require("dl.errors").raise

local function fail(argn, fmt, ...)
    raise(("bad argument #%d to 'einsum' (" .. fmt .. ")"):format(argn, ...))
end

local function letters_of(text)
    local list = {}
    for c in text:gmatch(".") do list[#list + 1] = c end
    return list
end

local function index_of(list)
    local at = {}
    for i, c in ipairs(list) do at[c] = i end
    return at
end

local function shape_text(t)
    return "(" .. table.concat(t:shape(), ", ") .. ")"
end

-- Parses the equation into operand letter lists and the output's letters.
local function parse(equation, count)
    if type(equation) ~= "string" then
        fail(1, "expected an equation string such as \"ij,jk->ik\", got %s", type(equation))
    end
    local text = equation:gsub("%s", "")
    if text:find("...", 1, true) then
        fail(1, "expected letters only ('...' is not supported), got \"%s\"", equation)
    end
    local lhs, rhs = text:match("^([^-]*)%->(.*)$")
    lhs = lhs or text
    local operands = {}
    for part in (lhs .. ","):gmatch("([^,]*),") do
        if not part:match("^%a*$") then
            fail(1, "expected operands of letters a-z, A-Z, got \"%s\" in \"%s\"", part, equation)
        end
        operands[#operands + 1] = letters_of(part)
    end
    if #operands > 2 then
        fail(1, "expected at most two operands, got %d in \"%s\"", #operands, equation)
    end
    if #operands ~= count then
        fail(1, "expected %d tensors for \"%s\", got %d", #operands, equation, count)
    end
    local uses = {}
    for _, list in ipairs(operands) do
        for _, c in ipairs(list) do uses[c] = (uses[c] or 0) + 1 end
    end
    local out
    if rhs then
        if not rhs:match("^%a*$") then
            fail(1, "expected output letters a-z, A-Z, got \"%s\" in \"%s\"", rhs, equation)
        end
        out = letters_of(rhs)
        local seen = {}
        for _, c in ipairs(out) do
            if seen[c] then fail(1, "expected distinct output letters, got '%s' twice", c) end
            if not uses[c] then fail(1, "output letter '%s' appears in no operand", c) end
            seen[c] = true
        end
    else
        out = {}
        for c, n in pairs(uses) do
            if n == 1 then out[#out + 1] = c end
        end
        table.sort(out)
    end
    return operands, out
end

-- Checks each operand's dims against its letters and that a letter has one
-- size everywhere; returns letter -> size.
local function sizes_of(operands, tensors)
    local size, where = {}, {}
    for k, list in ipairs(operands) do
        local t = tensors[k]
        if not dl.is_tensor(t) then fail(k + 1, "expected a tensor, got %s", type(t)) end
        if t:dim() ~= #list then
            fail(k + 1, "expected %d dims for \"%s\", got shape %s", #list, table.concat(list), shape_text(t))
        end
        for d, c in ipairs(list) do
            local s = t:size(d)
            if size[c] and size[c] ~= s then
                fail(k + 1, "letter '%s' has size %d in operand %d and %d here", c, size[c], where[c], s)
            end
            size[c], where[c] = s, where[c] or k
        end
    end
    return size
end

-- t with dims reordered from `have` to `want` (lists of letters).
local function arrange(t, have, want)
    local at, perm, same = index_of(have), {}, true
    for i, c in ipairs(want) do
        perm[i] = at[c]
        same = same and perm[i] == i
    end
    if same then return t end
    return t:permute(perm)
end

-- One operand with its repeated letters ("ii") taken along the diagonal
-- and the letters nobody else needs summed away; returns t and its letters.
local function reduce_operand(t, list, needed, argn)
    local at, seen = {}, {}
    for _, c in ipairs(list) do at[c] = (at[c] or 0) + 1 end
    for c, n in pairs(at) do
        if n > 1 then
            if #list ~= 2 then
                fail(argn, "expected a repeated letter only as \"ii\" (a diagonal), got \"%s\"", table.concat(list))
            end
            t, list = t:diag(), {c}
        end
    end
    local kept = {}
    for d = #list, 1, -1 do
        local c = list[d]
        if needed[c] and not seen[c] then
            table.insert(kept, 1, c)
            seen[c] = true
        else
            t = t:sum(d)
        end
    end
    return t, kept
end

local function product(size, list)
    local n = 1
    for _, c in ipairs(list) do n = n * size[c] end
    return n
end

local function sizes(size, list)
    local s = {}
    for i, c in ipairs(list) do s[i] = size[c] end
    return s
end

local function concat(...)
    local all = {}
    for _, list in ipairs{...} do
        for _, c in ipairs(list) do all[#all + 1] = c end
    end
    return all
end

--- dl.einsum(equation, a, [b]) -> tensor
return function(equation, ...)
    local tensors = {...}
    local operands, out = parse(equation, select("#", ...))
    local size = sizes_of(operands, tensors)
    local in_out = index_of(out)
    if #operands == 1 then
        local t, list = reduce_operand(tensors[1], operands[1], in_out, 2)
        return arrange(t, list, out)
    end
    local la, lb = index_of(operands[1]), index_of(operands[2])
    local needed_a, needed_b = {}, {}
    for c in pairs(la) do needed_a[c] = in_out[c] or lb[c] end
    for c in pairs(lb) do needed_b[c] = in_out[c] or la[c] end
    local a, list_a = reduce_operand(tensors[1], operands[1], needed_a, 2)
    local b, list_b = reduce_operand(tensors[2], operands[2], needed_b, 3)
    lb = index_of(list_b)
    local batch, contracted, free_a, free_b = {}, {}, {}, {}
    for _, c in ipairs(list_a) do
        if lb[c] then
            table.insert(in_out[c] and batch or contracted, c)
        else
            free_a[#free_a + 1] = c
        end
    end
    la = index_of(list_a)
    for _, c in ipairs(list_b) do
        if not la[c] then free_b[#free_b + 1] = c end
    end
    local nb, nc = product(size, batch), product(size, contracted)
    a = arrange(a, list_a, concat(batch, free_a, contracted)):reshape(nb, product(size, free_a), nc)
    b = arrange(b, list_b, concat(batch, contracted, free_b)):reshape(nb, nc, product(size, free_b))
    local result_letters = concat(batch, free_a, free_b)
    local result = a:matmul(b):reshape(sizes(size, result_letters))
    return arrange(result, result_letters, out)
end
