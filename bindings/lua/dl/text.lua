-- text.lua -- dl.data.text: a text read into a vocabulary and token ids, and
-- next-token datasets of fixed-length windows.
--
--   local corpus = dl.data.text(path_or_string, {level = "char"|"word"|"byte"})
--   corpus:encode("hello") -> 1-D tensor of ids (1-based)
--   corpus:decode(ids)     -> string
--   corpus.tokens, corpus.vocab_size, corpus.ids
--   local train, val = corpus:windows(64, {split = 0.9, stride = 64})
--
-- Characters are UTF-8 characters (a Chinese character is one token); words
-- are runs of non-space characters; bytes are the 256 byte values.
local dl = require "dl"
local raise = require("dl.errors").raise
local Dataset = require "dl.dataset"

local text = {}

local Corpus = {}
Corpus.__index = Corpus
Corpus.__name = "dl.Text"

local function argerror(n, fn, fmt, ...)
    raise(("bad argument #%d to '%s' (%s)"):format(n, fn, fmt:format(...)))
end

-- Raises unless s is valid UTF-8, naming the first bad byte.
local function check_utf8(fn, argn, s)
    local ok, bad = utf8.len(s)
    if not ok then
        argerror(argn, fn, "invalid UTF-8 at byte offset %d (byte %d, 0x%02X)", bad - 1, bad, s:byte(bad))
    end
end

-- The tokens of string s at `level`, as a list of strings.
local function tokenize(fn, argn, s, level)
    local tokens = {}
    if level == "byte" then
        for k = 1, #s do tokens[k] = s:sub(k, k) end
    elseif level == "char" then
        check_utf8(fn, argn, s)
        for _, code in utf8.codes(s) do tokens[#tokens + 1] = utf8.char(code) end
    else
        check_utf8(fn, argn, s)
        for word in s:gmatch("%S+") do tokens[#tokens + 1] = word end
    end
    return tokens
end

-- The contents of `source`: a readable file's, else the string itself.
local function read_source(source)
    if not source:find("[\n\0]") and #source < 4096 then
        local f = io.open(source, "rb")
        if f then
            local contents = f:read("a")
            f:close()
            if contents then return contents end   -- nil for a directory
        end
    end
    return source
end

--- dl.data.text(path_or_string, {level = "char"}) -> corpus with its vocabulary
--- (the sorted distinct tokens; all 256 bytes at level "byte") and ids.
function text.text(source, opts)
    if type(source) ~= "string" then
        argerror(1, "text", "expected a file path or a string, got %s", type(source))
    end
    if opts ~= nil and type(opts) ~= "table" then
        argerror(2, "text", "expected an options table, got %s", type(opts))
    end
    opts = opts or {}
    for key in pairs(opts) do
        if key ~= "level" then argerror(2, "text", "unknown option '%s'; known: level", tostring(key)) end
    end
    local level = opts.level or "char"
    if level ~= "char" and level ~= "word" and level ~= "byte" then
        argerror(2, "text", "expected level \"char\", \"word\" or \"byte\", got %s", tostring(level))
    end
    local contents = read_source(source)
    local tokens = tokenize("text", 1, contents, level)
    if #tokens == 0 then
        argerror(1, "text", "expected a text with at least one token, got %s",
                 contents == "" and "an empty text" or "only white space")
    end
    local list, index = {}, {}
    if level == "byte" then
        for b = 0, 255 do list[b + 1] = string.char(b) end
    else
        local seen = {}
        for _, tok in ipairs(tokens) do
            if not seen[tok] then seen[tok], list[#list + 1] = true, tok end
        end
        table.sort(list)
    end
    for id, tok in ipairs(list) do index[tok] = id end
    local corpus = setmetatable({level = level, tokens = list, vocab_size = #list, _index = index}, Corpus)
    local ids = {}
    for k, tok in ipairs(tokens) do ids[k] = index[tok] end
    corpus.ids = dl.tensor(ids)
    return corpus
end

--- corpus:encode(s) -> 1-D tensor of the ids of s's tokens.
function Corpus:encode(s)
    if type(s) ~= "string" then argerror(1, "encode", "expected a string, got %s", type(s)) end
    local tokens = tokenize("encode", 1, s, self.level)
    if #tokens == 0 then return dl.zeros(0) end
    local ids = {}
    for k, tok in ipairs(tokens) do
        ids[k] = self._index[tok]
        if not ids[k] then
            argerror(1, "encode", "token '%s' at position %d is not in the vocabulary of %d tokens",
                     tok, k, self.vocab_size)
        end
    end
    return dl.tensor(ids)
end

--- corpus:decode(ids) -> the string of the ids (a tensor or a list; words
--- are joined by spaces).
function Corpus:decode(ids)
    local list = dl.is_tensor(ids) and ids:reshape(-1):totable() or ids
    if type(list) ~= "table" then
        argerror(1, "decode", "expected a tensor or a list of ids, got %s", type(ids))
    end
    local out = {}
    for k, id in ipairs(list) do
        local tok = math.tointeger(id) and self.tokens[math.tointeger(id)]
        if not tok then
            argerror(1, "decode", "expected ids in 1..%d (the vocabulary), got %s at position %d",
                     self.vocab_size, tostring(id), k)
        end
        out[k] = tok
    end
    return table.concat(out, self.level == "word" and " " or "")
end

--- corpus:windows(length, {split = 0.9, stride = length}) -> train, validation:
--- datasets whose x rows are `length` ids and y rows the ids one step later.
--- The first `split` of the text gives the training windows, the rest the
--- validation windows, so no window crosses from one to the other.
function Corpus:windows(length, opts)
    if not math.tointeger(length) or length < 1 then
        argerror(1, "windows", "expected a window length >= 1, got %s", tostring(length))
    end
    opts = opts or {}
    local split, stride = opts.split or 0.9, opts.stride or length
    if type(split) ~= "number" or split <= 0 or split > 1 then
        argerror(2, "windows", "expected option 'split' in (0, 1], got %s", tostring(split))
    end
    if not math.tointeger(stride) or stride < 1 then
        argerror(2, "windows", "expected option 'stride' >= 1, got %s", tostring(stride))
    end
    local n = self.ids:numel()
    local cut = math.floor(n * split + 0.5)
    local function make(first, last, what)
        local count = last - first + 1 - length   -- window starts with a next token
        if count < 1 then
            if what == "validation" and split == 1 then return nil end
            argerror(1, "windows", "the %s part has %d tokens, too few for a window of %d plus one",
                     what, math.max(last - first + 1, 0), length)
        end
        local starts = {}
        for s = first, first + count - 1, stride do starts[#starts + 1] = s - 1 end
        local offsets = dl.arange(0, length)
        local at = dl.tensor(starts):reshape(#starts, 1) + offsets:reshape(1, length) + 1
        local flat = at:reshape(-1)
        local x = self.ids:index_select(1, flat):reshape(#starts, length)
        local y = self.ids:index_select(1, flat + 1):reshape(#starts, length)
        return Dataset.new{x = x, y = y}
    end
    return make(1, cut, "training"), make(cut + 1, n, "validation")
end

function Corpus:__tostring()
    return ("Text(%d tokens, %s level, vocabulary of %d)"):format(self.ids:numel(), self.level, self.vocab_size)
end

return text
