-- gradcheck.lua -- dl.gradcheck(fn, inputs, opts): autodiff's gradient
-- against central finite differences, element by element.
--
-- fn(inputs...) must return a scalar tensor. For every element x of every
-- input that requires grad, fn is evaluated at x + eps and x - eps (the
-- element is written in place, without recording, and put back), and
--     numeric = (f(x + eps) - f(x - eps)) / (x₊ - x₋)
-- where x₊, x₋ are the float32 values actually stored (the division is in
-- double). The element fails when |analytic - numeric| > atol + rtol·|numeric|.
local dl = require "dl"
local raise = require("dl.errors").raise

local gradcheck = {}

local DEFAULTS = {eps = 1e-3, atol = 1e-3, rtol = 1e-2, rows = 10}
local OPTIONS = {eps = true, atol = true, rtol = true, rows = true}

local function argerror(n, fmt, ...)
    raise(("bad argument #%d to 'gradcheck' (" .. fmt .. ")"):format(n, ...))
end

local function typename(v)
    return dl.is_tensor(v) and "a tensor" or type(v)
end

local function shape_text(shape)
    return "(" .. table.concat(shape, ", ") .. ")"
end

-- The options with their defaults; unknown keys and bad values raise.
local function options(o)
    if o == nil then o = {} end
    if type(o) ~= "table" then argerror(3, "expected an options table, got %s", typename(o)) end
    local out = {}
    for key in pairs(o) do
        if not OPTIONS[key] then argerror(3, "unknown option '%s'", tostring(key)) end
    end
    for key, default in pairs(DEFAULTS) do
        local v = o[key]
        if v == nil then v = default end
        if type(v) ~= "number" or v < 0 or v ~= v or (key == "eps" and v == 0)
            or (key == "rows" and v % 1 ~= 0) then
            argerror(3, "expected option '%s' to be a %s, got %s", key,
                     key == "rows" and "count >= 0" or key == "eps" and "number > 0"
                     or "number >= 0", type(v) == "number" and tostring(v) or typename(v))
        end
        out[key] = v
    end
    return out
end

-- fn's value (a one-element tensor); raises on anything else.
local function evaluate(fn, inputs, n)
    local out = fn(table.unpack(inputs, 1, n))
    if not dl.is_tensor(out) or out:numel() ~= 1 then
        argerror(1, "expected a function returning a scalar tensor, it returned %s", (
            dl.is_tensor(out) and "a tensor of shape " .. shape_text(out:shape())
            or type(out)))
    end
    return out
end

-- The 1-based position of flat element i (1-based) in `shape`.
local function position(i, shape)
    local at, rest = {}, i - 1
    for d = #shape, 1, -1 do
        at[d] = rest % shape[d] + 1
        rest = rest // shape[d]
    end
    return at
end

local function number_text(x)
    return ("%.6g"):format(x)
end

