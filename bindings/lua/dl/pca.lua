-- pca.lua -- dl.pca(x, {k=2}): principal component analysis, computed here.
--
-- The covariance C (D×D) of the centred rows is formed with one matmul;
-- its top k eigenvectors are found by subspace iteration on a block of
-- m = min(D, k + 6) vectors, with a Rayleigh-Ritz step each round (the
-- m×m projected matrix is diagonalised by Jacobi rotations in double).
-- The block converges at the rate λ(m+1)/λ(k), so a few dozen rounds do.
local dl = require "dl"
local raise = require("dl.errors").raise

local pca = {}

local MAX_ROUNDS = 500
local TOLERANCE = 1e-5         -- |C v - λ v| / λ1 of the top k (float32 products)

local function argerror(n, fmt, ...)
    raise(("bad argument #%d to 'pca' (" .. fmt .. ")"):format(n, ...))
end

-- Eigen-decomposition of the symmetric matrix a (Lua rows, m×m, changed):
-- values (descending) and vectors as the columns of v.
local function jacobi(a, m)
    local v = {}
    for i = 1, m do
        v[i] = {}
        for j = 1, m do v[i][j] = i == j and 1 or 0 end
    end
    for _ = 1, 100 do
        local off = 0
        for i = 1, m do for j = i + 1, m do off = off + a[i][j] ^ 2 end end
        if off < 1e-30 then break end
        for p = 1, m - 1 do
            for q = p + 1, m do
                if a[p][q] ~= 0 then
                    local theta = (a[q][q] - a[p][p]) / (2 * a[p][q])
                    local t = (theta >= 0 and 1 or -1) / (math.abs(theta) + math.sqrt(theta ^ 2 + 1))
                    local c = 1 / math.sqrt(t ^ 2 + 1)
                    local s = t * c
                    for r = 1, m do             -- a <- a J (columns p, q)
                        local ap, aq = a[r][p], a[r][q]
                        a[r][p], a[r][q] = c * ap - s * aq, s * ap + c * aq
                    end
                    for r = 1, m do             -- a <- J' a (rows p, q)
                        local ap, aq = a[p][r], a[q][r]
                        a[p][r], a[q][r] = c * ap - s * aq, s * ap + c * aq
                    end
                    for r = 1, m do
                        local vp, vq = v[r][p], v[r][q]
                        v[r][p], v[r][q] = c * vp - s * vq, s * vp + c * vq
                    end
                end
            end
        end
    end
    local order = {}
    for i = 1, m do order[i] = i end
    table.sort(order, function(i, j) return a[i][i] > a[j][j] end)
    local values, vectors = {}, {}
    for c, i in ipairs(order) do
        values[c] = a[i][i]
        for r = 1, m do
            vectors[r] = vectors[r] or {}
            vectors[r][c] = v[r][i]
        end
    end
    return values, vectors
end

-- The columns of z (Lua rows, D×m) made orthonormal (modified Gram-Schmidt);
-- a column that vanishes is replaced by a unit vector not yet spanned.
local function orthonormalize(z, d, m)
    for c = 1, m do
        for _ = 1, 2 do                 -- twice is enough (Kahan)
            for p = 1, c - 1 do
                local dot = 0
                for r = 1, d do dot = dot + z[r][p] * z[r][c] end
                for r = 1, d do z[r][c] = z[r][c] - dot * z[r][p] end
            end
        end
        local norm = 0
        for r = 1, d do norm = norm + z[r][c] ^ 2 end
        norm = math.sqrt(norm)
        if norm < 1e-12 then
            for r = 1, d do z[r][c] = r == ((c - 1) % d) + 1 and 1 or 0 end
        else
            for r = 1, d do z[r][c] = z[r][c] / norm end
        end
    end
    return z
end

-- A fixed start block (D×m) with no structure an eigenvector could share.
local function start_block(d, m)
    local z, state = {}, 12345
    for r = 1, d do
        z[r] = {}
        for c = 1, m do
            state = (state * 1103515245 + 12345) % 2147483648
            z[r][c] = state / 2147483648 - 0.5
        end
    end
    return z
