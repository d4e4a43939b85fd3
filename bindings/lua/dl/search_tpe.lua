-- search_tpe.lua -- the Tree-structured Parzen Estimator's proposal step
-- (Bergstra et al. 2011, as Hyperopt and Optuna do it, one parameter at a
-- time).
--
-- The finished trials are split by score: the best fraction gamma are
-- "good", the rest "bad". For each parameter two densities are fitted,
-- l(x) on the good values and g(x) on the bad ones: for a range, a mixture
-- of normals centred on the values (plus one wide prior normal at the
-- middle of the range), each as wide as the larger gap to its neighbours
-- (Hyperopt's adaptive Parzen estimator), truncated to the range; for a
-- choice, the counts plus one. Candidates are drawn from l, and the one
-- with the largest l(x) / g(x) is the next trial: where good values are
-- dense and bad ones are rare.
local S = require "dl.search_space"

local tpe = {}

-- erf by Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7).
local function erf(x)
    local sign = x < 0 and -1 or 1
    x = math.abs(x)
    local t = 1 / (1 + 0.3275911 * x)
    local poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741
                 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1 - poly * math.exp(-x * x))
end

local function normal_cdf(z) return 0.5 * (1 + erf(z / math.sqrt(2))) end

-- The dimension's range in the space the estimator works in: logarithms
-- for loguniform, half a step beyond the ends for int.
local function bounds(dim)
    if dim.kind == "loguniform" then return math.log(dim.low), math.log(dim.high) end
    if dim.kind == "int" then return dim.low - 0.5, dim.high + 0.5 end
    return dim.low, dim.high
end

local function to_internal(dim, v)
    return dim.kind == "loguniform" and math.log(v) or v
end

local function from_internal(dim, x)
    if dim.kind == "loguniform" then return math.exp(x) end
    if dim.kind == "int" then
        return math.min(dim.high, math.max(dim.low, math.floor(x + 0.5)))
    end
    return x
end

-- The adaptive Parzen mixture {mus, sigmas, low, high} of `values`.
local function parzen(dim, values)
    local low, high = bounds(dim)
    local prior = (low + high) / 2
    local mus = {prior}
    for _, v in ipairs(values) do mus[#mus + 1] = to_internal(dim, v) end
    table.sort(mus)
    local width = high - low
    local min_sigma = width / math.min(100, #mus)
    local sigmas = {}
    for i, mu in ipairs(mus) do
        local left = mu - (mus[i - 1] or low)
        local right = (mus[i + 1] or high) - mu
        sigmas[i] = math.min(width, math.max(min_sigma, left, right))
    end
    -- the prior keeps the whole range open
    for i, mu in ipairs(mus) do
        if mu == prior then sigmas[i] = width break end
    end
    return {mus = mus, sigmas = sigmas, low = low, high = high}
end

local function parzen_sample(p, rng)
    local k = math.floor(rng() * #p.mus) + 1
    for _ = 1, 100 do
        local x = p.mus[k] + p.sigmas[k] * S.normal(rng)
        if x >= p.low and x <= p.high then return x end
    end
    return math.min(p.high, math.max(p.low, p.mus[k]))
end

local function parzen_logpdf(p, x)
    local total = 0
    for k, mu in ipairs(p.mus) do
        local s = p.sigmas[k]
        local mass = normal_cdf((p.high - mu) / s) - normal_cdf((p.low - mu) / s)
        local z = (x - mu) / s
        total = total + math.exp(-0.5 * z * z) / (s * math.sqrt(2 * math.pi) * math.max(mass, 1e-12))
    end
    return math.log(math.max(total / #p.mus, 1e-300))
end

-- For a choice: probabilities (count + 1) / (n + K) by value index.
local function categorical(dim, values)
    local counts = {}
    for i = 1, #dim.values do counts[i] = 1 end
    for _, v in ipairs(values) do
        for i, w in ipairs(dim.values) do
            if w == v then counts[i] = counts[i] + 1 break end
        end
    end
    local total = #values + #dim.values
    for i = 1, #counts do counts[i] = counts[i] / total end
    return counts
end

local function categorical_sample(probs, rng)
    local u, acc = rng(), 0
    for i, p in ipairs(probs) do
        acc = acc + p
        if u < acc then return i end
    end
    return #probs
end

--- tpe.propose(space, names, finished, rng, opts) -> params for the next
--- trial. `finished` lists {params =, score =} of the successful trials,
--- scores oriented so that higher is better; opts.gamma is the good
--- fraction and opts.candidates how many draws from l are compared.
function tpe.propose(space, names, finished, rng, opts)
    local sorted = {}
    for i, t in ipairs(finished) do sorted[i] = t end
    table.sort(sorted, function(a, b)
        if a.score ~= b.score then return a.score > b.score end
        return a.trial < b.trial
    end)
    local n_good = math.max(1, math.ceil(opts.gamma * #sorted))
    local params = {}
    local best_score = {}
    local candidates = {}
    for c = 1, opts.candidates do candidates[c] = {} best_score[c] = 0 end
    for _, name in ipairs(names) do
        local dim = space[name]
        if not S.is_dimension(dim) then
            params[name] = dim
        else
            local good, bad = {}, {}
            for i, t in ipairs(sorted) do
                local list = i <= n_good and good or bad
                list[#list + 1] = t.params[name]
            end
            local choice = dim.kind == "choice"
            local l = choice and categorical(dim, good) or parzen(dim, good)
            local g = choice and categorical(dim, bad) or parzen(dim, bad)
            for c = 1, opts.candidates do
                local value, gain
                if choice then
                    local i = categorical_sample(l, rng)
                    value, gain = dim.values[i], math.log(l[i]) - math.log(g[i])
                else
                    local x = parzen_sample(l, rng)
                    value = from_internal(dim, x)
                    local at = dim.kind == "int" and value or x
                    gain = parzen_logpdf(l, at) - parzen_logpdf(g, at)
                end
                candidates[c][name] = value
                best_score[c] = best_score[c] + gain
            end
        end
    end
    local best = 1
    for c = 2, opts.candidates do
        if best_score[c] > best_score[best] then best = c end
    end
    for name, value in pairs(candidates[best]) do params[name] = value end
    return params
end

return tpe
