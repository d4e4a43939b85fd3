-- dl.data.text: vocabularies at three levels, encode/decode, UTF-8 errors
-- and next-token windows.
local H = require "tests.lua.helper"
local dl = H.dl

describe("dl.data.text", function()
    it("makes each UTF-8 character one token", function()
        local text = dl.data.text("中文 abc 中")
        assert.are.same({" ", "a", "b", "c", "中", "文"}, text.tokens)
        assert.are.equal(6, text.vocab_size)
        assert.are.same({5, 6, 1, 2, 3, 4, 1, 5}, text.ids:totable())
        assert.are.equal("文中 ab", text:decode(text:encode("文中 ab")))
    end)

    it("reads words and bytes", function()
        local words = dl.data.text("b a  c\nb", {level = "word"})
        assert.are.same({"a", "b", "c"}, words.tokens)
        assert.are.same({2, 1, 3, 2}, words.ids:totable())
        assert.are.equal("c a", words:decode({3, 1}))
        local bytes = dl.data.text("\0\255A", {level = "byte"})
        assert.are.equal(256, bytes.vocab_size)
        assert.are.same({1, 256, 66}, bytes.ids:totable())
        assert.are.equal("\255\0", bytes:decode(dl.tensor{256, 1}))
    end)

    it("reads a file when given its path", function()
        local path = os.tmpname()
        local f = assert(io.open(path, "wb"))
        f:write("abba\n")
        f:close()
        local text = dl.data.text(path)
        os.remove(path)
        assert.are.same({"\n", "a", "b"}, text.tokens)
        assert.are.equal(5, text.ids:numel())
    end)

    it("cuts windows with the next tokens as targets, training part first", function()
        local text = dl.data.text("abcdefghij")
        local train, val = text:windows(3, {split = 0.6, stride = 1})
        assert.are.equal(3, #train)   -- from abcdef: abc, bcd, cde
        assert.are.same({{1, 2, 3}, {2, 3, 4}, {3, 4, 5}}, train.x:totable())
        assert.are.same({{2, 3, 4}, {3, 4, 5}, {4, 5, 6}}, train.y:totable())
        assert.are.same({{7, 8, 9}}, val.x:totable())   -- from ghij only
        assert.are.same({{8, 9, 10}}, val.y:totable())
        local all, none = text:windows(4, {split = 1})
        assert.are.equal(2, #all)
        assert.is_nil(none)
    end)

    it("refuses bad input clearly", function()
        H.raises("bad argument #1 to 'text' (invalid UTF-8 at byte offset 3 (byte 4, 0xE4))",
                 dl.data.text, "abc\228\184")
        H.raises("bad argument #1 to 'text' (expected a text with at least one token, got an empty text)",
                 dl.data.text, "")
        H.raises("bad argument #1 to 'text' (expected a text with at least one token, got only white space)",
                 dl.data.text, "  \n", {level = "word"})
        H.raises("bad argument #2 to 'text' (expected level \"char\", \"word\" or \"byte\", got token)",
                 dl.data.text, "abc", {level = "token"})
        local text = dl.data.text("abc")
        H.raises("bad argument #1 to 'encode' (token 'z' at position 2 is not in the vocabulary of 3 tokens)",
                 text.encode, text, "az")
        H.raises("bad argument #1 to 'decode' (expected ids in 1..3 (the vocabulary), got 0 at position 1)",
                 text.decode, text, {0})
        H.raises("bad argument #1 to 'windows' (the validation part has 1 tokens, too few for a window of 1 plus one)",
                 text.windows, text, 1, {split = 0.7})
    end)
end)