end

--- dl.pca(x, {k=2}) -> projection, components, explained_variance_ratio:
--- the rows of x (N×D, or N×... flattened) projected on their first k
--- principal axes (N×k tensor), the axes (k×D tensor, each with its
--- largest coordinate positive) and the share of the variance each
--- explains (a table). Errors: x not a tensor, fewer than 2 rows, k
--- outside 1..D, rows that do not vary.
function pca.pca(x, o)
    if not dl.is_tensor(x) then
        argerror(1, "expected a tensor N×D, got %s", type(x))
    end
    if o ~= nil and type(o) ~= "table" then argerror(2, "expected an options table, got %s", type(o)) end
    o = o or {}
    for key in pairs(o) do
        if key ~= "k" then argerror(2, "unknown option '%s'", tostring(key)) end
    end
    if x:dim() < 2 or x:size(1) < 2 then
        argerror(1, "expected a tensor N×D with N >= 2, got shape (%s)",
                 table.concat(x:shape(), ", "))
    end
    local n = x:size(1)
    local rows = dl.no_grad(function() return x:detach():reshape(n, -1) end)
    local d = rows:size(2)
    local k = o.k or 2
    if math.type(k) ~= "integer" and not (type(k) == "number" and k % 1 == 0) or k < 1 or k > d then
        argerror(2, "expected option 'k' to be a count in 1..%d, got %s", d, tostring(k))
    end
    k = math.tointeger(k)
    local centred = rows - rows:mean(1, {keepdim = true})
    local cov = centred:t():matmul(centred) / (n - 1)
    local total = (centred * centred):sum():item() / (n - 1)
    if not (total > 0) then
        argerror(1, "expected rows that vary, got %d identical rows", n)
    end
    local m = math.min(d, k + 6)
    local q = orthonormalize(start_block(d, m), d, m)
    local values
    for _ = 1, MAX_ROUNDS do
        local z = cov:matmul(dl.tensor(q)):totable()      -- D×m: C Q
        local h = {}                                     -- m×m: Q' C Q
        for i = 1, m do
            h[i] = {}
            for j = 1, m do
                local s = 0
                for r = 1, d do s = s + q[r][i] * z[r][j] end
                h[i][j] = s
            end
        end
        for i = 1, m do                                  -- exactly symmetric
            for j = i + 1, m do
                local s = (h[i][j] + h[j][i]) / 2
                h[i][j], h[j][i] = s, s
            end
        end
        local w
        values, w = jacobi(h, m)
        local rotated = {}                               -- Q W: the Ritz vectors
        for r = 1, d do
            rotated[r] = {}
            for c = 1, m do
                local s = 0
                for i = 1, m do s = s + q[r][i] * w[i][c] end
                rotated[r][c] = s
            end
        end
        -- C times the Ritz vectors: the next block, and the residuals
        -- |C v - λ v| that say when the top k have converged
        local next_z, converged = {}, true
        for r = 1, d do
            next_z[r] = {}
            for c = 1, m do
                local s = 0
                for i = 1, m do s = s + z[r][i] * w[i][c] end
                next_z[r][c] = s
            end
        end
        for c = 1, k do
            local residual = 0
            for r = 1, d do residual = residual + (next_z[r][c] - values[c] * rotated[r][c]) ^ 2 end
            if math.sqrt(residual) > TOLERANCE * math.abs(values[1]) then converged = false end
        end
        if converged then
            q = rotated
            break
        end
        q = orthonormalize(next_z, d, m)
    end
    local axes, ratios = {}, {}
    for c = 1, k do
        local axis, largest = {}, 0
        for r = 1, d do
            axis[r] = q[r][c]
            if math.abs(axis[r]) > math.abs(largest) then largest = axis[r] end
        end
        if largest < 0 then
            for r = 1, d do axis[r] = -axis[r] end
        end
        axes[c] = axis
        ratios[c] = math.max(values[c], 0) / total
    end
    local components = dl.tensor(axes)
    return centred:matmul(components:t()), components, ratios
end

return pca
