-- examples/names_lstm.lua at a reduced size (10 steps on every 50th word):
-- it runs headless, prints both validation losses, both beat the uniform
-- guess (the LSTM needs more steps to beat the bigram model: the example's
-- header gives the full run's numbers), and it makes up words.
-- One thread: on a loaded machine two OpenMP threads make these small
-- products many times slower, and this is a behaviour test, not a timing.
local build = os.getenv("DL_BUILD") or "build"

describe("examples/names_lstm.lua", function()
    it("trains a character LSTM better than a uniform guess and samples words", function()
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
        assert.is_true(lstm < math.log(vocab), ("LSTM %.3f vs uniform %.3f"):format(lstm, math.log(vocab)))
        local words = output:match("new words: ([^\n]*)")
        assert(words, "no sampled words in:\n" .. output)
        assert.truthy(words:match("^[a-z ]+$"))
    end)
end)
