-- data_spec.lua -- dl.data: loaders (csv, idx, mnist, fashion_mnist, image,
-- images), datasets (split, kfold, batches, standardize, normalize, head,
-- summary) and augmentation. Test files are written to a temporary folder.
local H = require "tests.lua.helper"
local dl = H.dl

local IRIS = "examples/data/iris.csv"
local FIXTURES = "tests/data/images/"

local tmp = os.tmpname()
os.remove(tmp)
assert(os.execute("mkdir -p " .. tmp))

local function write(path, text)
    local f = assert(io.open(path, "wb"))
    f:write(text)
    f:close()
    return path
end

-- A dataset whose x row i is {i, 10 i} and y the class 1 + i % 3.
local function numbered(n)
    local x, y = {}, {}
    for i = 1, n do
        x[i] = {i, 10 * i}
        y[i] = 1 + i % 3
    end
    return dl.data.dataset(dl.tensor(x), dl.tensor(y), {classes = {"a", "b", "c"}})
end

-- The first-column values (row ids) of a dataset, sorted.
local function ids(ds)
    local out = {}
    for i, row in ipairs(ds.x:totable()) do out[i] = row[1] end
    table.sort(out)
    return out
end

-- The class numbered() gives each row of x.
local function labels_of(x)
    local out = {}
    for i, row in ipairs(x:totable()) do out[i] = 1 + row[1] % 3 end
    return out
end

local function first_column(ds)
    local out = {}
    for i, row in ipairs(ds.x:totable()) do out[i] = row[1] end
    return out
end

