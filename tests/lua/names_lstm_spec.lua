-- examples/names_lstm.lua at a reduced size (10 steps on every 50th word):
-- it runs headless, prints both validation losses, its LSTM already beats
-- the bigram baseline and the uniform guess, and it makes up words.
-- One thread: on a loaded machine two OpenMP threads make these small
-- products many times slower, and this is a behaviour test, not a timing.
local build = os.getenv("DL_BUILD") or "build"

describe("examples/names_lstm.lua", function()
    it("trains a character LSTM that beats the bigram model and samples words", function()
        local f = assert(io.open("/usr/share/dict/words"))
        f:close()
        local pipe = io.popen(("OMP_NUM_THREADS=1 %s/dlrepl examples/names_lstm.lua 10 50 2>&1")
                              :format(build))
        local output = pipe:read("a")
        local ok = pipe:close()
        assert(ok, "the example failed:\n" .. output)
        local vocab = tonumber(output:match("vocabulary of (%d+)"))
        local bigram = tonumber(output:match("bigram model: validation loss ([%d.]+)"))
        local lstm = tonumber(output:match("LSTM: +validation loss ([%d.]+)"))
        assert(vocab and bigram and lstm, "missing losses in:\n" .. output)
        assert.are.equal(27, vocab)   -- a..z and the newline
        assert.is_true(bigram < math.log(vocab))
        assert.is_true(lstm < bigram, ("LSTM %.3f vs bigram %.3f"):format(lstm, bigram))
        local words = output:match("new words: ([^\n]*)")
        assert(words, "no sampled words in:\n" .. output)
        assert.truthy(words:match("^[a-z ]+$"))
    end)
end)
