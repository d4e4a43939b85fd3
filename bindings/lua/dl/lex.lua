-- lex.lua -- a small Lua tokenizer for the prompt: enough to tell where
-- top-level statements start and which `local`s are at the top level.
--
--   lex.tokens(code) -> list of {kind, text, from, to, depth}, complete
--     kind is "name", "keyword", "string", "number" or "op"; depth is the
--     block nesting before the token (function/do/if/repeat open a block,
--     end/until close one); `complete` is false when a string or long
--     comment is still open at the end.
--   lex.globalize(code) -> code with its top-level `local` declarations
--     turned into assignments, so the names outlive the chunk (the prompt's
--     "a top-level local stays visible to the next line"). Lines keep their
--     numbers.
-- The globals used here, kept: a user's `load = nil` or `table = 1` at the
-- prompt must not break the prompt itself.
local ipairs, table = ipairs, table

local lex = {}

local KEYWORDS = {}
for word in ([[and break do else elseif end false for function goto if in
               local nil not or repeat return then true until while]]):gmatch("%a+") do
    KEYWORDS[word] = true
end

local OPENS = {["function"] = true, ["do"] = true, ["if"] = true, ["repeat"] = true}
local CLOSES = {["end"] = true, ["until"] = true}

-- Index after a long bracket opening at i ("[[", "[==["), or nil.
local function long_bracket(code, i)
    local equals = code:match("^%[(=*)%[", i)
    if not equals then return nil end
    local close = "]" .. equals .. "]"
    local stop = code:find(close, i + #equals + 2, true)
    return stop and stop + #close or false
end

--- lex.tokens(code) -> tokens, complete (see the top of the file).
function lex.tokens(code)
    local tokens, depth, i, n = {}, 0, 1, #code
    while i <= n do
        local c = code:sub(i, i)
        local from = i
        if c:match("%s") then
            i = code:find("[^%s]", i) or n + 1
        elseif code:sub(i, i + 1) == "--" then
            local after = long_bracket(code, i + 2)
            if after == false then return tokens, false end
            i = after or (code:find("\n", i, true) or n) + 1
        else
            local kind, stop
            if c:match("[%a_]") then
                stop = code:find("[^%w_]", i) or n + 1
                local word = code:sub(i, stop - 1)
                kind = KEYWORDS[word] and "keyword" or "name"
            elseif c:match("%d") or (c == "." and code:sub(i + 1, i + 1):match("%d")) then
                stop = code:find("[^%w%.]", i) or n + 1
                -- exponents with a sign: 1e-3, 0x1p+4
                while code:sub(stop - 1, stop - 1):match("[eEpP]") and code:sub(stop, stop):match("[%+%-]") do
                    stop = code:find("[^%w%.]", stop + 1) or n + 1
                end
                kind = "number"
            elseif c == '"' or c == "'" then
                local j = i + 1
                while true do
                    local k = code:find("[\\\n" .. c .. "]", j)
                    if not k or code:sub(k, k) == "\n" then return tokens, false end
                    if code:sub(k, k) == "\\" then
                        j = k + 2
                    else
                        stop = k + 1
                        break
                    end
                end
                kind = "string"
            elseif c == "[" and code:match("^%[=*%[", i) then
                local after = long_bracket(code, i)
                if not after then return tokens, false end
                stop, kind = after, "string"
            else
                local three, two = code:sub(i, i + 2), code:sub(i, i + 1)
                if three == "..." then
                    stop = i + 3
                elseif two:match("^[=~<>:/%.]") and ({["=="] = 1, ["~="] = 1, ["<="] = 1,
                        [">="] = 1, ["::"] = 1, ["//"] = 1, [".."] = 1, ["<<"] = 1, [">>"] = 1})[two] then
                    stop = i + 2
                else
                    stop = i + 1
                end
                kind = "op"
            end
            local text = code:sub(from, stop - 1)
            tokens[#tokens + 1] = {kind = kind, text = text, from = from, to = stop - 1, depth = depth}
            if kind == "keyword" then
                if OPENS[text] then depth = depth + 1 end
                if CLOSES[text] then depth = depth - 1 end
            end
            i = stop
        end
    end
    return tokens, true
end

--- lex.globalize(code) -> code whose top-level locals are assignments:
--- `local x = 1` -> `x = 1`, `local a, b` -> `a, b = nil`,
--- `local function f` -> `function f`, attributes (<const>) dropped.
function lex.globalize(code)
    local tokens = lex.tokens(code)
    local edits = {}   -- {from, to, replacement}, in order
    local i = 1
    while i <= #tokens do
        local t = tokens[i]
        if t.text == "local" and t.kind == "keyword" and t.depth == 0 then
            edits[#edits + 1] = {t.from, t.to, ""}
            local j = i + 1
            if tokens[j] and tokens[j].text ~= "function" then
                while tokens[j] and tokens[j].kind == "name" do
                    j = j + 1
                    if tokens[j] and tokens[j].text == "<" and tokens[j + 2] and tokens[j + 2].text == ">" then
                        edits[#edits + 1] = {tokens[j].from, tokens[j + 2].to, ""}
                        j = j + 3
                    end
                    if not (tokens[j] and tokens[j].text == ",") then break end
                    j = j + 1
                end
                if not (tokens[j] and tokens[j].text == "=") then
                    local at = tokens[j - 1] and tokens[j - 1].to or t.to
                    edits[#edits + 1] = {at + 1, at, " = nil"}
                end
            end
            i = j
        else
            i = i + 1
        end
    end
    if #edits == 0 then return code end
    table.sort(edits, function(a, b) return a[1] < b[1] end)
    local parts, at = {}, 1
    for _, e in ipairs(edits) do
        parts[#parts + 1] = code:sub(at, e[1] - 1)
        parts[#parts + 1] = e[3]
        at = e[2] + 1
    end
    parts[#parts + 1] = code:sub(at)
    return table.concat(parts)
end

return lex