-- An IDX file of unsigned bytes with the given dims and values.
local function idx_file(path, dims, values)
    local parts = {string.pack(">BBBB", 0, 0, 8, #dims)}
    for _, d in ipairs(dims) do parts[#parts + 1] = string.pack(">I4", d) end
    parts[#parts + 1] = string.char(table.unpack(values))
    return write(path, table.concat(parts))
end

-- A 24-bit BMP of w x h pixels, every pixel (r, g, b).
local function bmp(path, w, h, r, g, b)
    local stride = (3 * w + 3) // 4 * 4
    local row = string.rep(string.char(b, g, r), w) .. string.rep("\0", stride - 3 * w)
    local size = 54 + stride * h
    return write(path, "BM" .. string.pack("<I4I4I4I4i4i4I2I2I4I4i4i4I4I4", size, 0, 54, 40,
                                           w, h, 1, 24, 0, stride * h, 0, 0, 0, 0) ..
                       string.rep(row, h))
end

describe("dl.data.csv", function()
    it("reads iris with a class target", function()
        local ds = dl.data.csv(IRIS, {target = "species"})
        assert.are.equal(150, #ds)
        assert.are.same({150, 4}, ds.x:shape())
        assert.are.same({"setosa", "versicolor", "virginica"}, ds.classes)
        assert.are.same({"sepal_length", "sepal_width", "petal_length", "petal_width"},
                        ds.features)
        assert.are.equal("species", ds.target)
        H.close(ds.x[1], {5.1, 3.5, 1.4, 0.2})
        assert.are.equal(1, ds.y[1])
        assert.are.equal(3, ds.y[150])
    end)

    it("takes the target by number, and numeric targets stay numbers", function()
        local path = write(tmp .. "/reg.csv", "1,2,0.5\n3,4,1.5\n")
        local ds = dl.data.csv(path, {target = -1, header = false})
        H.close(ds.y, {0.5, 1.5})
        H.close(ds.x, {{1, 2}, {3, 4}})
        assert.is_nil(ds.classes)
        assert.are.same({"1", "2"}, ds.features)
    end)

    it("one-hot encodes text columns and handles missing cells", function()
        local path = write(tmp .. "/mixed.csv", "color;w;y\nred;1;a\nblue;;b\nred;3;a\n")
        local ds = dl.data.csv(path, {sep = ";", target = "y", one_hot = true, missing = "mean"})
        assert.are.same({"color=blue", "color=red", "w"}, ds.features)
        H.close(ds.x, {{0, 1, 1}, {1, 0, 2}, {0, 1, 3}})
        H.close(ds.y, {1, 2, 1})
        local dropped = dl.data.csv(path, {sep = ";", target = "y", one_hot = {"color"},
                                           missing = "drop"})
        assert.are.equal(2, #dropped)
    end)

    it("fixes the class numbering with a class list", function()
        local path = write(tmp .. "/few.csv", "x,y\n1,virginica\n")
        local iris = dl.data.csv(IRIS, {target = "species"})
        local ds = dl.data.csv(path, {target = "y", classes = iris.classes})
        assert.are.equal(3, ds.y[1])
        assert.are.same(iris.classes, ds.classes)
    end)

    it("names the file, line and column of bad cells", function()
        H.raises("bad argument #1 to 'csv' (cannot open 'nope.csv': No such file or directory)",
                 dl.data.csv, "nope.csv")
        local path = write(tmp .. "/bad.csv", "a,petal_width\n1,2\n3,abc\n")
        H.raises(path .. ":3:2: expected a number, got \"abc\" (column 'petal_width')",
                 dl.data.csv, path)
        path = write(tmp .. "/ragged.csv", "a,b\n1,2\n3\n")
        -- called from Lua code, as users do, the message gets a position prefix
        -- (which H.raises strips) before the file's own "path:3:"
        H.raises(path .. ":3: expected 2 fields (as in the header), got 1",
                 function() local ds = dl.data.csv(path) return ds end)
        path = write(tmp .. "/hole.csv", "a,b\n1,\n")
        H.raises(path .. ":2:2: missing value (column 'b')", dl.data.csv, path)
        path = write(tmp .. "/empty.csv", "")
        H.raises(path .. ": the file is empty", dl.data.csv, path)
        path = write(tmp .. "/garbage.csv", "\127ELF\2\1\1\0\0\0")
        H.raises(path .. ":1:1: a NUL byte: this is not a text file", dl.data.csv, path)
    end)

    it("checks its options", function()
        H.raises("bad argument #2 to 'csv' (unknown option 'tagret')", dl.data.csv, IRIS,
                 {tagret = "species"})
        H.raises("bad argument #2 to 'csv' (expected option 'sep' to be one character, " ..
                 "got \"ab\")", dl.data.csv, IRIS, {sep = "ab"})
        H.raises("bad argument #2 to 'csv' (expected option 'missing' to be \"error\", " ..
                 "\"mean\", \"zero\" or \"drop\", got fill)", dl.data.csv, IRIS,
                 {missing = "fill"})
        local msg = H.err(dl.data.csv, IRIS, {target = "specis"})
        assert.matches("option 'target': no column 'specis'", msg, 1, true)
        assert.matches("its columns are sepal_length, sepal_width", msg, 1, true)
    end)
end)

describe("datasets", function()
    it("split into two or three parts that cover every row once", function()
        local ds = numbered(100)
        local train, test = ds:split(0.8)
        assert.are.equal(80, #train)
        assert.are.equal(20, #test)
        local all = ids(train)
        for _, v in ipairs(ids(test)) do all[#all + 1] = v end
        table.sort(all)
        for i = 1, 100 do assert.are.equal(i, all[i]) end
        local a, b, c = ds:split{0.7, 0.15}
        assert.are.equal(70, #a)
        assert.are.equal(100, #a + #b + #c)
        assert.are.same(ds.classes, a.classes)
        H.close(a.y, labels_of(a.x))
    end)

    it("stratify keeps the class proportions", function()
        local iris = dl.data.csv(IRIS, {target = "species"})
        local _, test = iris:split(0.8, {stratify = true, seed = 3})
        local counts = {0, 0, 0}
        for _, c in ipairs(test.y:totable()) do counts[c] = counts[c] + 1 end
        assert.are.same({10, 10, 10}, counts)
        H.raises("bad argument #3 to 'split' (option 'stratify' needs class labels (ds.classes))",
                 function() dl.data.dataset(dl.ones(4, 1)):split(0.5, {stratify = true}) end)
    end)

    it("shuffles repeat under dl.manual_seed, and a seed option leaves dl's generator alone", function()
        local ds = numbered(50)
        dl.manual_seed(7)
        local a = first_column(ds:split(0.5))
        dl.manual_seed(7)
        local b = first_column(ds:split(0.5))
        assert.are.same(a, b)
        dl.manual_seed(1)
        local expected = dl.rand(3):totable()
        dl.manual_seed(1)
        local s1 = first_column(ds:split(0.5, {seed = 42}))
        H.close(dl.rand(3), expected)
        assert.are.same(s1, first_column(ds:split(0.5, {seed = 42})))
        assert.are_not.same(s1, first_column(ds:split(0.5, {seed = 43})))
        local ordered = first_column(ds:split(0.5, {shuffle = false}))
        for i = 1, 25 do assert.are.equal(i, ordered[i]) end
    end)

    it("batches cover every row once per epoch, with y aligned", function()
        local ds = numbered(10)
        local sizes = {}
        for x, y in ds:batches(4) do
            sizes[#sizes + 1] = #x
            H.close(y, labels_of(x))
        end
        assert.are.same({4, 4, 2}, sizes)
        sizes = {}
        for x in ds:batches(4, {drop_last = true}) do sizes[#sizes + 1] = #x end
        assert.are.same({4, 4}, sizes)
        local function epoch()
            local seen = {}
            for x in ds:batches(3, {shuffle = true}) do
                for _, row in ipairs(x:totable()) do seen[#seen + 1] = row[1] end
            end
            return seen
        end
        dl.manual_seed(5)
        local first = epoch()
        dl.manual_seed(5)
        assert.are.same(first, epoch())
        table.sort(first)
        for i = 1, 10 do assert.are.equal(i, first[i]) end
        H.raises("bad argument #2 to 'batches' (expected a batch size >= 1, got 0)",
                 function() ds:batches(0) end)
    end)

    it("standardize and normalize, with statistics reused on another set", function()
        local train = dl.data.dataset(dl.tensor{{1, 10}, {3, 10}, {5, 40}})
        local test = dl.data.dataset(dl.tensor{{3, 25}})
        train:standardize()
        H.close(train.x:mean(1), {0, 0}, 1e-6)
        H.close(train.x:std(1, {unbiased = false}), {1, 1}, 1e-5)
        test:standardize(train)
        H.close(test.x, {{0, (25 - 20) / math.sqrt(200)}}, 1e-5)
        H.raises("bad argument #1 to 'standardize' (the dataset is already standardized " ..
                 "(its statistics are in ds.stats))", function() train:standardize() end)
        local n = dl.data.dataset(dl.tensor{{2, 0}, {4, 5}})
        n:normalize()
        H.close(n.x, {{0, 0}, {1, 1}})
        local other = dl.data.dataset(dl.tensor{{3, 10}}):normalize(n)
        H.close(other.x, {{0.5, 2}})
    end)

    it("kfold gives k disjoint validation sets covering every row", function()
        local ds = numbered(23)
        local covered, folds = {}, 0
        for fold, train, val in ds:kfold(5, {seed = 1}) do
            folds = fold
            assert.are.equal(23, #train + #val)
            assert.is_true(#val == 4 or #val == 5)
            for _, v in ipairs(ids(val)) do
                assert.is_nil(covered[v])
                covered[v] = true
            end
        end
        assert.are.equal(5, folds)
        for i = 1, 23 do assert.is_true(covered[i]) end
        H.raises("bad argument #2 to 'kfold' (expected a fold count in 2..23, got 1)",
                 function() ds:kfold(1) end)
    end)

    it("head and the printed summary", function()
        local iris = dl.data.csv(IRIS, {target = "species"})
        local head = iris:head(3)
        assert.are.equal(3, #head)
        local text = tostring(iris)
        assert.matches("Dataset: 150 rows, x (150, 4)", text, 1, true)
        assert.matches("3 classes: setosa 50, versicolor 50, virginica 50", text, 1, true)
        assert.matches("petal_length", text, 1, true)
        assert.matches("setosa", tostring(head), 1, true)
        assert.matches("sepal_length", tostring(head), 1, true)
    end)
end)

describe("IDX files and MNIST layouts", function()
    local dir = tmp .. "/mnist"
    os.execute("mkdir -p " .. dir)
    local pixels = {}
    for i = 1, 3 * 2 * 2 do pixels[i] = (i - 1) * 20 end
    idx_file(dir .. "/train-images-idx3-ubyte", {3, 2, 2}, pixels)
    idx_file(dir .. "/train-labels-idx1-ubyte", {3}, {0, 2, 1})
    idx_file(dir .. "/t10k-images-idx3-ubyte", {1, 2, 2}, {0, 255, 0, 255})
    idx_file(dir .. "/t10k-labels-idx1-ubyte", {1}, {2})

    it("idx reads any IDX file as a tensor", function()
        H.close(dl.data.idx(dir .. "/train-labels-idx1-ubyte"), {0, 2, 1})
    end)

    it("mnist gives byte-backed datasets of N x 1 x H x W images in [0, 1]", function()
        local train, test = dl.data.mnist(dir)
        assert.are.equal(3, #train)
        assert.are.same({3, 1, 2, 2}, train.x:shape())
        H.close(train.y, {1, 3, 2})
        assert.are.same({"0", "1", "2"}, train.classes)
        H.close(test.x, {{{{0, 1}, {0, 1}}}})
        H.close(train.x[2], {{{80 / 255, 100 / 255}, {120 / 255, 140 / 255}}})
        local x, y = train:batches(2)()
        assert.are.same({2, 1, 2, 2}, x:shape())
        H.close(y, {1, 3})
        local a, b = train:split(0.5, {seed = 1})
        assert.are.equal(3, #a + #b)
        train:standardize()
        H.close(train.x:mean(), 0, 1e-5)
        H.close(train.x:std(nil, {unbiased = false}), 1, 1e-5)
        -- statistics of a byte-backed set are computed from its bytes, and
        -- through its own statistics when it has some
        local fresh = dl.data.mnist(dir)
        local raw = fresh.x
        fresh:normalize(train)          -- by the range of the values train shows
        local lo, hi = train.x:min():item(), train.x:max():item()
        H.close(fresh.x, ((raw - lo) / (hi - lo)):totable(), 1e-5)
    end)

    it("reports truncated and lying files", function()
        local bad = idx_file(tmp .. "/short.idx", {10}, {1, 2, 3})
        H.raises(bad .. ": truncated: the header promises 10 u8 items (10 bytes of data), " ..
                 "the file holds at most 3", dl.data.idx, bad)
        H.raises("bad argument #1 to 'mnist' (no 'train-images-idx3-ubyte' or " ..
                 "'train-images-idx3-ubyte.gz' in '" .. tmp .. "')", dl.data.mnist, tmp)
    end)

    it("fashion_mnist explains how to install it when absent", function()
        local msg = H.err(dl.data.fashion_mnist, tmp)
        assert.matches("sudo apt-get install dataset-fashion-mnist", msg, 1, true)
    end)

    local system = io.open("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")
    local fashion = system and it or pending
    if system then system:close() end
    fashion("fashion_mnist loads Debian's copy as bytes", function()
        local before = collectgarbage("count")
        local train, test = dl.data.fashion_mnist()
        assert.are.equal(60000, #train)
        assert.are.equal(10000, #test)
        assert.are.equal("Ankle boot", train.classes[10])
        -- 47 MB of bytes, not 188 MB of floats
        assert.is_true(collectgarbage("count") - before < 60 * 1024)
        local x = train:batches(64, {shuffle = true})()
        assert.are.same({64, 1, 28, 28}, x:shape())
        assert.is_true(x:min():item() >= 0 and x:max():item() <= 1)
    end)
end)

describe("images", function()
    it("image reads a file as C x H x W in [0, 1]", function()
        local t = dl.data.image(FIXTURES .. "rgb.png")
        assert.are.same({3, 2, 3}, t:shape())
        H.close(t:select(2, 1), {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}})
        assert.are.same({1, 4, 6}, dl.data.image(FIXTURES .. "rgb.png",
                                                  {gray = true, size = {4, 6}}):shape())
        local msg = H.err(dl.data.image, FIXTURES .. "corrupt.png")
        assert.matches("corrupt.png: corrupt PNG image", msg, 1, true)
    end)

    local dir = tmp .. "/pets"
    os.execute("mkdir -p " .. dir .. "/dog " .. dir .. "/cat " .. dir .. "/empty")
    bmp(dir .. "/cat/1.bmp", 4, 4, 255, 0, 0)
    bmp(dir .. "/cat/2.bmp", 4, 4, 0, 255, 0)
    bmp(dir .. "/dog/1.bmp", 4, 4, 0, 0, 255)
    write(dir .. "/dog/notes.txt", "not an image, not read")

    it("images reads class folders, sorted, as a byte-backed dataset", function()
        local ds = dl.data.images(dir)
        assert.are.same({"cat", "dog", "empty"}, ds.classes)
        assert.are.same({3, 3, 4, 4}, ds.x:shape())
        H.close(ds.y, {1, 1, 2})
        H.close(ds.x[3]:mean(3):mean(2), {0, 0, 1})
        local gray = dl.data.images(dir, {gray = true, size = {2, 3}})
        assert.are.same({3, 1, 2, 3}, gray.x:shape())
    end)

    it("images names unreadable files, or skips them when asked", function()
        bmp(dir .. "/dog/big.bmp", 8, 8, 1, 2, 3)
        H.raises("bad argument #1 to 'images' (images differ in size: '" .. dir ..
                 "/cat/1.bmp' is 4x4, '" .. dir .. "/dog/big.bmp' is 8x8; pass size = " ..
                 "{height, width})", dl.data.images, dir)
        os.remove(dir .. "/dog/big.bmp")
        write(dir .. "/dog/2.png", "\137PNG\r\n\26\n broken")
        local msg = H.err(dl.data.images, dir)
        assert.matches(dir .. "/dog/2.png: truncated PNG image", msg, 1, true)
        local ds = dl.data.images(dir, {skip_errors = true})
        assert.are.equal(3, #ds)
        assert.are.equal(1, #ds.skipped)
        assert.matches("dog/2.png", ds.skipped[1], 1, true)
        H.raises("bad argument #1 to 'images' (cannot open '" .. tmp .. "/none': No such " ..
                 "file or directory)", dl.data.images, tmp .. "/none")
    end)
end)

describe("augmentation", function()
    local x = dl.arange(1, 2 * 1 * 3 * 4 + 1):reshape(2, 1, 3, 4)

    it("repeats under the same seed", function()
        local aug = dl.data.augment{flip = true, crop = 1, rotate = 10, brightness = 0.2}
        dl.manual_seed(3)
        local a = aug(x)
        dl.manual_seed(3)
        H.close(aug(x), a:totable())
        assert.are.same({2, 1, 3, 4}, a:shape())
    end)

    it("flips copy pixels exactly, mirrored or not", function()
        local aug = dl.data.augment{flip = true}
        dl.manual_seed(1)
        local flipped_any, kept_any = false, false
        for _ = 1, 10 do
            local y = aug(x):totable()
            for i = 1, 2 do
                local row, source = y[i][1][1], x[i][1][1]:totable()
                if row[1] == source[1] then
                    kept_any = true
                    assert.are.same(source, row)
                else
                    flipped_any = true
                    assert.are.same({source[4], source[3], source[2], source[1]}, row)
                end
            end
        end
        assert.is_true(flipped_any and kept_any)
    end)

    it("runs inside batches and checks its input", function()
        local ds = dl.data.dataset(x, dl.tensor{1, 2})
        local aug = dl.data.augment{crop = 2}
        local got = ds:batches(2, {augment = aug})()
        assert.are.same({2, 1, 3, 4}, got:shape())
        H.raises("bad argument #1 to 'augment' (expected images N x C x H x W, got 2 dims)",
                 aug, dl.ones(2, 3))
        H.raises("bad argument #1 to 'augment' (unknown option 'flop')", dl.data.augment,
                 {flop = true})
    end)
end)

teardown(function()
    os.execute("rm -rf " .. tmp)
end)