-- The report as a table: a summary line, then the worst elements.
local function report_text(r)
    local lines = {
        ("gradcheck: %s, %d of %d elements out of tolerance (eps %g, atol %g, rtol %g)")
            :format(r.ok and "ok" or "FAILED", r.failed, r.checked, r.eps, r.atol, r.rtol),
    }
    if #r.worst == 0 then return lines[1] end
    local rows = {{"input", "position", "analytic", "numeric", "error", ""}}
    for _, w in ipairs(r.worst) do
        rows[#rows + 1] = {tostring(w.input), shape_text(w.position), number_text(w.analytic),
                           number_text(w.numeric), number_text(w.error),
                           w.ok and "" or "<- wrong"}
    end
    local width = {}
    for _, row in ipairs(rows) do
        for c, cell in ipairs(row) do width[c] = math.max(width[c] or 0, #cell) end
    end
    for _, row in ipairs(rows) do
        local cells = {}
        for c, cell in ipairs(row) do cells[c] = cell .. (" "):rep(width[c] - #cell) end
        lines[#lines + 1] = (table.concat(cells, "  "):gsub("%s+$", ""))
    end
    return table.concat(lines, "\n")
end

local Report = {__name = "gradcheck report", __tostring = report_text}

--- dl.gradcheck(fn, inputs, {eps=1e-3, atol=1e-3, rtol=1e-2, rows=10})
--- -> ok, report. inputs is a tensor or a list of tensors (fn gets them as
--- arguments); those that require grad must be leaves and are checked.
--- report has ok, checked, failed, max_error, and worst: the `rows`
--- elements with the largest error relative to their tolerance, each
--- {input=, position=, analytic=, numeric=, error=, ok=}; it prints as a
--- table. The inputs' .grad are cleared. Errors: fn not a function, no
--- input requiring grad, fn not returning a scalar tensor.
function gradcheck.gradcheck(fn, inputs, o)
    if type(fn) ~= "function" then argerror(1, "expected a function, got %s", typename(fn)) end
    if dl.is_tensor(inputs) then inputs = {inputs} end
    if type(inputs) ~= "table" then
        argerror(2, "expected a tensor or a list of tensors, got %s", typename(inputs))
    end
    o = options(o)
    local n, checked = #inputs, {}
    for k = 1, n do
        local x = inputs[k]
        if not dl.is_tensor(x) then
            argerror(2, "expected a list of tensors, got %s at [%d]", typename(x), k)
        end
        if x:requires_grad() then
            if not x:is_leaf() then
                argerror(2, "expected leaf tensors, got one computed by '%s' at [%d] "
                         .. "(check x:detach():requires_grad(true))", x:grad_fn(), k)
            end
            if not x:is_contiguous() then
                argerror(2, "expected contiguous tensors, got a strided view at [%d] "
                         .. "(pass x:contiguous())", k)
            end
            checked[#checked + 1] = k
        end
    end
    if #checked == 0 then
        argerror(2, "expected at least one tensor that requires grad, got none")
    end

    for _, k in ipairs(checked) do inputs[k]:zero_grad() end
    evaluate(fn, inputs, n):backward()
    local analytic = {}
    for _, k in ipairs(checked) do
        local g = inputs[k].grad
        analytic[k] = g and g:reshape(-1):totable() or false    -- false: unused, all 0
        inputs[k]:zero_grad()
    end

    local results, failed, max_error, total = {}, 0, 0, 0
    dl.no_grad(function()
        for _, k in ipairs(checked) do
            local x = inputs[k]
            local flat, shape = x:view(-1), x:shape()
            for i = 1, flat:numel() do
                local x0 = flat[i]
                flat[i] = x0 + o.eps
                local above = flat[i]
                local f_above = evaluate(fn, inputs, n):item()
                flat[i] = x0 - o.eps
                local below = flat[i]
                local f_below = evaluate(fn, inputs, n):item()
                flat[i] = x0
                local numeric = (f_above - f_below) / (above - below)
                local a = analytic[k] and analytic[k][i] or 0
                local err = math.abs(a - numeric)
                local tolerance = o.atol + o.rtol * math.abs(numeric)
                local ok = err <= tolerance          -- false for NaN
                if not ok then failed = failed + 1 end
                if err == err then max_error = math.max(max_error, err) end
                total = total + 1
                results[#results + 1] = {input = k, index = i, position = position(i, shape),
                                         analytic = a, numeric = numeric, error = err, ok = ok,
                                         score = err == err and err / tolerance or math.huge}
            end
        end
    end)
    table.sort(results, function(a, b)
        if a.score ~= b.score then return a.score > b.score end
        if a.input ~= b.input then return a.input < b.input end
        return a.index < b.index
    end)
    local worst = {}
    for i = 1, math.min(o.rows, #results) do
        results[i].score, results[i].index = nil, nil
        worst[i] = results[i]
    end
    local report = setmetatable({ok = failed == 0, checked = total, failed = failed,
                                 max_error = max_error, worst = worst, eps = o.eps,
                                 atol = o.atol, rtol = o.rtol}, Report)
    return report.ok, report
end

return gradcheck
